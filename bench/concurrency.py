"""Concurrency and memory: 50 simultaneous conversations against one server (offline driver) on localhost, and
the same against several worker processes on PostgreSQL.

    python bench/concurrency.py [--conversations 50] [--turns 4] [--think-s 0] [--deadline-s 150]
    python bench/concurrency.py --workers 2 --db postgresql://USER:PASSWORD@HOST/DB   # or --db temp

Starts ``python app.py --driver offline`` on a free port with a temporary --db. First one conversation
alone (the baseline, same server, same run), then N conversations that all start at once, each sending
its turns back to back (closed loop, no think time unless --think-s: the worst case for a server whose
turns are CPU-bound Python), then the same with users who pause about --think-s-users seconds between turns (all
starting at once, then
arriving evenly over --ramp-s seconds).
Bounded in count (N x turns) and in time (--deadline-s; requests time out after 60 s).

With --db, the same runs are then measured against ``python app.py --workers N --db URL`` (N = --workers, 2 by
default) in the same invocation, so the two sets of figures come from the same machine at the same time.

Printed: errors, turn latency p50/p95/max, throughput, the server's CPU per turn (all its processes) and, for a
local PostgreSQL, the database's, the ratio to the single-conversation p50, whether every conversation's history
holds all of its turns afterwards, and the server's resident memory (RSS, summed over its processes) idle, after the
load, and its peak (VmHWM). Goals: 0 errors, p95 turn < 1 s, RSS < 500 MB for one process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from pathlib import Path

import _util  # noqa: F401  (puts the project on sys.path)
from _util import CONVERSATION, Server, machine, p50, pct

from advisor.config import redact_url

TURNS = CONVERSATION


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


async def conversation(
    client, turns: int, think_s: float, start: asyncio.Event, deadline: float, rnd: random.Random, delay_s: float = 0.0
) -> dict:
    import httpx

    tid = uuid.uuid4().hex
    lat: list[float] = []
    errors: list[str] = []
    await start.wait()
    if delay_s:
        await asyncio.sleep(delay_s)
    for i in range(turns):
        if time.perf_counter() > deadline:
            errors.append("deadline")
            break
        body = {
            "model": "open-llm-advisor",
            "thread_id": tid,
            "messages": [{"role": "user", "content": TURNS[i % len(TURNS)]}],
        }
        t = time.perf_counter()
        try:
            r = await client.post("/v1/chat/completions", json=body)
            ok = r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
            if not ok:
                errors.append(f"HTTP {r.status_code}: {r.text[:120]}")
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:160])
        lat.append((time.perf_counter() - t) * 1000)
        if think_s and i < turns - 1:
            await asyncio.sleep(rnd.uniform(0.5, 1.5) * think_s)
    return {"thread": tid, "lat": lat, "errors": errors}


async def load(
    url: str,
    n: int,
    turns: int,
    think_s: float,
    deadline_s: float,
    seed: int = 1,
    ramp_s: float = 0.0,
    server: Server | None = None,
) -> dict:
    """n conversations of `turns` turns; all start at once, or spread evenly over ramp_s seconds."""
    import httpx

    rnd = random.Random(seed)
    cpu0 = server.cpu_s() if server else None
    limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = asyncio.Event()
        deadline = time.perf_counter() + deadline_s
        tasks = [
            asyncio.create_task(conversation(client, turns, think_s, start, deadline, rnd, ramp_s * i / n))
            for i in range(n)
        ]
        await asyncio.sleep(0.05)
        t = time.perf_counter()
        start.set()
        done = await asyncio.gather(*tasks)
        wall = time.perf_counter() - t
        cpu = (server.cpu_s() - cpu0) if server and cpu0 is not None else None
        # every conversation must hold all of its turns, in order
        complete = 0
        for conv in done:
            r = await client.get(f"/api/threads/{conv['thread']}")
            users = (
                [m["content"] for m in r.json().get("messages", []) if m["role"] == "user"]
                if r.status_code == 200
                else []
            )
            complete += users == [TURNS[i % len(TURNS)] for i in range(turns)]
    lat = [x for c in done for x in c["lat"]]
    errors = [e for c in done for e in c["errors"]]
    return {
        "lat": lat,
        "errors": errors,
        "wall": wall,
        "complete": complete,
        "n": n,
        "cpu_ms_per_turn": cpu * 1000 / max(1, len(lat)) if cpu is not None else float("nan"),
    }


def report(label: str, r: dict, base_p50: float) -> None:
    lat = r["lat"]
    print(
        f"{label:34s} {len(lat):5d} {len(r['errors']):6d} {p50(lat):8.0f} {pct(lat, 0.95):8.0f} {max(lat):8.0f} "
        f"{len(lat) / r['wall']:7.1f} {r['cpu_ms_per_turn']:7.1f} {r.get('db_cpu_ms_per_turn', float('nan')):7.1f} "
        f"{p50(lat) / base_p50:8.1f} {r['complete']:>4d}/{r['n']}"
    )


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by the PostgreSQL server processes on this machine (None when none is visible: a
    database elsewhere)."""
    total, seen = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].split(")", 1)[0].startswith("postgres"):
            fields = text.rsplit(")", 1)[1].split()
            total, seen = total + int(fields[11]) + int(fields[12]), True
    return total / os.sysconf("SC_CLK_TCK") if seen else None


