"""Offline chat turns: one turn of the advisor with the offline driver, measured at three layers.

    python bench/chat_turn.py [--rounds 8]

- service: ``Advisor.ask`` in this process (the graph, the tools, grounding and the SQLite checkpointer);
- server-side: POST /v1/chat/completions to the app built by ``app.create_app`` in this process (FastAPI
  routing and JSON, no network);
- client-side: POST /v1/chat/completions over TCP to ``python app.py --driver offline`` on a free port
  with a temporary --db, as a client sees it.

Every layer runs the same questions (each calls at least one tool), as first turns of new conversations
and as follow-ups in one growing conversation. Printed: p50 and p95 per layer and question kind, and the
ratio of each layer to the service layer measured in the same run. Goal: p50 < 100 ms client-side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid

import _util  # noqa: F401  (puts the project on sys.path)
from _util import CONVERSATION, QUESTIONS, QUIET_ENV, Server, machine, p50, pct

os.environ.update(QUIET_ENV)

FOLLOW_UPS = CONVERSATION


def body(text: str, thread_id: str | None = None) -> dict:
    out = {"model": "open-llm-advisor", "messages": [{"role": "user", "content": text}]}
    if thread_id:
        out["thread_id"] = thread_id
    return out


def run_layer(send, rounds: int) -> dict[str, list[float]]:
    """send(text, thread_id) runs one turn. Returns ms samples for first turns and follow-ups."""
    for q in QUESTIONS:  # warm-up: first use of each tool builds per-catalog caches
        send(q, None)
    first: list[float] = []
    follow: list[float] = []
    for _ in range(rounds):
        for q in QUESTIONS:
            t = time.perf_counter()
            send(q, None)
            first.append((time.perf_counter() - t) * 1000)
        tid = uuid.uuid4().hex
        for q in FOLLOW_UPS:
            t = time.perf_counter()
            send(q, tid)
            follow.append((time.perf_counter() - t) * 1000)
    return {"first turn": first, "follow-up": follow, "all": first + follow}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of every question per layer")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"command: python bench/chat_turn.py --rounds {args.rounds}")

    from advisor.config import Settings
    from advisor.service import Advisor

    tmp = tempfile.mkdtemp(prefix="advisor-bench-")
    settings = Settings(driver="offline", db=os.path.join(tmp, "service.sqlite"))
    advisor = Advisor.create(settings)
    results: dict[str, dict[str, list[float]]] = {}

    def service(text, tid):
        r = advisor.ask(text, thread_id=tid)
        assert r.reply and r.tool_calls, f"no tool call for {text!r}"

    results["service (Advisor.ask)"] = run_layer(service, args.rounds)

    import httpx
    from fastapi.testclient import TestClient

    import app as app_module

    api = app_module.create_app(Settings(driver="offline", db=os.path.join(tmp, "asgi.sqlite")))
    with TestClient(api) as client:

        def asgi(text, tid):
            r = client.post("/v1/chat/completions", json=body(text, tid))
            assert r.status_code == 200, r.text[:300]

        results["server-side (in-process ASGI)"] = run_layer(asgi, args.rounds)

    with Server() as srv, httpx.Client(base_url=srv.url, timeout=30) as client:

        def http(text, tid):
            r = client.post("/v1/chat/completions", json=body(text, tid))
            assert r.status_code == 200, r.text[:300]
            assert r.json()["advisor_tool_calls"], "no tool call"

        results["client-side (HTTP to app.py)"] = run_layer(http, args.rounds)

        # streaming: time to the first content chunk and to [DONE]
        ttfb: list[float] = []
        total: list[float] = []
        for _ in range(max(2, args.rounds // 2)):
            for q in QUESTIONS:
                t = time.perf_counter()
                first = None
                with client.stream("POST", "/v1/chat/completions", json={**body(q), "stream": True}) as r:
                    for line in r.iter_lines():
                        if first is None and '"content": "' in line and '"content": ""' not in line:
                            first = (time.perf_counter() - t) * 1000
                        if line.strip() == "data: [DONE]":
                            break
                total.append((time.perf_counter() - t) * 1000)
                ttfb.append(first if first is not None else total[-1])

    base = p50(results["service (Advisor.ask)"]["all"])
    print(f"\n{'layer':32s} {'turns':12s} {'n':>4s} {'p50 ms':>8s} {'p95 ms':>8s} {'x service':>10s}")
    for layer, by_kind in results.items():
        for kind, samples in by_kind.items():
            print(
                f"{layer:32s} {kind:12s} {len(samples):4d} {p50(samples):8.1f} {pct(samples, 0.95):8.1f} "
                f"{p50(samples) / base:10.2f}"
            )
    print(
        f"{'client-side, stream':32s} {'1st chunk':12s} {len(ttfb):4d} {p50(ttfb):8.1f} {pct(ttfb, 0.95):8.1f} "
        f"{p50(ttfb) / base:10.2f}"
    )
    print(
        f"{'client-side, stream':32s} {'to [DONE]':12s} {len(total):4d} {p50(total):8.1f} {pct(total, 0.95):8.1f} "
        f"{p50(total) / base:10.2f}"
    )
    client_p50 = p50(results["client-side (HTTP to app.py)"]["all"])
    print(
        f"\nclient-side p50 {client_p50:.1f} ms (goal < 100 ms); HTTP and app overhead over the service layer: "
        f"{client_p50 - base:+.1f} ms"
    )
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
