"""Invariants over the whole catalog: rules that right advice obeys for every model, device, format, licence and
price the catalog holds. Nothing here names a fixed count or a fixed pick, so catalog additions keep it valid (and
are checked by it). Each invariant is a property a wrong estimate would break, not a snapshot of today's output."""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tools
from tools import cost as cost_mod
from tools import memory as mem
from tools import selection
from tools import throughput as tp
from tools.common import catalog
from tools.errors import InvalidInput
from tools.licensing import VERDICT_ORDER, evaluate

CAT = catalog()
MODELS = sorted(CAT.models)
WITH_ARCH = [m for m in MODELS if CAT.models[m].architecture is not None]
DEVICES = sorted(g for g in CAT.gpus if CAT.gpus[g].memory_bytes)
QUANTS = sorted(CAT.quantizations)
KV_DTYPES = sorted(mem.KV_BYTES)
USE_CASES = sorted(selection.USE_CASES)
CAPPED = sorted(
    lic.id
    for lic in CAT.licenses.values()
    if lic.terms.mau_threshold is not None and isinstance(lic.terms.mau_threshold.value, int)
)
# `make mutation` re-runs these for every mutant that reaches them: it draws a fifth of the examples
SCALE = float(os.environ.get("ADVISOR_EXAMPLES_SCALE", "1"))


def examples(n: int) -> int:
    return max(3, round(n * SCALE))


FAST = settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
GB = 1e9


def rounding(x: float) -> float:
    """The largest error tools.common.rnd can make on x: 3 significant figures below 1, 2 decimals above."""
    return 0.0051 if abs(x) >= 1 else 0.0006


def fraction_of(context: int, share: float) -> int:
    return max(1, min(context, int(context * share)))


# ---------------------------------------------------------------- memory


@FAST
@given(
    st.sampled_from(MODELS),
    st.sampled_from(QUANTS),
    st.floats(0, 1),
    st.integers(1, 32),
    st.sampled_from([1, 2, 3, 4, 8, 16]),
    st.one_of(st.none(), st.sampled_from(DEVICES)),
)
def test_total_memory_is_the_sum_of_its_parts(model, q, share, batch, num_gpus, gpu):
    m = CAT.models[model]
    args = {
        "model": model,
        "quantization": q,
        "context_length": fraction_of(m.context_length, share),
        "batch_size": batch,
        "num_gpus": num_gpus,
    }
    if gpu:
        args["gpu"] = gpu
    r = tools.call("estimate_memory", args)
    parts = [r["weights_gb"], r["kv_cache_gb"] or 0.0, r.get("state_gb", 0.0), r["activations_gb"], r["overhead_gb"]]
    slack = sum(rounding(p) for p in parts) + rounding(r["total_gb"])
    assert sum(parts) == pytest.approx(r["total_gb"], abs=slack)
    assert sum(p["gb"] for p in r["breakdown"]) == pytest.approx(r["total_gb"], abs=slack + 0.02)
    if num_gpus > 1:
        assert r["per_gpu_gb"] * num_gpus == pytest.approx(r["total_gb"], abs=num_gpus * 0.0051 + 0.0051)
    if gpu:
        assert r["fits"] == (r["headroom_gb"] >= 0) or abs(r["headroom_gb"]) <= 0.0051


@FAST
@given(
    st.integers(1, 10**6),
    st.integers(1, 10**6),
    st.integers(1, 64),
    st.integers(1, 64),
    st.sampled_from(KV_DTYPES),
    st.sampled_from(KV_DTYPES),
    st.sampled_from(["vllm", "llama.cpp", "transformers"]),
)
def test_memory_grows_with_context_batch_and_kv_bytes_for_every_model(c1, c2, b1, b2, k1, k2, engine):
    (c_lo, c_hi), (b_lo, b_hi) = sorted((c1, c2)), sorted((b1, b2))
    kv_lo, kv_hi = sorted((mem.KV_BYTES[k1], mem.KV_BYTES[k2]))
    q = CAT.quantizations["bf16"]
    for model in MODELS:
        m = CAT.models[model]
        lo_ctx, hi_ctx = min(c_lo, m.context_length), min(c_hi, m.context_length)
        small = mem.estimate(m, q, engine, lo_ctx, b_lo, kv_lo, 1)
        for bigger in (
            mem.estimate(m, q, engine, hi_ctx, b_lo, kv_lo, 1),
            mem.estimate(m, q, engine, lo_ctx, b_hi, kv_lo, 1),
            mem.estimate(m, q, engine, lo_ctx, b_lo, kv_hi, 1),
            mem.estimate(m, q, engine, hi_ctx, b_hi, kv_hi, 1),
        ):
            assert bigger.total >= small.total, model
            assert bigger.kv_or_zero >= small.kv_or_zero, model
            assert bigger.per_gpu >= small.per_gpu, model
        if m.architecture is not None:
            # the KV cache is the part that grows: strictly more with more sequences
            assert mem.kv_cache_bytes(m, lo_ctx, b_hi, kv_lo) == pytest.approx(
                b_hi * mem.kv_cache_bytes(m, lo_ctx, 1, kv_lo)
            )
            if b_hi > b_lo:
                assert mem.estimate(m, q, engine, lo_ctx, b_hi, kv_lo, 1).total > small.total, model


