"""How old the catalog's facts and prices are: its as-of date, and what was read too long ago.

Every source and price carries ``as_of``, the date it was read. Prices move faster than
architectures and licences, so they get a shorter limit (``advisor catalog validate --max-age-days``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FACT_AGE_DAYS = 365
MAX_PRICE_AGE_DAYS = 180
PRICE_FILES = ("prices.yaml", "gpu_prices.yaml")


def catalog_as_of(raw: Any) -> dt.date | None:
    """The newest date any model source or API price was read (the rule of ``tools.common.catalog_as_of``)."""
    dates = [s.as_of for m in raw.models for s in m.sources.values()]
    dates += [p.source.as_of for p in raw.prices]
    return max(dates) if dates else None


@dataclass(frozen=True)
class Dated:
    file: str
    label: str  # e.g. "qwen3-8b sources.card", "openai/gpt-4o"
    kind: str  # fact | price
    as_of: dt.date


def _ident(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if "gpu" in item and "provider" in item:  # a rental row
        return f"{item['gpu']} ({item['provider']})"
    ident = item.get("id") or item.get("stated")
    return str(ident) if ident is not None else None


def _walk(node: Any, file: str, label: str, price: bool, out: list[Dated]) -> None:
    """Collect dated mappings; labels read 'ENTRY-ID key.subkey' (top-level lists add no name)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            ident = _ident(item)
            _walk(item, file, f"{label}[{ident or i}]" if label else (ident or f"[{i}]"), price, out)
        return
    if not isinstance(node, dict):
        return
    as_of = node.get("as_of")
    if "pricing" in node:  # a GPU price: an MSRP is a dated fact that does not age; rentals and street prices do
        if node.get("pricing") != "msrp" and isinstance(as_of, dt.date):
            out.append(Dated(file, label, "price", as_of))
        return
    if isinstance(as_of, dt.date):
        out.append(Dated(file, label, "price" if price else "fact", as_of))
    for key, value in node.items():
        if not isinstance(value, (dict, list)):
            continue
        if not label:
            sub = "" if isinstance(value, list) else key
        else:
            sub = f"{label}.{key}" if " " in label else f"{label} {key}"
        _walk(value, file, sub, price, out)


def dated_entries(directory: Path) -> list[Dated]:
    """Every dated source, licence text and price in the catalog folder, with the file it is in."""
    from catalog.loader import _safe_load

    out: list[Dated] = []
    files = sorted(directory.glob("*.yaml")) + sorted((directory / "models").glob("*.yaml"))
    for path in files:
        rel = path.relative_to(directory).as_posix()
        try:
            data = _safe_load(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 (validation reports unreadable files)
            continue
        _walk(data, rel, "", rel in PRICE_FILES, out)
    return out


def stale(
    directory: Path, today: dt.date, max_fact_days: int = MAX_FACT_AGE_DAYS, max_price_days: int = MAX_PRICE_AGE_DAYS
) -> list[Dated]:
    limit = {"fact": max_fact_days, "price": max_price_days}
    return [d for d in dated_entries(directory) if (today - d.as_of).days > limit[d.kind]]


def stale_warnings(old: list[Dated], max_fact_days: int, max_price_days: int, examples: int = 3) -> list[str]:
    """Warnings counted per file, each with its oldest examples."""
    if not old:
        return []
    facts, prices = sum(d.kind == "fact" for d in old), sum(d.kind == "price" for d in old)
    lines = [
        f"warning: {facts} facts read more than {max_fact_days} days ago and {prices} prices more than "
        f"{max_price_days} days ago (--max-age-days); re-read them or run `advisor catalog refresh`:"
    ]
    by_file: dict[str, list[Dated]] = {}
    for d in old:
        by_file.setdefault(d.file, []).append(d)
    for file in sorted(by_file):
        items = sorted(by_file[file], key=lambda d: d.as_of)
        kinds = ", ".join(f"{n} {k}s" for k in ("fact", "price") if (n := sum(d.kind == k for d in items)))
        shown = "; ".join(f"{d.label} {d.as_of.isoformat()}" for d in items[:examples])
        lines.append(f"  {file}: {kinds}; oldest: {shown}")
    return lines
