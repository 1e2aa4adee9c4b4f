"""select_models' cost per call, against a baseline version of tools/selection.py run in the same process.

    python bench/selection_latency.py [--baseline d731482] [--rounds 5]

The calls are the select_models arguments of bench/recommend/set_a.yaml (34 scenarios: devices from a Raspberry Pi
to 8 x H200, with and without a device, every use case) plus the tools_latency call. The baseline is the
tools/selection.py of a git revision, loaded as a module beside the current one (same catalog, same process). For
each: the first round (it builds the per-catalog caches: for the current version, the use-case estimates), then
p50 / p95 per call over the later rounds, and the full memory estimates (tools.memory.estimate) per call.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import ROOT, machine  # noqa: E402
from tools import common  # noqa: E402
from tools import selection as current  # noqa: E402

CALLS = [e["args"] for e in yaml.safe_load((ROOT / "bench/recommend/set_a.yaml").read_text(encoding="utf-8"))]
CALLS.append({"use_case": "code", "gpu": "RTX 4090", "commercial": True, "min_context": 32000})


def load_baseline(rev: str):
    """tools/selection.py at a git revision, as a module of its own."""
    text = subprocess.run(
        ["git", "show", f"{rev}:tools/selection.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_selection.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_selection", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_selection"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def measure(module, rounds: int) -> dict:
    counted = []
    real = module.estimate
    module.estimate = lambda *a, **k: counted.append(1) or real(*a, **k)
    try:
        t = time.perf_counter()
        for args in CALLS:
            module.select_models(**args, top_k=5)
        first = (time.perf_counter() - t) * 1000
        counted.clear()
        samples = []
        for _ in range(rounds):
            for args in CALLS:
                t = time.perf_counter()
                module.select_models(**args, top_k=5)
                samples.append((time.perf_counter() - t) * 1000)
    finally:
        module.estimate = real
    samples.sort()
    return {
        "first_round_ms": first,
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[int(0.95 * (len(samples) - 1))],
        "estimates_per_call": len(counted) / len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="d731482", help="git revision of the baseline tools/selection.py")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    common.catalog()  # load the catalog before timing either version
    baseline = load_baseline(args.baseline)
    print(f"{machine()}; {len(CALLS)} calls x {args.rounds} rounds after a first round")
    print(
        "| version | first round (ms, all calls) | p50 per call (ms) | p95 per call (ms) | memory estimates per call |"
    )
    print("|---|---|---|---|---|")
    for name, module in ((f"baseline {args.baseline}", baseline), ("current", current)):
        r = measure(module, args.rounds)
        print(
            f"| {name} | {r['first_round_ms']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['estimates_per_call']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
