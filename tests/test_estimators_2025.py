"""The 2025-2026 architectures, formats, devices and plans, each against numbers worked out by hand from the
model's config or from a vendor's published figure (the figure and its source are next to each check)."""

from __future__ import annotations

import pytest

import tools
from catalog.query import LookupFailed, get_catalog
from tools.errors import InvalidInput

GiB = 2**30


def call(name: str, **args) -> dict:
    return tools.call(name, args)


def model_with(predicate):
    """The first catalog model a predicate holds for (skips when the catalog has none)."""
    for m in get_catalog().models.values():
        if m.architecture is not None and predicate(m):
            return m
    pytest.skip("no model of this kind in the catalog")


# ---------------------------------------------------------------- hybrid models: fixed state beside the KV cache


def test_gated_deltanet_state_and_kv_match_the_hand_computation():
    # Qwen3-Next-80B-A3B config.json: 48 layers, full_attention_interval 4 -> 12 attention layers with 2 KV heads of
    # 256; 36 gated DeltaNet layers: 32 value heads, 16 key heads, key/value head dim 128, conv kernel 4.
    r = call("estimate_memory", model="qwen3-next-80b-a3b-instruct", quantization="bf16", context_length=32768)
    recurrent = 32 * 128 * 128
    conv = (32 * 128 + 2 * 16 * 128) * (4 - 1)
    state = 36 * (recurrent + conv) * 2
    kv = 12 * 2 * 2 * 256 * 2 * 32768
    assert r["state_gb"] == pytest.approx(state / 1e9, rel=0.01)
    assert r["kv_cache_gb"] == pytest.approx(kv / 1e9, rel=0.01)
    assert any(p["part"] == "fixed_state" for p in r["breakdown"])
    assert any("fixed-size state" in a for a in r["assumptions"])


def test_hybrid_state_does_not_grow_with_the_context_but_the_kv_cache_does():
    m = model_with(lambda m: m.architecture.linear_attention is not None)
    short = call("estimate_memory", model=m.id, context_length=4096)
    long = call("estimate_memory", model=m.id, context_length=min(65536, m.context_length))
    assert short["state_gb"] == long["state_gb"] > 0
    assert long["kv_cache_gb"] > short["kv_cache_gb"]


def test_mamba2_state_matches_the_hand_computation():
    # NVIDIA Nemotron-Nano-9B-v2 config.json: 56 layers, hybrid_override_pattern with 4 attention layers ('*') and
    # 27 Mamba-2 layers: mamba_num_heads 128, mamba_head_dim 80, ssm_state_size 128, n_groups 8, conv_kernel 4.
    try:
        r = call("estimate_memory", model="nemotron-nano-9b-v2", context_length=8192)
    except InvalidInput:
        pytest.skip("Nemotron Nano 9B v2 is not in the catalog")
    per_layer = 128 * 128 * 80 + (128 * 80 + 2 * 8 * 128) * 3
    assert r["state_gb"] == pytest.approx(27 * per_layer * 2 / 1e9, rel=0.01)
    assert r["kv_cache_gb"] == pytest.approx(4 * 2 * 8 * 128 * 2 * 8192 / 1e9, rel=0.01)


def test_hybrid_kv_stays_below_the_full_attention_formula():
    from tools.memory import full_attention_kv_bytes, kv_cache_bytes

    for m in get_catalog().models.values():
        a = m.architecture
        if a is None or (a.linear_attention is None and a.attention.kind == "full" and not a.kv_shared_layers):
            continue
        if a.attention.global_kv_heads or a.attention.global_head_dim:
            continue  # wider global heads can exceed the naive formula on purpose
        ctx = min(32768, m.context_length)
        assert kv_cache_bytes(m, ctx, 1, 2.0) <= full_attention_kv_bytes(m, ctx, 1, 2.0) * 1.0001, m.id


# ---------------------------------------------------------------- MLA with a sparse-attention indexer


def test_mla_with_indexer_matches_the_hand_computation():
    # DeepSeek-V3.2-Exp config.json: 61 layers, kv_lora_rank 512, qk_rope_head_dim 64, index_head_dim 128; the
    # indexer keys are cached in FP8 with one 4-byte scale per token and layer.
    r = call("estimate_memory", model="deepseek-v3.2-exp", quantization="fp8", context_length=32768)
    per_token = 61 * ((512 + 64) * 2 + 128 + 4)
    assert r["kv_cache_gb"] == pytest.approx(per_token * 32768 / 1e9, rel=0.01)


