"""The intent policy's words (data/policy.yaml, beside the classifier's training data), loaded and compiled once."""

from __future__ import annotations

import functools
import re
from pathlib import Path

POLICY = Path(__file__).resolve().parent / "data" / "policy.yaml"


@functools.lru_cache(maxsize=1)
def policy() -> dict:
    import yaml

    data = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
    cues = {k: re.compile(v) for k, v in data["cues"].items()}
    own = {**cues, **{k: re.compile(v) for k, v in (data.get("own_cues") or {}).items()}}
    forms = {k: re.compile(v) for k, v in data["forms"].items()}
    objectives = {k: re.compile(v) for k, v in (data.get("objectives") or {}).items()}
    return {
        "cues": cues,
        "own_cues": own,
        "forms": forms,
        "objectives": objectives,
        **{k: v for k, v in data.items() if k not in ("cues", "own_cues", "forms", "objectives")},
    }


def objective(text: str) -> str | None:
    """What an alternative is for ("anything cheaper?": cheaper), by the objectives of data/policy.yaml in order."""
    return next((name for name, pattern in policy()["objectives"].items() if pattern.search(text)), None)


def form(name: str, text: str) -> bool:
    """Whether the text has a word of this class (data/policy.yaml forms)."""
    return policy()["forms"][name].search(text) is not None


def cue(intent: str, text: str) -> bool:
    """Whether the text names this intent outright (data/policy.yaml cues)."""
    pattern = policy()["cues"].get(intent)
    return pattern is not None and pattern.search(text) is not None
