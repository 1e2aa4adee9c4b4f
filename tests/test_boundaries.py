"""Boundaries pinned exactly: each licence's monthly-user cap (at the cap and one above, for every capped licence in
the catalog), the message-length limit (at the limit and one above) and the grounding tolerance (0.5%: a figure just
inside is supported, one just outside and one 1% off are flagged). The HTTP body limit is pinned in
tests/test_checked_outputs.py, against a running server."""

from __future__ import annotations

import pytest

import tools
from advisor.config import Settings
from advisor.grounding import find_ungrounded, numbers_in
from advisor.service import InputRejected, clean_text
from tools.common import catalog

CAT = catalog()
CAPPED = {
    lic.id: lic.terms.mau_threshold.value
    for lic in CAT.licenses.values()
    if lic.terms.mau_threshold is not None and isinstance(lic.terms.mau_threshold.value, int)
}


def test_the_catalog_has_capped_licences():
    assert CAPPED, "no licence with a monthly-user cap: the boundary tests below would test nothing"


@pytest.mark.parametrize("license_id", sorted(CAPPED))
def test_exactly_at_a_monthly_user_cap_is_within_it_and_one_more_is_over(license_id):
    cap = CAPPED[license_id]
    models = [m for m in CAT.models.values() if m.license == license_id]
    for m in models:
        for commercial in (True, None):
            at = tools.call("check_license", {"model": m.id, "commercial": commercial, "monthly_active_users": cap})
            over = tools.call(
                "check_license", {"model": m.id, "commercial": commercial, "monthly_active_users": cap + 1}
            )
            below = tools.call("check_license", {"model": m.id, "commercial": commercial, "monthly_active_users": 0})
            assert at["verdict"] == below["verdict"], m.id  # at the cap is as good as no users at all
            assert f"{cap:,} monthly active users is within the {cap:,} limit" in at["reasons"], m.id
            assert over["verdict"] == "not_allowed", m.id
            assert any(
                f"{cap + 1:,} monthly active users exceed the licence's {cap:,}" in r for r in over["reasons"]
            ), m.id


@pytest.mark.parametrize("license_id", sorted(CAPPED))
def test_selection_keeps_models_at_a_cap_and_drops_them_one_user_over(license_id):
    cap = CAPPED[license_id]
    mine = {m.id for m in CAT.models.values() if m.license == license_id}

    def picks(mau: int) -> set[str]:
        r = tools.call(
            "select_models", {"commercial": True, "monthly_active_users": mau, "top_k": 20, "licenses": [license_id]}
        )
        return {rec["model"] for rec in r["recommendations"]}

    at, over = picks(cap), picks(cap + 1)
    allowed_at_cap = {
        m
        for m in mine
        if tools.call("check_license", {"model": m, "commercial": True, "monthly_active_users": cap})["verdict"]
        != "not_allowed"
    }
    assert at <= allowed_at_cap and bool(at) == bool(allowed_at_cap)
    assert not over, f"{sorted(over)} recommended for {cap + 1:,} users under a {cap:,} cap"


def test_llama_cap_is_700_million_inclusive():
    """The tutorial's figure: Llama 3.x allows up to and including 700M monthly active users."""
    assert (
        tools.call("check_license", {"model": "llama 3.1 8b", "commercial": True, "monthly_active_users": 700_000_000})[
            "verdict"
        ]
        != "not_allowed"
    )
    assert (
        tools.call("check_license", {"model": "llama 3.1 8b", "commercial": True, "monthly_active_users": 700_000_001})[
            "verdict"
        ]
        == "not_allowed"
    )


# ---------------------------------------------------------------- message length


def test_message_limit_is_8000_characters_inclusive():
    limit = Settings().max_message_chars
    assert limit == 8000
    assert clean_text("x" * limit, limit) == "x" * limit
    assert clean_text("  " + "x" * limit + "\n", limit) == "x" * limit  # surrounding space is not counted
    with pytest.raises(InputRejected, match="8,001 characters; the limit is 8,000"):
        clean_text("x" * (limit + 1), limit)
    with pytest.raises(InputRejected, match="empty"):
        clean_text(" \n\t ", limit)


# ---------------------------------------------------------------- grounding tolerance


EVIDENCE = numbers_in({"monthly_usd": 1234.56, "total_gb": 16.04, "tokens": 52_000_000})


@pytest.mark.parametrize("shown", ["1234.56", "1,234.56", "1235", "1238.9", "1240.7", "1228.4"])
def test_figures_within_half_a_percent_are_supported(shown):
    assert find_ungrounded(f"It costs ${shown} a month.", EVIDENCE) == []


@pytest.mark.parametrize("shown", ["1240.9", "1228.2", "1246.9", "1222.2", "1358.0"])
def test_figures_beyond_half_a_percent_are_flagged(shown):
    """0.51% and 1% off in either direction (and 10%) are flagged when shown with four or more digits."""
    assert find_ungrounded(f"It costs ${shown} a month.", EVIDENCE) == [f"${shown}"]


def test_rounded_figures_are_supported():
    assert find_ungrounded("about 16 GB, $1.2k a month, 52M tokens", EVIDENCE) == []


def test_a_three_digit_figure_one_percent_off_is_flagged():
    assert find_ungrounded("It needs 16.2 GB.", EVIDENCE) == ["16.2"]


# ---------------------------------------------------------------- argument ranges: the last valid value passes, the
# first invalid one is refused with the field named (so a limit moved by one, or a message lost, is caught)

