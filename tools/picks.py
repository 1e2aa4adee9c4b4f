"""A shortlist's picks (what was asked, how each model fits, what it scores), why each pick is there, and why it
ranks above the next one, as structured fields and words.

``beats_next`` compares two consecutive picks on what decided their order: the use-case benchmarks they share
(vendor-reported and independent), the vendor's positioning, the generation within a lineage, how each fits the
device (format, memory left, speed, size for the device) and the data not confirmed; ``because`` holds what favours
the higher pick, ``against`` what favours the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from catalog.schema import Gpu, Quantization
from tools import common, ranking
from tools.memory import GB, default_engine, device_unit, fit_in_device_unit, max_context
from tools.ranking import Estimate


@dataclass(frozen=True)
class Ask:
    """What select_models was asked, resolved: the use case, the device (None: no fit check), the constraints."""

    use_case: str
    device: Gpu | None  # None: no fit check
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
        """The context a model must fit at: the one asked for, else 32,768 tokens for long context and RAG, else
        4,096."""
        return self.min_context or (32768 if self.use_case in ("long_context", "rag") else 4096)

    @property
    def room_context(self) -> int:
        """The context a fit should leave room for (a fit with less room costs): the one asked for, else the use
        case's (default_context)."""
        return self.min_context or default_context(self.use_case)


# The context a use case needs when none is stated, in tokens, as practitioners size a deployment: a coding or
# tool-using agent carries files, tool results and its history; RAG its retrieved passages; reasoning and maths
# their thinking; chat a conversation; an edge device a short exchange. The fit leaves room for it (and the
# shortlist's assumptions say which was used). A model that fits at Ask.fit_context with less room costs more.
USE_CASE_CONTEXT = {
    "code": 32768,
    "tool_use": 32768,
    "rag": 32768,
    "long_context": 32768,
    "reasoning": 16384,
    "math": 16384,
    "edge": 4096,
}
DEFAULT_CONTEXT = 8192  # general, chat, customer service, multilingual


def default_context(use_case: str) -> int:
    """The context (tokens) a shortlist for the use case is fitted at when the question states none."""
    return USE_CASE_CONTEXT.get(use_case, DEFAULT_CONTEXT)


@dataclass
class Fit:
    """How a model runs on the device asked about: the format chosen, its memory, and what the fit costs."""

    quant: Quantization
    total: float  # bytes, all GPUs
    per_gpu: float  # bytes
    usable: float  # bytes usable per GPU (None device: 0)
    tokens_per_s: float | None  # single-stream decode, bandwidth bound x efficiency (tools.throughput)
    cost: float = 0.0  # ability units taken off for the format, the edge, the speed and the size
    costs: dict[str, float] = field(default_factory=dict)  # what the cost is made of
    room_tokens: float | None = None  # more tokens the memory left holds beyond the context checked (None: no KV cache)
    room_wanted: int = 0  # the context the fit should leave room for (Ask.room_context)

    @property
    def free(self) -> float:
        """Share of the usable memory left at the context checked."""
        return 1 - self.per_gpu / self.usable if self.usable else 1.0


@dataclass
class Pick:
    """A model that passed the constraints and fits, with what it scores on this device."""

    est: Estimate
    fit: Fit | None  # None: no device given
    quant: Quantization
    total: float
    verdict: Any
    unconfirmed: dict[str, str]  # what is not confirmed -> why, in words
    utility: float


def score(utility: float) -> float:
    """A utility as the 0-100 score shown: the share of a normal population of models it is above."""
    return round(100 * NormalDist().cdf(utility), 1)


COST_WORDS = {
    "format": "a lower-precision format",
    "edge": "little memory left",
    "speed": "slow decoding",
    "size": "small for the device",
}


