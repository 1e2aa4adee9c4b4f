"""Property tests: monotone estimates, linear API cost, and no input that raises anything but InvalidInput."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tools
from tests.result_schemas import check_result
from tools.common import catalog
from tools.errors import InvalidInput

CAT = catalog()
MODEL_IDS = sorted(CAT.models)
GPU_IDS = sorted(CAT.gpus)
QUANTS = sorted(CAT.quantizations)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

dense = [m for m in MODEL_IDS if CAT.models[m].architecture is not None]


@SETTINGS
@given(st.sampled_from(dense), st.sampled_from(QUANTS), st.integers(1, 8192), st.integers(1, 8192), st.integers(1, 16))
def test_more_context_never_lowers_memory(model, q, c1, c2, batch):
    ctx_max = CAT.models[model].context_length
    a, b = sorted((min(c1, ctx_max), min(c2, ctx_max)))
    lo = tools.call("estimate_memory", {"model": model, "quantization": q, "context_length": a, "batch_size": batch})
    hi = tools.call("estimate_memory", {"model": model, "quantization": q, "context_length": b, "batch_size": batch})
    assert hi["total_gb"] >= lo["total_gb"]
    assert (hi["kv_cache_gb"] or 0) >= (lo["kv_cache_gb"] or 0)


@SETTINGS
@given(st.sampled_from(dense), st.integers(1, 64), st.integers(1, 64))
def test_bigger_batch_never_lowers_memory(model, b1, b2):
    a, b = sorted((b1, b2))
    lo = tools.call(
        "estimate_memory",
        {"model": model, "batch_size": a, "context_length": min(2048, CAT.models[model].context_length)},
    )
    hi = tools.call(
        "estimate_memory",
        {"model": model, "batch_size": b, "context_length": min(2048, CAT.models[model].context_length)},
    )
    assert hi["total_gb"] >= lo["total_gb"]


@SETTINGS
@given(st.sampled_from(MODEL_IDS))
def test_fewer_bits_never_raise_weight_memory(model):
    by_bits = sorted(CAT.quantizations.values(), key=lambda q: q.bits_per_weight)
    weights = [tools.call("estimate_memory", {"model": model, "quantization": q.id})["weights_gb"] for q in by_bits]
    # Same scope: strictly ordered by bits. (A 'linear' format keeps 16-bit embeddings, so compare within scope.)
    for scope in ("all", "linear"):
        ws = [w for w, q in zip(weights, by_bits) if q.scope == scope]
        assert ws == sorted(ws)


@SETTINGS
@given(st.sampled_from(sorted(CAT.prices)), st.integers(1_000, 10**11), st.integers(2, 50), st.floats(0, 1))
def test_api_cost_grows_linearly(price_id, volume, factor, share):
    a = tools.call("estimate_cost", {"monthly_tokens": volume, "api_models": [price_id], "input_share": share})
    b = tools.call("estimate_cost", {"monthly_tokens": volume * factor, "api_models": [price_id], "input_share": share})
    ca, cb = a["options"][0]["monthly_usd"], b["options"][0]["monthly_usd"]
    assert cb == pytest.approx(ca * factor, rel=1e-2, abs=0.02)


def test_active_never_exceeds_total():
    for m in CAT.models.values():
        assert (m.active_params_b or m.params_b) <= m.params_b


# ---------------------------------------------------------------- fuzzing every tool over its schema and beyond

WEIRD_STRINGS = st.one_of(
    st.sampled_from(
        ["", " ", "none", "null", "💥", "\x00\x01", "a" * 100_000, "<script>alert(1)</script>", "../../etc/passwd"]
    ),
    st.text(max_size=40),
)
NUMBERS = st.one_of(
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2**63, 1e308, float("nan"), float("inf")]),
)
VALID_NAMES = st.sampled_from(MODEL_IDS + GPU_IDS + QUANTS + sorted(CAT.licenses) + sorted(CAT.prices))


def value_for(prop: dict):
    kinds = {prop.get("type")} | {x.get("type") for x in prop.get("anyOf", [])}
    options = [
        WEIRD_STRINGS,
        NUMBERS,
        st.booleans(),
        st.none(),
        st.lists(VALID_NAMES, max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    ]
    if "string" in kinds:
        options = [VALID_NAMES] * 3 + ([st.sampled_from(prop["enum"])] * 3 if "enum" in prop else []) + options
    if "integer" in kinds:
        options = [st.integers(0, 200_000)] * 3 + options
    if "number" in kinds:
        options = [st.floats(0, 1e6)] * 3 + options
    if "boolean" in kinds:
        options = [st.booleans()] * 3 + options
    if "array" in kinds:
        options = [st.lists(VALID_NAMES, max_size=4)] * 3 + options
    return st.one_of(*options)


def args_for(tool) -> st.SearchStrategy:
    props = tool.parameters_schema()["properties"]
    fixed = {name: value_for(p) for name, p in props.items()}
    base = st.fixed_dictionaries({}, optional=fixed)
    extra = st.dictionaries(st.text(min_size=1, max_size=8), NUMBERS, max_size=1)
    return st.one_of(base, base.flatmap(lambda d: extra.map(lambda e: {**d, **e})))


@pytest.mark.parametrize("name", tools.names())
def test_fuzz_tool_gives_a_result_or_invalid_input(name):
    from tests.reliability_counts import record

    tool = tools.get(name)
    outcomes = {"result": 0, "invalid_input": 0, "other_exceptions": 0}

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(args_for(tool))
    def run(args):
        try:
            result = tool(args)
        except InvalidInput as exc:
            err = exc.to_dict()["error"]
            assert err["type"] == "invalid_input" and err["message"]
            outcomes["invalid_input"] += 1
            return
        except Exception:
            outcomes["other_exceptions"] += 1
            raise
        assert isinstance(result, dict)
        _assert_json_safe(result)
        check_result(name, result)
        outcomes["result"] += 1

    try:
        run()
    finally:
        record(f"tools.schema_fuzz.{name}", examples=sum(outcomes.values()), **outcomes)


def _assert_json_safe(obj, path: str = "result"):
    """Plain JSON all the way down: string keys, no tuples or objects, every number finite (NaN or inf is a bug)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            assert isinstance(key, str), f"{path}: key {key!r} is not a string"
            _assert_json_safe(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _assert_json_safe(value, f"{path}[{i}]")
    elif isinstance(obj, float):
        assert math.isfinite(obj), f"{path} is {obj}"
    else:
        assert obj is None or isinstance(obj, (str, int, bool)), f"{path} is a {type(obj).__name__}"
