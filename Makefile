# Quickstart targets. Each sets up .venv on first use (and again when pyproject.toml or the
# constraints change), so a fresh clone needs only `make run` or `make test`.
.PHONY: run test bench bench-gpu clean

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
# With an NVIDIA GPU, `make run` also installs the local-LLM driver (torch, transformers, bitsandbytes).
GPU_EXTRA := $(if $(shell nvidia-smi -L 2>/dev/null),[hf],)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; run: make PYTHON=/path/to/python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-app: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".$(GPU_EXTRA)"
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[hf,test]"
	@touch $@ $(VENV)/.installed-app

run: $(VENV)/.installed-app
	$(BIN)/python app.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# CPU benchmarks (about 5 minutes; figures in docs/performance.md). bench-gpu needs a CUDA GPU.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/tools_latency.py
	$(BIN)/python bench/catalog_scale.py
	$(BIN)/python bench/chat_turn.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/concurrency.py

bench-gpu: $(VENV)/.installed-test
	$(BIN)/python bench/gpu_llm.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-output