def _shared(use_case: str, a: Pick, b: Pick) -> dict | None:
    keys = sorted(set(a.est.columns) & set(b.est.columns))
    if not keys:
        return None
    index = ranking.column_index()
    rows: list[dict[str, Any]] = [
        {
            "benchmark": index[k].label,
            "independent": index[k].independent,
            "this": a.est.columns[k],
            "next": b.est.columns[k],
        }
        for k in keys
    ]
    ahead = sum(a.est.columns[k] > b.est.columns[k] for k in keys)
    behind = sum(a.est.columns[k] < b.est.columns[k] for k in keys)
    shown = ", ".join(f"{r['benchmark']} {r['this']:g} vs {r['next']:g}" for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return {
        "kind": "shared_benchmarks",
        "benchmarks": rows,
        "ahead": ahead,
        "behind": behind,
        "text": f"ahead on {ahead} of {len(rows)} {use_case.replace('_', ' ')} benchmarks both report ({shown}{more})"
        if ahead >= behind
        else f"behind on {behind} of {len(rows)} {use_case.replace('_', ' ')} benchmarks both report ({shown}{more})",
    }


def _fit_item(a: Pick, b: Pick) -> dict | None:
    if a.fit is None or b.fit is None or abs(a.fit.cost - b.fit.cost) < 0.01:
        return None
    worse, better = (b, a) if b.fit.cost > a.fit.cost else (a, b)
    assert worse.fit is not None
    what = [COST_WORDS[k] for k, v in sorted(worse.fit.costs.items(), key=lambda kv: -kv[1]) if v > 0.005]
    return {
        "kind": "fit",
        "this": fit_words(a),
        "next": fit_words(b),
        "text": f"{worse.est.model.name} costs more on this device ({', '.join(what) or 'its format'}): "
        f"{fit_words(worse)}, against {fit_words(better)}",
        "favours": "this" if better is a else "next",
    }


def fit_words(p: Pick) -> str:
    f = p.fit
    if f is None:
        return f"{p.quant.name}"
    speed = f", about {f.tokens_per_s:.0f} tokens/s" if f.tokens_per_s is not None else ""
    room = ""
    if f.room_tokens is not None and f.room_wanted and f.room_tokens < f.room_wanted:
        room = f", room for about {_thousands(f.room_tokens)} more tokens of the {f.room_wanted:,} wanted"
    return f"{p.quant.id} with {f.free * 100:.0f}% of memory free{room}{speed}"


def _thousands(tokens: float) -> str:
    """A token count as shown: to the nearest thousand from 1,000 up (27,600 -> '28k'), else whole."""
    return f"{round(tokens / 1000):,}k" if tokens >= 1000 else f"{max(tokens, 0):.0f}"


def _newer(a: Pick, b: Pick) -> bool:
    ma, mb = a.est.model, b.est.model
    return mb.id in a.est.floor_of or (
        ma.release_date > mb.release_date
        and ranking.comparable(ma, mb, ranking.SUCCESSOR_RATIO)
        and a.est.lineage == b.est.lineage
    )


def beats_next(use_case: str, a: Pick, b: Pick) -> dict:
    """Why pick a ranks above pick b: what favours a ('because') and what favours b ('against')."""
    because: list[dict] = []
    against: list[dict] = []
    shared = _shared(use_case, a, b)
    if shared is not None:
        (because if shared["ahead"] >= shared["behind"] else against).append(shared)
    else:
        because.append(
            {
                "kind": "estimate",
                "text": f"no {use_case.replace('_', ' ')} benchmark in common: the order rests on each model's "
                f"estimate ({_basis(a)}; {_basis(b)})",
            }
        )
    for x, y, bucket in ((a, b, because), (b, a, against)):
        if x.est.specialist and not y.est.specialist:
            bucket.append(
                {
                    "kind": "specialist",
                    "text": f"{x.est.model.name}'s vendor positions it for {use_case.replace('_', ' ')}",
                }
            )
        if _newer(x, y):
            bucket.append({"kind": "generation", "text": f"{x.est.model.name} is a newer generation of the same line"})
        extra = sorted(y.unconfirmed.keys() - x.unconfirmed.keys() - {"scores"})
        if extra:
            bucket.append(
                {"kind": "unconfirmed", "text": f"{y.est.model.name}'s {' and '.join(extra)} are not confirmed"}
            )
    for x, y, bucket in ((a, b, because), (b, a, against)):
        if use_case == "multilingual" and _narrow(y) and not _narrow(x):
            bucket.append({"kind": "languages", "text": f"{y.est.model.name} {_narrow(y)}"})
    for item in _adoption(a, b):
        (because if item.pop("favours") == "this" else against).append(item)
    fit = _fit_item(a, b)
    if fit is not None:
        (because if fit["favours"] == "this" else against).append(fit)
    summary = "; ".join(item["text"] for item in because[:3])
    if against:
        summary += "; though " + against[0]["text"]
    return {
        "model": b.est.model.id,
        "name": b.est.model.name,
        "score_gap": round(score(a.utility) - score(b.utility), 1),
        "because": because,
        "against": against,
        "summary": summary,
    }


def _adoption(a: Pick, b: Pick) -> list[dict]:
    """Adoption readings of the same kind both models have (catalog/data/adoption.yaml), with their sources."""
    out = []
    for kind, readings in ranking.adoption().items():
        ra, rb = readings.get(a.est.model.id), readings.get(b.est.model.id)
        if ra is None or rb is None or ra.value == rb.value:
            continue
        hi, lo = (ra, rb) if ra.value > rb.value else (rb, ra)
        out.append(
            {
                "kind": "adoption",
                "signal": kind,
                "this": ra.value,
                "next": rb.value,
                "sources": [ra.source.url, rb.source.url],
                "text": f"{hi.model} is used more ({kind.replace('_', ' ')}: {hi.value:,.0f} against "
                f"{lo.value:,.0f}, as of {(hi.source.published or hi.source.as_of).isoformat()})",
                "favours": "this" if hi is ra else "next",
            }
        )
    return out


def _basis(p: Pick) -> str:
    e = p.est
    if e.measured:
        return f"{e.model.name} from {len(e.evidence)} {'score' if len(e.evidence) == 1 else 'scores'}"
    return f"{e.model.name} from {e.prior_basis}"


def fit_summary(ask: Ask, p: Pick) -> dict | None:
    """The fit as the renderers show it: format, memory against the device, memory free, speed, and the costs."""
    if p.fit is None or ask.device is None:
        return None
    f = p.fit
    engine = default_engine(p.quant)
    most = max_context(p.est.model, p.quant, engine, 1, 2.0, ask.device, ask.num_gpus)
    return {  # in the device's own unit (GiB where its "GB" is 2^30 bytes), then the ranking's own figures
        **fit_in_device_unit(ask.device, ask.num_gpus, f.per_gpu, f.usable, ask.fit_context, most),
        "device": ask.device.name,
        "num_gpus": ask.num_gpus,
        "format": p.quant.id,
        "memory_gb": common.rnd(f.total / GB),
        "usable_gb_per_gpu": common.rnd(f.usable / GB),
        "free_share": round(f.free, 3),
        "context_wanted": f.room_wanted,  # the context the fit should leave room for (stated, else the use case's)
        "room_tokens": round(f.room_tokens) if f.room_tokens is not None else None,  # more tokens the memory left holds
        "tokens_per_s": common.rnd(f.tokens_per_s, 1) if f.tokens_per_s is not None else None,
        "costs": {k: round(v, 3) for k, v in f.costs.items()},
    }


def reasons(ask: Ask, p: Pick, versus: dict | None) -> list[str]:
    est, model, use_case = p.est, p.est.model, ask.use_case
    out = [
        f"{e.column} {e.value:g} (top {max(1, round((1 - e.percentile) * 100))}% of the catalog models "
        f"{'it scores' if e.independent else 'reporting it'})"
        for e in est.evidence[:4]
    ]
    if not est.measured:
        out.append(
            f"estimated: no {use_case.replace('_', ' ')} benchmark reported; placed from {est.prior_basis} "
            f"(uncertain, ±{est.sd:.1f} standard deviations)"
        )
    if est.lifted_to:
        out.append(f"ranked at least as high as {_name(est.lifted_to)}, which it succeeds (no benchmark in common)")
    if est.specialist:
        out.append(f"the vendor positions it for {use_case.replace('_', ' ')}")
    if use_case == "multilingual" and _narrow(p):
        out.append(f"ranked down for multilingual use: its vendor {_narrow(p).removeprefix('whose vendor ')}")
    out.append(
        f"{model.context_length:,}-token context; {model.params_b}B parameters"
        + (f" ({model.active_params_b}B active)" if model.active_params_b else "")
    )
    if ask.device is not None and p.fit is not None:
        speed = f"; about {p.fit.tokens_per_s:.0f} tokens/s (bandwidth bound)" if p.fit.tokens_per_s else ""
        unit, size, _ = device_unit(ask.device)  # one unit rule: the device's own (GiB where its "GB" is 2^30)
        out.append(
            f"fits {ask.num_gpus} x {ask.device.name} in {p.quant.name}: about {common.rnd(p.fit.per_gpu / size):g} "
            f"{unit}" + (" per device" if ask.num_gpus > 1 else "") + f" of {common.rnd(p.fit.usable / size):g} "
            f"{unit} at {ask.fit_context:,} tokens, {p.fit.free * 100:.0f}% of usable memory free{speed}"
        )
    out.append(f"licence {p.verdict.lic.name}: {p.verdict.level.replace('_', ' ')}")
    out += [f"unconfirmed {k}: {v}" for k, v in sorted(p.unconfirmed.items()) if k != "scores"]
    if versus is not None:
        out.append(f"ranked above {versus['name']}: {versus['summary']}")
    return out


def _narrow(p: Pick) -> str:
    """'whose vendor states only N languages (...)' when it states fewer than ranking.LANGUAGE_BREADTH, else ''."""
    m = p.est.model
    n = ranking.language_breadth(m)
    if n is None or n >= ranking.LANGUAGE_BREADTH:
        return ""
    named = f" ({', '.join(m.languages)})" if m.languages else ""
    return f"whose vendor states only {n} {'language' if n == 1 else 'languages'}{named}"


def _name(model_id: str) -> str:
    return common.catalog().models[model_id].name
