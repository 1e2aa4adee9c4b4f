"""Shortlist models: hard constraints first (fit, licence, context, size), then a use-case ranking on benchmarks."""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from catalog.schema import Gpu, Model, Quantization
from tools import common
from tools.catalog_tools import best_scores, model_summary
from tools.common import catalog_as_of
from tools.errors import InvalidInput
from tools.licensing import evaluate
from tools.memory import GB, default_engine, estimate, usable_bytes

# Benchmarks that speak for each use case, with their weights.
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
        "LiveBench": 1,
    },
    "chat": {
        "IFEval": 1.5,
        "ArenaHard": 1.5,
        "MT-Bench": 1,
        "ArenaElo": 1.5,
        "MMLU": 1,
        "MMLU-Pro": 0.5,
        "MultiChallenge": 1,
    },
    "customer_service": {
        "IFEval": 2,
        "ArenaHard": 1,
        "MT-Bench": 1,
        "ArenaElo": 1,
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
        "Aider-Polyglot": 1,
        "MultiPL-E": 0.5,
        "Terminal-Bench": 1,
    },
    "math": {"GSM8K": 0.5, "MATH": 1.5, "AIME24": 1.5, "AIME25": 2, "HMMT25": 1},
    "reasoning": {"GPQA": 2, "MMLU-Pro": 1.5, "BBH": 1, "MATH": 1, "AIME24": 1, "AIME25": 1, "HLE": 1, "SuperGPQA": 1},
    "long_context": {"RULER": 2, "MMLU": 0.5, "IFEval": 0.5},
    "multilingual": {"MGSM": 2, "MMLU": 1},
    "rag": {"IFEval": 1.5, "MMLU": 1, "RULER": 1, "SimpleQA": 0.5},
    "tool_use": {"BFCL": 2, "IFEval": 1, "Tau2-Bench": 2, "BrowseComp": 1, "Terminal-Bench": 0.5},
    "edge": {"MMLU": 1, "IFEval": 1, "GSM8K": 0.5, "HumanEval": 0.5, "MMLU-Redux": 0.5},
}
# An independent, dated evaluation (catalog/data/evaluations.yaml) ranks beside the vendor-reported scores.
INDEPENDENT_WEIGHT = 0.5  # share of the score from the independent evaluation where the model has one
NO_INDEPENDENT_DISCOUNT = 0.9  # a model the independent evaluation does not list is ranked on vendor scores x this
SYNONYMS = {
    "coding": "code",
    "programming": "code",
    "code_assistant": "code",
    "coder": "code",
    "customer_support": "customer_service",
    "support": "customer_service",
    "helpdesk": "customer_service",
    "chatbot": "customer_service",
    "customer_service_chatbot": "customer_service",
    "assistant": "chat",
    "conversation": "chat",
    "maths": "math",
    "mathematics": "math",
    "agents": "tool_use",
    "agent": "tool_use",
    "function_calling": "tool_use",
    "tools": "tool_use",
    "retrieval": "rag",
    "documents": "rag",
    "long_documents": "long_context",
    "summarization": "long_context",
    "translation": "multilingual",
    "mobile": "edge",
    "on_device": "edge",
    "laptop": "edge",
}
SPECIALTY_FOR = {
    "code": "code",
    "math": "math",
    "reasoning": "reasoning",
    "long_context": "long_context",
    "multilingual": "multilingual",
    "tool_use": "tool_use",
    "edge": "edge",
    "chat": "chat",
    "customer_service": "chat",
    "rag": "long_context",
}
# Formats tried when fitting, best first; llama.cpp and bitsandbytes cover consumer GPUs and Apple.
FIT_ORDER = ("bf16", "fp8", "q8_0", "q6_k", "q5_k_m", "awq", "q4_k_m", "int4")
LICENSE_CATEGORIES = {"permissive", "open_rail", "community", "research", "non_commercial", "non_production"}


def resolve_use_case(text: str | None) -> str:
    if not text:
        return "general"
    key = "_".join(str(text).lower().replace("-", " ").split())
    key = SYNONYMS.get(key, key)
    if key not in USE_CASES:
        for word in key.split("_"):
            if word in USE_CASES or word in SYNONYMS:
                return SYNONYMS.get(word, word)
        raise InvalidInput(
            f"unknown use_case {text!r}; allowed: {', '.join(USE_CASES)}",
            field="use_case",
            suggestions=[k for k in USE_CASES if k[:3] in key][:3],
        )
    return key


