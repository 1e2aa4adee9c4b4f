"""Sample catalog facts for a by-hand audit against their primary sources.

Draws a seeded sample of facts from the catalog and prints each with the value recorded, the source URL it
cites (and the copy it was read through, where the catalog says so), so that a person can check each one at the
source. The sample is drawn before anything is checked; the checks and their tally go in docs/audit/.

Facts drawn: a model's params_b, active_params_b, context_length, release_date, license, one architecture number
or one benchmark score; a device's memory or memory bandwidth; an API price (input or output). Models released
since 2025 weigh three times as much as older ones, devices launched since 2025 twice as much, and at most one
fact is drawn per model or device.

    python bench/catalog_audit.py                 # 30 facts, seed 20261207
    python bench/catalog_audit.py --seed 7 --n 40 --markdown
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from catalog.loader import RawCatalog, load  # noqa: E402
from catalog.schema import ApiPrice, Gpu, Model, Source  # noqa: E402

RECENT = dt.date(2025, 1, 1)
ARCH_FIELDS = ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "intermediate_size", "vocab_size")
MOE_FIELDS = ("experts", "active_experts", "shared_experts", "expert_intermediate_size")
# Of each kind, how many facts in a sample of 30 (scaled for other sizes): models first.
SHARE = {"model": 20, "device": 6, "price": 4}


@dataclass
class Fact:
    kind: str
    entry: str
    fact: str
    value: str
    url: str
    via: str | None
    unverified: bool
    dated: str

    def line(self) -> str:
        flag = " [unverified in catalog]" if self.unverified else ""
        via = f"\n      via: {self.via}" if self.via else ""
        return (
            f"{self.kind} {self.entry} ({self.dated}): {self.fact} = {self.value}{flag}\n      source: {self.url}{via}"
        )


def _source(model_or_gpu: Model | Gpu, key: str | None) -> Source | None:
    return model_or_gpu.sources.get(key) if key else None


def model_facts(m: Model) -> list[Fact]:
    """Every auditable fact of one model, with the source its 'cite' names."""
    out: list[Fact] = []

    def add(fact: str, value: object, key: str | None, unverified_as: str) -> None:
        src = _source(m, key)
        if src is None or value in (None, ""):
            return
        out.append(
            Fact(
                "model",
                m.id,
                fact,
                str(value),
                src.url,
                src.via,
                unverified_as in m.unverified,
                str(m.release_date),
            )
        )

    for fact in ("params_b", "active_params_b", "context_length", "release_date", "license"):
        add(fact, getattr(m, fact), m.cite.get(fact), fact)
    arch = m.architecture
    if arch is not None:
        numbers = [(f, getattr(arch, f)) for f in ARCH_FIELDS if getattr(arch, f) is not None]
        if arch.moe is not None:
            numbers += [(f"moe.{f}", getattr(arch.moe, f)) for f in MOE_FIELDS if getattr(arch.moe, f) is not None]
        for name, value in numbers:
            add(f"architecture.{name}", value, m.cite.get("architecture"), "architecture")
    for b in m.benchmarks:
        src = m.sources.get(b.source)
        if src is not None:
            out.append(
                Fact(
                    "model",
                    m.id,
                    f"benchmark {b.name} ({b.variant}, {b.setting})",
                    f"{b.value:g}",
                    src.url,
                    src.via,
                    f"benchmark:{b.name}" in m.unverified or "benchmarks" in m.unverified,
                    str(m.release_date),
                )
            )
    return out


def device_facts(g: Gpu) -> list[Fact]:
    out = []
    for fact, value in (("memory", g.memory_stated), ("memory_bandwidth_gbps", g.memory_bandwidth_gbps)):
        src = _source(g, g.cite.get(fact))
        if src is not None and value:
            out.append(
                Fact(
                    "device",
                    g.id,
                    fact,
                    f"{value:g}" if isinstance(value, float) else str(value),
                    src.url,
                    src.via,
                    fact in g.unverified,
                    g.launch or "launch not reported",
                )
            )
    return out


def price_facts(p: ApiPrice) -> list[Fact]:
    return [
        Fact(
            "price",
            p.id,
            f"usd_per_mtok_{side}",
            f"{getattr(p, f'usd_per_mtok_{side}'):g}",
            p.source.url,
            p.source.via,
            False,
            f"read {p.source.as_of}",
        )
        for side in ("input", "output")
    ]


def _launched_recently(g: Gpu) -> bool:
    return bool(g.launch) and g.launch[:4] >= "2025"


def _draw(rng: random.Random, groups: list[tuple[float, list[Fact]]], n: int) -> list[Fact]:
    """n facts, one per group at most, groups drawn by weight without replacement, a fact uniformly in its group."""
    pool = [(w, facts) for w, facts in groups if facts]
    picked: list[Fact] = []
    while pool and len(picked) < n:
        total = sum(w for w, _ in pool)
        r = rng.uniform(0, total)
        acc = 0.0
        for i, (w, facts) in enumerate(pool):
            acc += w
            if r <= acc:
                picked.append(rng.choice(facts))
                pool.pop(i)
                break
    return picked


def sample(cat: RawCatalog, seed: int, n: int = 30) -> list[Fact]:
    rng = random.Random(seed)
    counts = {k: round(v * n / sum(SHARE.values())) for k, v in SHARE.items()}
    counts["model"] = n - counts["device"] - counts["price"]
    models = sorted(cat.models, key=lambda m: m.id)
    gpus = sorted(cat.gpus, key=lambda g: g.id)
    prices = sorted(cat.prices, key=lambda p: p.id)
    out = _draw(rng, [(3.0 if m.release_date >= RECENT else 1.0, model_facts(m)) for m in models], counts["model"])
    out += _draw(rng, [(2.0 if _launched_recently(g) else 1.0, device_facts(g)) for g in gpus], counts["device"])
    out += _draw(rng, [(1.0, price_facts(p)) for p in prices], counts["price"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--markdown", action="store_true", help="a Markdown table to paste into docs/audit/")
    args = ap.parse_args(argv)
    cat = load()
    facts = sample(cat, args.seed, args.n)
    recent = sum(1 for f in facts if f.kind == "model" and f.dated >= str(RECENT))
    print(f"catalog audit sample: seed {args.seed}, drawn {dt.date.today()}, {len(facts)} facts")
    print(
        f"catalog: {len(cat.models)} models, {len(cat.gpus)} devices, {len(cat.prices)} API prices; "
        f"{recent} of the {sum(f.kind == 'model' for f in facts)} model facts from models released since {RECENT}"
    )
    if args.markdown:
        print("\n| # | entry | fact | value | source cited | read via |\n|---|---|---|---|---|---|")
        for i, f in enumerate(facts, 1):
            flag = " (catalog: unverified)" if f.unverified else ""
            via = (f.via or "").replace("|", "/")
            print(f"| {i} | {f.kind} `{f.entry}` ({f.dated}) | {f.fact} | {f.value}{flag} | {f.url} | {via} |")
    else:
        for i, f in enumerate(facts, 1):
            print(f"{i:2}. {f.line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
