"""Helpers shared by the tools: the catalog in use, lookups that raise InvalidInput, rounding."""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

from catalog.query import Catalog, LookupFailed, get_catalog
from catalog.schema import Gpu, License, Model, Source
from tools.errors import InvalidInput

_catalog: contextvars.ContextVar[Catalog | None] = contextvars.ContextVar("advisor_catalog", default=None)


def catalog() -> Catalog:
    """The catalog tools read: the shipped one, unless :func:`using_catalog` swapped it."""
    return _catalog.get() or get_catalog()


@contextlib.contextmanager
def using_catalog(cat: Catalog) -> Iterator[Catalog]:
    """Run tools against another catalog (synthetic catalogs in benchmarks, edited ones in tests)."""
    token = _catalog.set(cat)
    try:
        yield cat
    finally:
        _catalog.reset(token)


def lookup(kind: str, name: str, field: str):
    """The catalog entry of this kind ("model", "gpu", "license", "benchmark", "family", "price") that ``name``
    names; a name that matches nothing (or several things) is InvalidInput for ``field``, with the closest names."""
    try:
        return getattr(catalog(), kind)(name)
    except LookupFailed as exc:
        raise InvalidInput(str(exc), field=field, suggestions=exc.suggestions) from None


def model(name: str, field: str = "model") -> Model:
    return lookup("model", name, field)


MEMORY_SUFFIX = re.compile(r"^(?P<chip>.*?\S)[\s,(-]*(?P<size>\d+(?:\.\d+)?)\s*(?P<unit>gb|g|tb)\)?$", re.IGNORECASE)


def gpu(name: str, field: str = "gpu") -> Gpu:
    """A catalog device by name; a chip with a memory size the catalog does not list ("M3 Max 48GB") is the chip's
    entry with that memory: its bandwidth, the memory as stated."""
    try:
        return lookup("gpu", name, field)
    except InvalidInput as exc:
        match = MEMORY_SUFFIX.match(str(name).strip())
        if match is None:
            raise
        try:
            chip = catalog().gpu(match["chip"])
        except LookupFailed:
            raise exc from None
        size = float(match["size"]) * (1024 if match["unit"].lower() == "tb" else 1)
        stated = f"{size:g}GB"
        base = re.sub(r"-\d+(?:\.\d+)?gb$", "", chip.id)
        chip_name = re.sub(r"\s*\(?\d+(?:\.\d+)?\s*GB\)?$", "", chip.name)
        return chip.model_copy(
            update={
                "id": f"{base}-{stated.lower()}",
                "name": f"{chip_name} {stated}",
                "memory_stated": stated,
                "memory_bytes": int(size * 2**30),
                "memory_options": [],
                "unverified": sorted({*chip.unverified, "memory"}),
                "notes": f"{match['chip'].strip()} with {stated}, a memory size the catalog does not list: the "
                f"bandwidth and the rest are those of {chip.name} ({chip.memory_bandwidth_gbps:g} GB/s), the memory "
                "as stated.",
            }
        )


UNIFIED_MEMORY_GPU_SHARE = 0.75  # macOS lets the GPU wire about three quarters of unified memory by default


DEVICE_CLASSES = ("consumer", "datacenter", "apple", "cpu")


