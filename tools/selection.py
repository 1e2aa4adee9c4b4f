"""Shortlist models: hard constraints first (licence, context, size, vision, languages), then each model that passes
ranked by what it scores on the device asked about.

A pick's utility = its estimated ability for the use case (tools.ranking), less UNCERTAINTY_COST standard deviations
of that estimate, less what the fit costs on the device (a lower-precision format, memory used to the edge, decoding
below SPEED_TARGET tokens/s or, for agents, AGENT_SPEED_TARGET, a model far smaller than the device holds), less
UNCONFIRMED_COST for each fact that could change the verdict and is not recorded (a language list, a licence term, on a
device the architecture that sizes the KV cache).
For multilingual use, a narrow language list costs too; for agents (code, tool use), a model its vendor positions for
the work gains SPECIALIST_PICK. The score shown is that utility as a 0-100 share of a normal
population of models.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from catalog.gaps import VERDICT_TERMS
from catalog.schema import Model, Quantization
from tools import common
from tools import picks as why
from tools.common import best_scores, catalog_as_of, model_summary
from tools.errors import InvalidInput
from tools.licensing import evaluate
from tools.memory import GB, default_engine, estimate, usable_bytes, weight_bytes
from tools.picks import Ask, Fit, Pick
from tools.ranking import (
    ADOPTION_RANKED,
    INDEPENDENT_FACTOR,
    LANGUAGE_BREADTH,
    MIN_REPORTERS,
    SUCCESSOR_RATIO,
    USE_CASES,
    Estimate,
    adoption,
    comparable,
    estimates,
    language_breadth,
)
from tools.throughput import naive_tokens_per_s

__all__ = ["USE_CASES", "select_models", "resolve_use_case", "distributions", "percentile"]

# A pick is ranked on what it can be relied on to score: its estimate less one standard deviation, so a model placed
# from its lineage and size (wide uncertainty) must clear a measured one by its uncertainty (was 0.25).
UNCERTAINTY_COST = 1.0  # ability units per standard deviation of the estimate
UNCONFIRMED_COST = 0.15  # per unrecorded fact that could change the verdict (languages, a licence term, architecture)
EDGE_SIZE_COST = 0.5  # edge use: per doubling of (1 + parameters above 4B / 4B)
# Formats below 8 bits cost a little quality; the 4-bit format a model ships in (gpt-oss: MXFP4) costs nothing.
QUANT_COST = {"q6_k": 0.03, "q5_k_m": 0.06, "awq": 0.1, "q4_k_m": 0.1, "int4": 0.1, "iq4_xs": 0.12}
NATIVE_4BIT = {"mxfp4", "nvfp4", "fp4", "int4", "w4a16", "w4a4", "awq", "gptq"}
EDGE_SHARE, EDGE_COST = 0.8, 1.2  # memory used above 80% of usable costs up to 1.2 at 100%
SPEED_TARGET, SPEED_COST = 20.0, 0.5  # tokens/s for one user (bandwidth bound x 0.55); cost per halving below
# Agents (code, tool use) generate many tokens per task between a person's turns: they need this much to be usable.
AGENT_SPEED_TARGET = {"code": 40.0, "tool_use": 40.0}
SPEED_FLOOR, FLOOR_COST = 5.0, 1.0  # below this a model is not usable interactively: a cost that ranks it last
# No device given: running a model takes more hardware with every doubling above what one 80 GB GPU holds at 4 bits.
NO_DEVICE_SIZE_B, NO_DEVICE_SIZE_COST = 120.0, 0.3
UNDERSIZE_SHARE, UNDERSIZE_COST = 0.3, 0.25  # below 30% of the largest size the device holds at 4 bits: per halving
# Licence terms whose absence from the catalog leaves a commercial deployment's verdict open (catalog.gaps'
# verdict-deciding terms but the rule on training with outputs, which no select_models question states).
COMMERCIAL_TERMS = VERDICT_TERMS - {"outputs_to_train_other_models"}
OFF_SPECIALIST_COST = 1.0  # a model its vendor positions only for other uses (tools.ranking.off_specialist)
# Multilingual use: a model whose vendor states fewer than LANGUAGE_BREADTH languages costs up to NARROW_COST (one
# language), by log of the shortfall; a model that states none is kept and flagged unconfirmed.
NARROW_COST = 1.0
# Agents (code, tool use): practitioners pick a model its vendor built for the work (its tool-call format, agent
# training, editor integrations) over a generalist that scores a little higher, so the vendor's positioning counts in
# the pick itself, not only in the prior that a model's own scores outweigh (tools.ranking.SPECIALIST_PRIOR).
SPECIALIST_PICK = {"code": 0.5, "tool_use": 0.5}

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
# Formats tried when fitting, best first; llama.cpp and bitsandbytes cover consumer GPUs and Apple.
FIT_ORDER = ("bf16", "fp8", "q8_0", "q6_k", "q5_k_m", "awq", "q4_k_m", "int4", "iq4_xs")
MIN_BITS = 4.0  # no format in FIT_ORDER stores fewer bits per weight (awq: 4.16, with 16-bit embeddings)
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
class Ranking:
    """Every model of a catalog estimated for one use case (tools.ranking), ordered by what it can score at best:
    its ability less the cost of its uncertainty (and, for edge, of its size). Fit costs only lower that."""

    by_id: dict[str, Estimate]
    ranked: list[Estimate]  # best first; newest first on ties, then catalog order
    ranked_pos: Any  # numpy: the catalog position of each entry of ranked
    scores: Any  # numpy: the upper bound of each model's utility, in catalog order
    upper: dict[str, float]  # model id -> that upper bound


@common.per_catalog
def _rankings(cat) -> dict[str, Ranking]:
    """Use case -> its Ranking, filled on first use: pure, it depends on the catalog only."""
    return {}


def model_upper(est: Estimate, use_case: str) -> float:
    """The most a model can score whatever the hardware: its ability, less UNCERTAINTY_COST standard deviations,
    plus SPECIALIST_PICK when its vendor positions it for the use case (agents), less OFF_SPECIALIST_COST when its
    vendor positions it only for other uses, for edge use a cost per doubling
    of its size above 4B parameters and, for multilingual use, the cost of a narrow language list (narrow_cost)."""
    upper = est.ability - UNCERTAINTY_COST * est.sd - (OFF_SPECIALIST_COST if est.off_specialist else 0.0)
    if est.specialist:
        upper += SPECIALIST_PICK.get(use_case, 0.0)
    if use_case == "edge":
        upper -= EDGE_SIZE_COST * math.log2(1 + max(est.model.params_b - 4, 0) / 4)
    if use_case == "multilingual":
        upper -= narrow_cost(est.model)
    return upper


def narrow_cost(m: Model) -> float:
    """Multilingual use: NARROW_COST x log(LANGUAGE_BREADTH / n) / log(LANGUAGE_BREADTH) for a model whose vendor
    states n < LANGUAGE_BREADTH languages (1 language: NARROW_COST; 2: 0.7 of it); 0 when it states none, which is
    flagged unconfirmed instead."""
    n = language_breadth(m)
    if n is None or n >= LANGUAGE_BREADTH:
        return 0.0
    return NARROW_COST * math.log(LANGUAGE_BREADTH / n) / math.log(LANGUAGE_BREADTH)


def scores_for(use_case: str) -> Ranking:
    """Every model of the catalog in use estimated and ranked for a use case, computed once per catalog."""
    import numpy as np

    table = _rankings()
    entry = table.get(use_case)
    if entry is None:
        by_id = estimates(use_case)
        upper = {mid: model_upper(e, use_case) for mid, e in by_id.items()}
        for e in sorted(by_id.values(), key=lambda x: x.model.release_date):  # fewer scores alone (its uncertainty)
            if e.floor_of and not e.off_specialist:  # never rank a model below the older model it succeeds
                upper[e.model.id] = max(upper[e.model.id], *(upper[p] for p in e.floor_of))
        ranked = sorted(by_id.values(), key=lambda e: (-upper[e.model.id], -e.model.release_date.toordinal()))
        pos = {mid: i for i, mid in enumerate(by_id)}
        entry = table[use_case] = Ranking(
            by_id,
            ranked,
            np.array([pos[e.model.id] for e in ranked], dtype=np.intp),
            np.array([upper[mid] for mid in by_id], dtype=np.float64),
            upper,
        )
    return entry


class _Columns:
    """The facts the hard constraints read, as arrays in catalog order: a constraint is one vectorized comparison
    instead of a Python step per model, which keeps the cost per model flat from a hundred models to a hundred
    thousand."""

    def __init__(self, cat) -> None:
        import numpy as np

        self.models = list(cat.models.values())
        self.index = {m.id: i for i, m in enumerate(self.models)}
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


def _quant_cost(m: Model, q: Quantization) -> float:
    """What a format costs in quality: nothing at 8 bits or more, nor at the 4-bit format a model ships in."""
    if q.bits_per_weight >= 8 or (q.bits_per_weight <= 4.6 and set(m.formats[:1]) & NATIVE_4BIT):
        return 0.0
    return QUANT_COST.get(q.id, QUANT_COST["q4_k_m"])


def _fit_costs(
    m: Model, q: Quantization, per_gpu: float, kv_per_token: float, usable: float, tps: float | None, ask: Ask
) -> dict:
    """What running the model this way costs (see the module docstring): 'edge' grows as memory use passes
    EDGE_SHARE of the usable memory, or as the memory left holds less than Ask.room_context more tokens (the
    context asked for once more, else the use case's default: 32,768 for agents)."""
    costs = {"format": _quant_cost(m, q)}
    share = per_gpu / usable
    room = (usable - per_gpu) / kv_per_token if kv_per_token > 0 else math.inf  # more tokens that fit
    edge = max((share - EDGE_SHARE) / (1 - EDGE_SHARE), 1 - room / ask.room_context, 0.0)
    if edge > 0:
        costs["edge"] = EDGE_COST * min(edge, 1.0)
    target = speed_target(ask.use_case)
    if tps is not None and tps < target:
        costs["speed"] = SPEED_COST * math.log2(target / max(tps, 0.1)) + (FLOOR_COST if tps < SPEED_FLOOR else 0)
    capacity_b = usable * ask.num_gpus / (4.5 / 8) / 1e9  # the largest model the device holds at 4 bits
    if m.params_b < UNDERSIZE_SHARE * capacity_b:
        costs["size"] = UNDERSIZE_COST * math.log2(UNDERSIZE_SHARE * capacity_b / m.params_b)
    return {k: v for k, v in costs.items() if v > 0}


def speed_target(use_case: str) -> float:
    """Decoding speed (tokens/s, one user) below which a fit costs: AGENT_SPEED_TARGET for agents, else SPEED_TARGET."""
    return AGENT_SPEED_TARGET.get(use_case, SPEED_TARGET)


def best_fit(
    m: Model, ask: Ask, quants: dict[str, Quantization], weights_of: dict[tuple[str, str], float] | None = None
) -> Fit | None:
    """The format that runs the model best on the device: of those that fit at the context checked (FIT_ORDER), the
    one with the lowest cost for format, memory edge and speed. A format whose weights alone exceed the usable memory
    is skipped without an estimate; the memory besides the weights (KV cache, state, activations, engine overhead)
    depends on the engine only, so one full estimate per engine gives every format's memory exactly."""
    g = ask.device
    assert g is not None
    n = ask.num_gpus
    if m.params_b * 1e9 * MIN_BITS / 8 / n > (g.memory_bytes or 0):
        return None  # not even the smallest format's weights fit
    rest: dict[str, tuple[float, float, float]] = {}  # engine -> (per-GPU bytes, total bytes) besides weights, KV
    weights_of = _weights() if weights_of is None else weights_of  # (model, format) -> weight bytes
    options = []
    for qid in FIT_ORDER:
        q = quants.get(qid)
        if q is None or (q.needs_fp8_hardware and not g.fp8):
            continue
        if g.segment in ("apple", "cpu") and q.family not in ("gguf", "float"):
            continue  # Apple GPUs and CPUs run llama.cpp (or MLX) formats, not CUDA kernels
        engine = default_engine(q)
        usable = usable_bytes(g, engine)
        weights = weights_of.get((m.id, q.id)) or weights_of.setdefault((m.id, q.id), weight_bytes(m, q))
        if weights / n > usable:
            continue  # the weights alone do not fit
        if engine not in rest:
            est = estimate(m, q, engine, ask.fit_context, 1, 2.0, n)
            rest[engine] = (est.per_gpu - est.weights / n, est.total - est.weights, est.kv_stored / n)
        per_gpu_rest, total_rest, kv = rest[engine]
        per_gpu = weights / n + per_gpu_rest
        if per_gpu > usable:
            continue
        tps = naive_tokens_per_s(m, q, g, n) if g.memory_bandwidth_gbps else None
        costs = _fit_costs(m, q, per_gpu, kv / ask.fit_context, usable, tps, ask)
        room = (usable - per_gpu) / (kv / ask.fit_context) if kv > 0 else None  # more tokens the memory left holds
        options.append(
            Fit(q, weights + total_rest, per_gpu, usable, tps, sum(costs.values()), costs, room, ask.room_context)
        )
    return min(options, key=lambda f: f.cost) if options else None


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
        f"use case '{use_case.replace('_', ' ')}' ranks on {', '.join(USE_CASES[use_case])}: each model's rank "
        "among the catalog models reporting a benchmark, put on one scale through the models that share benchmarks, so "
        "models are compared on what they share, not on how many scores they report; a score is not an evaluation "
        "on your data",
        _ranking_weights(),
        "a model without a score for the use case is estimated from its predecessor in the same line (or its size and "
        "release date) and its vendor's positioning, marked 'estimated', with its uncertainty taken off its score",
        f"catalog as of {catalog_as_of().isoformat()}",
    ]
    if use_case in SPECIALIST_PICK:
        assumptions.append(
            f"a model its vendor positions for {use_case.replace('_', ' ')} is preferred by "
            f"{SPECIALIST_PICK[use_case]:g} standard deviations of ability, as practitioners pick agents built for the "
            "work (tool-call format, agent training) over a generalist that scores a little higher"
        )
    if device is not None and device.id.startswith("custom") and ask.unified_memory:
        assumptions.append(
            f"unified memory: {int(device.usable_memory_fraction * 100)}% assumed usable by the GPU "
            "(macOS default; raise it with sysctl iogpu.wired_limit_mb); llama.cpp/GGUF formats only"
        )
    if not ask.min_context:
        assumptions.append(
            f"no context length stated: {ask.room_context:,} tokens assumed, what {use_case.replace('_', ' ')} use "
            "typically needs; a model that leaves less room for it on the device is ranked down; state a context "
            "length to change it"
        )
    if device is not None:
        least = (
            f" (the least a pick must hold; room for the {ask.room_context:,} above is preferred)"
            if ask.room_context > ask.fit_context
            else ""
        )
        assumptions.append(
            f"fit checked at {ask.fit_context:,} tokens of context, one sequence, on {ask.num_gpus} x "
            f"{device.name}{least}; formats tried: {', '.join(FIT_ORDER)}; the format kept is the one that costs least "
            f"for precision, memory left (above {EDGE_SHARE:.0%} used) and speed (below {speed_target(ask.use_case):g} "
            f"tokens/s for one user, "
            f"a bandwidth bound); a model under {UNDERSIZE_SHARE:.0%} of the largest the device holds is ranked down"
        )
    else:
        assumptions.append(
            "no GPU given: memory fit not checked; each pick shows its BF16 memory at the context checked; models "
            f"above {NO_DEVICE_SIZE_B:g}B parameters (more than one 80 GB GPU holds at 4 bits) are ranked down "
            "per doubling, as each doubling takes more GPUs to run"
        )
    if ask.commercial is None:
        assumptions.append(
            "commercial use not stated: licences were checked for any use; say 'commercial' to exclude "
            "research-only licences"
        )
    return assumptions


