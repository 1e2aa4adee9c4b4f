"""Prompts as text files, loaded by name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def load(name: str) -> str:
    return (HERE / f"{name}.md").read_text(encoding="utf-8")
