"""Catalog scale: select_models and find_models on synthetic catalogs of 1k, 10k and 100k models.

    python bench/catalog_scale.py [--sizes 1000,10000,100000] [--budget-s 4]

Each synthetic catalog is built in memory from the shipped one: every real model is cloned with a new
id, name, repos and aliases, a perturbed size (x0.5-2), context and release date, and benchmark scores
moved by up to +-3 points. Nothing is written to catalog/data. The tools run against it through
``tools.common.using_catalog``.

Printed per size and call: the first call (it builds the per-catalog caches), p50 and p95 over repeated
calls, microseconds per model, the ratio to the shipped catalog measured in the same run, and the growth
exponent between sizes (1.0 = linear). Goal: under 50 ms at 10k models, growth no worse than linear.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import random
import sys
import time

import _util  # noqa: F401  (puts the project on sys.path)
from _util import machine, p50, pct

import tools  # noqa: E402
from catalog.loader import RawCatalog  # noqa: E402
from catalog.query import Catalog, get_catalog  # noqa: E402
from tools.common import using_catalog  # noqa: E402

CALLS = {
    "select_models code/4090": (
        "select_models",
        {"use_case": "code", "gpu": "RTX 4090", "commercial": True, "min_context": 32000},
    ),
    "select_models cs/2xL40S": (
        "select_models",
        {
            "use_case": "customer_service",
            "gpu": "L40S",
            "num_gpus": 2,
            "commercial": True,
            "monthly_active_users": 5_000_000,
        },
    ),
    "select_models no GPU": ("select_models", {"use_case": "reasoning", "max_params_b": 80}),
    "find_models 'qwen' <40B": ("find_models", {"query": "qwen", "max_params_b": 40}),
    "find_models llama comm.": ("find_models", {"family": "llama", "commercial": True}),
    "find_models code spec.": ("find_models", {"specialty": "code", "min_context": 32000, "limit": 50}),
}


def synthetic(base: Catalog, size: int, seed: int = 7) -> Catalog:
    """A catalog of ``size`` models: the shipped ones cloned with new ids and perturbed facts."""
    rnd = random.Random(seed)
    originals = list(base.models.values())
    models = []
    for i in range(size):
        m = originals[i % len(originals)]
        tag = f"s{i}"
        scale = rnd.choice((0.5, 0.75, 1.0, 1.5, 2.0))
        params = round(m.params_b * scale, 2)
        active = round(min(m.active_params_b * scale, params), 2) if m.active_params_b else None
        scores = [
            s.model_copy(update={"value": round(max(0.0, s.value + rnd.uniform(-3, 3)), 1)}) for s in m.benchmarks
        ]
        models.append(
            m.model_copy(
                update={
                    "id": f"{m.id}-{tag}",
                    "name": f"{m.name} {tag}",
                    "repos": {k: f"{v}-{tag}" for k, v in m.repos.items()},
                    "aliases": [f"{a} {tag}" for a in m.aliases],
                    "params_b": params,
                    "active_params_b": active,
                    "context_length": rnd.choice((m.context_length, m.context_length // 2 or 1, m.context_length * 2)),
                    "release_date": m.release_date + dt.timedelta(days=rnd.randint(-400, 400)),
                    "benchmarks": scores,
                    "derived_from": None,
                }
            )
        )
    r = base.raw
    raw = RawCatalog(
        models=models,
        licenses=list(r.licenses),
        gpus=list(r.gpus),
        prices=list(r.prices),
        families=list(r.families),
        benchmarks=list(r.benchmarks),
        quantizations=list(r.quantizations),
        measurements=[],
    )
    return Catalog(raw)


def measure(name: str, args: dict, budget_s: float, max_calls: int = 400) -> dict:
    gc.collect()
    t = time.perf_counter()
    out = tools.call(name, args)
    first = (time.perf_counter() - t) * 1000
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < 3 or (time.perf_counter() < deadline and len(samples) < max_calls):
        t = time.perf_counter()
        tools.call(name, args)
        samples.append((time.perf_counter() - t) * 1000)
    found = len(out.get("recommendations", out.get("models", [])))
    return {"first": first, "p50": p50(samples), "p95": pct(samples, 0.95), "n": len(samples), "found": found}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated catalog sizes")
    parser.add_argument("--budget-s", type=float, default=3.0, help="seconds of repeated calls per size and call")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    started = time.perf_counter()

    base = get_catalog()
    print(f"machine: {machine()}")
    print(f"command: python bench/catalog_scale.py --sizes {args.sizes} --budget-s {args.budget_s}")
    results: dict[int, dict[str, dict]] = {}
    baseline = {label: measure(name, call_args, min(args.budget_s, 1.5)) for label, (name, call_args) in CALLS.items()}
    shipped = len(base.models)
    build_s: dict[int, float] = {}
    for size in sizes:
        t = time.perf_counter()
        cat = synthetic(base, size)
        build_s[size] = time.perf_counter() - t
        with using_catalog(cat):
            results[size] = {
                label: measure(name, call_args, args.budget_s) for label, (name, call_args) in CALLS.items()
            }
        del cat
        gc.collect()

    print(
        f"\nshipped catalog: {shipped} models; synthetic catalogs built in "
        + ", ".join(f"{s:,}: {build_s[s]:.1f} s" for s in sizes)
    )
    header = (
        f"{'call':26s} {'models':>8s} {'first ms':>9s} {'p50 ms':>8s} {'p95 ms':>8s} {'us/model':>9s} "
        f"{'x shipped':>9s} {'growth':>7s} {'n':>5s}"
    )
    print(header)
    print("-" * len(header))
    worst_10k = 0.0
    worst_growth = 0.0
    worst_per_model = 0.0  # cost per model at the largest size over the cost per model at the smallest
    for label in CALLS:
        b = baseline[label]
        print(
            f"{label:26s} {shipped:8,d} {b['first']:9.2f} {b['p50']:8.2f} {b['p95']:8.2f} "
            f"{b['p50'] * 1000 / shipped:9.2f} "
            f"{1.0:9.1f} {'':>7s} {b['n']:5d}"
        )
        prev = (shipped, b["p50"])
        for size in sizes:
            r = results[size][label]
            growth = math.log(r["p50"] / prev[1]) / math.log(size / prev[0]) if prev[0] != size else float("nan")
            if size >= 1000:
                worst_growth = max(worst_growth, growth)
            print(
                f"{'':26s} {size:8,d} {r['first']:9.2f} {r['p50']:8.2f} {r['p95']:8.2f} {r['p50'] * 1000 / size:9.2f} "
                f"{r['p50'] / b['p50']:9.1f} {growth:7.2f} {r['n']:5d}"
            )
            if size == 10_000:
                worst_10k = max(worst_10k, r["p50"])
            prev = (size, r["p50"])
        lo, hi = min(sizes), max(sizes)
        if hi > lo:
            worst_per_model = max(worst_per_model, (results[hi][label]["p50"] / hi) / (results[lo][label]["p50"] / lo))
    if 10_000 in sizes:
        print(f"\nslowest p50 at 10k models: {worst_10k:.1f} ms (goal < 50 ms)")
    print(f"largest growth exponent between sizes: {worst_growth:.2f} (1.0 = linear; goal <= 1)")
    if len(sizes) > 1:
        print(
            f"largest ratio of the cost per model at {max(sizes):,} to that at {min(sizes):,} models: "
            f"{worst_per_model:.2f} "
            "(<= 1: no call grows faster than the catalog over the whole range)"
        )
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
