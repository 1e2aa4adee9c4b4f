"""Cold start: from ``python app.py`` to the first 200 from /healthz, and what the process imports.

    python bench/cold_start.py [--runs 5]

Each run starts a fresh interpreter on a free port with a temporary --db, as a user would (``python
app.py``, driver auto) and with ``--driver offline``, and polls /healthz every 20 ms. One more run under
``python -X importtime`` lists the slowest imports and checks that torch, transformers and bitsandbytes
are not imported (they belong to the hf driver only). A last run times the phases of create_app in a
fresh interpreter. Goal: < 6 s to the first 200; no torch/transformers/bitsandbytes without the hf driver.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

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


def start_once(driver: str | None) -> float:
    srv = Server(driver=driver)
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

    variants = {"python app.py (driver auto)": None, "python app.py --driver offline": "offline"}
    times: dict[str, list[float]] = {}
    for label, driver in variants.items():
        start_once(driver)  # warm the OS file cache: every run after this is a warm-disk cold start
        times[label] = [start_once(driver) for _ in range(args.runs)]

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
    print(f"{'variant':34s} {'runs':>4s} {'p50 s':>7s} {'min s':>7s} {'max s':>7s} {'x bare python':>14s}")
    for label, samples in times.items():
        print(
            f"{label:34s} {len(samples):4d} {p50(samples):7.2f} {min(samples):7.2f} {max(samples):7.2f} "
            f"{p50(samples) / bare:14.1f}"
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
    worst = max(p50(s) for s in times.values())
    print(
        f"\nslowest p50 to first 200: {worst:.2f} s (goal < 6 s); torch/transformers/bitsandbytes imported: "
        f"{'yes: ' + ', '.join(heavy) if heavy else 'no'}"
    )
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
