"""The catalog as a shop (issue #25, Build 5): find_models keeps what fits a device, with the memory each needs in
the device's unit and the largest context that fits, in the order asked; a model's page holds its formats against
memory, its benchmarks with sources, its licence verdict and deploy snippets with its own repo id."""

from __future__ import annotations

import pytest

import tools
from advisor import model_page
from tools.common import catalog
from tools.deploy import quick_start


def test_find_models_keeps_only_what_fits_the_device_newest_first():
    everything = tools.call("find_models", {"commercial": True, "limit": 200})
    fits = tools.call("find_models", {"vram_gb": 24, "commercial": True, "limit": 200})
    assert 0 < fits["count"] < everything["count"] and not fits["truncated"]
    assert len(fits["models"]) == fits["count"]
    ids = {m["id"] for m in fits["models"]}
    assert "deepseek-r1" not in ids and "qwen3.5-27b" in ids
    for m in fits["models"]:
        fit = m["fit"]
        assert (fit["unit"], fit["memory"]) == ("GiB", 24) and fit["fits"] and fit["needed"] <= fit["usable"]
        assert fit["context"] == min(4096, m["context_length"]) and fit["max_context"] >= fit["context"]
        assert m["license"]["commercial_use"] in ("yes", "conditional")
        check = tools.call(
            "estimate_memory",
            {"model": m["id"], "quantization": fit["quantization"], "vram_gb": 24, "context_length": fit["context"]},
        )
        assert check["fits"] and check["fit"]["needed"] == fit["needed"]
    dates = [m["release_date"] for m in fits["models"]]
    assert dates == sorted(dates, reverse=True)


def test_find_models_sorts_by_size_and_context():
    largest = tools.call("find_models", {"gpu": "H100 SXM", "sort": "largest", "limit": 10})["models"]
    assert [m["params_b"] for m in largest] == sorted((m["params_b"] for m in largest), reverse=True)
    longest = tools.call("find_models", {"sort": "context", "limit": 10})["models"]
    assert [m["context_length"] for m in longest] == sorted((m["context_length"] for m in longest), reverse=True)
    with pytest.raises(tools.errors.InvalidInput):
        tools.call("find_models", {"sort": "best"})


def test_deploy_snippets_use_the_models_repo_and_the_format_asked():
    start = quick_start("qwen3.5-27b", "q5_k_m", 8192)
    repo = catalog().models["qwen3.5-27b"].repos["instruct"]
    assert start["vllm"]["command"].startswith(f"vllm serve {repo}")
    assert "Q5_K_M" in start["llama.cpp"]["command"] and f"hf download {repo}" in start["llama.cpp"]["command"]
    assert "ollama create" in start["ollama"]["command"] and repo in start["transformers"]["command"]
    four_bit = quick_start("llama-3.1-8b", "int4", 8192)["transformers"]
    assert "load_in_4bit=True" in four_bit["command"] and "AutoModelForCausalLM" in four_bit["command"]


def test_a_model_page_shows_formats_benchmarks_licence_and_how_to_run_it():
    shown = model_page.page("qwen3.5-35b-a3b", gpu="RTX 4090")
    text = shown["markdown"]
    for fmt in ("BF16 (unquantized)", "GGUF Q5_K_M", "GGUF Q4_K_M"):
        assert f"| {fmt} |" in text
    assert "on one NVIDIA GeForce RTX 4090 (24GB = 24 GiB)" in text
    for quant in ("bf16", "q4_k_m"):  # each row is estimate_memory's fit on the device
        est = tools.call(
            "estimate_memory",
            {"model": "qwen3.5-35b-a3b", "quantization": quant, "gpu": "RTX 4090", "context_length": 4096},
        )
        fit = est["fit"]
        row = f"| {est['quantization']['name']} | {fit['needed']:g} GiB | {'yes' if fit['fits'] else 'no'} |"
        assert row in text, row
    assert "commercial use: allowed with conditions" in text and "Apache License 2.0" in text
    assert "Conditions for commercial use:" in text and "attribution" in text
    run = shown["more"]
    assert "vllm serve <an AWQ checkpoint of Qwen/Qwen3.5-35B-A3B>" in run  # BF16 does not fit a 24GB card
    assert "huggingface.co" in run and "released 2026-02-24" in text and "Architecture" in text
    assert shown["figure"] is not None
    bare = model_page.page("llama-3.1-8b")
    assert "pick a device" in bare["markdown"] and "vllm serve meta-llama/Llama-3.1-8B-Instruct" in bare["more"]


def test_on_device_reads_as_words():
    assert model_page.on_device({"device": "NVIDIA H100 SXM", "count": 1}) == "one NVIDIA H100 SXM"
    assert model_page.on_device({"device": "NVIDIA H100 SXM", "count": 4}) == "4 x NVIDIA H100 SXM"
    two = model_page.on_device({"device": "a device with 24GB of memory", "count": 2})
    assert two == "2 devices with 24GB of memory each"


def test_the_catalog_tab_counts_what_fits_and_refuses_bad_memory_clearly():
    gr = pytest.importorskip("gradio")
    from advisor.ui.tabs.catalog import ANY, COMMERCIAL, Catalog

    shop = Catalog()
    line, table, _ = shop.browse("", ANY, 24, COMMERCIAL[1], ANY, ANY, 1000, "any", "newest", "MMLU")
    found = tools.call("find_models", {"vram_gb": 24, "commercial": True, "limit": 200})
    assert line.startswith(f"**{found['count']} models**") and "a device with 24GB of memory (24GB = 24 GiB)" in line
    assert "licence allows commercial use" in line and "newest first" in line
    first = found["models"][0]
    assert f"[{first['name']}](?model={first['id']})" in table and "| Max context |" in table
    with pytest.raises(gr.Error, match="vram_gb"):
        shop.browse("", ANY, -3, COMMERCIAL[0], ANY, ANY, 1000, "any", "newest", "MMLU")
    hidden, text, figure, more = shop.open("qwen3.5-27b", ANY, 24)
    assert hidden["visible"] and "Qwen3.5 27B" in text and "vllm serve" in more
    assert shop.open("no-such-model", ANY, None)[0]["visible"] is False