def test_fewer_bits_per_weight_never_need_more_memory_for_any_model():
    # within a scope, fewer bits for the weights in it and then for the rest (fp8_mxfp4: MXFP4 experts, FP8 rest)
    by_bits = sorted(CAT.quantizations.values(), key=lambda q: (q.bits_per_weight, q.other_bits))
    bf16 = CAT.quantizations["bf16"]
    for m in CAT.models.values():
        full = mem.weight_bytes(m, bf16)
        assert full == pytest.approx(m.params_b * 1e9 * 2), m.id  # 16-bit weights: two bytes a parameter
        for scope in ("all", "linear", "experts"):
            same = [q for q in by_bits if q.scope == scope]
            weights = [mem.weight_bytes(m, q) for q in same]
            assert weights == sorted(weights), (m.id, scope)
            totals = [
                mem.estimate(m, q, "llama.cpp", 4096 if m.context_length >= 4096 else m.context_length, 1, 2.0, 1).total
                for q in same
            ]
            assert totals == sorted(totals), (m.id, scope)
            for q, w in zip(same, weights):
                if q.bits_per_weight <= 16:
                    assert w <= full * (1 + 1e-12), (m.id, q.id)
                if q.bits_per_weight < 16 and (scope != "experts" or mem.routed_expert_params(m) > 0):
                    assert w < full, (m.id, q.id)  # a smaller format saves something on every model it applies to


@FAST
@given(st.integers(1, 2_000_000), st.integers(1, 16), st.sampled_from(KV_DTYPES))
def test_kv_cache_of_every_model_is_at_most_the_full_attention_formula(context, batch, kv_dtype):
    """Sliding-window, chunked, MLA, hybrid (linear attention / Mamba) and KV-sharing models cache less than
    every layer caching every token with every KV head; plain full attention is exactly that formula."""
    kvb = mem.KV_BYTES[kv_dtype]
    for model in WITH_ARCH:
        m = CAT.models[model]
        a = m.architecture
        ctx = min(context, m.context_length)
        kv = mem.kv_cache_bytes(m, ctx, batch, kvb)
        naive = mem.full_attention_kv_bytes(m, ctx, batch, kvb)
        assert naive == pytest.approx(batch * 2 * a.layers * a.kv_heads * a.effective_head_dim * kvb * ctx)
        assert 0 < kv <= naive * (1 + 1e-12), model
        layout = mem.kv_layout(m, kvb)
        plain = a.attention.kind == "full" and a.kv_layers == a.layers
        if plain:
            assert kv == pytest.approx(naive), model
        if a.attention.kind == "mla" or a.kv_layers < a.layers:
            assert kv < naive, model
        if a.attention.kind in ("sliding", "chunked") and layout.local_layers and layout.window and ctx > layout.window:
            assert kv < naive, model
            # past the window only the global layers keep growing
            more = mem.kv_cache_bytes(m, ctx + 1000, batch, kvb) - kv
            assert more == pytest.approx(batch * layout.global_layers * layout.global_bytes * 1000), model


@FAST
@given(st.integers(1, 2_000_000), st.integers(1, 16))
def test_fixed_state_of_hybrid_models_does_not_grow_with_context(context, batch):
    for model in WITH_ARCH:
        m = CAT.models[model]
        lin = m.architecture.linear_attention
        state = mem.state_bytes(m, batch)
        if lin is None:
            assert state == 0, model
            continue
        assert state == pytest.approx(batch * lin.layers * lin.state_bytes_per_layer) and state > 0, model
        ctx = min(context, m.context_length)
        assert mem.estimate(m, CAT.quantizations["bf16"], "vllm", ctx, batch, 2.0, 1).state == state, model


def test_full_attention_kv_cache_in_the_tool_is_the_textbook_formula():
    """KV cache = 2 (K and V) x layers x KV heads x head dim x 2 bytes x tokens, for every plain model, at full
    context."""
    for model in WITH_ARCH:
        m = CAT.models[model]
        a = m.architecture
        if a.attention.kind != "full" or a.kv_layers != a.layers:
            continue
        r = tools.call("estimate_memory", {"model": model, "quantization": "int4", "context_length": m.context_length})
        expected = 2 * a.layers * a.kv_heads * a.effective_head_dim * 2 * m.context_length / GB
        assert r["kv_cache_gb"] == pytest.approx(expected, abs=rounding(expected)), model
        assert r["total_gb"] > r["weights_gb"] + r["kv_cache_gb"] - 0.011, model


@FAST
@given(
    st.sampled_from(MODELS),
    st.sampled_from(["bf16", "fp8", "q8_0", "q4_k_m", "awq", "int4"]),
    st.sampled_from(DEVICES),
    st.sampled_from([1, 2, 4, 8, 16]),
    st.integers(1, 8),
    st.floats(0, 1),
)
def test_max_context_that_fits_is_the_boundary_of_fits(model, q, gpu, num_gpus, batch, share):
    m = CAT.models[model]
    args = {"model": model, "quantization": q, "gpu": gpu, "num_gpus": num_gpus, "batch_size": batch}
    try:
        r = tools.call("estimate_memory", {**args, "context_length": fraction_of(m.context_length, share)})
    except InvalidInput:
        assume(False)
    best = r["max_context_that_fits"]
    assert 0 <= best <= m.context_length
    assert r["fits"] == (r["context_length"] <= best)
    if best:
        assert tools.call("estimate_memory", {**args, "context_length": best})["fits"]
    if best < m.context_length:
        assert not tools.call("estimate_memory", {**args, "context_length": best + 1})["fits"]


