"""Selection costs pinned by hand (issue 28, step 2: survivors of tests/mutants/fresh-2026-12-b). Each docstring works
the figure out; tolerances are the rounding of the figure shown."""

from __future__ import annotations

import math

import pytest

from tools import common
from tools.ranking import estimates
from tools.selection import UNCERTAINTY_COST, _quant_cost, model_upper


@pytest.mark.parametrize(("fmt", "cost"), [("fp8", 0.0), ("q8_0", 0.0), ("q6_k", 0.03), ("q4_k_m", 0.1)])
def test_a_format_costs_quality_only_below_8_bits(fmt, cost):
    """Llama 3.1 8B ships in BF16, not a 4-bit format: FP8 (8 bits) and Q8_0 (8.5) cost nothing, Q6_K 0.03 and
    Q4_K_M 0.1 (QUANT_COST); selection-01 charged FP8 the 4-bit 0.1."""
    cat = common.catalog()
    assert _quant_cost(cat.models["llama-3.1-8b"], cat.quantizations[fmt]) == pytest.approx(cost)


@pytest.mark.parametrize(("model", "size_cost"), [("deepseek-r1-distill-qwen-1.5b", 0.0), ("mistral-nemo-12b", 0.79)])
def test_edge_use_ranks_down_models_above_4b_only(model, size_cost):
    """Edge use: 0.5 x log2(1 + max(params - 4, 0) / 4): a 1.5B model pays 0; a 12B one 0.5 x log2(1 + 8/4) =
    0.5 x log2(3) = 0.79 (selection-07 charged small models instead)."""
    est = estimates("edge")[model]
    base = est.ability - UNCERTAINTY_COST * est.sd - (1.0 if est.off_specialist else 0.0)
    assert base - model_upper(est, "edge") == pytest.approx(size_cost, abs=0.005)
    assert 0.5 * math.log2(3) == pytest.approx(0.79, abs=0.005)


def _kept(model_id: str, min_context: int) -> bool:
    from tools.picks import Ask
    from tools.selection import _columns, _hard_constraints, scores_for

    ask = Ask("general", None, 1, None, min_context, None, None, None, set(), False, None, False)
    return bool(_hard_constraints(ask, scores_for("general")).kept[_columns().index[model_id]])


def test_a_model_with_exactly_the_context_asked_passes():
    """Llama 3.1 8B holds 131,072 tokens: asked for 131,072 it passes (only a shorter context excludes), asked for
    131,073 it is excluded (selection-08 excluded it at exactly its context)."""
    assert common.catalog().models["llama-3.1-8b"].context_length == 131_072
    assert _kept("llama-3.1-8b", 131_072) and not _kept("llama-3.1-8b", 131_073)


def test_undersize_counts_every_gpu():
    """Two 80 GB GPUs hold 2 x 80e9 / (4.5 / 8) = 284.4B parameters at 4 bits; 30% of that is 85.3B, so an 8B model
    costs 0.25 x log2(85.33 / 8) = 0.25 x log2(10.67) = 0.854 (selection-04 counted one GPU: 0.604). Nothing else
    costs: BF16, a quarter of the memory used, no speed given."""
    from tools.picks import Ask
    from tools.selection import _fit_costs

    cat = common.catalog()
    m = cat.models["llama-3.1-8b"].model_copy(update={"params_b": 8.0})
    ask = Ask("general", None, 2, None, None, None, None, None, set(), False, None, False)
    costs = _fit_costs(m, cat.quantizations["bf16"], 20e9, 1e5, 80e9, None, ask)
    assert costs == {"size": pytest.approx(0.854, abs=0.0005)}
