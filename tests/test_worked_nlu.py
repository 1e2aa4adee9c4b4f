"""Hardware counts written as words (issue 28): 'dual 3090s' is two RTX 3090s, not one. Each phrase is read by the
entity linker and by the requirements extractor, which is what the offline driver passes to the tools."""

from __future__ import annotations

import pytest

from advisor.nlu import read
from advisor.requirements import extract


@pytest.mark.parametrize(
    ("message", "gpu", "count"),
    [
        ("I have dual 3090s, which model fits?", "rtx-3090", 2),
        ("dual RTX 3090", "rtx-3090", 2),
        ("a pair of 4090s", "rtx-4090", 2),
        ("twin A6000s", "rtx-a6000", 2),
        ("quad 4090s for a team of 20", "rtx-4090", 4),
        ("two 3090s", "rtx-3090", 2),
        ("2x 3090", "rtx-3090", 2),
        ("one 3090", "rtx-3090", 1),
    ],
)
def test_a_count_of_gpus_in_words(message, gpu, count):
    mentions = [(m.id, m.count) for m in read(message).mentions if m.kind == "gpu"]
    assert mentions == [(gpu, count)]
    fields = extract(message, {})
    assert fields["gpu"] == gpu
    assert fields.get("num_gpus", 1) == count


# ---------------------------------------------------------------- the fresh-2026-12-b survivors (issue 28, step 2)


def _figures(text: str) -> list[tuple[str, float]]:
    from advisor.nlu import prepare, quantities

    return [(q.kind, q.value) for q in quantities(prepare(text)) if q.kind != "count"]


@pytest.mark.parametrize("text", ["a yearly budget of $120k", "$120,000 a year"])
def test_a_yearly_budget_is_read_per_month(text):
    """$120,000 a year / 12 months = $10,000 a month (nlu-03 read it as $120,000 a month)."""
    assert _figures(text) == [("usd_month", 10_000.0)]


@pytest.mark.parametrize(("text", "gb"), [("a box with 2 TB of RAM", 2000.0), ("1tb of memory", 1000.0)])
def test_terabytes_of_memory_are_thousands_of_gigabytes(text, gb):
    """2 TB = 2 x 1,000 GB = 2,000 GB (vendors' decimal units; nlu-07 read it as 2 GB)."""
    assert _figures(text) == [("memory_gb", gb)]


def test_business_hours_bound_a_load_stated_per_hour():
    """1,200 requests an hour x 2,000 tokens x 8 business hours a day x 30 days = 576,000,000 tokens a month, not
    the 1,728,000,000 of a load around the clock (nlu-11)."""
    fields = read("about 1,200 requests an hour during business hours, 2k tokens per request").fields
    assert fields["monthly_tokens"] == 576_000_000


def test_a_stated_non_commercial_use_beats_a_word_that_sounds_commercial():
    """'research only, no revenue': 'revenue' alone reads as commercial, but the use is stated as research only
    (nlu-10 let the commercial word win)."""
    assert extract("research only, no revenue: which coding model fits a 4090?", {})["commercial"] is False