def device(
    name: str | None,
    vram_gb: float | None = None,
    unified_memory: bool = False,
    memory_bandwidth_gbps: float | None = None,
    field: str = "gpu",
    device_class: str | None = None,
) -> Gpu | None:
    """The device a question is about: a catalog device by name, or one described by its memory size (and, for a
    speed, its bandwidth and class: consumer, datacenter, apple or cpu; consumer unless said).

    A stated size is read the way vendors state it: a "48GB" card has 48 x 2^30 bytes. Unified memory
    (a Mac or another shared-memory device) leaves the GPU only part of it.
    """
    if device_class is not None and device_class not in DEVICE_CLASSES:
        raise InvalidInput(
            f"device_class must be one of {', '.join(DEVICE_CLASSES)}, not {device_class!r}", field="device_class"
        )
    if device_class is not None and vram_gb is None:
        raise InvalidInput(
            "device_class describes a device given by vram_gb; a named gpu has its own", field="device_class"
        )
    if name is not None and str(name).strip():
        if vram_gb is not None:
            raise InvalidInput("give gpu or vram_gb, not both", field="vram_gb")
        return gpu(name, field)
    if vram_gb is None:
        return None  # a size given is within (0, 1,000,000]: each tool's signature says so
    stated = f"{vram_gb:g}GB"
    unified_memory = unified_memory or device_class == "apple"
    share = UNIFIED_MEMORY_GPU_SHARE if unified_memory else 1.0
    segment = device_class or ("apple" if unified_memory else "consumer")
    kind = {"cpu": "a CPU server", "datacenter": "a data-centre GPU", "apple": "an Apple chip"}.get(segment, "a device")
    return Gpu.model_construct(
        id=f"custom-{segment}-{stated.lower()}" if device_class else f"custom-{stated.lower()}",
        name=f"{kind} with {stated} of {'unified ' if unified_memory else ''}memory",
        aliases=[],
        vendor="Generic",
        segment=segment,
        memory_stated=stated,
        memory_bytes=int(vram_gb * 2**30),
        memory_type=None,
        memory_options=[],
        memory_bandwidth_gbps=memory_bandwidth_gbps,
        fp16_tflops=None,
        int8_tops=None,
        fp8=None,
        fp4=None,
        tdp_w=None,
        launch=None,
        unified_memory=unified_memory,
        usable_memory_fraction=share,
        gpus_per_node=None,
        interconnect=None,
        interconnect_gbps=None,
        purchase=None,
        cloud_hourly=[],
        sources={},
        cite={},
        unverified=[],
        notes=(
            "assumed: about three quarters of unified memory can be wired for the GPU (macOS default)"
            if unified_memory
            else "described by its memory size only"
        ),
    )


def license_(name: str, field: str = "license") -> License:
    return lookup("license", name, field)


def rnd(x: float | None, digits: int = 2) -> float | None:
    """Round for display; keeps 3 significant figures for small values."""
    if x is None:
        return None
    if x == 0:
        return 0.0
    if abs(x) < 1:
        return float(f"{x:.3g}")
    return round(float(x), digits)


def model_source(m: Model, fact: str) -> Source | None:
    key = m.cite.get(fact)
    return m.sources.get(key) if key else None


def cite(s: Source | None) -> dict | None:
    if s is None:
        return None
    out = {"url": s.url, "as_of": s.as_of.isoformat()}
    if s.via:
        out["via"] = s.via
    return out


def per_catalog(fn):
    """Cache a function of the catalog in use, once per catalog object (pure derived data)."""
    import weakref

    cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def wrapper():
        cat = catalog()
        if cat not in cache:
            cache[cat] = fn(cat)
        return cache[cat]

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@per_catalog
def catalog_as_of(cat):
    """The catalog's as-of date: the newest date any model source or price was read."""
    dates = [s.as_of for m in cat.models.values() for s in m.sources.values()]
    dates += [p.source.as_of for p in cat.prices.values()]
    return max(dates) if dates else None


# ---------------------------------------------------------------- a model as the tools show it


def model_summary(m: Model) -> dict:
    cat = catalog()
    lic = cat.licenses[m.license]
    return {
        "id": m.id,
        "name": m.name,
        "family": m.family,
        "params_b": m.params_b,
        "active_params_b": m.active_params_b,
        "context_length": m.context_length,
        "license": {"id": lic.id, "name": lic.name, "commercial_use": lic.terms.commercial_use.value},
        "release_date": m.release_date.isoformat(),
        "modalities": list(m.modalities),
    }


def best_scores(m: Model) -> dict[str, dict]:
    """One score per benchmark: the instruct model's where both are reported."""
    out: dict[str, dict] = {}
    for s in m.benchmarks:
        if s.name not in out or s.variant == "instruct":
            src = m.sources[s.source]
            out[s.name] = {
                "value": s.value,
                "variant": s.variant,
                "setting": s.setting,
                "source": src.url,
                "as_of": src.as_of.isoformat(),
            }
    return out