@common.per_catalog
def distributions(cat) -> dict[str, list[float]]:
    """Sorted scores per benchmark across the catalog, for percentile ranks."""
    dist: dict[str, list[float]] = {}
    for m in cat.models.values():
        for name, s in best_scores(m).items():
            dist.setdefault(name, []).append(s["value"])
    for v in dist.values():
        v.sort()
    return dist


def percentile(dist: list[float], value: float) -> float:
    if len(dist) <= 1:
        return 0.5
    lo = bisect.bisect_left(dist, value)
    hi = bisect.bisect_right(dist, value)
    return ((lo + hi) / 2) / len(dist)


@dataclass
class Scored:
    model: Model
    score: float
    quality: float
    coverage: float
    evidence: list[tuple[str, float, float]]  # (benchmark, value, percentile)


@common.per_catalog
def _independent(cat) -> tuple[object, dict[str, float]] | None:
    """The independent evaluation that covers the most catalog models, and each model's percentile in it."""
    if not cat.raw.evaluations:
        return None
    ev = max(cat.raw.evaluations, key=lambda e: (len(e.scores), e.source.published or e.source.as_of))
    values = sorted(s.value if ev.higher_is_better else -s.value for s in ev.scores)
    return ev, {s.model: percentile(values, s.value if ev.higher_is_better else -s.value) for s in ev.scores}


def score_model(m: Model, use_case: str, dist: dict[str, list[float]]) -> Scored:
    weights = USE_CASES[use_case]
    scores = best_scores(m)
    total_w = sum(weights.values())
    got_w = 0.0
    acc = 0.0
    evidence = []
    for b, w in weights.items():
        if b in scores and b in dist:
            p = percentile(dist[b], scores[b]["value"])
            acc += w * p
            got_w += w
            evidence.append((b, scores[b]["value"], p))
    if got_w:
        quality = acc / got_w
        coverage = got_w / total_w
    else:
        # No benchmark for this use case: fall back to general knowledge scores, heavily discounted.
        general = [percentile(dist[b], scores[b]["value"]) for b in ("MMLU", "MMLU-Pro") if b in scores and b in dist]
        quality = (sum(general) / len(general) * 0.5) if general else 0.1
        coverage = 0.0
    score = quality * (0.6 + 0.4 * coverage)
    independent = _independent()
    if independent is not None:
        ev, pct = independent
        if m.id in pct:
            score = INDEPENDENT_WEIGHT * pct[m.id] + (1 - INDEPENDENT_WEIGHT) * score
            evidence.append((ev.name, next(s.value for s in ev.scores if s.model == m.id), pct[m.id]))
        else:
            score *= NO_INDEPENDENT_DISCOUNT
    if SPECIALTY_FOR.get(use_case) in m.specialties:
        score += 0.05
    if use_case == "edge":
        score *= 1.0 / (1.0 + max(m.params_b - 4, 0) / 4)
    return Scored(m, min(score, 1.0), quality, coverage, evidence)


@common.per_catalog
def _scored(cat) -> dict[str, Ranking]:
    """Use case -> its Ranking, filled on first use: pure, it depends on the catalog only."""
    return {}


@dataclass
class Ranking:
    """Every model of a catalog scored for one use case (see :func:`score_model`)."""

    by_id: dict[str, Scored]
    ranked: list[Scored]  # best first: score, then newest; catalog order on ties
    ranked_pos: Any  # numpy: the catalog position of each entry of ranked
    scores: Any  # numpy: the scores in catalog order


def scores_for(use_case: str) -> Ranking:
    """Every model of the catalog in use scored and ranked for a use case, computed once per catalog."""
    import numpy as np

    table = _scored()
    entry = table.get(use_case)
    if entry is None:
        cat = common.catalog()
        dist = distributions()
        by_id = {m.id: score_model(m, use_case, dist) for m in cat.models.values()}
        ranked = sorted(by_id.values(), key=lambda s: (-s.score, -s.model.release_date.toordinal()))
        pos = {mid: i for i, mid in enumerate(by_id)}
        entry = table[use_case] = Ranking(
            by_id,
            ranked,
            np.array([pos[s.model.id] for s in ranked], dtype=np.intp),
            np.array([s.score for s in by_id.values()], dtype=np.float64),
        )
    return entry


