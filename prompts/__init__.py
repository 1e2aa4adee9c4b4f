"""Prompts as text files, loaded by name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    return (HERE / f"{name}.md").read_text(encoding="utf-8")
