"""Browser users at once (issue 29, finding 3): chat turns through the UI's queue, as the page sends them.

    python bench/ui_users.py [--users 4] [--words 20] [--delay-s 0.2] [--rounds 2]

Starts tests/slow_openai.py as a process (a fake OpenAI-compatible model answering one word every --delay-s seconds)
and ``python app.py --driver openai`` against it (the default UI: events through Gradio's queue, queue/join then
queue/data). The baseline is one user's turn alone, on the same server in the same run; then --users users send a
turn at the same moment. Printed: each user's time to the end of the turn, and the slowest against the baseline
(goal: under 2x).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import _util  # noqa: F401  (puts the project on sys.path)
import httpx
from _util import ROOT, Server, free_port, machine, p50


def ui_turn(url: str, fn_index: int, text: str, start: threading.Barrier | None = None) -> float:
    """One turn as the page sends it; the seconds from joining the queue to the turn's completion."""
    session = uuid.uuid4().hex[:11]
    with httpx.Client(base_url=url, timeout=600) as client:
        if start is not None:
            start.wait(60)
        began = time.perf_counter()
        body = {"data": [text, [], ""], "fn_index": fn_index, "session_hash": session, "event_data": None}
        client.post("/gradio_api/queue/join", json=body).raise_for_status()
        with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as events:
            for line in events.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                    return time.perf_counter() - began
    raise RuntimeError("the turn never completed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--delay-s", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.slow_openai", str(port), str(args.delay_s), str(args.words)], cwd=ROOT
    )
    try:
        with Server("--base-url", f"http://127.0.0.1:{port}/v1", "--model", "slow", driver="openai") as server:
            deps = httpx.get(server.url + "/config", timeout=30).json()["dependencies"]
            fn_index = next(d["id"] for d in deps if d.get("api_name") == "respond")
            alone = [ui_turn(server.url, fn_index, f"Alone {r}") for r in range(args.rounds)]
            together: list[list[float]] = []
            for _ in range(args.rounds):
                start = threading.Barrier(args.users)
                with ThreadPoolExecutor(args.users) as pool:
                    times = pool.map(lambda k: ui_turn(server.url, fn_index, f"User {k}", start), range(args.users))
                    together.append(sorted(times))
            print(f"machine: {machine()}")
            print(
                f"model: one word every {args.delay_s} s, {args.words} words (about {args.delay_s * args.words:.0f} s)"
            )
            print(f"one user alone: p50 {p50(alone):.2f} s ({', '.join(f'{t:.2f}' for t in alone)})")
            for r, times in enumerate(together, 1):
                print(f"{args.users} users at once, round {r}: " + ", ".join(f"{t:.2f} s" for t in times))
            slowest = max(max(t) for t in together)
            ratio = slowest / p50(alone)
            verdict = "met" if ratio < 2 else "NOT met"
            print(f"slowest of {args.users} / one alone: {ratio:.2f}x (goal: under 2x) -> {verdict}")
    finally:
        upstream.terminate()
        upstream.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