class _Columns:
    """The facts the hard constraints read, as arrays in catalog order: a constraint is one vectorized comparison
    instead of a Python step per model, which keeps the cost per model flat from a hundred models to a hundred
    thousand."""

    def __init__(self, cat) -> None:
        import numpy as np

        self.models = list(cat.models.values())
        self.license_code: dict[str, int] = {}
        self.license = np.array(
            [self.license_code.setdefault(m.license, len(self.license_code)) for m in self.models], dtype=np.int64
        )
        self.params_b = np.array([m.params_b for m in self.models], dtype=np.float64)
        self.context_length = np.array([m.context_length for m in self.models], dtype=np.int64)
        self.image = np.array(["image" in m.modalities for m in self.models], dtype=bool)
        self.multimodal = np.array([any(x != "text" for x in m.modalities) for m in self.models], dtype=bool)
        self.has_languages = np.array([bool(m.languages) for m in self.models], dtype=bool)
        self.licence_key = self.license * 2 + self.multimodal  # the licence verdict depends on these two only


_columns = common.per_catalog(_Columns)
EXCLUSION = {1: "params", 2: "context", 3: "license", 4: "vision", 5: "languages", 6: "verdict"}


def best_fit(
    m: Model, g: Gpu, num_gpus: int, context: int, quants: dict[str, Quantization]
) -> tuple[Quantization, float] | None:
    for qid in FIT_ORDER:
        q = quants.get(qid)
        if q is None or (q.needs_fp8_hardware and not g.fp8):
            continue
        if g.segment in ("apple", "cpu") and q.family not in ("gguf", "float"):
            continue  # Apple GPUs and CPUs run llama.cpp (or MLX) formats, not CUDA kernels
        engine = default_engine(q)
        est = estimate(m, q, engine, context, 1, 2.0, num_gpus)
        if est.per_gpu <= usable_bytes(g, engine):
            return q, est.total
    return None


def select_models(
    use_case: str | None = None,
    gpu: str | None = None,
    vram_gb: Annotated[float | None, Field(gt=0, le=1_000_000)] = None,
    num_gpus: Annotated[int, Field(ge=1, le=1024)] = 1,
    max_params_b: Annotated[float | None, Field(gt=0)] = None,
    min_context: Annotated[int | None, Field(ge=0, le=100_000_000)] = None,
    licenses: Annotated[list[str] | None, Field(max_length=40)] = None,
    commercial: bool | None = None,
    monthly_active_users: Annotated[int | None, Field(ge=0, le=10**11)] = None,
    languages: Annotated[list[Annotated[str, Field(max_length=12)]] | None, Field(max_length=50)] = None,
    needs_vision: bool = False,
    eu_entity: bool | None = None,
    top_k: Annotated[int, Field(ge=1, le=20)] = 5,
    unified_memory: bool = False,
) -> dict:
    """Shortlist open models for a use case under hard constraints (fits the GPU at some quantization, licence
    allows the use, context, size), ranked on the benchmarks that matter for the use case; gives reasons for each
    pick and for notable exclusions.

    Args:
        use_case: What the model is for: general, chat, customer_service, code, math, reasoning, long_context,
            multilingual, rag, tool_use or edge.
        gpu: GPU id or name the model must fit, e.g. "RTX 4090" or "A100 80GB".
        vram_gb: Memory per GPU as the vendor states it (a "24GB" card), when no GPU is named.
        num_gpus: Number of such GPUs (tensor parallel).
        max_params_b: Largest total size in billions of parameters.
        min_context: Context length in tokens the model must support.
        licenses: Allowed licence ids (e.g. apache-2.0, mit) or categories (permissive, community, ...).
        commercial: The use is commercial.
        monthly_active_users: Monthly active users of your product (licences with user caps).
        languages: ISO 639-1 codes the model must officially support, e.g. ["en", "de"].
        needs_vision: Keep only models that take images.
        eu_entity: You are an individual domiciled, or a company based, in the EU.
        top_k: How many models to recommend (1-20).
        unified_memory: vram_gb is unified memory shared with the CPU (a Mac or similar): only part of it is
            usable by the GPU.
    """
    cat = common.catalog()
    ask = Ask(
        use_case=resolve_use_case(use_case),
        device=common.device(gpu, vram_gb, unified_memory),
        num_gpus=num_gpus,
        max_params_b=max_params_b,
        min_context=min_context,
        licenses=_allowed_licenses(licenses),
        commercial=commercial,
        monthly_active_users=monthly_active_users,
        languages={x.lower() for x in languages} if languages else set(),
        needs_vision=needs_vision,
        eu_entity=eu_entity,
        unified_memory=unified_memory,
    )
    ranking = scores_for(ask.use_case)
    passed = _hard_constraints(ask, ranking)
    recs, misfits = _recommend(ask, ranking, passed, top_k)
    assumptions = _assumptions(ask)
    if not recs:
        assumptions.append("no model meets every constraint: relax the one named most often under 'excluded'")
    # the ten best-scored exclusions, as a stable sort would order them (heapq.nsmallest is sorted(...)[:n])
    excluded = heapq.nsmallest(10, passed.excluded + misfits, key=lambda e: -e[0])
    return {
        "use_case": ask.use_case,
        "recommendations": recs,
        "excluded": [
            {"model": m.id, "name": m.name, "reason": _exclusion_reason(ask, m, code, verdict)}
            for _, m, code, verdict in excluded
        ],
        "excluded_count": passed.excluded_count + len(misfits),
        "considered": len(cat.models),
        "assumptions": assumptions,
        "sources": list(
            dict.fromkeys(
                src
                for r in recs
                for src in [cat.licenses[cat.models[r["model"]].license].url]
                + [s.url for s in cat.models[r["model"]].sources.values()]
            )
        ),
    }