def test_max_context_uses_the_layout_of_the_devices_own_nodes():
    """Bug found: the largest context that fits was searched with nodes of 8 GPUs while the fit itself used the
    device's node size (GB200: 4), so 8 x GB200 'fit' Kimi K2 at 131k tokens yet 'fit' at most 124k."""
    largest = sorted(WITH_ARCH, key=lambda x: -CAT.models[x].params_b)[:6]
    for g in CAT.gpus.values():
        if not g.gpus_per_node or not g.memory_bytes:
            continue
        for model in largest:
            m = CAT.models[model]
            r = tools.call(
                "estimate_memory",
                {
                    "model": model,
                    "quantization": "fp8",
                    "gpu": g.id,
                    "batch_size": 8,
                    "num_gpus": 2 * g.gpus_per_node,
                    "context_length": m.context_length,
                },
            )
            assert r["fits"] == (r["max_context_that_fits"] == m.context_length), (model, g.id)


@FAST
@given(st.sampled_from(["vllm", "llama.cpp", "transformers"]), st.integers(1, 65536))
def test_more_gpus_never_need_more_memory_per_gpu(engine, context):
    q = CAT.quantizations["bf16"]
    for model in MODELS:
        m = CAT.models[model]
        ctx = min(context, m.context_length)
        per_gpu = [mem.estimate(m, q, engine, ctx, 1, 2.0, n).per_gpu for n in (1, 2, 4, 8, 16, 32)]
        assert per_gpu == sorted(per_gpu, reverse=True), model


# ---------------------------------------------------------------- throughput


@FAST
@given(
    st.sampled_from(MODELS),
    st.sampled_from(sorted(CAT.gpus)),
    st.sampled_from(QUANTS),
    st.floats(0, 1),
    st.sampled_from([1, 4, 16, 64]),
    st.sampled_from([1, 2, 4, 8]),
)
def test_throughput_never_exceeds_the_bandwidth_ceiling(model, gpu, q, share, concurrency, num_gpus):
    m, g = CAT.models[model], CAT.gpus[gpu]
    ctx = fraction_of(min(m.context_length, 131072), share)
    try:
        r = tools.call(
            "estimate_throughput",
            {
                "model": model,
                "gpu": gpu,
                "quantization": q,
                "context_length": ctx,
                "concurrency": concurrency,
                "num_gpus": num_gpus,
            },
        )
    except InvalidInput:
        assume(False)
    quant = CAT.quantizations[r["quantization"]]
    layout = mem.parallel_for(r["engine"], num_gpus, g.gpus_per_node or 8)
    bandwidth = g.memory_bandwidth_gbps * GB * layout.tensor  # layer split adds no bandwidth
    ceiling = bandwidth / tp.bytes_per_step(m, quant, 1, ctx)
    assert r["roofline_tokens_per_s"] == pytest.approx(ceiling, abs=0.051)
    assert r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"]
    assert r["per_stream_tokens_per_s"] <= r["roofline_tokens_per_s"]
    n = r["effective_concurrency"]
    if n:
        assert r["aggregate_tokens_per_s"] <= n * bandwidth / tp.bytes_per_step(m, quant, n, ctx) + 0.051
        assert r["aggregate_tokens_per_s"] == pytest.approx(n * r["per_stream_tokens_per_s"], rel=0.01, abs=0.051 * n)
        assert n <= min(concurrency, r["max_concurrent_sequences"])
    else:
        assert r["decode_tokens_per_s"] == 0 and r["aggregate_tokens_per_s"] == 0


@FAST
@given(
    st.sampled_from(MODELS),
    st.sampled_from(["bf16", "q8_0", "q4_k_m"]),
    st.integers(1, 65536),
    st.integers(1, 65536),
    st.floats(50, 8000),
    st.floats(1.01, 4),
)
def test_decode_speed_falls_with_context_and_rises_with_bandwidth(model, q, c1, c2, bandwidth, factor):
    m = CAT.models[model]
    lo, hi = sorted((min(c1, m.context_length), min(c2, m.context_length)))
    base = {"model": model, "quantization": q, "vram_gb": 100_000, "engine": "llama.cpp"}

    def speed(ctx, bw):
        return tools.call("estimate_throughput", {**base, "context_length": ctx, "memory_bandwidth_gbps": bw})

    try:
        near, far = speed(lo, bandwidth), speed(hi, bandwidth)
    except InvalidInput:  # a format llama.cpp does not load
        assume(False)
    assert far["decode_tokens_per_s"] <= near["decode_tokens_per_s"]
    faster = speed(lo, bandwidth * factor)
    assert faster["decode_tokens_per_s"] >= near["decode_tokens_per_s"]
    assert faster["roofline_tokens_per_s"] >= near["roofline_tokens_per_s"]


def test_bytes_read_per_token_cover_the_dense_weights():
    """A dense model reads at least every non-embedding weight per token; an MoE model reads less than all of them."""
    for m in CAT.models.values():
        for qid in ("bf16", "q4_k_m", "fp8"):
            q = CAT.quantizations[qid]
            read = tp.weight_bytes_read(m, q, 1)
            split = mem.weight_split(m)
            assert read <= mem.weight_bytes(m, q) * (1 + 1e-12), m.id
            if not m.is_moe and split.known:
                assert read >= split.body * q.bits_per_weight / 8 * (1 - 1e-12), m.id
            if m.is_moe and split.known and split.experts:
                assert read < mem.weight_bytes(m, q), m.id
                assert tp.weight_bytes_read(m, q, 64) >= read, m.id  # a batch touches more experts


