"""Catalog names as keys: the one normalisation that lookups (catalog/query.py) and the loader's cross-checks share."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\d+(?:\.\d+)*|[a-z]+")


def normalize(name: str) -> str:
    """Case- and punctuation-insensitive key: 'Meta-Llama-3.1-8B' -> 'meta llama 3.1 8 b'."""
    return " ".join(_TOKEN.findall(str(name).lower()))
