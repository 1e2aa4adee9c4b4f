"""Stored bytes per conversation as it grows: one conversation of N turns with the offline driver, written to a
SQLite file exactly as the server writes it (``Advisor`` with ``--db``).

    python bench/storage_growth.py [--turns 20] [--every 5]

Printed after every ``--every`` turns: the rows and bytes the conversation holds (checkpoints, pending writes and
stored message contents), the database file's size, and the ratio to the size at half the turns. Storage that grows
linearly has a ratio near 2 from N/2 to N turns; one that stores every message again in every checkpoint grows
quadratically (ratio near 4). Goal (issue 17): 20 turns under 2.5x the bytes of 10 turns.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401  (puts the project on sys.path)
from _util import CONVERSATION, QUESTIONS, QUIET_ENV, machine

os.environ.update(QUIET_ENV)

# Turns of one long conversation: each calls at least one tool (shortlists, licences, memory, cost, benchmarks).
TURNS = (
    CONVERSATION
    + QUESTIONS
    + [
        "Actually we have two RTX 4090s",
        "What about a 128k context?",
        "Can we use Llama 3.1 70B commercially with 800 million monthly active users?",
        "How much memory does Llama 3.1 70B need in 4-bit on two A100 80GB?",
        "What would 100M tokens a month cost with Qwen2.5 32B on an A100 80GB?",
        "Compare Qwen2.5 7B and Qwen3 8B on benchmarks",
        "Customer-service chatbot in English and German, commercial, 200k monthly users, two L40S GPUs",
        "Just recommend the best one for that",
    ]
)


def stored_bytes(db: Path, thread_id: str) -> dict[str, int]:
    """What one conversation holds in the database, by table, and the file's size (WAL folded in)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        out: dict[str, int] = {}
        n, size = conn.execute(
            "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints "
            "WHERE thread_id = ?",
            (thread_id,),
        ).fetchone()
        out["checkpoints"], out["checkpoint_bytes"] = n, size
        n, size = conn.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM writes WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        out["writes"], out["write_bytes"] = n, size
        out["contents"], out["content_bytes"] = 0, 0
        if "advisor_contents" in tables:  # message contents kept once (advisor/storage.py)
            out["contents"], out["content_bytes"] = conn.execute(
                "SELECT count(*), coalesce(sum(length(data)), 0) FROM advisor_contents"
            ).fetchone()
        out["total_bytes"] = out["checkpoint_bytes"] + out["write_bytes"] + out["content_bytes"]
    finally:
        conn.close()
    out["file_bytes"] = db.stat().st_size
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--every", type=int, default=5)
    args = parser.parse_args()

    from advisor.config import Settings
    from advisor.service import Advisor

    tmp = Path(tempfile.mkdtemp(prefix="advisor-storage-"))
    db = tmp / "conversations.sqlite"
    advisor = Advisor.create(Settings(driver="offline", db=str(db)))
    thread_id = "storage-bench"
    print(f"# storage growth of one conversation ({machine()})")
    print(
        f"{'turns':>5} {'checkpoints':>11} {'writes':>6} {'contents':>8} {'stored MB':>9} {'file MB':>8} "
        f"{'x half':>6} {'s/turn':>6}"
    )
    sizes: dict[int, dict[str, int]] = {}
    started = time.perf_counter()
    for turn in range(1, args.turns + 1):
        advisor.ask(TURNS[(turn - 1) % len(TURNS)], thread_id=thread_id)
        if turn % args.every == 0 or turn == args.turns:
            s = stored_bytes(db, thread_id)
            sizes[turn] = s
            half = sizes.get(turn // 2) if turn % 2 == 0 else None
            ratio = f"{s['total_bytes'] / half['total_bytes']:.2f}" if half else "-"
            print(
                f"{turn:>5} {s['checkpoints']:>11} {s['writes']:>6} {s['contents']:>8} {s['total_bytes'] / 1e6:>9.3f} "
                f"{s['file_bytes'] / 1e6:>8.3f} {ratio:>6} {(time.perf_counter() - started) / turn:>6.2f}"
            )
    full, half = sizes.get(args.turns), sizes.get(args.turns // 2)
    if full and half and args.turns % 2 == 0:
        ratio = full["total_bytes"] / half["total_bytes"]
        file_ratio = full["file_bytes"] / half["file_bytes"]
        goal = "meets" if ratio < 2.5 else "misses"
        print(
            f"\n{args.turns} turns store {ratio:.2f}x the bytes of {args.turns // 2} turns "
            f"(file {file_ratio:.2f}x); {goal} the goal of < 2.5x"
        )
    users = [m for m in advisor.history(thread_id) if m["role"] == "user"]
    assert len(users) == args.turns, f"{len(users)} user messages stored for {args.turns} turns"
    return 0


if __name__ == "__main__":
    sys.exit(main())
