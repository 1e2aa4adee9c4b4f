"""A hostile message of near-miss model names against a normal question (issue 29, finding 1).

    python bench/hostile_message.py [--rounds 5] [--chars 8000]

Each message is one offline turn (``Advisor.ask``: the requirements reader, the planner, the tools, the answer) in
this process, in a new conversation, with the reader's cache cleared so each is read afresh. Two baselines, measured
in the same run: the normal questions of bench/_util.py, and an ordinary message of the same length (a long
description of needs, no near misses). Printed: p50 and max per kind, the ratios of the hostile p50 to each
baseline's (goal: under 3x a normal question), and how many names were looked up for suggestions per message.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import _util  # noqa: F401  (puts the project on sys.path)
from _util import QUESTIONS, QUIET_ENV, machine, p50

os.environ.update(QUIET_ENV)


def hostile(chars: int, seed: int) -> str:
    """As tests/test_hardening2.hostile_message: "lama37b qwn12b gema54b ..." up to ``chars`` characters."""
    rng = random.Random(seed)
    heads = ["lama", "qwn", "gema", "mistrl", "phii", "deepsek", "falcn", "llama", "qwen", "gemma"]
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(f"{rng.choice(heads)}{rng.randint(1, 99)}b")
    return " ".join(words)[:chars]


ORDINARY = (
    "We are a small company building a customer support assistant for our web shop. Our customers write in English "
    "and German, and we expect around two hundred thousand conversations per month. We care about privacy, so the "
    "data should stay on our servers. "
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chars", type=int, default=8000)
    args = parser.parse_args()

    from advisor import nlu
    from advisor.config import Settings
    from advisor.service import Advisor
    from catalog.query import NameIndex

    lookups: list[str] = []
    real = NameIndex.suggest

    def counted(self, query, n=5):
        lookups.append(query)
        return real(self, query, n)

    NameIndex.suggest = counted  # type: ignore[method-assign]
    advisor = Advisor.create(Settings(driver="offline", db=":memory:", max_message_chars=max(8000, args.chars)))
    for q in QUESTIONS:  # warm-up: per-catalog caches
        advisor.ask(q)

    def turn(text: str) -> tuple[float, int]:
        nlu._read.cache_clear()  # noqa: SLF001
        lookups.clear()
        started = time.perf_counter()
        advisor.ask(text)
        return time.perf_counter() - started, len(lookups)

    normal, ordinary, bad, looked = [], [], [], []
    for r in range(args.rounds):
        for q in QUESTIONS:
            normal.append(turn(q)[0])
        ordinary.append(turn((f"#{r} " + ORDINARY * (args.chars // len(ORDINARY) + 1))[: args.chars])[0])
        seconds, count = turn(hostile(args.chars, seed=r))
        bad.append(seconds)
        looked.append(count)
    print(f"machine: {machine()}")
    print(f"normal questions: {len(normal)} turns, p50 {p50(normal) * 1000:.0f} ms, max {max(normal) * 1000:.0f} ms")
    print(
        f"ordinary {args.chars:,}-character messages: {len(ordinary)} turns, p50 {p50(ordinary) * 1000:.0f} ms, "
        f"max {max(ordinary) * 1000:.0f} ms"
    )
    print(
        f"hostile {args.chars:,}-character messages: {len(bad)} turns, p50 {p50(bad) * 1000:.0f} ms, "
        f"max {max(bad) * 1000:.0f} ms; names looked up for suggestions per message: max {max(looked)}"
    )
    ratio = p50(bad) / p50(normal)
    print(f"hostile / normal question (p50): {ratio:.2f}x  (goal: under 3x) -> {'met' if ratio < 3 else 'NOT met'}")
    print(f"hostile / ordinary message of the same length (p50): {p50(bad) / p50(ordinary):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
