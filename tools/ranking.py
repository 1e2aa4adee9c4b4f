"""How strong each catalog model is for a use case, estimated so that missing scores do not decide the ranking.

Each benchmark the catalog holds, and each independent evaluation (LMArena, LiveBench, a leaderboard), is one
column. A model's score in a column becomes its rank among the models reporting it, as a normal score z. A rank-one
model, z[m, k] ~ offset[k] + scale[k] * ability[m], fitted by weighted alternating least squares, puts every model on
one ability scale (0: a typical catalog model; 1: one standard deviation better). A column's offset absorbs how
strong the models reporting it are (only recent frontier models report SWE-bench Verified), so two models are in
effect compared on the columns they share and through the models they share them with, never on how many columns
they have.

Columns weigh by the use case (USE_CASES); every column weighs a little (BASE_WEIGHT), so general scores speak for a
model with no use-case score. Independent evaluations weigh more than vendor-reported scores (INDEPENDENT_FACTOR).

Each model starts from a prior, worth PRIOR_PRECISION unit-weight columns:
  * a regression of ability on log total parameters, log active parameters and release date, fitted on the models
    that have scores;
  * plus what its lineage shows beyond that regression: the residual of its nearest earlier model of comparable size
    in the same lineage (or the model it was derived from), kept at PREDECESSOR_KEEP, else the lineage's mean
    residual, shrunk;
  * plus SPECIALIST_PRIOR where the vendor positions its family for the use case (catalog Family.positioned_for).
So a successor with no score starts near its predecessor, raised by the regression's release-date trend, and what
the vendor reports for it moves it from there.

Last, no model ranks below an older model of its lineage and comparable size with which it shares no use-case
benchmark (``lifted_to``): fewer scores reported alone never put a model below the model it succeeds.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from catalog.schema import Model
from tools import common
from tools.common import best_scores

# Benchmarks that speak for each use case, with their weights (independent evaluations count through the benchmark
# they measure: Evaluation.benchmark).
USE_CASES: dict[str, dict[str, float]] = {
    "general": {
        "MMLU": 1,
        "MMLU-Pro": 1,
        "MMLU-Redux": 0.5,
        "GPQA": 0.5,
        "IFEval": 1,
        "HumanEval": 0.5,
        "GSM8K": 0.5,
        "ArenaHard": 1,
        "BBH": 0.5,
        "LiveBench": 1.5,
        "ArenaElo": 1.5,
        "IFBench": 0.5,
        "MMMLU": 0.5,
    },
    "chat": {
        "IFEval": 1.5,
        "ArenaHard": 1.5,
        "MT-Bench": 1,
        "ArenaElo": 2,
        "MMLU": 1,
        "MMLU-Pro": 0.5,
        "MultiChallenge": 1,
        "LiveBench": 0.5,
        "IFBench": 1,
    },
    "customer_service": {
        "IFEval": 2,
        "ArenaHard": 1,
        "MT-Bench": 1,
        "ArenaElo": 1.5,
        "MMLU": 1,
        "MGSM": 0.5,
        "BFCL": 0.5,
        "Tau2-Bench": 1.5,
        "IFBench": 1,
    },
    "code": {
        "HumanEval": 1,
        "HumanEval+": 1,
        "MBPP": 0.5,
        "LiveCodeBench": 2,
        "SWE-bench-Verified": 2,
        "SWE-bench-Pro": 1.5,
        "SWE-bench-Multilingual": 1,
        "Aider-Polyglot": 1.5,
        "MultiPL-E": 0.5,
        "Terminal-Bench": 1.5,
        "LiveBench": 0.5,
    },
    "math": {"GSM8K": 0.5, "MATH": 1.5, "AIME24": 1.5, "AIME25": 2, "AIME26": 2, "HMMT25": 1},
    "reasoning": {
        "GPQA": 2,
        "MMLU-Pro": 1.5,
        "BBH": 1,
        "MATH": 1,
        "AIME24": 1,
        "AIME25": 1,
        "AIME26": 1,
        "HMMT25": 0.5,
        "HLE": 1,
        "SuperGPQA": 1,
        "LiveBench": 1,
    },
    "long_context": {"RULER": 2, "MRCR": 2, "MMLU": 0.5, "IFEval": 0.5},
    "multilingual": {"MGSM": 2, "MMMLU": 2, "Global-MMLU": 2, "MMLU": 1},
    "rag": {"IFEval": 1.5, "IFBench": 1, "MMLU": 1, "RULER": 1, "MRCR": 1, "SimpleQA": 0.5},
    "tool_use": {
        "BFCL": 2,
        "IFEval": 1,
        "Tau2-Bench": 2,
        "BrowseComp": 1,
        "Terminal-Bench": 1,
        "SWE-bench-Verified": 0.5,
        "SWE-bench-Pro": 0.5,
        "IFBench": 0.5,
    },
    "edge": {"MMLU": 1, "IFEval": 1, "GSM8K": 0.5, "HumanEval": 0.5, "MMLU-Redux": 0.5},
}
# What a vendor positions a model for (Model.positioned_for, else Family.positioned_for) that counts as a specialist
# prior for each use case.
POSITIONED_FOR = {
    "code": {"code"},
    "tool_use": {"tool_use"},
    "customer_service": {"chat"},
    "chat": {"chat"},
    "math": {"math", "reasoning"},
    "reasoning": {"reasoning"},
    "long_context": {"long_context"},
    "rag": {"long_context"},
    "multilingual": {"multilingual"},
    "edge": {"edge"},
    "general": set(),
}
# The use cases a positioning serves; a model whose every positioning serves none of the use case asked about is
# the wrong specialist for it (a code-only model for chat, a safety classifier for anything).
SERVES = {
    "code": {"code", "tool_use", "reasoning", "math", "edge"},
    "safety": set(),
}
# Adoption readings ranked as a column of their own, like an independent evaluation with no use-case weight: API
# traffic follows what users choose. Download and like counts are not ranked: small models are downloaded most.
ADOPTION_RANKED = {"openrouter_weekly_tokens": "OpenRouter weekly tokens"}
BASE_WEIGHT = 0.25  # every column says something about general ability
INDEPENDENT_FACTOR = 1.5  # an independent evaluation weighs this much more than a vendor-reported score
MIN_REPORTERS = 4  # a column needs this many models to rank them
PRIOR_PRECISION = 1.0  # the prior is worth this many unit-weight columns
SPECIALIST_PRIOR = 0.5  # ability units added to the prior of a model positioned for the use case
PREDECESSOR_KEEP = 0.8  # share of the predecessor's residual a successor starts with
LINEAGE_SHRINK = 2.0  # pseudo-count pulling a lineage's mean residual towards 0
SIZE_RATIO = 2.0  # a predecessor is within this ratio of total and of active parameters
SUCCESSOR_RATIO = 1.5  # the lift rule: same lineage, newer, within this ratio of total and of active parameters
ITERATIONS = 30
WINDOW = 64  # predecessors and the successor rule look this many models back in a lineage's release order
EPOCH = dt.date(2024, 1, 1)
LANGUAGE_BREADTH = 10  # multilingual use: a model whose vendor states fewer languages is ranked down (selection)


@dataclass(frozen=True)
class Column:
    key: str  # benchmark id, or evaluation id
    benchmark: str | None  # the benchmark it measures
    label: str  # as shown in reasons
    independent: bool
    source: str | None = None  # evaluations: their snapshot, in words


@dataclass(frozen=True)
class Evidence:
    column: str  # label
    value: float
    percentile: float  # among the catalog models in the column
    independent: bool
    benchmark: str | None


@dataclass
class Estimate:
    model: Model
    ability: float
    sd: float
    prior: float
    prior_basis: str  # what the prior rests on, in words
    evidence: list[Evidence]  # the use-case columns the model has a score in, best percentile first
    measured: bool  # at least one use-case column
    specialist: bool  # its vendor positions it for the use case
    off_specialist: bool  # its vendor positions it only for uses that do not serve the use case
    lifted_to: str | None = None  # the predecessor whose estimate it was raised to (no shared use-case column)
    capped_by: str | None = None  # the measured successor whose estimate it was lowered to
    floor_of: list[str] = field(default_factory=list)  # older models of its line it must not rank below
    lineage: str = ""
    columns: dict[str, float] = field(default_factory=dict)  # use-case column key -> value, for comparisons


@dataclass
class Observations:
    """Every score in the catalog as one row: model index, column index, normal score, value, percentile."""

    models: list[Model]
    columns: list[Column]
    mi: Any
    ci: Any
    z: Any
    value: Any
    pct: Any


def _ranks(values: list[float]) -> list[float]:
    """Average 1-based ranks (ties share their mean rank)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


