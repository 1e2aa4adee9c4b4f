"""Latency of every tool on the shipped catalog: p50 and p95 over many calls.

    python bench/tools_latency.py [--calls 200]

The first call of each tool is reported separately (it builds per-catalog caches).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tools  # noqa: E402
from catalog.query import get_catalog  # noqa: E402

CALLS = {
    "get_model": {"model": "llama 3.1 8b"},
    "find_models": {"query": "qwen", "max_params_b": 40},
    "select_models": {"use_case": "code", "gpu": "RTX 4090", "commercial": True, "min_context": 32000},
    "check_license": {
        "model": "llama 3.1 70b",
        "commercial": True,
        "monthly_active_users": 5_000_000,
        "use_outputs_to_train_other_models": True,
    },
    "estimate_memory": {
        "model": "llama 3.1 70b",
        "quantization": "q4_k_m",
        "context_length": 32768,
        "gpu": "RTX 4090",
        "num_gpus": 2,
    },
    "estimate_throughput": {"model": "qwen3-30b-a3b", "gpu": "H100 SXM", "engine": "vllm", "concurrency": 32},
    "estimate_cost": {"monthly_tokens": 10_000_000, "model": "llama 3.1 8b", "gpu": "RTX 4090"},
    "compare_benchmarks": {"models": ["llama 2 7b", "llama 3 8b", "llama 3.1 8b"]},
    "plan_deployment": {"model": "llama 3.1 70b", "gpu": "H100 SXM", "concurrency": 16, "monthly_tokens": 100_000_000},
    "list_gpus": {},
    "list_licenses": {},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    t0 = time.perf_counter()
    cat = get_catalog()
    load_ms = (time.perf_counter() - t0) * 1000
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"catalog: {len(cat.models)} models (load + validation {load_ms:.0f} ms)"
    )
    print(f"{'tool':22s} {'first ms':>9s} {'p50 ms':>8s} {'p95 ms':>8s}  (n={args.calls})")
    worst = 0.0
    for name, call_args in CALLS.items():
        t = time.perf_counter()
        tools.call(name, call_args)
        first = (time.perf_counter() - t) * 1000
        samples = []
        for _ in range(args.calls):
            t = time.perf_counter()
            tools.call(name, call_args)
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        p50 = statistics.median(samples)
        p95 = samples[int(0.95 * (len(samples) - 1))]
        worst = max(worst, p50)
        print(f"{name:22s} {first:9.2f} {p50:8.2f} {p95:8.2f}")
    print(f"slowest p50: {worst:.2f} ms (goal < 5 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
