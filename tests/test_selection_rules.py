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


def test_agents_prefer_a_model_positioned_for_the_work():
    """For code and tool use, a model its vendor positions for the use case gains SPECIALIST_PICK (0.5) in the pick:
    Qwen3-Coder-Next (positioned for code) at ability 0.60, sd 0.10 can be relied on for 0.60 - 0.10 + 0.5 = 1.00;
    the same estimate not positioned for it, 0.50; for chat, where the preference does not apply, 0.50 either way."""
    base = estimates("code")["qwen3-coder-next"]
    assert base.specialist
    coder = dataclasses.replace(base, ability=0.60, sd=0.10)
    generalist = dataclasses.replace(coder, specialist=False)
    assert selection.model_upper(coder, "code") == pytest.approx(1.00)
    assert selection.model_upper(coder, "tool_use") == pytest.approx(1.00)
    assert selection.model_upper(generalist, "code") == pytest.approx(0.50)
    assert selection.model_upper(coder, "chat") == pytest.approx(0.50)
