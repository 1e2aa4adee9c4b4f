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
