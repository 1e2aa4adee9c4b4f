"""Catalog lookups as tools: one model, a filtered list, GPUs, licences, and benchmark tables."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from catalog.query import LookupFailed, gpu_row, normalize
from catalog.schema import Model
from tools import common
from tools.common import best_scores, model_summary
from tools.errors import InvalidInput

__all__ = ["best_scores", "model_summary"]  # moved to tools.common (below the ranking); kept here for callers


def get_model(model: str) -> dict:
    """Everything the catalog knows about one model: size, context, architecture, licence, benchmark scores, each
    with its source.

    Args:
        model: Model id, name, alias or Hugging Face repo id, e.g. "Qwen2.5-7B-Instruct".
    """
    m = common.model(model)
    cat = common.catalog()
    lic = cat.licenses[m.license]
    arch = None
    if m.architecture is not None:
        arch = m.architecture.model_dump(mode="json", exclude_none=True)
        arch["head_dim"] = m.architecture.effective_head_dim
    facts_sources = {fact: common.cite(m.sources[key]) for fact, key in m.cite.items()}
    return {
        **model_summary(m),
        "vendor": m.vendor,
        "repos": dict(m.repos),
        "aliases": list(m.aliases),
        "max_position_embeddings": m.max_position_embeddings,
        "architecture": arch,
        "languages": list(m.languages),
        "language_count": m.language_count,
        "specialties": list(m.specialties),
        "license": {"id": lic.id, "name": lic.name, "url": lic.url, "commercial_use": lic.terms.commercial_use.value},
        "license_history": [{"license": c.license, "until": c.until.isoformat()} for c in m.license_history],
        "derived_from": m.derived_from,
        "benchmarks": best_scores(m),
        "all_benchmark_scores": [s.model_dump() | {"source": m.sources[s.source].url} for s in m.benchmarks],
        "fact_sources": facts_sources,
        "unverified": list(m.unverified),
        "notes": m.notes,
        "sources": list(dict.fromkeys(s.url for s in m.sources.values())),
    }


@common.per_catalog
def _haystacks(cat) -> list[str]:
    """In catalog order, the normalized words find_models matches a query against (names, ids, aliases, family,
    vendor)."""
    return [
        " ".join(
            normalize(x)
            for x in [
                m.id,
                m.name,
                m.family,
                m.vendor,
                *m.aliases,
                *m.repos.values(),
                cat.families[m.family].name if m.family in cat.families else "",
            ]
        )
        for m in cat.models.values()
    ]


class _Columns:
    """The facts find_models filters on, as arrays in catalog order: a filter is one vectorized comparison instead of
    a Python step per model, which keeps the cost per model flat from a hundred models to a hundred thousand."""

    def __init__(self, cat) -> None:
        import numpy as np

        self.cat = cat
        self.models = list(cat.models.values())
        self.family_code: dict[str, int] = {}
        self.license_code: dict[str, int] = {}
        self.family = np.array(
            [self.family_code.setdefault(m.family, len(self.family_code)) for m in self.models], dtype=np.int32
        )
        self.license = np.array(
            [self.license_code.setdefault(m.license, len(self.license_code)) for m in self.models], dtype=np.int32
        )
        self.params_b = np.array([m.params_b for m in self.models], dtype=np.float64)
        self.context_length = np.array([m.context_length for m in self.models], dtype=np.int64)
        self.release = np.array([m.release_date.toordinal() for m in self.models], dtype=np.int64)
        self._specialty: dict[str, object] = {}
        self._no_commercial = None

    def specialty(self, name: str):
        import numpy as np

        if name not in self._specialty:
            self._specialty[name] = np.array([name in m.specialties for m in self.models], dtype=bool)
        return self._specialty[name]

    def no_commercial(self):
        """Per licence code: the licence forbids commercial use."""
        import numpy as np

        if self._no_commercial is None:
            self._no_commercial = np.array(
                [self.cat.licenses[lic].terms.commercial_use.value == "no" for lic in self.license_code], dtype=bool
            )
        return self._no_commercial


_columns = common.per_catalog(_Columns)


Specialty = Literal["chat", "code", "math", "reasoning", "multilingual", "long_context", "edge", "vision", "tool_use"]


def find_models(
    query: str | None = None,
    family: str | None = None,
    license: str | None = None,
    max_params_b: Annotated[float | None, Field(gt=0)] = None,
    min_context: Annotated[int | None, Field(ge=0)] = None,
    commercial: bool | None = None,
    specialty: Specialty | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 20,
    gpu: str | None = None,
    vram_gb: Annotated[float | None, Field(gt=0, le=1_000_000)] = None,
    num_gpus: Annotated[int, Field(ge=1, le=1024)] = 1,
    fit_context: Annotated[int | None, Field(ge=1, le=100_000_000)] = None,
    sort: Sort = "newest",
) -> dict:
    """Search the catalog: models matching a text query and filters, newest first (or by size or context); with a
    device, only the models that fit it, each with its memory and the largest context that fits.

    Args:
        query: Words to match against names, ids, aliases, families and vendors, e.g. "qwen coder".
        family: Family id or name, e.g. "qwen3" or "Llama 3.1".
        license: Licence id or name, e.g. "apache-2.0".
        max_params_b: Largest total size in billions of parameters.
        min_context: Smallest official context length in tokens.
        commercial: True to keep only models whose licence allows commercial use (yes or conditional).
        specialty: One of chat, code, math, reasoning, multilingual, long_context, edge, vision, tool_use.
        limit: Most models to return (1-200).
        gpu: Keep only models that fit this GPU in some format, e.g. "RTX 4090"; each gets its fit.
        vram_gb: Memory per device as the vendor states it (a "24GB" card), when no GPU is named.
        num_gpus: Number of such devices.
        fit_context: Context in tokens the fit is checked at (default 4,096).
        sort: newest (default), largest, smallest or context (longest first).
    """
    families = _families(family) if family else None
    lic_id = common.license_(license).id if license else None
    words = normalize(query).split() if query else []
    import numpy as np

    cols = _columns()
    keep = np.ones(len(cols.models), dtype=bool)
    if families:
        keep &= np.isin(cols.family, [cols.family_code[f] for f in families if f in cols.family_code])
    if lic_id:
        keep &= cols.license == cols.license_code.get(lic_id, -1)
    if max_params_b is not None:
        keep &= cols.params_b <= max_params_b
    if min_context is not None:
        keep &= (cols.context_length >= min_context) if min_context <= np.iinfo(np.int64).max else False
    if commercial:
        keep &= ~cols.no_commercial()[cols.license]
    if specialty:
        keep &= cols.specialty(specialty)
    device = common.device(gpu, vram_gb)
    hits = np.flatnonzero(keep)
    if words:
        hays = _haystacks()
        # a whole word of hay is also a substring of it
        kept = hits.tolist()
        for w in words:
            kept = [i for i in kept if w in hays[i]]
        hits = np.array(kept, dtype=np.intp)
    fits: dict[int, Any] = {}
    if device is not None:  # only the models that fit, each in the format the shortlist would choose
        fits = _fits(cols, hits, device, num_gpus, fit_context or 4096)
        hits = np.array(sorted(fits), dtype=np.intp)
    if sort == "newest":
        # newest first, then largest; ties in catalog order (as a stable sort by (release_date, params_b), reversed)
        candidates = hits
        if len(hits) > 4 * limit:  # only models at least as new as the limit-th newest can be among the first `limit`
            release = cols.release[hits]
            candidates = hits[release >= np.partition(release, len(hits) - limit)[len(hits) - limit]]
        top = candidates[np.lexsort((candidates, -cols.params_b[candidates], -cols.release[candidates]))][:limit]
    else:
        key = {"largest": -cols.params_b, "smallest": cols.params_b, "context": -cols.context_length}[sort]
        top = hits[np.lexsort((hits, -cols.release[hits], key[hits]))][:limit]
    models = []
    for i in top.tolist():
        entry = model_summary(cols.models[i])
        if device is not None:
            entry["fit"] = _fit_entry(cols.models[i], fits[i], device, num_gpus, fit_context or 4096)
        models.append(entry)
    return {"count": len(hits), "models": models, "truncated": len(hits) > limit}


Sort = Literal["newest", "largest", "smallest", "context"]


def _fits(cols, hits, device, num_gpus: int, context: int) -> dict[int, Any]:
    """The models among ``hits`` that fit the device, each with the format select_models would choose for it."""
    from tools.picks import Ask
    from tools.selection import best_fit

    ask = Ask("general", device, num_gpus, None, context, None, None, None, set(), False, None, False)
    quants = common.catalog().quantizations
    found = {i: best_fit(cols.models[i], ask, quants) for i in hits.tolist()}
    return {i: fit for i, fit in found.items() if fit is not None}


def _fit_entry(m: Model, fit, device, num_gpus: int, context: int) -> dict:
    """A model's fit on the device in the device's own unit (GiB where its "GB" is 2^30 bytes), and the format."""
    from tools.memory import default_engine, device_fit

    q = fit.quant
    return {
        "quantization": q.id,
        "format": q.name,
        **device_fit(m, q, default_engine(q), min(context, m.context_length), 1, 2.0, device, num_gpus),
    }


def _families(family: str) -> set[str]:
    """The family a name names or, for a lineage name ("llama"), every family of that line."""
    cat = common.catalog()
    try:
        return {cat.family(family).id}
    except LookupFailed as exc:
        lineage = normalize(family).replace(" ", "")
        families = {f.id for f in cat.families.values() if f.lineage == lineage}
        if not families:
            raise InvalidInput(str(exc), field="family", suggestions=exc.suggestions) from None
        return families


SEGMENTS = ("consumer", "workstation", "datacenter", "apple", "edge", "cpu")
Segment = Literal["consumer", "workstation", "datacenter", "apple", "edge", "cpu"]


def list_gpus(segment: Segment | None = None, min_memory_gb: float | None = None) -> dict:
    """List the devices in the catalog (GPUs, Apple chips, edge boxes, CPU servers) with memory as stated and in GB,
    bandwidth, compute, power, purchase price and rental prices (median and range).

    Args:
        segment: consumer, workstation, datacenter, apple, edge (DGX Spark, Jetson, Ryzen AI Max) or cpu
            (CPU-only servers).
        min_memory_gb: Smallest memory per device in GB (10^9 bytes).
    """
    cat = common.catalog()
    rows = []
    for g in sorted(cat.gpus.values(), key=lambda g: (g.segment, g.memory_gb)):
        if segment and g.segment != segment:
            continue
        if min_memory_gb is not None and g.memory_gb < min_memory_gb:
            continue
        rows.append({**gpu_row(g), "sources": list(dict.fromkeys(s.url for s in g.sources.values()))})
    return {"gpus": rows, "count": len(rows)}


def list_licenses() -> dict:
    """List the licences in the catalog with their key terms: commercial use, user caps, output-use rules."""
    cat = common.catalog()
    rows = []
    for lic in cat.licenses.values():
        t = lic.terms
        rows.append(
            {
                "id": lic.id,
                "name": lic.name,
                "category": lic.category,
                "commercial_use": t.commercial_use.value,
                "mau_threshold": t.mau_threshold.value if t.mau_threshold else None,
                "outputs_to_train_other_models": t.outputs_to_train_other_models.value
                if t.outputs_to_train_other_models
                else None,
                "hosted_service": t.hosted_service.value if t.hosted_service else None,
                "eu_multimodal_carve_out": t.eu_multimodal_carve_out.value if t.eu_multimodal_carve_out else None,
                "excluded_territories": t.excluded_territories.value if t.excluded_territories else None,
                "revenue_threshold_usd_per_month": t.revenue_threshold_usd_per_month.value
                if t.revenue_threshold_usd_per_month
                else None,
                "superseded_by": lic.superseded_by,
                "models": sorted(m.id for m in cat.models.values() if m.license == lic.id),
                "url": lic.url,
                "summary": lic.summary,
            }
        )
    return {"licenses": rows, "count": len(rows)}


def _versions(ms: list[Model], table: list[dict]) -> list[tuple[dict, dict]]:
    """Each row with the row before it of the same lineage (Gemma after Gemma, never Gemma after Granite)."""
    cat = common.catalog()
    last: dict[str, dict] = {}
    pairs = []
    for m, row in zip(ms, table):
        lineage = cat.families[m.family].lineage
        if lineage in last:
            pairs.append((last[lineage], row))
        last[lineage] = row
    return pairs


def compare_benchmarks(
    models: Annotated[list[str], Field(min_length=1, max_length=20)],
    benchmarks: Annotated[list[str] | None, Field(max_length=30)] = None,
) -> dict:
    """Put models side by side on benchmark scores, each with its setting and source; list what is not reported.

    Args:
        models: Two or more model ids or names (at most 20).
        benchmarks: Benchmark ids to show (e.g. MMLU, GSM8K, HumanEval); default: every one reported for any of
            the models.
    """
    cat = common.catalog()
    ms: list[Model] = []
    for name in models:
        m = common.model(name, field="models")
        if m not in ms:
            ms.append(m)
    if benchmarks:
        bench_ids = [common.lookup("benchmark", name, "benchmarks").id for name in benchmarks]
    else:
        order = list(cat.benchmarks)
        present = {s.name for m in ms for s in m.benchmarks}
        bench_ids = [b for b in order if b in present]
    table: list[dict[str, Any]] = []
    missing, sources = [], []
    for m in ms:
        scores = best_scores(m)
        row: dict[str, Any] = {"model": m.id, "name": m.name, "release_date": m.release_date.isoformat(), "scores": {}}
        for b in bench_ids:
            if b in scores:
                row["scores"][b] = scores[b]
                sources.append(scores[b]["source"])
            else:
                missing.append({"model": m.id, "benchmark": b, "note": "not reported"})
        table.append(row)
    changes = []
    for prev, cur in _versions(ms, table):
        for b in bench_ids:
            a, c = prev["scores"].get(b), cur["scores"].get(b)
            if a and c and a["variant"] == c["variant"]:
                changes.append(
                    {
                        "benchmark": b,
                        "from": prev["model"],
                        "to": cur["model"],
                        "variant": a["variant"],
                        "before": a["value"],
                        "after": c["value"],
                        "change": round(c["value"] - a["value"], 2),
                    }
                )
    return {
        "benchmarks": [
            {"id": b, "name": cat.benchmarks[b].name, "category": cat.benchmarks[b].category} for b in bench_ids
        ],
        "table": table,
        "changes": changes,
        "missing": missing,
        "assumptions": [
            "scores are the vendors' own, in the setting shown; settings differ between vendors, so compare like with "
            "like",
            "changes compare consecutive versions of one line (the same lineage, in the order given) on the same "
            "benchmark and variant; models of different lines are not compared",
        ],
        "sources": list(dict.fromkeys(sources)),
    }
