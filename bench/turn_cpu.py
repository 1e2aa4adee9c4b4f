"""CPU per offline turn and where it goes: process CPU (all threads) per Advisor.ask, split by part.

    python bench/turn_cpu.py [--rounds 6]

Runs bench/chat_turn.py's questions (first turns of new conversations) and its 6-turn conversation on the
offline driver with the SQLite checkpointer, after a warm-up, and prints the process CPU per turn (time.process_time,
every thread of the process) and the thread CPU spent in each part: the tools, the checkpointer, grounding, the
message's understanding (intake) and the offline planner; the rest is LangGraph's step machinery, the service's
threads and LangChain's messages. Issue #24's goal: <= 25 ms per offline turn.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import os
import tempfile
import threading
import time
import uuid

import _util  # noqa: F401  (puts the project on sys.path)
from _util import CONVERSATION, QUESTIONS, QUIET_ENV, machine

os.environ.update(QUIET_ENV)
spent: collections.Counter = collections.Counter()
_stacks = threading.local()  # per thread: [part, started] of the calls being measured, innermost last


def measure(owner, name: str, part: str) -> None:
    """Wrap owner.name so that its thread CPU counts toward ``part``; time inside another measured part (a tool the
    planner calls) counts toward that part only."""
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        part_ = f"tool {args[0].name}" if part == "tools" else part
        stack = _stacks.__dict__.setdefault("stack", [])
        now = time.thread_time()
        if stack:
            spent[stack[-1][0]] += now - stack[-1][1]
        stack.append([part_, now])
        try:
            return fn(*args, **kwargs)
        finally:
            now = time.thread_time()
            spent[part_] += now - stack.pop()[1]
            if stack:
                stack[-1][1] = now

    setattr(owner, name, timed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of the questions and the conversation")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: python bench/turn_cpu.py --rounds {args.rounds}")

    import advisor.grounding as grounding
    import advisor.nlu.dialogue as dialogue
    import advisor.storage as storage
    from advisor.drivers import offline

    registry = importlib.import_module("tools.registry")
    measure(registry.Tool, "__call__", "tools")
    throughput = importlib.import_module("tools.throughput")
    if hasattr(throughput, "measurement_rows"):  # the speed model's calibration rows, read by every speed estimate
        measure(throughput, "measurement_rows", "speed model: calibration rows (inside the tools)")
    for cls in [c for c in vars(storage).values() if isinstance(c, type) and hasattr(c, "put_writes")]:
        for name in ("put", "put_writes", "get_tuple"):
            if name in vars(cls):
                measure(cls, name, "checkpointer (SQLite)")
    measure(grounding, "find_ungrounded", "grounding")
    measure(grounding, "evidence_from", "grounding")
    measure(dialogue, "understand", "understanding the message (intake)")
    measure(offline.Planner, "step", "offline planner (without its tool calls)")

    from advisor.config import Settings
    from advisor.service import Advisor

    advisor = Advisor.create(Settings(driver="offline", db=os.path.join(tempfile.mkdtemp(), "turn_cpu.sqlite")))
    for q in QUESTIONS:  # warm-up: per-catalog caches
        advisor.ask(q, thread_id=None)
    spent.clear()
    per_turn: list[float] = []
    for _ in range(args.rounds):
        for q in QUESTIONS:
            t = time.process_time()
            advisor.ask(q, thread_id=None)
            per_turn.append(time.process_time() - t)
        tid = uuid.uuid4().hex
        for q in CONVERSATION:
            t = time.process_time()
            advisor.ask(q, thread_id=tid)
            per_turn.append(time.process_time() - t)
    n = len(per_turn)
    mean = sum(per_turn) * 1000 / n
    print(f"\nprocess CPU per offline turn: mean {mean:.1f} ms, p50 {sorted(per_turn)[n // 2] * 1000:.1f} ms (n={n})")
    for part, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {part:50s} {seconds * 1000 / n:6.1f} ms")
    print(f"  {'the rest (LangGraph, threads, messages)':50s} {mean - sum(spent.values()) * 1000 / n:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