def test_mla_latent_is_replicated_across_tensor_parallel_ranks():
    one = call(
        "estimate_memory", model="deepseek-v3", quantization="fp8", context_length=8192, engine="vllm", num_gpus=1
    )
    eight = call(
        "estimate_memory", model="deepseek-v3", quantization="fp8", context_length=8192, engine="vllm", num_gpus=8
    )
    assert eight["kv_cache_gb"] == pytest.approx(8 * one["kv_cache_gb"], rel=0.01)
    assert any("replicated" in a for a in eight["assumptions"])


# ---------------------------------------------------------------- weights as the vendor ships them


@pytest.mark.parametrize("model,published_gib", [("gpt-oss-120b", 60.8), ("gpt-oss-20b", 12.8)])
def test_mxfp4_checkpoint_matches_the_published_size(model, published_gib):
    # gpt-oss model card (arXiv 2508.10925), Table 1: checkpoint sizes 60.8 GiB and 12.8 GiB (MXFP4 experts, BF16 rest).
    r = call("estimate_memory", model=model, quantization="native")
    assert r["quantization"]["id"] == "mxfp4"
    assert r["weights_gb"] == pytest.approx(published_gib * GiB / 1e9, rel=0.03)


def test_mxfp4_on_a_dense_model_keeps_16_bits():
    dense = call("estimate_memory", model="llama 3.1 8b", quantization="mxfp4")
    bf16 = call("estimate_memory", model="llama 3.1 8b", quantization="bf16")
    assert dense["weights_gb"] == bf16["weights_gb"]


def test_fp8_shipped_weights_are_about_one_byte_per_parameter():
    r = call("estimate_memory", model="deepseek-v3", quantization="native")
    assert r["quantization"]["id"] == "fp8"
    assert 671 <= r["weights_gb"] <= 671 * 1.02


# ---------------------------------------------------------------- memory without a named GPU


def test_llama_70b_q4_fits_a_48gb_card_and_not_a_16gb_one():
    big = call("estimate_memory", model="llama 3.3 70b", quantization="q4_k_m", vram_gb=48, context_length=8192)
    small = call("estimate_memory", model="llama 3.3 70b", quantization="q4_k_m", vram_gb=16, context_length=8192)
    assert big["fits"] and big["headroom_gb"] > 0
    assert not small["fits"] and small["headroom_gb"] < 0
    assert big["gpu"]["memory_gb"] == pytest.approx(48 * GiB / 1e9, rel=1e-3)


def test_unified_memory_leaves_the_gpu_only_part_of_it():
    plain = call("estimate_memory", model="qwen3 32b", quantization="q4_k_m", vram_gb=32)
    mac = call("estimate_memory", model="qwen3 32b", quantization="q4_k_m", vram_gb=32, unified_memory=True)
    assert mac["headroom_gb"] < plain["headroom_gb"]


def test_a_gpu_and_a_memory_size_together_are_refused():
    with pytest.raises(InvalidInput) as err:
        call("estimate_memory", model="llama 3.1 8b", gpu="RTX 4090", vram_gb=24)
    assert err.value.field == "vram_gb"


def test_speed_without_a_bandwidth_asks_for_one():
    with pytest.raises(InvalidInput) as err:
        call("estimate_throughput", model="llama 3.1 8b", vram_gb=24)
    assert err.value.field == "memory_bandwidth_gbps"
    r = call("estimate_throughput", model="llama 3.1 8b", vram_gb=24, memory_bandwidth_gbps=1008, quantization="q4_k_m")
    assert r["decode_tokens_per_s"] > 0


# ---------------------------------------------------------------- plans: the format asked for, across nodes


def test_deepseek_v3_in_fp8_needs_two_nodes_of_h100_and_one_of_h200():
    # 671B parameters in FP8 are ~675 GB: more than 8 x 80 GiB H100, less than 8 x 141 GB H200.
    h100 = call("plan_deployment", model="deepseek-v3", gpu="H100 SXM", quantization="fp8")
    rec = h100["recommended"]
    assert rec["quantization"] == "fp8"
    assert rec["num_gpus"] == 16 and rec["nodes"] == 2
    assert "pipeline" in rec["parallelism"]
    h200 = call("plan_deployment", model="deepseek-v3", gpu="H200", quantization="fp8")
    assert h200["recommended"]["num_gpus"] == 8 and h200["recommended"]["nodes"] == 1