@common.per_catalog
def observations(cat) -> Observations:
    import numpy as np

    models = list(cat.models.values())
    index = {m.id: i for i, m in enumerate(models)}
    raw: dict[str, list[tuple[int, float]]] = {}
    columns: dict[str, Column] = {}
    for i, m in enumerate(models):
        for name, s in best_scores(m).items():
            raw.setdefault(name, []).append((i, s["value"]))
            columns.setdefault(name, Column(name, name, name, False))
    for ev in cat.raw.evaluations:
        sign = 1.0 if ev.higher_is_better else -1.0
        rows = [(index[s.model], sign * s.value) for s in ev.scores if s.model in index]
        raw[ev.id] = rows
        snapshot = (ev.source.published or ev.source.as_of).isoformat()
        columns[ev.id] = Column(ev.id, ev.benchmark, ev.name, True, f"{ev.name}, {snapshot}")
    for kind, readings in adoption().items():  # practice signals that speak for quality (ADOPTION_RANKED)
        if kind in ADOPTION_RANKED:
            raw[f"adoption:{kind}"] = [(index[mid], r.value) for mid, r in readings.items() if mid in index]
            columns[f"adoption:{kind}"] = Column(f"adoption:{kind}", None, ADOPTION_RANKED[kind], True)
    normal = NormalDist()
    mi: list[int] = []
    ci: list[int] = []
    z: list[float] = []
    value: list[float] = []
    pct: list[float] = []
    kept: list[Column] = []
    for key, rows in raw.items():
        if len(rows) < MIN_REPORTERS:
            continue
        col = len(kept)
        kept.append(columns[key])
        ranks = _ranks([v for _, v in rows])
        n = len(rows)
        for (i, v), r in zip(rows, ranks):
            mi.append(i)
            ci.append(col)
            z.append(normal.inv_cdf((r - 0.5) / n))
            value.append(abs(v))
            pct.append((r - 0.5) / n)
    return Observations(
        models,
        kept,
        np.array(mi, dtype=np.intp),
        np.array(ci, dtype=np.intp),
        np.array(z, dtype=np.float64),
        np.array(value, dtype=np.float64),
        np.array(pct, dtype=np.float64),
    )