@common.per_catalog
def _ranking_weights(cat) -> str:
    if not cat.raw.evaluations:
        return "ranking weights: vendor-reported scores only (the catalog has no independent evaluation)"
    named = "; ".join(
        f"{ev.name} ({(ev.source.published or ev.source.as_of).isoformat()}, {len(ev.scores)} models)"
        for ev in cat.raw.evaluations
    )
    used = [ADOPTION_RANKED[k] for k, rows in adoption().items() if k in ADOPTION_RANKED and len(rows) >= MIN_REPORTERS]
    signals = f"; adoption ranked as a signal of its own: {', '.join(used)}" if used else ""
    return f"independent evaluations weigh {INDEPENDENT_FACTOR:g}x a vendor-reported score: {named}{signals}"


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
    if code == "superseded":
        newer = common.catalog().models[verdict]
        return f"superseded by {newer.name}, a later checkpoint of the same model that also meets the constraints"
    if code == "older_generation":
        newer = common.catalog().models[verdict]
        return f"an older generation of {newer.name} (same line, comparable size), which ranks above it here"
    device = ask.device.name if ask.device is not None else "the device"
    return f"does not fit {ask.num_gpus} x {device} at {ask.fit_context} tokens even in 4-bit"


@common.per_catalog
def _snapshots(cat) -> dict[str, list[str]]:
    """Model id -> the later checkpoints of it (Model.snapshot_of), newest first."""
    out: dict[str, list[str]] = {}
    for m in sorted(cat.models.values(), key=lambda x: x.release_date, reverse=True):
        if m.snapshot_of:
            out.setdefault(m.snapshot_of, []).append(m.id)
    return out


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

    # a model whose vendor lists no languages is kept, marked unconfirmed (see _unconfirmed)
    return [
        i for i in np.flatnonzero(pending & cols.has_languages).tolist() if not langs <= set(cols.models[i].languages)
    ]


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