# ---------------------------------------------------------------- licences and selection


def _commercial_no(model_id: str) -> bool:
    t = CAT.licenses[CAT.models[model_id].license].terms
    return t.commercial_use.value == "no" or bool(t.non_production_only and t.non_production_only.value is True)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(
    st.sampled_from(USE_CASES),
    st.one_of(st.none(), st.sampled_from(DEVICES), st.floats(4, 200)),
    st.sampled_from([1, 2, 8]),
    st.one_of(st.none(), st.integers(0, 10**10)),
    st.sampled_from([None, True, False]),
)
def test_commercial_use_never_recommends_a_non_commercial_licence(use_case, device, num_gpus, mau, eu_entity):
    args = {"use_case": use_case, "commercial": True, "num_gpus": num_gpus, "top_k": 20, "eu_entity": eu_entity}
    if isinstance(device, str):
        args["gpu"] = device
    elif device is not None:
        args["vram_gb"] = device
    if mau is not None:
        args["monthly_active_users"] = mau
    r = tools.call("select_models", args)
    for rec in r["recommendations"]:
        assert not _commercial_no(rec["model"]), (rec["model"], args)
        assert rec["license_verdict"] != "not_allowed"
        direct = tools.call(
            "check_license",
            {"model": rec["model"], "commercial": True, "monthly_active_users": mau, "eu_entity": eu_entity},
        )
        assert rec["license_verdict"] == direct["verdict"], rec["model"]
    scores = [rec["score"] for rec in r["recommendations"]]
    assert scores == sorted(scores, reverse=True)
    assert len({rec["model"] for rec in r["recommendations"]}) == len(scores) <= 20


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(
    st.sampled_from(USE_CASES),
    st.sampled_from(DEVICES),
    st.sampled_from([1, 2, 4]),
    st.one_of(st.none(), st.floats(0.5, 800)),
    st.one_of(st.none(), st.integers(1024, 1_000_000)),
    st.booleans(),
)
def test_every_recommendation_meets_the_hard_constraints(use_case, gpu, num_gpus, max_params, min_context, vision):
    args = {"use_case": use_case, "gpu": gpu, "num_gpus": num_gpus, "top_k": 20, "needs_vision": vision}
    if max_params is not None:
        args["max_params_b"] = max_params
    if min_context is not None:
        args["min_context"] = min_context
    r = tools.call("select_models", args)
    g = CAT.gpus[gpu]
    fit_context = min_context or (32768 if r["use_case"] in ("long_context", "rag") else 4096)
    for rec in r["recommendations"]:
        m, q = CAT.models[rec["model"]], CAT.quantizations[rec["quantization"]]
        assert max_params is None or m.params_b <= max_params
        assert min_context is None or m.context_length >= min_context
        assert not vision or "image" in m.modalities
        est = mem.estimate(m, q, mem.default_engine(q), fit_context, 1, 2.0, num_gpus)
        assert est.per_gpu <= mem.usable_bytes(g), (rec["model"], q.id)
        assert rec["memory_gb"] == pytest.approx(est.total / GB, abs=rounding(est.total / GB))
    assert r["considered"] == len(CAT.models)


@FAST
@given(
    st.sampled_from(CAPPED), st.integers(1, 10**11), st.sampled_from([None, True, False]), st.sampled_from([None, True])
)
def test_a_user_count_above_a_licence_cap_is_never_allowed(license_id, over, commercial, hosted):
    cap = CAT.licenses[license_id].terms.mau_threshold.value
    mau = min(cap + over, 10**11)
    assume(mau > cap)
    for m in CAT.models.values():
        if m.license != license_id:
            continue
        r = tools.call(
            "check_license",
            {"model": m.id, "monthly_active_users": mau, "commercial": commercial, "hosted_service": hosted},
        )
        assert r["verdict"] == "not_allowed", (m.id, mau)
        assert any(c["term"] == "mau_threshold" for c in r["citations"]), m.id  # the cap's clause is quoted
        at_cap = tools.call(
            "check_license",
            {"model": m.id, "monthly_active_users": cap, "commercial": commercial, "hosted_service": hosted},
        )
        assert not any("exceed" in reason for reason in at_cap["reasons"]), m.id


FLAGS = ("commercial", "use_outputs_to_train_other_models", "redistribute", "modify", "hosted_service")


@settings(max_examples=examples(60), deadline=None, database=None)
@given(
    st.fixed_dictionaries({f: st.sampled_from([None, True]) for f in FLAGS}),
    st.sampled_from(FLAGS),
    st.one_of(st.none(), st.integers(0, 10**10)),
    st.integers(0, 10**10),
    st.sampled_from([None, True, False]),
)
def test_verdicts_only_get_stricter_with_more_uses_and_more_users(flags, extra, mau, more, eu_entity):
    """Stating one more use (or more users) never turns a verdict into a more permissive one, for every model."""
    wider = {**flags, extra: True}
    for m in CAT.models.values():
        lic = CAT.licenses[m.license]

        def level(fl, users):
            v = evaluate(
                m,
                lic,
                fl["commercial"],
                users,
                fl["use_outputs_to_train_other_models"],
                fl["redistribute"],
                fl["modify"],
                fl["hosted_service"],
                eu_entity,
            )
            if v.level == "not_allowed":
                assert v.reasons and v.citations, (m.id, fl)  # a refusal says why and quotes the clause
            if v.level == "unknown":
                assert v.reasons, m.id
            if v.level == "allowed_with_conditions":
                assert v.conditions, m.id
            assert all(isinstance(x, str) and x for x in v.reasons + v.conditions), m.id
            for c in v.citations:  # each citation is a real term of this licence, quoted as the catalog has it
                term = getattr(lic.terms, c["term"])
                assert c["clause"] == term.quote and c["url"] == (term.url or lic.url), (m.id, c)
            return VERDICT_ORDER[v.level]

        assert level(wider, mau) >= level(flags, mau), (m.id, extra)
        if mau is not None:
            assert level(flags, mau + more) >= level(flags, mau), m.id


