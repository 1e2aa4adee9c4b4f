"""What the catalog lacks, for ``advisor catalog coverage``.

Two reports:

- **benchmarks per use case**: for every model released in the year before the catalog's as-of date, which of a
  use case's benchmarks it has a score on, from its own ``benchmarks`` or from an independent evaluation that
  names the benchmark it measures (``evaluations.yaml``'s ``benchmark``);
- **facts per model**: whether each fact that the memory and speed estimators and the licence verdicts read is
  verified, unverified (listed under the model's ``unverified``), missing or not applicable, with what a missing
  one does to an answer. Missing facts that change an answer come first.

The use cases and their benchmarks are passed in (the ranker's ``tools.selection.USE_CASES``), so the catalog
package does not import the tools.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from catalog.freshness import catalog_as_of
from catalog.loader import RawCatalog
from catalog.schema import License, Model

RECENT_DAYS = 365
Status = Literal["verified", "unverified", "missing", "not_applicable"]
# Licence terms that decide a verdict (allowed, not allowed, conditions); the other terms add duties.
VERDICT_TERMS = frozenset(
    {
        "commercial_use",
        "mau_threshold",
        "revenue_threshold_usd_per_month",
        "revenue_threshold_usd_per_year",
        "hosted_service",
        "outputs_to_train_other_models",
        "non_production_only",
        "excluded_territories",
        "eu_multimodal_carve_out",
    }
)
# A name that states active parameters ("30B-A3B", "A22B"): a mixture of experts whatever its entry says.
_MOE_NAME = re.compile(r"(?:^|[\s\-_(])a\d+(?:\.\d+)?b\b", re.IGNORECASE)


# ---------------------------------------------------------------- benchmarks


@dataclass(frozen=True)
class UseCaseGaps:
    """One use case: the recent models and which of its benchmarks each lacks."""

    use_case: str
    benchmarks: tuple[str, ...]
    models: tuple[str, ...]  # recent model ids, newest first
    lacking: dict[str, tuple[str, ...]]  # model id -> the benchmarks it has no score on (models lacking any)
    scored: dict[str, int]  # benchmark -> recent models with a score on it

    @property
    def with_none(self) -> list[str]:
        return [m for m in self.models if len(self.lacking.get(m, ())) == len(self.benchmarks)]

    @property
    def with_all(self) -> list[str]:
        return [m for m in self.models if m not in self.lacking]


def recent_models(raw: RawCatalog, as_of: dt.date | None = None, days: int = RECENT_DAYS) -> list[Model]:
    """Models released in the ``days`` before the as-of date (default: the catalog's), newest first."""
    as_of = as_of or catalog_as_of(raw) or dt.date.today()
    start = as_of - dt.timedelta(days=days)
    return sorted(
        (m for m in raw.models if start < m.release_date <= as_of), key=lambda m: (m.release_date, m.id), reverse=True
    )


def scored_benchmarks(raw: RawCatalog) -> dict[str, set[str]]:
    """Model id -> the benchmark ids it has a score on: its own, and the independent evaluations' that name one."""
    out: dict[str, set[str]] = {m.id: {s.name for s in m.benchmarks} for m in raw.models}
    for ev in raw.evaluations:
        if ev.benchmark is None:
            continue
        for score in ev.scores:
            out.setdefault(score.model, set()).add(ev.benchmark)
    return out


def benchmark_gaps(
    raw: RawCatalog, use_cases: Mapping[str, Iterable[str]], as_of: dt.date | None = None, days: int = RECENT_DAYS
) -> list[UseCaseGaps]:
    """Per use case, which recent models lack which of its benchmarks."""
    models = [m.id for m in recent_models(raw, as_of, days)]
    have = scored_benchmarks(raw)
    out = []
    for use_case, names in use_cases.items():
        benchmarks = tuple(names)
        lacking = {
            mid: missing for mid in models if (missing := tuple(b for b in benchmarks if b not in have.get(mid, set())))
        }
        scored = {b: sum(1 for mid in models if b in have.get(mid, set())) for b in benchmarks}
        out.append(UseCaseGaps(use_case, benchmarks, tuple(models), lacking, scored))
    return out


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class Fact:
    name: str
    status: Status
    changes: str | None = None  # what the answer does without it, where a missing or unread fact changes one

    @property
    def changes_answer(self) -> bool:
        return self.status == "missing" and self.changes is not None


@dataclass(frozen=True)
class ModelFacts:
    model: str
    name: str
    release_date: dt.date
    facts: list[Fact] = field(default_factory=list)

    @property
    def ordered(self) -> list[Fact]:
        """Missing facts that change an answer first, then missing, unverified, verified, not applicable."""
        order = {"missing": 1, "unverified": 2, "verified": 3, "not_applicable": 4}
        return sorted(self.facts, key=lambda f: (not f.changes_answer, order[f.status]))

    @property
    def answer_changing(self) -> list[Fact]:
        """Missing facts that change an answer."""
        return [f for f in self.facts if f.changes_answer]

    def status(self, name: str) -> Status:
        return next(f.status for f in self.facts if f.name == name)


def _status(m: Model, fact: str, present: bool) -> Status:
    if not present:
        return "missing"
    return "unverified" if fact in m.unverified else "verified"


def looks_moe(m: Model) -> bool:
    """The entry or the name says mixture of experts: ``moe``, a MoE layout, active parameters, or 'A3B' in a name."""
    if m.moe is not None:  # the entry says so either way
        return m.moe
    if m.active_params_b is not None or (m.architecture is not None and m.architecture.moe is not None):
        return True
    return any(_MOE_NAME.search(n) for n in (m.name, m.id, *m.repos.values()))


def _licence_facts(m: Model, lic: License | None) -> list[Fact]:
    if lic is None:
        return [Fact("license", "missing", "licence verdict: unknown (the licence id is not in the catalog)")]
    status: Status = "unverified" if "license" in m.unverified else "verified"
    terms = lic.terms
    unread = [name for name, term in terms if term is not None and term.value == "not_reported"]
    deciding = [n for n in unread if n in VERDICT_TERMS]
    duties = [n for n in unread if n not in VERDICT_TERMS]
    out = [
        Fact("license", status),
        Fact(
            "license.terms",
            "missing" if deciding else status,
            f"licence verdict: unknown where {', '.join(deciding)} applies" if deciding else None,
        ),
        Fact(
            "license.duties",
            "missing" if duties else status,
            f"licence verdict: the duties of {', '.join(duties)} are not stated" if duties else None,
        ),
    ]
    limits = (
        terms.mau_threshold,
        terms.revenue_threshold_usd_per_month,
        terms.revenue_threshold_usd_per_year,
        terms.excluded_territories,
    )
    read = any(t is not None and t.value != "not_reported" for t in limits)
    conditional = terms.commercial_use.value == "conditional"
    out.append(
        Fact(
            "license.threshold",
            (status if read else "missing") if conditional else "not_applicable",
            "licence verdict: a conditional licence with no user, revenue or territory limit to judge against",
        )
    )
    return out


def _layout_status(m: Model) -> Status:
    """Whether the entry says dense or mixture of experts: ``moe``, active parameters or an architecture block."""
    if m.active_params_b is not None:
        return _status(m, "active_params_b", True)
    if m.architecture is not None:
        return _status(m, "architecture", True)
    return "verified" if m.moe is not None else "missing"


def _languages_status(m: Model) -> Status:
    """Languages are known when the vendor lists them or states how many it supports ('201 languages')."""
    if m.languages:
        return _status(m, "languages", True)
    return _status(m, "language_count", m.language_count is not None)


def model_facts(m: Model, licenses: Mapping[str, License]) -> ModelFacts:
    """Each fact the estimators and licence verdicts read, with its status (in a fixed order; see ``ordered``)."""
    facts = [
        Fact("params_b", _status(m, "params_b", True)),
        Fact("moe", _layout_status(m), "speed: dense or mixture of experts not known, so read as dense"),
        Fact(
            "active_params_b",
            _status(m, "active_params_b", m.active_params_b is not None) if looks_moe(m) else "not_applicable",
            "speed: a mixture of experts read as dense (every parameter read per token)",
        ),
        Fact(
            "architecture",
            _status(m, "architecture", m.architecture is not None),
            "memory: KV cache and recurrent state not estimated; speed: no KV reads",
        ),
        Fact("context_length", _status(m, "context_length", True)),
        Fact("max_position_embeddings", _status(m, "max_position_embeddings", m.max_position_embeddings is not None)),
        Fact("formats", _status(m, "formats", bool(m.formats))),  # missing: bf16 assumed, right for most
        *_licence_facts(m, licenses.get(m.license)),
        Fact("languages", _languages_status(m), "selection: left out whenever languages are required"),
    ]
    return ModelFacts(m.id, m.name, m.release_date, facts)


def fact_report(raw: RawCatalog, models: Iterable[Model] | None = None) -> list[ModelFacts]:
    """Every model's facts (or those given): models missing the most answer-changing facts first, then newest."""
    licenses = {lic.id: lic for lic in raw.licenses}
    report = [model_facts(m, licenses) for m in (raw.models if models is None else models)]
    report.sort(key=lambda r: (-len(r.answer_changing), -r.release_date.toordinal(), r.model))
    return report


def fact_counts(report: Iterable[ModelFacts]) -> dict[str, dict[str, int]]:
    """Fact name -> status -> number of models."""
    counts: dict[str, dict[str, int]] = {}
    for row in report:
        for f in row.facts:
            counts.setdefault(f.name, {}).setdefault(f.status, 0)
            counts[f.name][f.status] += 1
    return counts


# ---------------------------------------------------------------- adoption


def adoption_coverage(raw: RawCatalog, models: Iterable[Model]) -> dict:
    """How many of the models have a practice signal (adoption.yaml), per kind, and which have none."""
    ids = [m.id for m in models]
    kinds: dict[str, set[str]] = {}
    for row in raw.adoption:
        if row.model in ids:
            kinds.setdefault(row.kind, set()).add(row.model)
    with_any = set().union(*kinds.values()) if kinds else set()
    return {
        "models": len(ids),
        "with_signal": len(with_any),
        "by_kind": {kind: len(found) for kind, found in sorted(kinds.items())},
        "without": [mid for mid in ids if mid not in with_any],
    }


# ---------------------------------------------------------------- the report


def report(
    raw: RawCatalog,
    use_cases: Mapping[str, Iterable[str]],
    days: int = RECENT_DAYS,
    only_use_case: str | None = None,
    only_model: Model | None = None,
) -> dict:
    """Both reports as plain data (what ``advisor catalog coverage --json`` prints)."""
    as_of = catalog_as_of(raw) or dt.date.today()
    recent = recent_models(raw, as_of, days)
    if only_use_case is not None:
        use_cases = {only_use_case: use_cases[only_use_case]}
    gaps = [] if only_model is not None else benchmark_gaps(raw, use_cases, as_of, days)
    facts = fact_report(raw, None if only_model is None else [only_model])
    return {
        "as_of": as_of.isoformat(),
        "recent_since": (as_of - dt.timedelta(days=days)).isoformat(),
        "recent_models": len(recent),
        "adoption": adoption_coverage(raw, recent),
        "benchmarks": [
            {
                "use_case": g.use_case,
                "benchmarks": list(g.benchmarks),
                "models": len(g.models),
                "with_all": len(g.with_all),
                "with_none": g.with_none,
                "scored": g.scored,
                "lacking": {mid: list(missing) for mid, missing in g.lacking.items()},
            }
            for g in gaps
        ],
        "facts": {
            "models": len(facts),
            "counts": fact_counts(facts),
            "answer_changing": {
                r.model: [{"fact": f.name, "changes": f.changes} for f in r.answer_changing]
                for r in facts
                if r.answer_changing
            },
            "by_model": {r.model: {f.name: f.status for f in r.ordered} for r in facts},
        },
    }


def render(data: dict, limit: int = 15) -> list[str]:
    """The report as text lines: headline figures first, then the models to fix first (``limit`` of each)."""
    lines = [
        f"catalog as of {data['as_of']}: {data['recent_models']} models released after {data['recent_since']} "
        "(the recent models)"
    ]
    for g in data["benchmarks"]:
        n = g["models"]
        lines += [
            "",
            f"{g['use_case']}: {g['with_all']} of {n} recent models have all {len(g['benchmarks'])} of its "
            f"benchmarks, {len(g['with_none'])} have none",
            "  scored: " + ", ".join(f"{b} {k}/{n}" for b, k in g["scored"].items()),
        ]
        if len(data["benchmarks"]) == 1:
            lines += [f"  {mid}: lacks {', '.join(missing)}" for mid, missing in g["lacking"].items()]
        elif g["with_none"]:
            shown = g["with_none"][:limit]
            more = f" and {len(g['with_none']) - len(shown)} more" if len(g["with_none"]) > len(shown) else ""
            lines.append("  none: " + ", ".join(shown) + more)
    adoption = data["adoption"]
    kinds = ", ".join(f"{k} {n}" for k, n in adoption["by_kind"].items()) or "none"
    lines += [
        "",
        f"practice signals (adoption.yaml): {adoption['with_signal']} of {adoption['models']} recent models have one "
        f"({kinds})",
    ]
    facts = data["facts"]
    lines += ["", f"facts the estimators and licence verdicts read ({facts['models']} models):"]
    lines.append(f"  {'fact':<26}{'verified':>9}{'unverified':>11}{'missing':>8}{'n/a':>5}")
    for name, counts in facts["counts"].items():
        lines.append(
            f"  {name:<26}{counts.get('verified', 0):>9}{counts.get('unverified', 0):>11}"
            f"{counts.get('missing', 0):>8}{counts.get('not_applicable', 0):>5}"
        )
    changing = list(facts["answer_changing"].items())
    lines += ["", f"models missing facts that change an answer: {len(changing)}"]
    shown = changing if facts["models"] == 1 else changing[:limit]
    for mid, missing in shown:
        lines.append(f"  {mid}: " + "; ".join(f"{x['fact']} ({x['changes']})" for x in missing))
    if len(shown) < len(changing):
        lines.append(f"  ... and {len(changing) - len(shown)} more (--json lists every one)")
    if facts["models"] == 1:
        lines += ["", "every fact:"]
        for statuses in facts["by_model"].values():
            lines += [f"  {name}: {status}" for name, status in statuses.items()]
    return lines
