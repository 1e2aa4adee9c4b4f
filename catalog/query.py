"""Query layer over the validated catalog: lookup by any name, and DataFrame views."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from catalog.loader import RawCatalog, load, model_names
from catalog.names import normalize
from catalog.schema import ApiPrice, BenchmarkDef, Family, Gpu, License, Measurement, Model, Quantization

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for
    import pandas as pd

# Words that name a variant of the same weights rather than other weights.
_LOOSE_DROP = {"instruct", "chat", "it", "hf", "base", "meta", "model", "the", "nvidia", "geforce"}


def _loose(key: str) -> str:
    return " ".join(t for t in key.split() if t not in _LOOSE_DROP)


_SIZE_UNITS = {"b", "m", "t", "k", "gb", "tb"}


def versions(key: str) -> frozenset[str]:
    """The version numbers in a normalized name: numbers that are not sizes ('gemma 3 4 b' -> {'3'})."""
    toks = key.split()
    return frozenset(
        tok for i, tok in enumerate(toks) if tok[0].isdigit() and (i + 1 == len(toks) or toks[i + 1] not in _SIZE_UNITS)
    )


SUGGEST_CHARS = 200  # longest part of a query compared with catalog names for suggestions
SUGGEST_CUTOFF = 40.0  # least similarity (0-100) of a name offered as a suggestion


class LookupFailed(ValueError):
    """A name matched nothing, or more than one thing. Carries the closest names."""

    def __init__(self, kind: str, query: str, reason: str, suggestions: list[str]):
        self.kind, self.query, self.reason, self.suggestions = kind, query, reason, suggestions
        query = query if len(query) <= 120 else query[:120] + "…"  # the message echoes the name, not 100 kB of it
        if reason == "ambiguous":
            msg = f"{kind} {query!r} is ambiguous; it matches: {', '.join(suggestions)}"
        elif suggestions:
            msg = f"unknown {kind} {query!r}; closest matches: {', '.join(suggestions)}"
        else:
            msg = f"unknown {kind} {query!r}"
        super().__init__(msg)


T = TypeVar("T")


class NameIndex(Generic[T]):
    """Resolve free-text names to catalog entries: exact, loose, then token subset, else suggestions."""

    def __init__(self, kind: str, entries: Iterable[tuple[str, T, list[str]]]):
        self.kind = kind
        self.by_id: dict[str, T] = {}
        self.exact: dict[str, str] = {}
        self.loose: dict[str, set[str]] = {}
        self.tokens: dict[str, list[tuple[set[str], frozenset[str]]]] = {}
        for ident, item, names in entries:
            self.by_id[ident] = item
            for name in names:
                key = normalize(name)
                if not key:
                    continue
                self.exact.setdefault(key, ident)
                self.loose.setdefault(_loose(key), set()).add(ident)
                self.tokens.setdefault(ident, []).append((set(key.split()), versions(key)))
        # every name key, prepared once for suggestions, and the entry each stands for
        self.names: list[str] = list(self.exact)
        self.name_ids: list[str] = [self.exact[k] for k in self.names]

    def resolve(self, query: str) -> T:
        if not isinstance(query, str) or not query.strip():
            raise LookupFailed(self.kind, str(query), "empty", sorted(self.by_id)[:5])
        if query in self.by_id:
            return self.by_id[query]
        key = normalize(query)
        if key in self.exact:
            return self.by_id[self.exact[key]]
        hits = self.loose.get(_loose(key), set())
        if len(hits) == 1:
            return self.by_id[next(iter(hits))]
        if len(hits) > 1:
            raise LookupFailed(self.kind, query, "ambiguous", sorted(hits))
        wanted = set(_loose(key).split())
        if wanted:
            # A name matches a longer one only with the same version numbers: "Gemma 4" must not become
            # "Gemma 3 4B", nor "Qwen3.9" any Qwen3 model.
            asked = versions(key)
            subset = sorted(
                i
                for i, sets in self.tokens.items()
                if any(wanted <= toks and (not asked or vers == asked) for toks, vers in sets)
            )
            if len(subset) == 1:
                return self.by_id[subset[0]]
            if len(subset) > 1:
                raise LookupFailed(self.kind, query, "ambiguous", subset[:12])
        raise LookupFailed(self.kind, query, "unknown", self.suggest(query))

    def suggest(self, query: str, n: int = 5) -> list[str]:
        """The entries whose names are closest to the query (rapidfuzz's normalized Indel similarity, as difflib's
        ratio, at least SUGGEST_CUTOFF), best first: one pass in C over the names prepared at start. Catalog names
        are short and a huge query's tail cannot make it a closer match, so only its head is compared."""
        from rapidfuzz import fuzz, process

        key = normalize(query[:SUGGEST_CHARS])[:SUGGEST_CHARS]
        best: dict[str, float] = {}
        for _, score, k in process.extract(key, self.names, scorer=fuzz.ratio, score_cutoff=SUGGEST_CUTOFF, limit=None):
            ident = self.name_ids[k]
            best[ident] = max(score, best.get(ident, 0.0))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        return [ident for ident, _ in ranked[:n]]