def measure(srv: Server, args: argparse.Namespace) -> dict:
    """Every run against one server: warm-up, one conversation alone, then the loads; with its memory."""

    def run(n: int, turns: int, think_s: float, **kw) -> dict:
        db0 = postgres_cpu_s()
        r = asyncio.run(load(srv.url, n, turns, think_s, args.deadline_s, server=srv, **kw))
        db1 = postgres_cpu_s()
        if db0 is not None and db1 is not None:
            r["db_cpu_ms_per_turn"] = (db1 - db0) * 1000 / max(1, len(r["lat"]))
        return r

    out: dict = {"rss_idle": srv.rss_mb()}
    asyncio.run(load(srv.url, 1, len(TURNS), 0.0, args.deadline_s))  # warm-up: first use of each tool
    if srv.workers > 1:  # and of each worker: several conversations at once reach them all
        asyncio.run(load(srv.url, 4 * srv.workers, len(TURNS), 0.0, args.deadline_s))
    out["single"] = run(1, max(args.turns, 6) * 2, 0.0)
    out["rss_warm"] = srv.rss_mb()
    out["burst"] = run(args.conversations, args.turns, args.think_s)
    out["rss_burst"] = srv.rss_mb()
    out["users"] = out["ramped"] = None
    if args.think_s_users > 0:
        out["users"] = run(args.conversations, args.turns, args.think_s_users, seed=2)
        if args.ramp_s > 0:
            out["ramped"] = run(args.conversations, args.turns, args.think_s_users, seed=3, ramp_s=args.ramp_s)
    out["rss_after"] = srv.rss_mb()
    out["peak"] = sum(peak_rss_mb(pid) or 0.0 for pid in srv.pids())
    out["alive"] = srv.proc is not None and srv.proc.poll() is None
    return out


def print_runs(title: str, m: dict, args: argparse.Namespace) -> None:
    print(f"\n{title}")
    print(
        f"{'run':34s} {'turns':>5s} {'errors':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s} {'turns/s':>7s} "
        f"{'CPU ms':>7s} {'DB ms':>7s} {'x single':>8s} {'complete':>9s}"
    )
    base = p50(m["single"]["lat"])
    report("1 conversation (baseline)", m["single"], base)
    report(f"{args.conversations} at once, closed loop", m["burst"], base)
    if m["users"]:
        report(f"{args.conversations} at once, think ~{args.think_s_users:g} s", m["users"], base)
    if m["ramped"]:
        report(f"{args.conversations} over {args.ramp_s:g} s, think ~{args.think_s_users:g} s", m["ramped"], base)
    for r in (m["burst"], m["users"], m["ramped"]):
        if r and r["errors"]:
            print("  errors (first 5):", "; ".join(r["errors"][:5]))
    print(
        f"server RSS (all its processes): idle {m['rss_idle']:.0f} MB, after 1 conversation {m['rss_warm']:.0f} MB, "
        f"after the burst {m['rss_burst']:.0f} MB, at the end {m['rss_after']:.0f} MB, peak {m['peak']:.0f} MB; "
        f"server alive at the end: {m['alive']}"
    )


def goals(title: str, m: dict, args: argparse.Namespace) -> None:
    runs = [r for r in (m["burst"], m["users"], m["ramped"]) if r]
    print(
        f"{title}: errors {sum(len(r['errors']) for r in runs)} (goal 0); p95 turn (goal < 1000 ms): closed loop "
        f"{pct(m['burst']['lat'], 0.95):.0f} ms"
        + (f", all at once with think time {pct(m['users']['lat'], 0.95):.0f} ms" if m["users"] else "")
        + (f", arriving over {args.ramp_s:g} s {pct(m['ramped']['lat'], 0.95):.0f} ms" if m["ramped"] else "")
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4, help="turns per conversation (at most 20)")
    parser.add_argument("--think-s", type=float, default=0.0, help="think time between turns in the closed-loop run")
    parser.add_argument(
        "--think-s-users",
        type=float,
        default=2.0,
        help="mean think time of the second run (users who read the answer); 0 skips it",
    )
    parser.add_argument(
        "--ramp-s",
        type=float,
        default=5.0,
        help="third run: the users of the second, arriving evenly over this many seconds; 0 skips it",
    )
    parser.add_argument("--deadline-s", type=float, default=100.0, help="bound on each run")
    parser.add_argument(
        "--db",
        default=None,
        help="also measure `app.py --workers N --db URL` on this PostgreSQL database (postgresql://...), or 'temp' "
        "for a throwaway local server (tests/postgres_server.py); its conversations are left in it",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the PostgreSQL server (--db)")
    args = parser.parse_args()
    args.turns = max(1, min(args.turns, 20))
    return args


def main() -> int:
    args = arguments()
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(
        f"command: python bench/concurrency.py --conversations {args.conversations} --turns {args.turns} "
        f"--think-s {args.think_s} --think-s-users {args.think_s_users} --ramp-s {args.ramp_s} --deadline-s "
        f"{args.deadline_s}" + (f" --workers {args.workers} --db {redact_url(args.db)}" if args.db else "")
    )
    measured = {}
    with Server() as srv:
        measured["1 process, SQLite"] = measure(srv, args)
    if args.db:
        with contextlib.ExitStack() as stack:
            db = args.db
            if db == "temp":
                from tests.postgres_server import TempPostgres

                db = stack.enter_context(TempPostgres()).create_database("advisor")
            with Server("--workers", str(args.workers), db=db) as srv:
                measured[f"{args.workers} workers, PostgreSQL"] = measure(srv, args)
    for title, m in measured.items():
        print_runs(title, m, args)
    print(
        "(CPU ms: the server's CPU time, all its processes and threads, per turn; DB ms: the PostgreSQL server's on "
        "this machine, per turn; x single: p50 over the single conversation's p50)\n"
    )
    for title, m in measured.items():
        goals(title, m, args)
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