@common.per_catalog
def adoption(cat) -> dict[str, dict[str, Any]]:
    """Adoption kind -> model id -> its latest reading (catalog/data/adoption.yaml)."""
    out: dict[str, dict[str, Any]] = {}
    for r in getattr(cat.raw, "adoption", []):
        seen = out.setdefault(r.kind, {}).get(r.model)
        when = r.source.published or r.source.as_of
        if seen is None or when > (seen.source.published or seen.source.as_of):
            out[r.kind][r.model] = r
    return out


@common.per_catalog
def column_index(cat) -> dict[str, Column]:
    """Column key -> Column, for the columns ranked (those with MIN_REPORTERS models or more)."""
    return {c.key: c for c in observations().columns}


def column_weights(obs: Observations, use_case: str) -> Any:
    import numpy as np

    weights = USE_CASES[use_case]
    return np.array(
        [
            (weights.get(c.benchmark or "", 0.0) + BASE_WEIGHT) * (INDEPENDENT_FACTOR if c.independent else 1.0)
            for c in obs.columns
        ],
        dtype=np.float64,
    )


def _fit(obs: Observations, w_col, prior, precision: float):
    """Alternating least squares for z ~ offset[col] + scale[col] * ability[model], ability shrunk to the prior."""
    import numpy as np

    n_models, n_cols = len(obs.models), len(obs.columns)
    mi, ci, z = obs.mi, obs.ci, obs.z
    w = w_col[ci]
    offset = np.zeros(n_cols)
    scale = np.ones(n_cols)
    count = np.bincount(ci, minlength=n_cols).astype(np.float64)
    ability = prior.copy()
    for _ in range(ITERATIONS):
        s = scale[ci]
        num = np.bincount(mi, w * s * (z - offset[ci]), n_models) + precision * prior
        den = np.bincount(mi, w * s * s, n_models) + precision
        ability = num / den
        a = ability[mi]
        # per column: least squares of z on (1, a), ridge towards offset 0 and scale 1
        sa = np.bincount(ci, a, n_cols)
        saa = np.bincount(ci, a * a, n_cols) + 1.0
        sz = np.bincount(ci, z, n_cols)
        saz = np.bincount(ci, a * z, n_cols) + 1.0
        n = count + 0.5
        det = n * saa - sa * sa
        offset = (saa * sz - sa * saz) / det
        scale = np.clip((n * saz - sa * sz) / det, 0.2, 3.0)
    data = np.bincount(mi, w * scale[ci] ** 2, n_models)
    residual = z - offset[ci] - scale[ci] * ability[mi]
    noise = float(np.sum(w * residual**2) / max(np.sum(w), 1e-9))
    return ability, data, max(noise, 0.05)