@dataclass(frozen=True)
class Ask:
    """What select_models was asked, resolved: the use case, the device (None: no fit check), the constraints."""

    use_case: str
    device: Gpu | None
    num_gpus: int
    max_params_b: float | None
    min_context: int | None
    licenses: set[str] | None  # licence ids allowed; None: any
    commercial: bool | None
    monthly_active_users: int | None
    languages: set[str]
    needs_vision: bool
    eu_entity: bool | None
    unified_memory: bool

    @property
    def fit_context(self) -> int:
        """The context the fit is checked at."""
        return self.min_context or (32768 if self.use_case in ("long_context", "rag") else 4096)


def _allowed_licenses(licenses: list[str] | None) -> set[str] | None:
    """Licence ids from ids, names and categories (permissive, community, ...); None when no licence was named."""
    if not licenses:
        return None
    cat = common.catalog()
    allowed: set[str] = set()
    for name in licenses:
        if name in LICENSE_CATEGORIES:
            allowed |= {x.id for x in cat.licenses.values() if x.category == name}
        else:
            allowed.add(common.license_(name, field="licenses").id)
    return allowed


def _assumptions(ask: Ask) -> list[str]:
    use_case, device = ask.use_case, ask.device
    assumptions = [
        f"use case '{use_case}' ranks on {', '.join(USE_CASES[use_case])} (vendor-reported scores, percentile within "
        f"the catalog)",
        "models with fewer of these benchmarks reported are ranked lower; a score is not an evaluation on your data",
        _ranking_weights(),
        f"catalog as of {catalog_as_of().isoformat()}",
    ]
    if device is not None and device.id.startswith("custom") and ask.unified_memory:
        assumptions.append(
            f"unified memory: {int(device.usable_memory_fraction * 100)}% assumed usable by the GPU "
            "(macOS default; raise it with sysctl iogpu.wired_limit_mb); llama.cpp/GGUF formats only"
        )
    if device is not None:
        assumptions.append(
            f"fit checked at {ask.fit_context} tokens of context, one sequence, on {ask.num_gpus} x "
            f"{device.name}; formats tried in order: {', '.join(FIT_ORDER)}"
        )
    else:
        assumptions.append(
            "no GPU given: memory fit not checked; each pick shows its BF16 memory at the context checked"
        )
    if ask.commercial is None:
        assumptions.append(
            "commercial use not stated: licences were checked for any use; say 'commercial' to exclude "
            "research-only licences"
        )
    return assumptions


