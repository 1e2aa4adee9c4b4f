"""The tools against the shipped catalog: figures follow from the catalog's facts and the stated formulas."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tools
from tools.common import catalog
from tools.errors import InvalidInput


def call(name, **args):
    return tools.call(name, args)


# ---------------------------------------------------------------- registry and contract


def test_every_tool_has_an_openai_schema_with_described_arguments():
    schemas = tools.schemas()
    names = {s["function"]["name"] for s in schemas}
    assert names >= {
        "get_model",
        "find_models",
        "select_models",
        "check_license",
        "estimate_memory",
        "estimate_throughput",
        "estimate_cost",
        "compare_benchmarks",
        "plan_deployment",
        "list_gpus",
        "list_licenses",
    }
    for s in schemas:
        assert s["type"] == "function"
        fn = s["function"]
        assert len(fn["description"]) > 20
        assert fn["parameters"]["type"] == "object"
        for pname, prop in fn["parameters"]["properties"].items():
            assert prop.get("description"), f"{fn['name']}.{pname} has no description"


def test_unknown_argument_names_the_field_and_suggests():
    with pytest.raises(InvalidInput) as err:
        call("estimate_memory", model="llama 3.1 8b", quantisation="int4")
    assert err.value.field == "quantisation"
    assert "quantization" in err.value.suggestions
    assert "allowed arguments" in err.value.message


def test_wrong_type_and_nan_are_invalid_input():
    with pytest.raises(InvalidInput) as err:
        call("estimate_memory", model="llama 3.1 8b", batch_size="many")
    assert err.value.field == "batch_size"
    with pytest.raises(InvalidInput) as err:
        call("estimate_cost", monthly_tokens=1_000_000, input_share=float("nan"))
    assert err.value.field == "input_share"


def test_unknown_model_error_lists_close_names():
    err = tools.call_json("get_model", {"model": "lama 3.1 8"})["error"]
    assert err["type"] == "invalid_input" and err["field"] == "model"
    assert "llama-3.1-8b" in err["suggestions"]


def test_unknown_tool():
    with pytest.raises(InvalidInput) as err:
        tools.call("estimate_memmory", {})
    assert "estimate_memory" in err.value.suggestions


def test_cli_tool_prints_json_and_exit_codes():
    ok = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "tool", "get_model", '{"model": "llama 3.1 8b"}'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["id"] == "llama-3.1-8b"
    bad = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "tool", "estimate_memory", '{"model": "llama 3.1 8b", "batch_size": 0}'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    err = json.loads(bad.stdout)["error"]
    assert err["type"] == "invalid_input" and err["field"] == "batch_size"
    junk = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "tool", "get_model", "{not json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert junk.returncode == 2 and "not valid JSON" in json.loads(junk.stdout)["error"]["message"]


# ---------------------------------------------------------------- get/find/compare


def test_get_model_carries_sources_for_every_fact():
    r = call("get_model", model="Meta-Llama-3.1-8B-Instruct")
    assert r["params_b"] == catalog().models["llama-3.1-8b"].params_b
    assert r["license"]["id"] == "llama-3.1"
    assert r["architecture"]["head_dim"] == 128
    assert set(r["fact_sources"]) >= {"params_b", "context_length", "license"}
    for score in r["benchmarks"].values():
        assert score["source"].startswith("http")


def test_find_models_filters():
    r = call("find_models", license="apache-2.0", max_params_b=10, min_context=32000, limit=50)
    assert r["count"] > 0
    for m in r["models"]:
        assert m["license"]["id"] == "apache-2.0" and m["params_b"] <= 10 and m["context_length"] >= 32000
    fam = call("find_models", family="llama", limit=100)
    assert fam["count"] >= 5 and all(m["family"].startswith("llama") for m in fam["models"])


def test_compare_benchmarks_reports_missing_and_sources():
    r = call("compare_benchmarks", models=["llama 3 8b", "llama 3.1 8b"], benchmarks=["MMLU", "AIME25"])
    assert [row["model"] for row in r["table"]] == ["llama-3-8b", "llama-3.1-8b"]
    assert any(x["benchmark"] == "AIME25" for x in r["missing"])
    for row in r["table"]:
        for s in row["scores"].values():
            assert s["source"].startswith("http")


# ---------------------------------------------------------------- memory


def test_bf16_weights_are_two_bytes_per_parameter():
    m = catalog().models["llama-3.1-8b"]
    r = call("estimate_memory", model=m.id, quantization="bf16", context_length=8192)
    assert r["weights_gb"] == pytest.approx(m.params_b * 2, rel=1e-3)


def test_kv_cache_follows_gqa_architecture():
    r = call("estimate_memory", model="llama-3.1-8b", context_length=8192)
    # 2 (K,V) x 32 layers x 8 KV heads x 128 dims x 2 bytes x 8192 tokens
    assert r["kv_cache_gb"] == pytest.approx(2 * 32 * 8 * 128 * 2 * 8192 / 1e9, rel=1e-2)


def test_bitsandbytes_keeps_embeddings_16_bit_but_gguf_does_not():
    m = catalog().models["llama-3.1-8b"]
    nf4 = call("estimate_memory", model=m.id, quantization="int4")["weights_gb"]
    assert nf4 > m.params_b * 4.5 / 8  # embeddings and lm_head at 2 bytes
    q4 = call("estimate_memory", model=m.id, quantization="q4_k_m")["weights_gb"]
    assert q4 == pytest.approx(m.params_b * 4.90 / 8, rel=1e-2)


def test_sliding_window_caps_local_layers():
    m = catalog().models["gemma-2-9b"]
    a = m.architecture
    r = call("estimate_memory", model=m.id, context_length=8192)
    full = 2 * a.layers * a.kv_heads * a.effective_head_dim * 2 * 8192 / 1e9
    assert r["kv_cache_gb"] < full
    assert any("sliding attention" in x for x in r["assumptions"])


def test_mla_caches_the_latent():
    m = catalog().models["deepseek-v3"]
    att = m.architecture.attention
    r = call("estimate_memory", model=m.id, quantization="fp8", context_length=10000)
    expected = m.architecture.layers * (att.kv_lora_rank + att.qk_rope_head_dim) * 2 * 10000 / 1e9
    assert r["kv_cache_gb"] == pytest.approx(expected, rel=1e-2)


def test_moe_keeps_every_expert_resident():
    m = catalog().models["deepseek-v3"]
    r = call("estimate_memory", model=m.id, quantization="fp8")
    assert r["weights_gb"] > m.params_b * 0.95  # ~1 byte per parameter, all 671B


def test_fit_and_what_to_drop_first():
    small = call("estimate_memory", model="llama-3.1-8b", quantization="bf16", gpu="rtx-4090", context_length=8192)
    assert small["fits"] is True and small["max_context_that_fits"] >= 8192
    big = call("estimate_memory", model="llama-3.1-70b", quantization="bf16", gpu="rtx-4090")
    assert big["fits"] is False
    text = " ".join(big["if_it_does_not_fit"])
    assert "x NVIDIA GeForce RTX 4090" in text or "tensor parallel" in text
    tp = call("estimate_memory", model="llama-3.1-70b", quantization="bf16", gpu="h100-sxm", num_gpus=2)
    assert tp["fits"] is True and tp["per_gpu_gb"] < 80


def test_context_beyond_the_model_is_refused():
    with pytest.raises(InvalidInput) as err:
        call("estimate_memory", model="llama-2-7b", context_length=100_000)
    assert err.value.field == "context_length" and "4096" in err.value.message


# ---------------------------------------------------------------- throughput


@pytest.mark.parametrize("q", ["bf16", "int4", "int8", "q4_k_m", "awq"])
def test_decode_never_beats_the_bandwidth_roofline(q):
    r = call("estimate_throughput", model="llama-3.1-8b", gpu="h100-sxm", quantization=q)
    assert 0 < r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"]


def test_calibrated_estimate_is_near_the_measurement():
    r = call(
        "estimate_throughput",
        model="llama-3.1-8b",
        gpu="h100-sxm",
        quantization="bf16",
        engine="transformers",
        context_length=512,
    )
    assert r["calibration"]["measurements"], "transformers + bf16 should be calibrated"
    assert 40.99 / 1.5 < r["decode_tokens_per_s"] < 40.99 * 1.5


def test_concurrency_raises_aggregate_and_lowers_per_stream():
    one = call("estimate_throughput", model="llama-3.1-8b", gpu="h100-sxm", engine="vllm", concurrency=1)
    many = call("estimate_throughput", model="llama-3.1-8b", gpu="h100-sxm", engine="vllm", concurrency=64)
    assert many["aggregate_tokens_per_s"] > 5 * one["aggregate_tokens_per_s"]
    assert many["per_stream_tokens_per_s"] <= one["per_stream_tokens_per_s"]


def test_moe_decodes_faster_than_its_size_suggests():
    moe = call("estimate_throughput", model="qwen3-30b-a3b", gpu="h100-sxm", engine="vllm")
    dense = call("estimate_throughput", model="qwen3-32b", gpu="h100-sxm", engine="vllm")
    assert moe["decode_tokens_per_s"] > 3 * dense["decode_tokens_per_s"]


# ---------------------------------------------------------------- cost


def test_cost_table_has_the_three_volumes_and_consistent_break_even():
    r = call(
        "estimate_cost",
        monthly_tokens=10_000_000,
        model="llama-3.1-8b",
        gpu="rtx-4090",
        api_models=["gpt-4o-mini", "gpt-4o"],
    )
    vols = [row["monthly_tokens"] for row in r["table"]]
    assert {1_000_000, 10_000_000, 100_000_000} <= set(vols)
    kinds = {o["kind"] for o in r["options"]}
    assert kinds == {"api", "cloud_gpu", "on_prem"}
    crossed = [b for b in r["break_even"] if b["monthly_tokens"]]
    assert crossed, "an always-on GPU and an API must cross somewhere"
    from tools.cost import estimate_cost

    for b in crossed:
        v = b["monthly_tokens"]
        costs = {
            o["name"]: o["monthly_usd"]
            for o in estimate_cost(
                monthly_tokens=v, model="llama-3.1-8b", gpu="rtx-4090", api_models=["gpt-4o-mini", "gpt-4o"]
            )["options"]
        }
        assert costs[b["self_hosted"]] == pytest.approx(costs[b["api"]], rel=0.02)


def test_api_cost_is_linear_in_volume():
    a = call("estimate_cost", monthly_tokens=1_000_000, api_models=["gpt-4o"])["options"][0]["monthly_usd"]
    b = call("estimate_cost", monthly_tokens=100_000_000, api_models=["gpt-4o"])["options"][0]["monthly_usd"]
    p = catalog().price("gpt-4o")
    per_mtok = 0.75 * p.usd_per_mtok_input + 0.25 * p.usd_per_mtok_output
    assert a == pytest.approx(per_mtok, abs=0.005)  # shown to the cent
    assert b == pytest.approx(100 * per_mtok, abs=0.005)


def test_cost_needs_something_to_compare():
    with pytest.raises(InvalidInput):
        call("estimate_cost", monthly_tokens=1000, api_models=[])


# ---------------------------------------------------------------- licences


def test_llama3_forbids_training_on_outputs_but_31_allows_it_with_naming():
    old = call("check_license", model="llama 3 8b", use_outputs_to_train_other_models=True)
    assert old["verdict"] == "not_allowed"
    assert any(c["term"] == "outputs_to_train_other_models" for c in old["citations"])
    new = call("check_license", model="llama 3.1 8b", use_outputs_to_train_other_models=True)
    assert new["verdict"] == "allowed_with_conditions"
    assert any("Llama" in c for c in new["conditions"])


def test_mau_cap():
    assert (
        call("check_license", model="llama 3.1 8b", commercial=True, monthly_active_users=800_000_000)["verdict"]
        == "not_allowed"
    )
    ok = call("check_license", model="llama 3.1 8b", commercial=True, monthly_active_users=1_000_000)
    assert ok["verdict"] == "allowed_with_conditions"
    assert any("Built with Llama" in c for c in ok["conditions"])


def test_non_commercial_and_non_production_licences():
    assert call("check_license", model="qwen2.5-3b", commercial=True)["verdict"] == "not_allowed"
    assert (
        call("check_license", model="codestral-22b", hosted_service=True, commercial=True)["verdict"] == "not_allowed"
    )
    assert call("check_license", model="mistral-large-2", commercial=True)["verdict"] == "not_allowed"


def test_permissive_licence_is_allowed():
    r = call("check_license", model="qwen3-8b", commercial=True, monthly_active_users=10**9)
    assert r["verdict"] in ("allowed", "allowed_with_conditions")
    assert r["license"]["id"] == "apache-2.0"


def test_eu_multimodal_carve_out():
    assert call("check_license", model="llama-4-scout", eu_entity=True, commercial=True)["verdict"] == "not_allowed"
    text_only = call("check_license", model="llama-3.2-1b", eu_entity=True, commercial=True)
    assert text_only["verdict"] != "not_allowed"


def test_licence_history_is_reported():
    r = call("check_license", model="phi-2", commercial=True)
    assert r["license"]["id"] == "mit"
    assert r["license_history"] and r["license_history"][0]["license"]["id"] == "microsoft-research"


# ---------------------------------------------------------------- selection


def test_selection_respects_every_hard_constraint():
    r = call("select_models", use_case="code", gpu="RTX 4090", commercial=True, min_context=32000, top_k=5)
    assert r["recommendations"], r
    cat = catalog()
    for rec in r["recommendations"]:
        m = cat.models[rec["model"]]
        assert rec["memory_gb"] <= cat.gpus["rtx-4090"].memory_gb  # 24 GiB
        assert m.context_length >= 32000
        assert cat.licenses[m.license].terms.commercial_use.value != "no"
        assert rec["license_verdict"] != "not_allowed"
        assert rec["reasons"]
    assert all(e["reason"] for e in r["excluded"])


def test_selection_applies_the_mau_cap():
    r = call("select_models", use_case="chat", commercial=True, monthly_active_users=800_000_000, top_k=10)
    assert r["recommendations"]
    assert not any(rec["license"]["id"].startswith("llama") for rec in r["recommendations"])


def test_selection_licence_filter_and_size():
    r = call("select_models", licenses=["permissive"], max_params_b=10, top_k=10)
    cat = catalog()
    for rec in r["recommendations"]:
        assert cat.licenses[rec["license"]["id"]].category == "permissive"
        assert rec["params_b"] <= 10


def test_code_use_case_prefers_coders():
    r = call("select_models", use_case="code", top_k=3)
    assert any("code" in catalog().models[x["model"]].specialties for x in r["recommendations"])


def test_unknown_use_case_lists_the_allowed():
    with pytest.raises(InvalidInput) as err:
        call("select_models", use_case="astrology")
    assert err.value.field == "use_case" and "customer_service" in err.value.message


# ---------------------------------------------------------------- deployment


def test_plan_prefers_vllm_for_many_users_and_fits():
    r = call("plan_deployment", model="llama-3.1-8b", gpu="h100-sxm", concurrency=32, monthly_tokens=500_000_000)
    rec = r["recommended"]
    assert rec["engine"] == "vllm"
    assert rec["memory_per_gpu_gb"] <= rec["gpu_memory_gb"]
    assert "vllm serve" in rec["command"]


def test_plan_on_apple_uses_llama_cpp():
    apple = next(g for g in catalog().gpus.values() if g.segment == "apple")
    r = call("plan_deployment", model="llama-3.1-8b", gpu=apple.id)
    assert r["recommended"]["engine"] == "llama.cpp"


def test_plan_for_a_huge_model_spreads_over_gpus():
    r = call("plan_deployment", model="llama-3.1-405b", gpu="h100-sxm")
    rec = r["recommended"]
    assert all(o["memory_per_gpu_gb"] <= 80 for o in [rec, *r["alternatives"]])
    # no H100 holds 405B parameters in any format: the plan spreads them, over the fewest GPUs that hold them
    assert rec["num_gpus"] >= 2 and rec["memory_per_gpu_gb"] * rec["num_gpus"] > rec["gpu_memory_gb"]
    fewer = max(n for n in (1, 2, 4, 8, 16, 24, 32, 48, 64) if n < rec["num_gpus"])
    one_less = call(
        "estimate_memory",
        model="llama-3.1-405b",
        quantization=rec["quantization"],
        gpu="h100-sxm",
        num_gpus=fewer,
        engine=rec["engine"],
        context_length=r["context_length"],
    )
    assert not one_less["fits"]


def test_list_gpus_and_licences():
    g = call("list_gpus", segment="consumer")
    assert g["count"] >= 5 and all(x["segment"] == "consumer" for x in g["gpus"])
    lic = call("list_licenses")
    assert lic["count"] >= 15
    assert all(x["url"].startswith("http") for x in lic["licenses"])
    cat = catalog()
    for x in g["gpus"]:  # each size is the catalog's bytes in GB (10^9), finite and positive
        assert x["memory_gb"] == pytest.approx(cat.gpus[x["id"]].memory_bytes / 1e9, abs=0.01) and x["memory_gb"] > 0
    assert {x["id"] for x in lic["licenses"]} == set(cat.licenses)