def _features(m: Model) -> list[float]:
    active = m.active_params_b or m.params_b
    years = (m.release_date - EPOCH).days / 365.25
    return [1.0, math.log2(max(m.params_b, 0.05)), math.log2(max(active, 0.05)), years]


def _regression(obs: Observations, ability, data):
    """Ability on size and release date, weighted by how much each model's ability rests on scores."""
    import numpy as np

    x = np.array([_features(m) for m in obs.models])
    has = data > 0.5
    if has.sum() < 8:
        return np.zeros(len(obs.models)), has
    wt = np.minimum(data[has], 4.0)
    xs = x[has]
    lo, hi = xs.min(axis=0), xs.max(axis=0)
    a = xs.T @ (xs * wt[:, None]) + np.diag([0.0, 0.1, 0.1, 0.1])
    beta = np.linalg.solve(a, xs.T @ (wt * ability[has]))
    return np.clip(x, lo, hi) @ beta, has


def comparable(a: Model, b: Model, ratio: float) -> bool:
    def within(x: float, y: float) -> bool:
        return 1 / ratio <= x / y <= ratio

    return within(a.params_b, b.params_b) and within(a.active_params_b or a.params_b, b.active_params_b or b.params_b)


@common.per_catalog
def lineages(cat) -> dict[str, list[Model]]:
    """Lineage -> its models, oldest first."""
    out: dict[str, list[Model]] = {}
    for m in sorted(cat.models.values(), key=lambda x: x.release_date):
        out.setdefault(cat.families[m.family].lineage, []).append(m)
    return out


@dataclass(frozen=True)
class Neighbours:
    """For each model, the earlier models of its lineage (released before it, at most WINDOW back in release order)
    within SIZE_RATIO of its total and active parameters (`near`), and within SUCCESSOR_RATIO (`successor_of`)."""

    near: dict[str, list[Model]]  # newest first
    successor_of: dict[str, list[Model]]


@common.per_catalog
def neighbours(cat) -> Neighbours:
    import numpy as np

    near: dict[str, list[Model]] = {}
    succ: dict[str, list[Model]] = {}
    for line in lineages().values():
        lp = np.log([m.params_b for m in line])
        la = np.log([m.active_params_b or m.params_b for m in line])
        day = np.array([m.release_date.toordinal() for m in line])
        for i, m in enumerate(line):
            lo = max(0, i - WINDOW)
            dp, da = np.abs(lp[lo:i] - lp[i]), np.abs(la[lo:i] - la[i])
            earlier = day[lo:i] < day[i]
            wide = np.flatnonzero(earlier & (dp <= math.log(SIZE_RATIO)) & (da <= math.log(SIZE_RATIO)))
            tight = np.flatnonzero(earlier & (dp <= math.log(SUCCESSOR_RATIO)) & (da <= math.log(SUCCESSOR_RATIO)))
            # newest first; among the same date, the closest in size first
            order = sorted(wide.tolist(), key=lambda j: (-day[lo + j], dp[j]))
            near[m.id] = [line[lo + j] for j in order]
            succ[m.id] = [line[lo + j] for j in tight.tolist()]
    return Neighbours(near, succ)


def _predecessor(cat, m: Model, has: dict[str, bool], near: dict[str, list[Model]]) -> Model | None:
    """The model m starts from: the one it was derived from, else the newest earlier model of its lineage of
    comparable size that has scores."""
    if m.derived_from and m.derived_from in cat.models and has.get(m.derived_from):
        return cat.models[m.derived_from]
    return next((p for p in near[m.id] if has.get(p.id)), None)


def language_breadth(m: Model) -> int | None:
    """How many languages the vendor states the model supports: its list, else its stated count; None if neither."""
    return len(m.languages) or m.language_count or None


def positioning(cat, m: Model) -> list[str]:
    """What the vendor positions the model for: its own positioned_for, else its family's."""
    return list(m.positioned_for) if m.positioned_for else _family_positioning()[m.family]


@common.per_catalog
def _family_positioning(cat) -> dict[str, list[str]]:
    return {f.id: list(f.positioned_for) for f in cat.families.values()}


def positioned(cat, m: Model, use_case: str) -> bool:
    """Whether the vendor positions the model for the use case."""
    return bool(POSITIONED_FOR[use_case] & set(positioning(cat, m)))


