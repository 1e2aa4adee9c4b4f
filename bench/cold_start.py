"""Cold start: from ``advisor serve`` (and ``python app.py``) to the first 200 from /healthz, against the time a
fresh interpreter takes to import gradio and fastapi, and what the process imports.

    python bench/cold_start.py [--runs 5]

Each run starts a fresh interpreter on a free port with a temporary --db, as a user would (``advisor serve``, driver
auto, and ``python app.py --driver offline``), and polls /healthz every 20 ms. The baseline,
``python -c "import gradio, fastapi"``, runs in the same rounds, interleaved with the starts, so both see the same
load. One more run under ``python -X importtime`` lists the slowest imports and checks that torch, transformers and
bitsandbytes are not imported (they belong to the hf driver only). A last run times the phases of create_app in a
fresh interpreter. Goals (issue #25, Build 9): ``advisor serve`` p50 within 1.6x the baseline's p50; < 6 s to the
first 200; no torch/transformers/bitsandbytes without the hf driver.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import _util  # noqa: F401  (puts the project on sys.path)
from _util import QUIET_ENV, ROOT, Server, machine, p50

HEAVY = ("torch", "transformers", "bitsandbytes", "accelerate")

PHASES = r"""
import json, os, sys, time, tempfile
t0 = time.perf_counter(); marks = {}
def mark(name):
    marks[name] = round(time.perf_counter() - t0, 3)
import fastapi, uvicorn; mark("fastapi + uvicorn")
import gradio; mark("gradio")
import langgraph.graph, langchain_core.language_models.chat_models; mark("langgraph + langchain_core")
import app, tools; mark("app + tools modules")
from catalog.query import get_catalog; get_catalog(); mark("catalog load + validation")
from advisor.config import Settings
from advisor.service import Advisor
adv = Advisor.create(Settings(driver="offline", db=os.path.join(tempfile.mkdtemp(), "c.sqlite")))
mark("Advisor.create")
api = app.create_app(advisor=adv); mark("create_app (routes, Gradio UI, MCP)")
print(json.dumps({"marks": marks, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)  # noqa: UP031  (the template is Python code full of braces)


GOAL_RATIO = 1.6
BASELINE = "import gradio, fastapi"
ADVISOR = str(Path(sys.executable).with_name("advisor"))  # the console script of this environment


def start_once(driver: str | None, cli: bool = False) -> float:
    srv = Server(driver=driver)
    if cli:  # advisor serve, with the same port, --db and driver as python app.py
        srv.args = [ADVISOR, "serve", *srv.args[2:]]
    try:
        srv.start(wait_s=120)
        return srv.ready_s or float("nan")
    finally:
        srv.stop()


def importtime() -> tuple[list[tuple[float, str]], list[str], float]:
    """Run the server once under -X importtime; return the slowest top-level imports, heavy modules seen, ready time."""
    srv = Server(driver=None)
    srv.args = [srv.args[0], "-X", "importtime", *srv.args[1:]]
    try:
        srv.start(wait_s=120)
        ready = srv.ready_s or float("nan")
        srv.proc.terminate()
        srv.proc.wait(timeout=20)
        text = srv.stderr_path.read_text(errors="replace")
    finally:
        srv.stop()
    top: list[tuple[float, str]] = []
    seen: set[str] = set()
    for line in text.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)", line)
        if not m:
            continue
        cumulative_us, indent, name = int(m.group(2)), len(m.group(3)), m.group(4)
        seen.add(name.split(".")[0])
        if indent <= 1:
            top.append((cumulative_us / 1e6, name))
    top.sort(reverse=True)
    return top, sorted(h for h in HEAVY if h in seen), ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold starts per variant")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"command: python bench/cold_start.py --runs {args.runs}")

    env = {**os.environ, **QUIET_ENV}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    bare = time.perf_counter() - t

    def baseline() -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", BASELINE], check=True, env=env, cwd=ROOT)
        return time.perf_counter() - t

    variants = {
        "advisor serve (driver auto)": (None, True),
        "python app.py --driver offline": ("offline", False),
    }
    base_label = f'python -c "{BASELINE}"'
    times: dict[str, list[float]] = {base_label: []}
    baseline()
    for label, (driver, cli) in variants.items():
        start_once(driver, cli)  # warm the OS file cache: every run after this is a warm-disk cold start
        times[label] = []
    for _ in range(args.runs):  # rounds: the baseline and each variant once, so that all see the same load
        times[base_label].append(baseline())
        for label, (driver, cli) in variants.items():
            times[label].append(start_once(driver, cli))

    top, heavy, ready_it = importtime()
    phases = subprocess.run(
        [sys.executable, "-c", PHASES], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    try:
        info = json.loads(phases.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        info = {"marks": {}, "heavy": ["?"]}
        print(phases.stderr[-2000:])

    print(f"\nbare interpreter start: {bare * 1000:.0f} ms")
    base = p50(times[base_label])
    print(f"{'variant':38s} {'runs':>4s} {'p50 s':>7s} {'min s':>7s} {'max s':>7s} {'x baseline':>11s}")
    for label, samples in times.items():
        print(
            f"{label:38s} {len(samples):4d} {p50(samples):7.2f} {min(samples):7.2f} {max(samples):7.2f} "
            f"{p50(samples) / base:11.2f}"
        )
    print("\nphases of startup in a fresh interpreter (cumulative seconds):")
    prev = 0.0
    for name, at in info["marks"].items():
        print(f"  {name:40s} {at:6.2f}  (+{at - prev:.2f})")
        prev = at
    print(
        f"\nslowest top-level imports of python app.py (-X importtime, cumulative; this run ready in {ready_it:.2f} s):"
    )
    for secs, name in top[:12]:
        print(f"  {secs:6.2f} s  {name}")
    print(f"\nheavy modules imported by python app.py (driver auto): {', '.join(heavy) or 'none'}")
    print(f"heavy modules after create_app with the offline driver: {', '.join(info['heavy']) or 'none'}")
    worst = max(p50(s) for label, s in times.items() if label != base_label)
    ratio = p50(times["advisor serve (driver auto)"]) / base
    print(
        f"\nadvisor serve to first 200: {ratio:.2f}x the time of {BASELINE!r} (p50s, same rounds; goal <= "
        f"{GOAL_RATIO}x: {'met' if ratio <= GOAL_RATIO else 'not met'})"
    )
    print(
        f"slowest p50 to first 200: {worst:.2f} s (goal < 6 s); torch/transformers/bitsandbytes imported: "
        f"{'yes: ' + ', '.join(heavy) if heavy else 'no'}"
    )
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