def _unconfirmed(ask: Ask, est: Estimate, verdict) -> dict[str, str]:
    """Missing data that could change the pick: shown as unconfirmed, costing UNCONFIRMED_COST each but the scores
    (whose cost is the estimate's uncertainty)."""
    m = est.model
    out = {}
    if not est.measured:
        out["scores"] = (
            f"no vendor-reported {ask.use_case.replace('_', ' ')} benchmark: estimated from {est.prior_basis}"
        )
    if ask.languages - {"en"} and not m.languages:
        stated = f"states {m.language_count} languages without naming them" if m.language_count else "lists none"
        out["languages"] = (
            f"its vendor {stated}, so {', '.join(sorted(ask.languages))} cannot be confirmed among its languages"
        )
    elif ask.use_case == "multilingual" and language_breadth(m) is None:
        out["languages"] = "its vendor states no supported languages, so how many it serves well is not confirmed"
    if ask.device is not None and not m.architecture:
        out["memory"] = (
            "its architecture is not recorded, so the memory its KV cache takes for the context, and the room left "
            "for it, are not counted"
        )
    if verdict.level == "unknown":
        out["licence"] = "the licence terms that decide this use are not recorded: " + "; ".join(verdict.reasons[-1:])
    elif ask.commercial is not False and (unread := _unread_terms(m.license)):
        out["licence"] = (
            f"the licence text was not fully read: its {', '.join(t.replace('_', ' ') for t in unread)} "
            "term is not recorded, which can decide a commercial deployment"
        )
    return out