def test_every_name_of_every_model_and_device_resolves_to_itself():
    """Name resolution never swaps one catalog entry for another: each id, name and alias finds its own entry."""
    for m in CAT.models.values():
        for name in (m.id, m.name, *m.aliases):
            assert CAT.model(name).id == m.id, name
    for g in CAT.gpus.values():
        for name in (g.id, g.name, *g.aliases):
            assert CAT.gpu(name).id == g.id, name


# ---------------------------------------------------------------- cost and break-even


@FAST
@given(st.sampled_from(sorted(CAT.prices)), st.integers(1, 10**12), st.integers(2, 1000), st.floats(0, 1))
def test_api_cost_is_exactly_linear_in_volume(price_id, volume, factor, share):
    p = CAT.prices[price_id]
    option = cost_mod._api_option(p, share)
    rate = share * p.usd_per_mtok_input + (1 - share) * p.usd_per_mtok_output
    assert option.cost(volume) == pytest.approx(volume / 1e6 * rate)
    assert option.cost(volume * factor) == pytest.approx(factor * option.cost(volume))
    r = tools.call(
        "estimate_cost", {"monthly_tokens": min(volume, 10**13), "api_models": [price_id], "input_share": share}
    )
    per_mtok = {
        row["monthly_tokens"]: c["monthly_usd"] / (row["monthly_tokens"] / 1e6)
        for row in r["table"]
        for c in row["costs"]
        if c["monthly_usd"] >= 1
    }
    for value in per_mtok.values():
        assert value == pytest.approx(rate, rel=0.01)


def _line(rate: float, fixed: float = 0.0, name: str = "x") -> cost_mod.Option:
    return cost_mod.Option(name=name, kind="api", cost=lambda v: fixed + v / 1e6 * rate)


def _steps(per_replica: float, capacity: float) -> cost_mod.Option:
    return cost_mod.Option(
        name="replicas", kind="cloud_gpu", cost=lambda v: max(1, math.ceil(v / capacity)) * per_replica
    )


def _assert_first_crossing(a: cost_mod.Option, b: cost_mod.Option, v: float | None) -> None:
    def side(x: float) -> int:  # -1: a is cheaper, 1: b is cheaper, 0: a tie
        d = a.cost(x) - b.cost(x)
        return (d > 0) - (d < 0)

    grid = cost_mod._grid(1e4, 1e13)
    first = next((side(x) for x in grid if side(x)), 0)
    below = [x for x in grid if v is None or x < v * (1 - 1e-9)]
    assert all(side(x) in (first, 0) for x in below), "a crossing below the one reported"
    if v is not None:
        assert first and side(v) in (-first, 0), "the cheaper option does not change at the break-even"
        assert side(v * (1 - 1e-6)) in (first, 0), "the break-even is not the first change"


@FAST
@given(st.floats(0.01, 100), st.floats(0.01, 100), st.floats(0, 1e5))
def test_break_even_of_two_lines_is_where_they_cross(rate_a, rate_b, fixed):
    a, b = _line(rate_a), _line(rate_b, fixed)
    v = cost_mod.break_even(a, b)
    crossing = fixed / (rate_a - rate_b) * 1e6 if rate_a > rate_b else None
    # where the crossing is, the fixed cost must be more than a part in 10^9 of the costs, or float rounding (one part
    # in 10^16) moves the crossing by more than the 10^-6 checked; parallel lines (crossing None) are checked at any
    # fixed cost, however small
    assume(crossing is None or fixed == 0 or fixed >= 1e-9 * rate_a * min(crossing, 1e13) / 1e6)
    if crossing is not None and 1e4 * 1.001 < crossing < 1e13 * 0.999:
        assert v == pytest.approx(crossing, rel=1e-6)
    elif crossing is None or crossing > 1e13:
        assert v is None
    _assert_first_crossing(a, b, v)


@FAST
@given(st.floats(1, 1e5), st.floats(1e5, 1e11), st.floats(0.01, 100))
def test_break_even_against_a_step_cost_is_its_first_crossing(per_replica, capacity, rate):
    steps, line = _steps(per_replica, capacity), _line(rate)
    for a, b in ((steps, line), (line, steps)):
        _assert_first_crossing(a, b, cost_mod.break_even(a, b))


def test_parallel_lines_never_break_even_however_their_costs_round():
    """Equal rates: the cheaper never changes, even where a fixed cost of 2.2e-16 is lost in rounding (the costs are
    then equal in floating point, which is a tie, not a change); lines equal everywhere neither."""
    assert cost_mod.break_even(_line(7.3), _line(7.3, 2.2e-16)) is None
    assert cost_mod.break_even(_line(7.3, 2.2e-16), _line(7.3)) is None
    assert cost_mod.break_even(_line(7.3), _line(7.3)) is None
    assert cost_mod.break_even(_line(0.5, 10.0), _line(0.5)) is None