def off_specialist(cat, m: Model, use_case: str) -> bool:
    """Whether every use the vendor positions the model for is one that does not serve the use case (SERVES)."""
    pos = positioning(cat, m)
    return bool(pos) and all(p in SERVES and use_case not in SERVES[p] for p in pos)


def _priors(cat, obs: Observations, use_case: str, ability, data):
    """Each model's prior mean and what it rests on (see the module docstring)."""
    import numpy as np

    trend, has_mask = _regression(obs, ability, data)
    residual = np.where(has_mask, ability - trend, 0.0)
    has = {m.id: bool(h) for m, h in zip(obs.models, has_mask)}
    pos = {m.id: i for i, m in enumerate(obs.models)}
    by_lineage: dict[str, list[float]] = {}
    for m, h, r in zip(obs.models, has_mask, residual):
        if h:
            by_lineage.setdefault(cat.families[m.family].lineage, []).append(float(r))
    prior = np.array(trend, dtype=np.float64)
    basis: list[str] = []
    near = neighbours().near
    for i, m in enumerate(obs.models):
        pred = _predecessor(cat, m, has, near)
        if pred is not None:
            prior[i] += PREDECESSOR_KEEP * residual[pos[pred.id]]
            text = f"its predecessor {pred.name}"
        else:
            rs = by_lineage.get(cat.families[m.family].lineage, [])
            prior[i] += sum(rs) / (len(rs) + LINEAGE_SHRINK)
            text = "its size and release date" + (" and its lineage's scores" if rs else "")
        if positioned(cat, m, use_case):
            prior[i] += SPECIALIST_PRIOR
            text += f", and its vendor's positioning for {use_case.replace('_', ' ')}"
        basis.append(text)
    return prior, basis


@common.per_catalog
def _cache(cat) -> dict[str, dict[str, Estimate]]:
    return {}


def estimates(use_case: str) -> dict[str, Estimate]:
    """Model id -> its Estimate for the use case, computed once per catalog."""
    cache = _cache()
    if use_case not in cache:
        cache[use_case] = _estimate_all(common.catalog(), use_case)
    return cache[use_case]


def _estimate_all(cat, use_case: str) -> dict[str, Estimate]:
    import numpy as np

    obs = observations()
    w_col = column_weights(obs, use_case)
    first, data, _ = _fit(obs, w_col, np.zeros(len(obs.models)), PRIOR_PRECISION)
    prior, basis = _priors(cat, obs, use_case, first, data)
    ability, data, noise = _fit(obs, w_col, prior, PRIOR_PRECISION)
    sd = np.sqrt(noise / (data + PRIOR_PRECISION))
    out: dict[str, Estimate] = {}
    use = USE_CASES[use_case]
    order = np.argsort(obs.mi, kind="stable")
    bounds = np.searchsorted(obs.mi[order], np.arange(len(obs.models) + 1))
    for i, m in enumerate(obs.models):
        evidence: list[Evidence] = []
        cols: dict[str, float] = {}
        for r in order[bounds[i] : bounds[i + 1]].tolist():
            c = obs.columns[obs.ci[r]]
            if (c.benchmark or "") in use:
                evidence.append(Evidence(c.label, float(obs.value[r]), float(obs.pct[r]), c.independent, c.benchmark))
                cols[c.key] = float(obs.value[r])
        evidence.sort(key=lambda e: -e.percentile)
        out[m.id] = Estimate(
            m,
            float(ability[i]),
            float(sd[i]),
            float(prior[i]),
            basis[i],
            evidence,
            bool(evidence),
            positioned(cat, m, use_case),
            off_specialist(cat, m, use_case),
            columns=cols,
            lineage=cat.families[m.family].lineage,
        )
    _lift_successors(cat, out)
    return out


def _lift_successors(cat, out: dict[str, Estimate]) -> None:
    """Fewer scores alone never rank a model below an older model of its lineage and comparable size: where the two
    share no use-case column, a successor without use-case scores is raised to the older model's estimate, and an
    older model without use-case scores is lowered to its measured successor's. In release order, so the rule
    carries along a line of successors."""
    successor_of = neighbours().successor_of
    for line in lineages().values():
        for m in line:
            new = out[m.id]
            for p in successor_of[m.id]:
                old = out[p.id]
                if set(old.columns) & set(new.columns):
                    continue  # compared on what they share
                new.floor_of.append(p.id)
                if old.ability <= new.ability:
                    continue
                if new.measured and not old.measured:
                    old.ability = new.ability
                    old.capped_by = m.id
                else:
                    new.ability = old.ability
                    new.lifted_to = p.id
