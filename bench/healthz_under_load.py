"""/healthz while slow turns run through each edge (issue 29, finding 2).

    python bench/healthz_under_load.py [--turns 40] [--words 20] [--delay-s 0.2]

Starts tests/slow_openai.py as a process (a fake OpenAI-compatible model answering one word every --delay-s seconds,
--words words) and ``python app.py --driver openai --stateless-ui`` against it. The baseline is /healthz with nothing
else running, on the same server in the same run. Then, edge by edge, --turns slow turns at once: Gradio's chat API
(``POST /gradio_api/run/chat``, the function MCP's chat tool runs), MCP's ``chat_api`` tool (streamable HTTP sessions),
the stateless UI's chat event (``POST /gradio_api/run/predict``, as the page sends it), /v1/chat/completions and
/api/exercises/1; /healthz is asked every 0.1 s until they are all answered. Printed per edge: /healthz p50 and max
and the turns answered. Goal: /healthz max < 0.5 s on every edge.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import _util  # noqa: F401  (puts the project on sys.path)
import httpx
from _util import ROOT, Server, free_port, machine, p50

PATH = "/healthz"  # --path: another route to sample instead


def _respond_index(url: str) -> int:
    deps = httpx.get(url + "/config", timeout=30).json()["dependencies"]
    return next(d["id"] for d in deps if d.get("api_name") == "respond")


def _edges(url: str) -> dict:
    respond = _respond_index(url)

    def chat(k: int) -> bool:
        r = httpx.post(url + "/gradio_api/run/chat", json={"data": [f"Question {k}", ""]}, timeout=300)
        return r.status_code == 200

    def ui(k: int) -> bool:
        body = {"data": [f"Question {k}", [], ""], "fn_index": respond, "session_hash": uuid.uuid4().hex[:11]}
        r = httpx.post(url + "/gradio_api/run/predict", json=body, timeout=300)
        return r.status_code == 200

    def v1(k: int) -> bool:
        body = {"messages": [{"role": "user", "content": f"Question {k}"}]}
        return httpx.post(url + "/v1/chat/completions", json=body, timeout=300).status_code == 200

    def exercise(k: int) -> bool:
        return httpx.post(url + "/api/exercises/1", timeout=600).status_code == 200

    return {"Gradio chat API": chat, "MCP chat tool": None, "stateless UI": ui, "/v1": v1, "exercises": exercise}


async def _mcp_turns(url: str, n: int) -> int:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def one(k: int) -> bool:
        async with httpx.AsyncClient(timeout=300) as http:
            async with streamable_http_client(url + "/gradio_api/mcp/", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    result = await session.call_tool("chat_api", {"message": f"Question {k}"})
                    return not result.isError

    return sum(await asyncio.gather(*(one(k) for k in range(n))))


def _health_samples(url: str, done: threading.Event) -> list[float]:
    samples: list[float] = []
    with httpx.Client(timeout=60) as client:
        while not done.is_set():
            started = time.perf_counter()
            client.get(url + PATH)
            samples.append(time.perf_counter() - started)
            time.sleep(0.1)
    return samples


def _under_load(url: str, edge: str, call, turns: int) -> tuple[list[float], int]:
    done = threading.Event()
    with ThreadPoolExecutor(1) as sampler:
        health = sampler.submit(_health_samples, url, done)
        time.sleep(0.3)
        if call is None:
            answered = asyncio.run(_mcp_turns(url, turns))
        else:
            with ThreadPoolExecutor(turns) as pool:
                answered = sum(pool.map(call, range(turns)))
        done.set()
        return health.result(), answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--delay-s", type=float, default=0.2)
    parser.add_argument("--exercises", type=int, default=8, help="exercises at once (each is several turns)")
    parser.add_argument("--path", default="/healthz", help="the route sampled (another one, for comparison)")
    parser.add_argument("--edges", default="", help="comma-separated edge names to run (default: all)")
    args = parser.parse_args()
    global PATH
    PATH = args.path
    port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_openai", str(port), str(args.delay_s), str(args.words)], cwd=ROOT
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        with Server("--base-url", base_url, "--model", "slow", "--stateless-ui", driver="openai") as server:
            done = threading.Event()
            timer = threading.Timer(3.0, done.set)
            timer.start()
            idle = _health_samples(server.url, done)
            print(f"machine: {machine()}")
            print(
                f"model: one word every {args.delay_s} s, {args.words} words (about {args.delay_s * args.words:.0f} s)"
            )
            print(f"idle /healthz: p50 {p50(idle) * 1000:.1f} ms, max {max(idle) * 1000:.1f} ms (n={len(idle)})")
            worst = 0.0
            for edge, call in _edges(server.url).items():
                if args.edges and edge not in args.edges.split(","):
                    continue
                n = args.exercises if edge == "exercises" else args.turns
                samples, answered = _under_load(server.url, edge, call, n)
                worst = max(worst, max(samples))
                slow = sum(x >= 0.5 for x in samples)
                print(
                    f"{edge:16s} {n:3d} slow turns at once: /healthz p50 {p50(samples) * 1000:7.1f} ms, "
                    f"max {max(samples) * 1000:7.1f} ms, {slow} of {len(samples)} over 500 ms; "
                    f"{answered} of {n} answered"
                )
            print(f"worst /healthz: {worst * 1000:.1f} ms (goal < 500 ms) -> {'met' if worst < 0.5 else 'NOT met'}")
    finally:
        upstream.terminate()
        upstream.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