def test_a_tie_at_the_grids_start_is_no_break_even():
    """A step cost of $0.01 and a line of $1 per 1M tokens are equal at 10^4 tokens (the grid's start) and the line is
    dearer above: no break-even there. Where they tie at the start and cross later, the later crossing is the one."""
    steps, line = _steps(0.01, 1e12), _line(1.0)
    assert steps.cost(1e4) == line.cost(1e4)
    assert cost_mod.break_even(steps, line) is None and cost_mod.break_even(line, steps) is None
    start_tie = cost_mod.Option(name="v", kind="api", cost=lambda v: 0.01 if v <= 1e4 else 0.01 + (v - 1e4) / 1e6 * 2)
    # start_tie: equal to the line at 10^4, dearer just above; cheaper again? no: 2 > 1 per 1M, so never a change
    assert cost_mod.break_even(start_tie, line) is None
    later = cost_mod.Option(
        name="w", kind="api", cost=lambda v: 0.01 + max(0.0, v - 1e4) / 1e6 * 0.5 + (v >= 1e8) * 1e3
    )
    # later: equal at 10^4, cheaper than the line above it (0.5 < 1 per 1M), then $1,000 dearer from 10^8 on: the
    # cheaper changes at 10^8 (the line then costs $100, the other $1,050)
    assert cost_mod.break_even(later, line) == pytest.approx(1e8, rel=1e-9)


def test_costs_equal_over_a_stretch_break_even_where_they_began_to_be_equal():
    """a is cheaper up to 10^6 tokens, equal to b up to 10^7, dearer after: the cheaper stops being a at 10^6."""
    b = _line(1.0)
    a = cost_mod.Option(name="a", kind="api", cost=lambda v: b.cost(v) - 1.0 if v < 1e6 else b.cost(v) + (v > 1e7))
    assert cost_mod.break_even(a, b) == pytest.approx(1e6, rel=1e-9)


SELF_HOST = [
    (m, g)
    for m, g in [
        ("llama-3.1-8b", "rtx-4090"),
        ("llama-3.1-8b", None),
        ("qwen2.5-7b", "l40s"),
        ("llama-3.1-70b", "h100-sxm"),
        ("mistral-7b-v0.3", "a100-80gb"),
    ]
    if m in CAT.models and (g is None or g in CAT.gpus)
]