def _unread_terms(license_id: str) -> list[str]:
    """The terms of a licence that can decide a commercial deployment and are recorded as not_reported."""
    return _unread_by_licence().get(license_id, [])


@common.per_catalog
def _unread_by_licence(cat) -> dict[str, list[str]]:
    return {
        lic.id: [n for n, t in lic.terms if n in COMMERCIAL_TERMS and t is not None and t.value == "not_reported"]
        for lic in cat.licenses.values()
    }


FITS_KEPT = 50_000  # fits remembered per catalog (model x device x GPUs x context); cleared when full


@common.per_catalog
def _fits(cat) -> dict[tuple, Fit | None]:
    return {}


def _fit_once(m: Model, ask: Ask, quants, weights_of, fits: dict) -> Fit | None:
    """best_fit, remembered: it depends only on the model, the device, the number of GPUs, the context, the context
    to leave room for and the speed the use case needs (a fit's cost weighs its speed against speed_target)."""
    g = ask.device
    assert g is not None
    key = (
        m.id,
        g.id,
        g.memory_bytes,
        g.usable_memory_fraction,
        g.memory_bandwidth_gbps,
        ask.num_gpus,
        ask.fit_context,
        ask.room_context,
        speed_target(ask.use_case),
    )
    if key not in fits:
        if len(fits) >= FITS_KEPT:
            fits.clear()
        fits[key] = best_fit(m, ask, quants, weights_of)
    return fits[key]