def _ranking_weights() -> str:
    independent = _independent()
    if independent is None:
        return "ranking weights: vendor-reported scores only (the catalog has no independent evaluation)"
    ev = independent[0]
    return (
        f"ranking weights: {int(INDEPENDENT_WEIGHT * 100)}% {ev.name} (independent, snapshot "
        f"{(ev.source.published or ev.source.as_of).isoformat()}, percentile among {len(ev.scores)} catalog models) "
        f"and {int((1 - INDEPENDENT_WEIGHT) * 100)}% the vendor-reported scores above; models {ev.name} does not "
        f"list are ranked on vendor scores x {NO_INDEPENDENT_DISCOUNT}"
    )


def _exclusion_reason(ask: Ask, model: Model, code: str, verdict) -> str:
    """The exclusion reason, worded only for the exclusions shown."""
    if code == "params":
        return f"{model.params_b}B parameters exceed the {ask.max_params_b}B limit"
    if code == "context":
        return f"context {model.context_length:,} tokens is below the {ask.min_context:,} required"
    if code == "license":
        return f"licence {model.license} is not among those allowed"
    if code == "vision":
        return "does not take images"
    if code == "languages":
        if not model.languages:
            return f"its vendor lists no supported languages, so {', '.join(sorted(ask.languages))} cannot be confirmed"
        return f"does not list {', '.join(sorted(ask.languages - set(model.languages)))} among its supported languages"
    if code == "verdict":
        return f"licence: {verdict.reasons[-1] if verdict.reasons else 'not allowed for this use'}"
    device = ask.device.name if ask.device is not None else "the device"
    return f"does not fit {ask.num_gpus} x {device} at {ask.fit_context} tokens even in 4-bit"


@dataclass
class Passed:
    """The hard constraints applied to the whole catalog at once."""

    kept: Any  # numpy bool per catalog model
    verdicts: dict[tuple[str, bool], Any]  # (licence, takes more than text) -> its licence verdict
    excluded: list[tuple]  # the ten best-scored exclusions: (score, model, reason code, licence verdict)
    excluded_count: int


def _hard_constraints(ask: Ask, ranking: Ranking) -> Passed:
    """Size, context, licence list, vision, languages and licence verdict, as vectorized comparisons over the
    catalog; each excluded model keeps the first constraint that excluded it."""
    import numpy as np

    cols = _columns()
    why = np.zeros(len(cols.models), dtype=np.int8)  # 0: kept, else the first constraint that excludes (EXCLUSION)
    pending = np.ones(len(cols.models), dtype=bool)

    def exclude(condition, code: int) -> None:
        hit = pending & condition
        why[hit] = code
        pending[hit] = False

    if ask.max_params_b is not None:
        exclude(cols.params_b > ask.max_params_b, 1)
    if ask.min_context:
        exclude(cols.context_length < ask.min_context if ask.min_context <= np.iinfo(np.int64).max else True, 2)
    if ask.licenses is not None:
        exclude(~np.isin(cols.license, [cols.license_code[x] for x in ask.licenses if x in cols.license_code]), 3)
    if ask.needs_vision:
        exclude(~cols.image, 4)
    if ask.languages:
        exclude(np.isin(np.arange(len(cols.models)), _short_of_languages(ask.languages, cols, pending)), 5)
    verdicts, blocked = _licence_verdicts(ask, cols, np.flatnonzero(pending))
    exclude(np.isin(cols.licence_key, blocked), 6)
    return Passed(why == 0, verdicts, _best_exclusions(why, ranking, cols, verdicts), int(np.count_nonzero(why)))


def _short_of_languages(langs: set[str], cols: _Columns, pending) -> list[int]:
    import numpy as np

    short = [
        i for i in np.flatnonzero(pending & cols.has_languages).tolist() if not langs <= set(cols.models[i].languages)
    ]
    if langs - {"en"}:
        # a model whose vendor lists no languages cannot be shown to support the ones asked for
        short += np.flatnonzero(pending & ~cols.has_languages).tolist()
    return short


