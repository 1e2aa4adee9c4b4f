"""Releases of April to August 2026 added from catalog/data/models/mid-2026.yaml: each resolves by the name people type,
carries its MoE facts, and gives a memory figure computed here by hand from the facts its sources state."""

from __future__ import annotations

import pytest

import tools
from catalog.query import get_catalog


def _memory(model: str, quantization: str, **extra) -> dict:
    args = {"model": model, "gpu": "H200", "num_gpus": 8, "quantization": quantization, **extra}
    return tools.call("estimate_memory", args)


@pytest.mark.parametrize(
    "typed,model_id,total_b,active_b",
    [
        ("Kimi K2.6", "kimi-k2.6", 1000, 32),
        ("MiniMax M3", "minimax-m3", 428, 23),
        ("DeepSeek V4 Flash 0731", "deepseek-v4-flash-0731", 284, 13),
        ("DeepSeek V4 Pro 0813", "deepseek-v4-pro-0813", 1600, 49),
    ],
)
def test_new_releases_resolve_with_their_moe_sizes(typed, model_id, total_b, active_b):
    m = get_catalog().model(typed)
    assert (m.id, m.params_b, m.active_params_b) == (model_id, total_b, active_b)
    assert m.sources and "release_date" in m.cite


def test_kimi_k26_native_int4_weights():
    # Native INT4 (compressed-tensors) is estimated as AWQ at 4.16 bits per weight, with the untied input and output
    # embeddings (2 x 163840 x 7168 parameters) kept at 16 bits: 1e12 weights in all.
    embeddings = 2 * 163840 * 7168
    expected_gb = ((1000e9 - embeddings) * 4.16 / 8 + embeddings * 2) / 1e9
    r = _memory("kimi-k2.6", "native")
    assert r["quantization"]["id"] == "awq"
    assert r["weights_gb"] == pytest.approx(expected_gb, abs=0.01)  # 523.48


def test_minimax_m3_bf16_weights_and_gqa_kv_cache():
    r = _memory("minimax-m3", "native", context_length=32768)
    assert r["quantization"]["id"] == "bf16"
    assert r["weights_gb"] == pytest.approx(428 * 2, abs=0.01)  # 428B parameters at 2 bytes
    # 60 layers x (K and V) x 4 KV heads x 128 wide x 2 bytes per token, for 32,768 tokens
    assert r["kv_cache_gb"] == pytest.approx(60 * 2 * 4 * 128 * 2 * 32768 / 1e9, abs=0.01)  # 4.03


@pytest.mark.parametrize(
    "model_id,parent,total_b",
    [("deepseek-v4-flash-0731", "deepseek-v4-flash", 284), ("deepseek-v4-pro-0813", "deepseek-v4-pro", 1600)],
)
def test_deepseek_v4_checkpoints_keep_their_parents_size(model_id, parent, total_b):
    cat = get_catalog()
    m, p = cat.model(model_id), cat.model(parent)
    assert m.snapshot_of == parent and m.derived_from is None  # a later checkpoint, not a fine-tune
    assert (m.params_b, m.active_params_b, m.context_length) == (p.params_b, p.active_params_b, p.context_length)
    assert _memory(model_id, "fp8")["weights_gb"] == pytest.approx(total_b * 1.0, abs=0.01)  # one byte per weight