@common.per_catalog
def _weights(cat) -> dict[tuple[str, str], float]:
    """(model id, format id) -> weight bytes, filled on first use."""
    return {}


def _pick(ask: Ask, ranking: Ranking, est: Estimate, verdict, quants, caches) -> Pick | None:
    model = est.model
    if ask.device is not None:
        fit = _fit_once(model, ask, quants, *caches)
        if fit is None:
            return None
        quant, total, cost = fit.quant, fit.total, fit.cost
    else:
        fit, quant = None, quants["bf16"]
        total = estimate(model, quant, "transformers", ask.fit_context, 1, 2.0, 1).total
        cost = NO_DEVICE_SIZE_COST * max(math.log2(model.params_b / NO_DEVICE_SIZE_B), 0.0)
    flags = _unconfirmed(ask, est, verdict)
    utility = ranking.upper[model.id] - cost - UNCONFIRMED_COST * len(flags.keys() - {"scores"})
    return Pick(est, fit, quant, total, verdict, flags, utility)


def _recommend(ask: Ask, ranking: Ranking, passed: Passed, top_k: int) -> tuple[list[dict], list[tuple]]:
    """The best picks that passed, fitted to the device. Candidates are taken in the order of the most they can
    score; fit costs only lower that, so the search stops once the next candidate's best cannot reach the top_k.
    When the use is commercial, a pick whose licence verdict is unknown cannot be first."""
    import numpy as np

    cat = common.catalog()
    picks: list[Pick] = []
    misfits: list[tuple] = []
    caches = (_weights(), _fits())
    cols, snapshots = _columns(), _snapshots()
    kth = -math.inf
    known = False  # a pick with a known licence verdict was found
    for position in np.flatnonzero(passed.kept[ranking.ranked_pos]).tolist():  # the ranking, filtered
        est = ranking.ranked[position]
        model = est.model
        if len(picks) >= top_k and ranking.upper[model.id] <= kth and (known or not ask.commercial):
            break
        newer = [x for x in snapshots.get(model.id, ()) if passed.kept[cols.index[x]]]
        if newer:  # a later checkpoint of the same architecture passed too: this one is superseded
            misfits.append((ranking.upper[model.id], model, "superseded", newer[0]))
            continue
        verdict = passed.verdicts[(model.license, any(x != "text" for x in model.modalities))]
        pick = _pick(ask, ranking, est, verdict, cat.quantizations, caches)
        if pick is None:
            misfits.append((ranking.upper[model.id], model, "fit", None))
            continue
        picks.append(pick)
        known = known or "licence" not in pick.unconfirmed
        shown = _one_per_generation(picks)[0]
        if len(shown) >= top_k:
            kth = shown[top_k - 1].utility
    picks, older = _one_per_generation(picks)
    misfits += [(ranking.upper[p.est.model.id], p.est.model, "older_generation", newer) for p, newer in older]
    if ask.commercial and picks and "licence" in picks[0].unconfirmed:
        first = next((p for p in picks if "licence" not in p.unconfirmed), None)
        if first is not None:
            for p in picks:
                if "licence" in p.unconfirmed and p.utility >= first.utility:
                    p.utility = first.utility - 1e-6
                    p.unconfirmed["licence"] += " (so it is not ranked first for a commercial use)"
            picks.sort(key=lambda p: -p.utility)
    picks = picks[:top_k]
    return [_recommendation(ask, p, nxt) for p, nxt in zip(picks, [*picks[1:], None])], misfits