def test_plan_says_what_a_cheaper_format_changes():
    r = call("plan_deployment", model="deepseek-v3", gpu="H100 SXM", quantization="fp8")
    cheaper = r["cheaper_format"]
    assert cheaper is not None and cheaper["num_gpus"] < r["recommended"]["num_gpus"]


def test_plan_takes_the_engine_asked_for():
    r = call("plan_deployment", model="llama 3.1 8b", gpu="RTX 4090", engine="ollama")
    assert r["recommended"]["engine"] == "llama.cpp"
    assert all(o["engine"] == "llama.cpp" for o in r["alternatives"])


def test_a_model_too_big_for_the_card_gets_a_cpu_offload_plan():
    r = call("plan_deployment", model="llama 3.3 70b", gpu="RTX 4090", num_gpus=1, quantization="q4_k_m")
    off = r["cpu_offload"]
    assert 0 < off["gpu_layers"] < off["total_layers"]
    assert f"-ngl {off['gpu_layers']}" in off["command"]
    full = call("estimate_throughput", model="llama 3.1 8b", gpu="RTX 4090", quantization="q4_k_m")
    assert off["decode_tokens_per_s"] < full["decode_tokens_per_s"] / 5


# ---------------------------------------------------------------- speed: split modes


def test_layer_split_adds_memory_not_speed_but_tensor_parallel_adds_speed():
    one = call(
        "estimate_throughput", model="llama 3.1 70b", gpu="H100 SXM", quantization="awq", engine="vllm", num_gpus=1
    )
    tp = call(
        "estimate_throughput", model="llama 3.1 70b", gpu="H100 SXM", quantization="awq", engine="vllm", num_gpus=2
    )
    lcpp1 = call("estimate_throughput", model="llama 3.1 70b", gpu="H100 SXM", quantization="q4_k_m", num_gpus=1)
    lcpp2 = call("estimate_throughput", model="llama 3.1 70b", gpu="H100 SXM", quantization="q4_k_m", num_gpus=2)
    assert tp["decode_tokens_per_s"] > 1.3 * one["decode_tokens_per_s"]
    assert lcpp2["decode_tokens_per_s"] <= lcpp1["decode_tokens_per_s"]
    assert any("add memory, not speed" in b for b in lcpp2["basis"])


def test_every_estimate_names_its_calibration_class():
    r = call("estimate_throughput", model="llama 3.1 8b", gpu="RTX 4090", quantization="q4_k_m")
    cal = r["calibration"]
    assert cal["engine"] == "llama.cpp" and cal["device_class"] == "consumer"
    assert cal["level"] == "class" and cal["rows_in_class"] >= 3
    assert "each source left out of the fit" in cal["text"] and cal["source_cv_median_abs_error"] > 0
    odd = call("estimate_throughput", model="llama 3.1 8b", gpu="RTX 4090", quantization="exl3_4bpw")
    # exllama has 2 rows on consumer cards: a sparse class, pulled toward the engine's constants
    assert odd["calibration"]["level"] == "sparse" and "fewer than 3" in odd["calibration"]["text"]


# ---------------------------------------------------------------- names that never swap models


def test_gemma_4_is_never_gemma_3_4b():
    cat = get_catalog()
    try:
        m = cat.model("Gemma 4")
        assert m.family == "gemma-4"
    except LookupFailed as exc:
        assert "gemma-3-4b" not in (exc.suggestions if exc.reason == "ambiguous" else [])


def test_a_future_version_is_an_error_with_suggestions():
    with pytest.raises(InvalidInput) as err:
        call("get_model", model="Qwen3.9 27B")
    assert err.value.field == "model"


# ---------------------------------------------------------------- licences introduced for 2025-2026 models


def verdict(model: str, **use) -> dict:
    return call("check_license", model=model, **use)


def test_revenue_capped_modified_mit_blocks_large_companies():
    r = verdict("devstral-2-123b", commercial=True, monthly_revenue_usd=50_000_000)
    assert r["verdict"] == "not_allowed"
    assert verdict("devstral-2-123b", commercial=True, monthly_revenue_usd=5_000_000)["verdict"] != "not_allowed"


@pytest.mark.parametrize("license_id", ["minimax-m2.7-non-commercial", "exaone-nc-1.2", "cohere-labs-cc-by-nc-4.0"])
def test_non_commercial_licences_block_commercial_use(license_id):
    cat = get_catalog()
    model = next((m for m in cat.models.values() if m.license == license_id), None)
    if model is None:
        pytest.skip(f"no model under {license_id}")
    assert verdict(model.id, commercial=True)["verdict"] == "not_allowed"
    assert verdict(model.id, commercial=False)["verdict"] != "not_allowed"