@settings(max_examples=examples(8), deadline=None, database=None)
@given(st.sampled_from(SELF_HOST), st.sampled_from(["bf16", "q4_k_m", "fp8"]), st.floats(0.1, 1), st.floats(0, 1))
def test_tool_break_even_points_are_crossings_of_the_cost_curves(pair, q, utilization, share):
    model, gpu = pair
    args = {"model": model, "quantization": q, "utilization": utilization, "input_share": share}
    if gpu:
        args["gpu"] = gpu
    try:
        base = tools.call("estimate_cost", {**args, "monthly_tokens": 10**7})
    except InvalidInput:
        assume(False)
    costs: dict[int, dict[str, float]] = {}

    def at(v: int) -> dict[str, float]:
        if v not in costs:
            r = tools.call("estimate_cost", {**args, "monthly_tokens": v})
            costs[v] = {o["name"]: o["monthly_usd"] for o in r["options"]}
        return costs[v]

    assert base["cheapest"] == min(base["options"], key=lambda o: o["monthly_usd"])["name"]
    crossings = [e for e in base["break_even"] if e["monthly_tokens"] and 10**6 <= e["monthly_tokens"] <= 10**12]
    for entry in crossings[:: max(1, len(crossings) // 3)]:  # three of them, spread over the options
        v, h, a = entry["monthly_tokens"], entry["self_hosted"], entry["api"]
        step = 1500 + v * 1e-6  # the entry is rounded to 1,000 tokens; a replica step can follow a crossing closely
        below, above = at(int(v - step)), at(int(v + step))
        assert (below[h] < below[a]) != (above[h] < above[a]) or below[h] == below[a] or above[h] == above[a], entry
        if abs(above[h] - above[a]) <= 0.011:
            continue  # a tie at the cent the result is rounded to
        cheaper = h if above[h] < above[a] else a
        assert f", {cheaper} is cheaper" in entry["note"], entry
        until = entry.get("until_monthly_tokens")
        if until is None:  # "above about X, H is cheaper" must then hold at every volume above
            for volume in (v * 2, v * 10):
                if volume <= 10**13:
                    later = at(int(volume))
                    assert later[cheaper] <= later[a if cheaper == h else h], (entry, volume)
    for series in base["curve"]["series"]:
        assert series["monthly_usd"] == sorted(series["monthly_usd"]), series["name"]  # more tokens never cost less


# ---------------------------------------------------------------- search and listings, against a plain reference


SPECIALTIES = ["chat", "code", "math", "reasoning", "multilingual", "long_context", "edge", "vision", "tool_use"]


@settings(max_examples=examples(60), deadline=None, database=None)
@given(
    st.one_of(st.none(), st.sampled_from(sorted(CAT.licenses))),
    st.one_of(st.none(), st.floats(0.1, 2000)),
    st.one_of(st.none(), st.integers(0, 2_000_000)),
    st.sampled_from([None, True]),
    st.one_of(st.none(), st.sampled_from(SPECIALTIES)),
    st.integers(1, 200),
    st.one_of(st.none(), st.sampled_from(sorted(CAT.families))),
)
def test_find_models_keeps_exactly_what_the_filters_say_newest_first(
    lic, max_params, min_context, commercial, specialty, limit, family
):
    args = {
        "license": lic,
        "max_params_b": max_params,
        "min_context": min_context,
        "commercial": commercial,
        "specialty": specialty,
        "limit": limit,
        "family": family,
    }
    r = tools.call("find_models", {k: v for k, v in args.items() if v is not None})

    def keeps(m) -> bool:
        terms = CAT.licenses[m.license].terms
        return (
            (lic is None or m.license == lic)
            and (max_params is None or m.params_b <= max_params)
            and (min_context is None or m.context_length >= min_context)
            and (not commercial or terms.commercial_use.value != "no")
            and (specialty is None or specialty in m.specialties)
            and (family is None or m.family == family)
        )

    expected = [m for m in CAT.models.values() if keeps(m)]
    assert r["count"] == len(expected) and r["truncated"] == (len(expected) > limit)
    ids = [x["id"] for x in r["models"]]
    assert len(ids) == min(limit, len(expected)) and set(ids) <= {m.id for m in expected}
    order = [(CAT.models[i].release_date, CAT.models[i].params_b) for i in ids]
    assert order == sorted(order, reverse=True)  # newest first, then largest
    if ids:  # nothing left out is newer than the last one shown
        last = CAT.models[ids[-1]].release_date
        assert all(m.release_date <= last or m.id in ids for m in expected)


def test_list_licenses_and_gpus_report_the_catalogs_terms_and_sizes():
    lic = tools.call("list_licenses", {})
    assert lic["count"] == len(CAT.licenses) == len(lic["licenses"])
    for row in lic["licenses"]:
        terms = CAT.licenses[row["id"]].terms
        assert row["name"] == CAT.licenses[row["id"]].name and row["url"] == CAT.licenses[row["id"]].url
        assert row["commercial_use"] == terms.commercial_use.value
        assert row["mau_threshold"] == (terms.mau_threshold.value if terms.mau_threshold else None)
        assert row["outputs_to_train_other_models"] == (
            terms.outputs_to_train_other_models.value if terms.outputs_to_train_other_models else None
        )
    gpus = tools.call("list_gpus", {})
    assert gpus["count"] == len(gpus["gpus"]) == len(CAT.gpus)
    for row in gpus["gpus"]:
        g = CAT.gpus[row["id"]]
        assert row["name"] == g.name and row["segment"] == g.segment
        assert row["memory_bandwidth_gbps"] == g.memory_bandwidth_gbps


def test_every_fact_of_every_model_cites_its_source():
    for m in CAT.models.values():
        r = tools.call("get_model", {"model": m.id})
        assert r["id"] == m.id and r["params_b"] == m.params_b and r["context_length"] == m.context_length
        for fact, key in m.cite.items():
            src = m.sources[key]
            cited = r["fact_sources"][fact]
            assert cited["url"] == src.url and cited["as_of"] == src.as_of.isoformat(), (m.id, fact)
            assert cited.get("via") == src.via, (m.id, fact)


@settings(max_examples=examples(40), deadline=None, database=None)
@given(
    st.sampled_from(MODELS),
    st.fixed_dictionaries({f: st.sampled_from([None, True, False]) for f in FLAGS}),
    st.one_of(st.none(), st.integers(0, 10**10)),
    st.sampled_from([None, True, False]),
)
def test_check_license_is_the_evaluation_of_exactly_the_use_stated(model, flags, mau, eu_entity):
    m = CAT.models[model]
    lic = CAT.licenses[m.license]
    r = tools.call("check_license", {"model": model, "monthly_active_users": mau, "eu_entity": eu_entity, **flags})
    v = evaluate(
        m,
        lic,
        flags["commercial"],
        mau,
        flags["use_outputs_to_train_other_models"],
        flags["redistribute"],
        flags["modify"],
        flags["hosted_service"],
        eu_entity,
    )
    assert r["verdict"] == v.level and r["conditions"] == v.conditions and r["citations"] == v.citations
    assert r["reasons"][: len(v.reasons)] == v.reasons
    assert r["license"]["id"] == lic.id and r["license"]["url"] == lic.url and r["model"]["id"] == model
    assert r["sources"][0] == lic.url
    for entry, change in zip(r["license_history"], m.license_history, strict=True):
        old = CAT.licenses[change.license]
        assert entry["license"] == {"id": old.id, "name": old.name, "url": old.url}
        assert entry["until"] == change.until.isoformat() and entry["note"]


BIG = sorted(m for m in MODELS if CAT.models[m].architecture is not None and 20 <= CAT.models[m].params_b <= 200)
CARDS = sorted(g for g in DEVICES if CAT.gpus[g].segment in ("consumer", "workstation"))


@settings(max_examples=examples(20), deadline=None, database=None)
@given(st.sampled_from(BIG), st.sampled_from(CARDS), st.floats(10, 400), st.floats(1.2, 4))
def test_cpu_offload_is_bounded_by_system_memory_bandwidth(model, gpu, ram_gbps, factor):
    args = {"model": model, "gpu": gpu, "num_gpus": 1, "quantization": "q4_k_m"}
    try:
        r = tools.call("plan_deployment", {**args, "system_ram_bandwidth_gbps": ram_gbps})
    except InvalidInput:  # not even partial offload holds it (too little GPU memory for the rest)
        assume(False)
    off = r.get("cpu_offload")
    assume(r["recommended"] is None and off)
    weights = tools.call("estimate_memory", {"model": model, "quantization": "q4_k_m"})["weights_gb"]
    assert 0 <= off["gpu_layers"] < off["total_layers"] == CAT.models[model].architecture.layers
    assert 0 < off["system_ram_gb"] <= weights
    # every token reads the layers left in system RAM (an MoE only their active share) at that RAM's bandwidth at best
    m, q = CAT.models[model], CAT.quantizations["q4_k_m"]
    read_share = tp.weight_bytes_read(m, q, 1) / mem.weight_bytes(m, q)
    assert off["decode_tokens_per_s"] <= ram_gbps / (off["system_ram_gb"] * read_share) + 0.051
    faster = tools.call("plan_deployment", {**args, "system_ram_bandwidth_gbps": ram_gbps * factor})["cpu_offload"]
    assert faster["gpu_layers"] == off["gpu_layers"]  # RAM speed does not change what fits on the GPU
    assert faster["decode_tokens_per_s"] >= off["decode_tokens_per_s"]


@FAST
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 1), st.integers(1, 10**12))
def test_a_stated_api_price_is_costed_as_stated(usd_in, usd_out, share, volume):
    r = tools.call(
        "estimate_cost",
        {
            "monthly_tokens": volume,
            "input_share": share,
            "api_models": [],
            "api_usd_per_mtok_input": usd_in,
            "api_usd_per_mtok_output": usd_out,
        },
    )
    (mine,) = [o for o in r["options"] if o["kind"] == "api"]
    rate = share * usd_in + (1 - share) * usd_out
    assert mine["monthly_usd"] == pytest.approx(volume / 1e6 * rate, abs=rounding(volume / 1e6 * rate))
    assert mine["usd_per_mtok_blended"] == pytest.approx(rate, abs=rounding(rate))
    assert r["cheapest"] == mine["name"]