def _licence_verdicts(ask: Ask, cols: _Columns, reached) -> tuple[dict, list]:
    """The licence verdict per (licence, takes more than text), evaluated for the first model in catalog order that
    gets there; and the licence keys whose verdict is not_allowed."""
    import numpy as np

    cat = common.catalog()
    verdicts: dict[tuple[str, bool], object] = {}
    blocked = []
    keys, first = np.unique(cols.licence_key[reached], return_index=True)
    for key, i in zip(keys.tolist(), reached[first].tolist()):
        model = cols.models[i]
        verdict = evaluate(
            model,
            cat.licenses[model.license],
            ask.commercial,
            ask.monthly_active_users,
            None,
            None,
            None,
            None,
            ask.eu_entity,
        )
        verdicts[(model.license, bool(cols.multimodal[i]))] = verdict
        if verdict.level == "not_allowed":
            blocked.append(key)
    return verdicts, blocked


def _best_exclusions(why, ranking: Ranking, cols: _Columns, verdicts: dict) -> list[tuple]:
    """The ten best-scored exclusions, in the order a stable sort by score would give."""
    import numpy as np

    out = np.flatnonzero(why)
    best_out = out
    if len(out) > 40:  # only exclusions scored at least as high as the tenth best can be among the first ten
        score = ranking.scores[out]
        best_out = out[score >= np.partition(score, len(out) - 10)[len(out) - 10]]
    best_out = best_out[np.lexsort((best_out, -ranking.scores[best_out]))][:10].tolist()
    return [
        (
            ranking.scores[i],
            cols.models[i],
            EXCLUSION[int(why[i])],
            verdicts.get((cols.models[i].license, bool(cols.multimodal[i]))),
        )
        for i in best_out
    ]


def _recommend(ask: Ask, ranking: Ranking, passed: Passed, top_k: int) -> tuple[list[dict], list[tuple]]:
    """The best-ranked models that passed, fitted to the device, until top_k fit; and those that did not fit."""
    import numpy as np

    cat = common.catalog()
    recs: list[dict] = []
    misfits: list[tuple] = []
    for position in np.flatnonzero(passed.kept[ranking.ranked_pos]).tolist():  # the ranking, filtered
        if len(recs) >= top_k:
            break
        scored = ranking.ranked[position]
        model = scored.model
        if ask.device is not None:
            fit = best_fit(model, ask.device, ask.num_gpus, ask.fit_context, cat.quantizations)
            if fit is None:
                misfits.append((scored.score, model, "fit", None))
                continue
            quant, total = fit
        else:
            quant = cat.quantizations["bf16"]
            total = estimate(model, quant, "transformers", ask.fit_context, 1, 2.0, 1).total
        verdict = passed.verdicts[(model.license, any(x != "text" for x in model.modalities))]
        recs.append(_recommendation(ask, scored, quant, total, verdict))
    return recs, misfits


def _recommendation(ask: Ask, scored: Scored, quant: Quantization, total: float, verdict) -> dict:
    model, use_case = scored.model, ask.use_case
    reasons = [
        f"{b} {val} (top {max(1, round((1 - p) * 100))}% of the catalog)"
        for b, val, p in sorted(scored.evidence, key=lambda e: -e[2])[:4]
    ]
    if not scored.evidence:
        reasons.append(f"no vendor-reported {use_case} benchmark; ranked on general knowledge scores")
    if SPECIALTY_FOR.get(use_case) in model.specialties:
        reasons.append(f"the vendor positions it for {SPECIALTY_FOR[use_case].replace('_', ' ')}")
    reasons.append(
        f"{model.context_length:,}-token context; {model.params_b}B parameters"
        + (f" ({model.active_params_b}B active)" if model.active_params_b else "")
    )
    if ask.device is not None:
        reasons.append(
            f"fits {ask.num_gpus} x {ask.device.name} in {quant.name}: about {common.rnd(total / GB)} GB at "
            f"{ask.fit_context} tokens"
        )
    reasons.append(f"licence {common.catalog().licenses[model.license].name}: {verdict.level.replace('_', ' ')}")
    return {
        **model_summary(model),
        "model": model.id,
        "score": round(scored.score * 100, 1),
        "quantization": quant.id,
        "memory_gb": common.rnd(total / GB),
        "license_verdict": verdict.level,
        "license_conditions": verdict.conditions,
        "benchmarks_used": {b: val for b, val, _ in scored.evidence},
        "reasons": reasons,
    }