PRICE = sorted(CAT.prices)[0]
LLAMA_CONTEXT = CAT.model("llama-3.1-8b").context_length
RANGES = [
    # tool, base arguments, field, valid values, invalid values
    ("check_license", {"model": "llama-3.1-8b"}, "monthly_active_users", [0, 10**11], [-1, 10**11 + 1]),
    (
        "check_license",
        {"model": "llama-3.1-8b"},
        "territories",
        [["GB"], ["EU", "DEU"]],
        [["G"], ["ABCD"], ["GB", " "]],
    ),
    ("select_models", {}, "top_k", [1, 20], [0, 21]),
    ("select_models", {}, "num_gpus", [1, 1024], [0, 1025]),
    ("select_models", {}, "min_context", [0, 10**8], [-1, 10**8 + 1]),
    ("select_models", {}, "monthly_active_users", [0, 10**11], [-1, 10**11 + 1]),
    ("select_models", {}, "max_params_b", [0.001], [0, -1]),
    ("select_models", {}, "languages", [["en"] * 50], [["en"] * 51, ["x" * 13]]),
    ("select_models", {}, "licenses", [["apache-2.0"] * 40], [["apache-2.0"] * 41]),
    ("estimate_memory", {"model": "llama-3.1-8b"}, "batch_size", [1, 4096], [0, 4097]),
    ("estimate_memory", {"model": "llama-3.1-8b"}, "num_gpus", [1, 1024], [0, 1025]),
    ("estimate_memory", {"model": "llama-3.1-8b"}, "context_length", [1, LLAMA_CONTEXT], [0, LLAMA_CONTEXT + 1]),
    ("estimate_memory", {"model": "llama-3.1-8b"}, "vram_gb", [0.001, 1_000_000], [0, 1_000_001]),
    ("estimate_throughput", {"model": "llama-3.1-8b", "gpu": "rtx-4090"}, "concurrency", [1, 4096], [0, 4097]),
    ("estimate_throughput", {"model": "llama-3.1-8b", "gpu": "rtx-4090"}, "num_gpus", [1, 1024], [0, 1025]),
    (
        "estimate_throughput",
        {"model": "llama-3.1-8b", "gpu": "rtx-4090"},
        "context_length",
        [1, LLAMA_CONTEXT],
        [0, LLAMA_CONTEXT + 1],
    ),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "monthly_tokens", [1, 10**13], [0, 10**13 + 1]),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "input_share", [0, 1], [-0.01, 1.01]),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "utilization", [0.01, 1], [0.0099, 1.01]),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "amortization_months", [1, 240], [0, 241]),
    (
        "estimate_cost",
        {"monthly_tokens": 10**6, "api_models": [PRICE]},
        "electricity_usd_per_kwh",
        [0, 10],
        [-0.01, 10.01],
    ),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "concurrency", [1, 4096], [0, 4097]),
    (
        "estimate_cost",
        {"monthly_tokens": 10**6, "api_models": [PRICE]},
        "context_length",
        [1, 10_000_000],
        [0, 10_000_001],
    ),
    (
        "estimate_cost",
        {"monthly_tokens": 10**6, "api_models": [PRICE]},
        "gpu_usd_per_hour",
        [0, 10**7],
        [-0.01, 10**7 + 1],
    ),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "hardware_usd", [0, 10**7], [-0.01, 10**7 + 1]),
    ("estimate_cost", {"monthly_tokens": 10**6, "api_models": [PRICE]}, "num_gpus", [1, 1024], [0, 1025]),
    ("estimate_cost", {"monthly_tokens": 10**6}, "api_models", [[PRICE] * 30], [[PRICE] * 31]),
    ("plan_deployment", {"model": "llama-3.1-8b", "gpu": "h100-sxm"}, "concurrency", [1, 4096], [0, 4097]),
    ("plan_deployment", {"model": "llama-3.1-8b", "gpu": "h100-sxm"}, "num_gpus", [1, 1024], [0, 1025]),
    ("plan_deployment", {"model": "llama-3.1-8b", "gpu": "h100-sxm"}, "monthly_tokens", [1, 10**13], [0, 10**13 + 1]),
    ("plan_deployment", {"model": "llama-3.1-8b", "gpu": "h100-sxm"}, "input_share", [0, 1], [-0.01, 1.01]),
    (
        "plan_deployment",
        {"model": "llama-3.1-8b", "gpu": "h100-sxm"},
        "context_length",
        [1, LLAMA_CONTEXT],
        [0, LLAMA_CONTEXT + 1],
    ),
    ("find_models", {}, "limit", [1, 200], [0, 201]),
    ("find_models", {}, "max_params_b", [0.001], [0, -1]),
    ("find_models", {}, "min_context", [0], [-1]),
    ("compare_benchmarks", {}, "models", [["llama-3.1-8b"], ["llama-3.1-8b"] * 20], [[], ["llama-3.1-8b"] * 21]),
]


@pytest.mark.parametrize("tool,base,field,valid,invalid", RANGES, ids=[f"{r[0]}.{r[2]}" for r in RANGES])
def test_argument_ranges_are_exact_and_named(tool, base, field, valid, invalid):
    for value in valid:
        assert isinstance(tools.call(tool, {**base, field: value}), dict), (field, value)
    for value in invalid:
        with pytest.raises(tools.InvalidInput) as err:
            tools.call(tool, {**base, field: value})
        detail = err.value.to_dict()["error"]
        assert detail["field"] == field, (field, value, detail)
        assert field.split("_")[0] in detail["message"], detail["message"]  # the message says which argument