def _conditions(model_id: str, **use) -> tuple[str, list[str], set[str]]:
    r = tools.call("check_license", {"model": model_id, **use})
    return r["verdict"], r["conditions"], {c["term"] for c in r["citations"]}


def test_each_stated_use_brings_the_terms_that_govern_it():
    """For every model and licence term: the use a term governs brings its condition or refusal, quoting it."""
    for lic in CAT.licenses.values():
        model = next((m.id for m in CAT.models.values() if m.license == lic.id), None)
        if model is None:
            continue
        t = lic.terms
        reported = lambda term: term is not None and term.value != "not_reported"  # noqa: E731
        if reported(t.attribution):
            for use in ("commercial", "hosted_service", "redistribute"):
                _, conds, cited = _conditions(model, **{use: True})
                assert any(str(t.attribution.value) in c for c in conds) and "attribution" in cited, (lic.id, use)
        if reported(t.derivative_naming):
            for use in ("modify", "redistribute"):
                _, conds, cited = _conditions(model, **{use: True})
                assert any(str(t.derivative_naming.value) in c for c in conds), (lic.id, use)
                assert "derivative_naming" in cited, (lic.id, use)
        if reported(t.redistribution):
            _, conds, cited = _conditions(model, redistribute=True)
            assert any(str(t.redistribution.value) in c for c in conds) and "redistribution" in cited, lic.id
        if reported(t.acceptable_use_policy):
            _, conds, cited = _conditions(model)
            assert any(str(t.acceptable_use_policy.value) in c for c in conds), lic.id
        if t.hosted_service is not None and t.hosted_service.value in ("forbidden", "requires_license"):
            verdict, conds, cited = _conditions(model, hosted_service=True)
            if t.hosted_service.above is None:
                assert verdict == "not_allowed" and "hosted_service" in cited, lic.id
            else:  # refused above its threshold only; with no figures stated, the threshold is a condition
                assert any("hosted service" in c for c in conds) and "hosted_service" in cited, lic.id
        if t.hosted_service is not None and t.hosted_service.value == "not_reported":
            verdict, _, _ = _conditions(model, hosted_service=True)
            assert verdict in ("unknown", "not_allowed"), lic.id
        mod = t.modification
        if mod is not None and isinstance(mod.value, str) and mod.value.lower().startswith(("no", "forbidden")):
            verdict, _, cited = _conditions(model, modify=True)
            assert verdict == "not_allowed" and "modification" in cited, lic.id
        out = t.outputs_to_train_other_models
        if out is not None:
            verdict, conds, cited = _conditions(model, use_outputs_to_train_other_models=True)
            expected = {"forbidden": "not_allowed", "not_reported": "unknown"}.get(out.value)
            if expected:
                assert VERDICT_ORDER[verdict] >= VERDICT_ORDER[expected], lic.id
            if out.value in ("allowed_with_naming", "restrictions_carry_over", "forbidden"):
                assert "outputs_to_train_other_models" in cited, lic.id
        cu = t.commercial_use
        verdict, conds, cited = _conditions(model, commercial=True)
        assert "commercial_use" in cited or cu.quote is None, lic.id
        if cu.value == "no":
            assert verdict == "not_allowed", lic.id
        if cu.value == "conditional" and not (
            t.revenue_threshold_usd_per_month
            or t.excluded_territories
            or getattr(t, "revenue_threshold_usd_per_year", None)
            or (t.hosted_service is not None and t.hosted_service.above is not None)  # judged as a hosting threshold
        ):
            assert any((cu.note or cu.quote) in c for c in conds), lic.id
