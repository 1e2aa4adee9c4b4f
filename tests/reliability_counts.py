"""Figures for docs/reliability.md: each reliability test records what it tried (inputs, faults, kills) and what
was lost, in test-output/reliability-counts.json, so a run of the suite regenerates the numbers the doc quotes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "test-output" / "reliability-counts.json"
_lock = threading.Lock()


def record(key: str, **counts) -> None:
    with _lock:
        PATH.parent.mkdir(exist_ok=True)
        try:
            data = json.loads(PATH.read_text())
        except (OSError, ValueError):
            data = {}
        data[key] = counts
        PATH.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