GENERATIONS_SHOWN = 2  # a shortlist shows at most this many generations of one line and size


def _one_per_generation(picks: list[Pick]) -> tuple[list[Pick], list[tuple[Pick, str]]]:
    """The picks best first, less each one that a newer generation of its line and size (tools.ranking's successor
    rule: same lineage, released later, within SUCCESSOR_RATIO of its total and active parameters) outscores here;
    and those left out, each with the newer model's id. A shortlist names Qwen3.6-27B or Qwen3.5-27B, not both."""
    kept: list[Pick] = []
    older: list[tuple[Pick, str]] = []
    for p in sorted(picks, key=lambda x: -x.utility):
        m = p.est.model
        newer = [
            k.est.model.id
            for k in kept
            if k.est.lineage == p.est.lineage
            and k.est.model.release_date > m.release_date
            and comparable(k.est.model, m, SUCCESSOR_RATIO)
        ]
        if len(newer) < GENERATIONS_SHOWN:
            kept.append(p)
        else:
            older.append((p, newer[0]))
    return kept, older


def _recommendation(ask: Ask, pick: Pick, nxt: Pick | None) -> dict:
    est, model = pick.est, pick.est.model
    versus = why.beats_next(ask.use_case, pick, nxt) if nxt is not None else None
    return {
        **model_summary(model),
        "model": model.id,
        "score": why.score(pick.utility),
        "quantization": pick.quant.id,
        "memory_gb": common.rnd(pick.total / GB),
        "license_verdict": pick.verdict.level,
        "license_conditions": pick.verdict.conditions,
        "benchmarks_used": {e.column: e.value for e in est.evidence},
        "estimated": not est.measured,
        "unconfirmed": sorted(pick.unconfirmed),
        "fit": why.fit_summary(ask, pick),
        "beats_next": versus,
        "reasons": why.reasons(ask, pick, versus),
    }