class Catalog:
    """The validated catalog with lookups. Build with :func:`get_catalog`."""

    def __init__(self, raw: RawCatalog):
        self.raw = raw
        self.models: dict[str, Model] = {m.id: m for m in raw.models}
        self.licenses: dict[str, License] = {x.id: x for x in raw.licenses}
        self.gpus: dict[str, Gpu] = {x.id: x for x in raw.gpus}
        self.prices: dict[str, ApiPrice] = {x.id: x for x in raw.prices}
        self.families: dict[str, Family] = {x.id: x for x in raw.families}
        self.benchmarks: dict[str, BenchmarkDef] = {x.id: x for x in raw.benchmarks}
        self.quantizations: dict[str, Quantization] = {x.id: x for x in raw.quantizations}
        self.measurements: list[Measurement] = list(raw.measurements)
        self._model_index = NameIndex("model", ((m.id, m, model_names(m)) for m in raw.models))
        self._gpu_index = NameIndex("GPU", ((g.id, g, [g.id, g.name, *g.aliases]) for g in raw.gpus))
        self._license_index = NameIndex(
            "licence",
            ((x.id, x, [x.id, x.name, *(n for n in (x.spdx, x.hf_tag) if n)]) for x in raw.licenses),
        )
        self._bench_index = NameIndex("benchmark", ((b.id, b, [b.id, b.name]) for b in raw.benchmarks))
        self._family_index = NameIndex("family", ((f.id, f, [f.id, f.name]) for f in raw.families))
        self._price_index = NameIndex(
            "API model", ((p.id, p, [p.id, p.model_name, f"{p.provider} {p.model_name}"]) for p in raw.prices)
        )

    # -- lookups (raise LookupFailed with suggestions)
    def model(self, name: str) -> Model:
        return self._model_index.resolve(name)

    def gpu(self, name: str) -> Gpu:
        return self._gpu_index.resolve(name)

    def license(self, name: str) -> License:
        return self._license_index.resolve(name)

    def benchmark(self, name: str) -> BenchmarkDef:
        return self._bench_index.resolve(name)

    def family(self, name: str) -> Family:
        return self._family_index.resolve(name)

    def price(self, name: str) -> ApiPrice:
        return self._price_index.resolve(name)

    def family_models(self, family_id: str) -> list[Model]:
        return [m for m in self.models.values() if m.family == family_id]

    def lineage_models(self, lineage: str) -> list[Model]:
        fams = {f.id for f in self.families.values() if f.lineage == lineage}
        return [m for m in self.models.values() if m.family in fams]

    # -- DataFrame views
    def models_df(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for m in self.models.values():
            lic = self.licenses[m.license]
            row = {
                "id": m.id,
                "name": m.name,
                "family": m.family,
                "vendor": m.vendor,
                "release_date": m.release_date,
                "params_b": m.params_b,
                "active_params_b": m.active_params_b if m.active_params_b is not None else m.params_b,
                "moe": m.is_moe,
                "context_length": m.context_length,
                "license": m.license,
                "license_name": lic.name,
                "commercial_use": lic.terms.commercial_use.value,
                "modalities": ",".join(m.modalities),
                "specialties": ",".join(m.specialties),
            }
            for score in m.benchmarks:
                col = score.name
                # Prefer the instruct score when both are reported.
                if col not in row or score.variant == "instruct":
                    row[col] = score.value
            rows.append(row)
        return pd.DataFrame(rows).set_index("id")


@dataclass(frozen=True)
class RentalSummary:
    """A device's rental prices: the median on-demand price is the default, with the range beside it."""

    usd: float
    low: float
    high: float
    offers: int
    providers: tuple[str, ...]
    spot_low: float | None
    oldest: dt.date
    newest: dt.date
    sources: tuple[str, ...]

    @property
    def note(self) -> str:
        text = f"${self.usd} per GPU-hour, the median of {self.offers} on-demand offer(s)"
        if self.offers > 1:
            text += f" (range ${self.low}-${self.high}; {', '.join(self.providers)})"
        elif self.providers:
            text += f" ({self.providers[0]})"
        text += f", read {self.oldest.isoformat()}" + (
            f" to {self.newest.isoformat()}" if self.newest != self.oldest else ""
        )
        if self.spot_low is not None:
            text += f"; spot or committed from ${self.spot_low}"
        return text


def rental_summary(g: Gpu) -> RentalSummary | None:
    on_demand = [p for p in g.cloud_hourly if p.pricing == "on_demand"]
    others = [p for p in g.cloud_hourly if p.pricing != "on_demand"]
    if not on_demand:
        return None
    usd = sorted(p.usd for p in on_demand)
    mid = len(usd) // 2
    median = usd[mid] if len(usd) % 2 else round((usd[mid - 1] + usd[mid]) / 2, 4)
    return RentalSummary(
        usd=median,
        low=usd[0],
        high=usd[-1],
        offers=len(usd),
        providers=tuple(dict.fromkeys(p.provider or p.kind for p in on_demand)),
        spot_low=min((p.usd for p in others), default=None),
        oldest=min(p.as_of for p in on_demand),
        newest=max(p.as_of for p in on_demand),
        sources=tuple(dict.fromkeys(p.source.url for p in on_demand)),
    )


def gpu_row(g: Gpu) -> dict:
    """A device's figures as one flat row (the median rental price where the catalog has several)."""
    rent = rental_summary(g)
    return {
        "id": g.id,
        "name": g.name,
        "segment": g.segment,
        "memory_stated": g.memory_stated,
        "memory_gb": round(g.memory_gb, 2),
        "memory_bandwidth_gbps": g.memory_bandwidth_gbps,
        "fp16_tflops": g.fp16_tflops,
        "int8_tops": g.int8_tops,
        "fp8": g.fp8,
        "tdp_w": g.tdp_w,
        "purchase_usd": g.purchase.usd if g.purchase else None,
        "purchase_as_of": g.purchase.as_of.isoformat() if g.purchase else None,
        "cloud_usd_per_hour": rent.usd if rent else None,
        "cloud_usd_per_hour_low": rent.low if rent else None,
        "cloud_usd_per_hour_high": rent.high if rent else None,
        "cloud_offers": rent.offers if rent else 0,
        "cloud_offer": rent.note if rent else None,
    }


_lock = threading.Lock()
_cache: dict[str, Catalog] = {}


def get_catalog(directory: str | Path | None = None) -> Catalog:
    """The catalog, loaded and validated once per folder and process."""
    from catalog.loader import data_dir

    key = str(Path(directory) if directory else data_dir())
    with _lock:
        if key not in _cache:
            _cache[key] = Catalog(load(Path(key)))
        return _cache[key]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
