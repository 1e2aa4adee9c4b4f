"""The scoring of bench/recommendations.py (expert agreement) on a hand-made catalog, so the scoring itself can fail.

The catalog below: a "q" lineage with an old 30B-A3B MoE (2025-04), its 35B-A3B successor (2026-02), a newer dense
27B (2026-02), a much larger 235B-A22B (2026-03) and a coder of the same size as the old MoE (2026-02) in another
lineage ("q-coder"); an unrelated "m" lineage with a 24B dense model, and fillers a-e in a "z" lineage.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import recommendations as rec  # noqa: E402


def _model(family: str, released: str, params: float, active: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        family=family, release_date=dt.date.fromisoformat(released), params_b=params, active_params_b=active
    )


CAT = SimpleNamespace(
    families={
        "q3": SimpleNamespace(lineage="q"),
        "q4": SimpleNamespace(lineage="q"),
        "qc": SimpleNamespace(lineage="q-coder"),
        "m": SimpleNamespace(lineage="m"),
        "z": SimpleNamespace(lineage="z"),
    },
    models={
        "old-moe": _model("q3", "2025-04-29", 30.5, 3.3),
        "new-moe": _model("q4", "2026-02-24", 35.0, 3.0),
        "new-dense": _model("q4", "2026-02-24", 27.0),
        "new-huge": _model("q4", "2026-03-01", 235.0, 22.0),
        "coder-moe": _model("qc", "2026-02-01", 30.5, 3.3),
        "other": _model("m", "2025-06-20", 24.0),
        **{f: _model("z", "2026-05-01", 30.0, 3.0) for f in ("a", "b", "c", "d", "e")},  # unrelated fillers
    },
)
SOURCE = dt.date(2025, 12, 31)


def test_successor_needs_same_lineage_newer_than_the_source_and_comparable_size_and_role():
    assert rec.is_successor(CAT, "new-moe", "old-moe", SOURCE)
    assert not rec.is_successor(CAT, "new-dense", "old-moe", SOURCE)  # similar total size, but dense vs 3B active
    assert not rec.is_successor(CAT, "new-huge", "old-moe", SOURCE)  # 7.7x the parameters
    assert not rec.is_successor(CAT, "coder-moe", "old-moe", SOURCE)  # same size and role, other lineage
    assert not rec.is_successor(CAT, "old-moe", "new-moe", SOURCE)  # older, not a successor
    assert not rec.is_successor(CAT, "new-moe", "old-moe", dt.date(2026, 3, 31))  # the source already knew it
    assert not rec.is_successor(CAT, "new-moe", "old-moe", None)  # an undated source credits no successor
    assert not rec.is_successor(CAT, "old-moe", "old-moe", SOURCE)


def test_direct_hit_counts_first_and_successor_only_without_one():
    top = ["other", "new-moe", "new-dense", "new-huge", "old-moe"]
    assert rec.agreement(CAT, top, ["old-moe"], SOURCE, 3) == ("successor", {"new-moe": "old-moe"})
    assert rec.agreement(CAT, top, ["old-moe"], SOURCE, 5) == ("direct", {})
    assert rec.agreement(CAT, top, ["old-moe"], None, 3) == (None, {})
    assert rec.agreement(CAT, top, ["coder-moe"], SOURCE, 5) == (None, {})
    assert rec.agreement(CAT, top, [], SOURCE, 5) == (None, {})  # every pick outside the catalog: a miss


def test_hit_at_3_and_5_and_totals():
    def outcome(top, consensus, date=SOURCE):
        o = rec.Outcome("x", top, consensus, [])
        o.hit3, _ = rec.agreement(CAT, top, consensus, date, 3)
        o.hit5, o.via = rec.agreement(CAT, top, consensus, date, 5)
        return o

    outcomes = [
        outcome(["old-moe", "other"], ["old-moe"]),  # direct at 3
        outcome(["a", "b", "c", "other"], ["other"]),  # direct at 5 only
        outcome(["a", "b", "c", "d", "new-moe"], ["old-moe"]),  # successor at 5 only
        outcome(["a", "b", "c", "d", "e", "other"], ["other"]),  # sixth: a miss
        outcome(["new-moe"], ["old-moe"], None),  # undated: a miss
    ]
    t = rec.totals(outcomes)
    assert (t["hit3"], t["direct3"], t["successor3"]) == (1, 1, 0)
    assert (t["hit5"], t["direct5"], t["successor5"]) == (3, 2, 1)
    assert outcomes[2].via == {"new-moe": "old-moe"}
    assert "successor (new-moe for old-moe)" in rec.table_rows(outcomes)[4]


def test_source_dates():
    assert rec.as_of("2026-02") == dt.date(2026, 2, 28)
    assert rec.as_of(dt.date(2026, 6, 3)) == dt.date(2026, 6, 3)
    assert rec.as_of("2026-06-03") == dt.date(2026, 6, 3)
    assert rec.as_of(None) is None
    with pytest.raises(ValueError, match="published"):
        rec.as_of("late 2026")


def test_a_set_with_an_unknown_consensus_id_is_refused(tmp_path):
    entry = {
        "id": "s",
        "scenario": "x",
        "source": {"url": "https://example.org", "title": "t", "published": None, "quote": "q"},
        "args": {"use_case": "code"},
        "not_in_catalog": [],
    }
    good, bad = tmp_path / "set_g.yaml", tmp_path / "set_b.yaml"
    good.write_text(rec.yaml.safe_dump([{**entry, "consensus": ["old-moe"]}]))
    bad.write_text(rec.yaml.safe_dump([{**entry, "consensus": ["no-such-model"]}]))
    assert [e["id"] for e in rec.load_set(good, CAT)] == ["s"]
    with pytest.raises(ValueError, match="no-such-model"):
        rec.load_set(bad, CAT)


def test_the_markdown_block_is_replaced_between_its_markers(tmp_path):
    doc = tmp_path / "accuracy.md"
    doc.write_text("# Accuracy\n\n## Expert agreement\n\nfirst run: kept\n\n" + rec.START + "\nold\n" + rec.END + "\n")
    rec.write_markdown(doc, rec.START + "\nnew\n" + rec.END)
    text = doc.read_text()
    assert "first run: kept" in text and "new" in text and "old" not in text
    assert text.count(rec.START) == 1