def test_kimi_licence_asks_for_the_model_name_on_large_products():
    cat = get_catalog()
    model = next((m for m in cat.models.values() if m.license == "kimi-modified-mit"), None)
    if model is None:
        pytest.skip("no model under the Kimi licence")
    r = verdict(model.id, commercial=True)
    assert r["verdict"] == "allowed_with_conditions"
    assert any("Kimi" in c for c in r["conditions"])


def test_every_licence_in_use_quotes_its_commercial_clause():
    cat = get_catalog()
    for lic_id in {m.license for m in cat.models.values()}:
        lic = cat.licenses[lic_id]
        assert lic.terms.commercial_use.quote, lic_id
        assert lic.url.startswith("http"), lic_id


def test_hosted_service_needing_a_licence_is_not_allowed():
    cat = get_catalog()
    lic_ids = {
        x.id
        for x in cat.licenses.values()
        if x.terms.hosted_service and x.terms.hosted_service.value == "requires_license"
    }
    model = next((m for m in cat.models.values() if m.license in lic_ids), None)
    assert model is not None
    assert verdict(model.id, hosted_service=True)["verdict"] == "not_allowed"


def test_excluded_territories_block_users_there():
    cat = get_catalog()
    lic = next((x for x in cat.licenses.values() if x.terms.excluded_territories), None)
    if lic is None:
        pytest.skip("no licence with excluded territories")
    model = next(m for m in cat.models.values() if m.license == lic.id)
    excluded = str(lic.terms.excluded_territories.value).split(",")
    assert verdict(model.id, commercial=True, territories=[excluded[0]])["verdict"] == "not_allowed"
    if "EU" in excluded:
        assert verdict(model.id, commercial=True, eu_entity=True)["verdict"] == "not_allowed"
        assert verdict(model.id, commercial=True, territories=["DE"])["verdict"] == "not_allowed"
    assert (
        verdict(model.id, commercial=True, territories=["US"])["verdict"] != "not_allowed"
        or lic.terms.commercial_use.value == "no"
    )


def test_every_revenue_limit_blocks_just_above_it_and_allows_just_below():
    cat = get_catalog()
    checked = 0
    for lic in cat.licenses.values():
        for name, months in (("revenue_threshold_usd_per_month", 1), ("revenue_threshold_usd_per_year", 12)):
            term = getattr(lic.terms, name)
            if term is None or term.value == "not_reported":
                continue
            model = next((m for m in cat.models.values() if m.license == lic.id), None)
            if model is None:
                continue
            limit_per_month = term.value / months
            assert (
                verdict(model.id, commercial=True, monthly_revenue_usd=int(limit_per_month) + 1)["verdict"]
                == "not_allowed"
            )
            assert (
                verdict(model.id, commercial=True, monthly_revenue_usd=int(limit_per_month) - 1)["verdict"]
                != "not_allowed"
            )
            checked += 1
    assert checked >= 2


def test_lookup_tables_are_stored_but_not_streamed_per_token():
    """Qwen3.8-Flash-Next stores a 51B n-gram embedding beside its 6B active parameters: memory holds all of it, but
    a decode step reads a few rows, so the weights streamed per step drop by the table's 51e9 x bits / 8 bytes (at
    Q4_K_M's 4.9 bits, 31.2 GB) and stay within about 2x the active parameters' bytes, where the table once made the
    step read 37 GB."""
    from tools.common import catalog
    from tools.memory import weight_bytes
    from tools.throughput import weight_bytes_read

    cat = catalog()
    m, q = cat.models["qwen3.8-flash-next"], cat.quantizations["q4_k_m"]
    assert m.architecture is not None and m.architecture.lookup_params_b == 51
    without = m.model_copy(update={"architecture": m.architecture.model_copy(update={"lookup_params_b": None})})
    assert weight_bytes(m, q) == weight_bytes(without, q)  # stored all the same
    dropped = weight_bytes_read(without, q, 1) - weight_bytes_read(m, q, 1)
    assert dropped == pytest.approx(51e9 * q.bits_per_weight / 8, rel=1e-9)
    assert weight_bytes_read(m, q, 1) < 2 * (m.active_params_b or 0) * 1e9 * q.bits_per_weight / 8
