"""A message's shape, as the intent classifier sees it and is trained on: names as MODEL/GPU/API, digits as 0."""

from __future__ import annotations

import re

from advisor.nlu.entities import Mention, link
from advisor.nlu.quantities import mask, prepare

PLACEHOLDER = {"model": "MODEL", "family": "MODEL", "gpu": "GPU", "api": "API"}


def prepared_text(text: str) -> str:
    """prepare() and compound names split ("gptoss" -> "gpt oss")."""
    from advisor.nlu.entities import linker

    return linker().split_compounds(prepare(text))


def shape_of(text: str) -> str:
    """The message as the classifier sees it: names as MODEL/GPU/API, digits as 0."""
    prepared = prepared_text(text)
    return shape_of_mentions(prepared, link(prepared))


def shape_of_mentions(prepared: str, mentions: list[Mention]) -> str:
    masked = mask(prepared, [(m.start, m.end, PLACEHOLDER.get(m.kind, "NAME")) for m in mentions])
    masked = re.sub(r"\b(MODEL|GPU|API|NAME) *", lambda m: m.group(1).lower() + " ", masked)
    masked = re.sub(r"\d+(?:\.\d+)?", "0", masked)
    masked = re.sub(r"[^\w\s$€%?/+-]", " ", masked)
    return " ".join(masked.split())
