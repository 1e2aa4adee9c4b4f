"""select_models' ranking rules a practitioner would state, each pinned by a worked value on the shipped catalog's
models (tools.selection.model_upper): a pick is ranked on what it can be relied on to score."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.query import get_catalog
from tools import selection
from tools.ranking import estimates

REAL = get_catalog()


def test_a_pick_is_ranked_one_standard_deviation_below_its_estimate():
    """An estimate of ability 0.80 with sd 0.40 (placed from its lineage, no use-case score) can be relied on for
    0.80 - 1.0 x 0.40 = 0.40; a measured one of 0.55 with sd 0.10 for 0.45, so the measured one ranks first. At the
    old 0.25 per sd the estimated one led (0.70 against 0.525)."""
    base = estimates("general")["qwen3-8b"]
    guess = dataclasses.replace(base, ability=0.80, sd=0.40, off_specialist=False, specialist=False)
    known = dataclasses.replace(base, ability=0.55, sd=0.10, off_specialist=False, specialist=False)
    assert selection.model_upper(guess, "general") == pytest.approx(0.40)
    assert selection.model_upper(known, "general") == pytest.approx(0.45)
