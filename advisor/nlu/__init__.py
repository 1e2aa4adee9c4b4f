"""Understanding what people write: quantities, catalog names, intents, slots and references.

    >>> r = read("Can I use Llama 3 8B in an app with 800 million monthly users?")
    >>> r.models, r.fields["monthly_active_users"], r.asked()
    (['llama-3-8b'], 800000000, ['license'])

The pipeline, one module each: ``quantities`` (numbers in digits and words, scale, unit, range),
``entities`` (catalog names with typo correction; near misses are unknown, not matched), ``intents``
(a multi-label classifier trained from ``data/train.yaml``), ``slots`` (requirement fields, with
negations and clearing), ``arguments`` (field -> tool argument, as data). Every driver uses
``read(...).fields`` for the requirements state; the offline driver also plans from the rest.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from advisor.nlu.entities import Mention, link
from advisor.nlu.quantities import Quantity, mask, prepare, quantities
from advisor.nlu.shape import PLACEHOLDER, prepared_text, shape_of, shape_of_mentions

ORDINALS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}


@dataclass
class Reading:
    """What one message says, read in the context of the conversation so far."""

    text: str
    prepared: str
    shape: str  # what the intent classifier sees
    mentions: list[Mention]
    quantities: list[Quantity]
    fields: dict  # requirement fields stated (None: cleared)
    scores: dict[str, float]
    conflicts: list[str] = field(default_factory=list)
    reference: tuple | None = None  # ("ordinal", i), ("top", n) or ("last",)

    def asked(self, threshold: float | None = None) -> list[str]:
        from advisor.nlu.intents import INTENTS, THRESHOLD
        from advisor.nlu.policy import cue, policy

        cut = THRESHOLD if threshold is None else threshold
        floor = policy()["cue_floor"]
        asked = [
            label
            for label in INTENTS
            if self.scores.get(label, 0.0) >= cut
            or (self.scores.get(label, 0.0) >= floor and cue(label, self.prepared))
        ]
        if len(asked) > 1:
            # a second intent needs the classifier's confidence or its own words ("set up X for 50 concurrent users"
            # is a deployment question, not also a speed one)
            sure = policy()["second_sure"]
            top = max(asked, key=lambda a: self.scores.get(a, 0.0))
            kept = [a for a in asked if a == top or self.scores.get(a, 0.0) >= sure or cue(a, self.prepared)]
            asked = kept or asked
        if not asked and self.scores:
            top = max(INTENTS, key=lambda label: self.scores.get(label, 0.0))
            if self.scores[top] >= 0.3:
                asked = [top]  # a weak reading beats none
        return asked

    def _named(self, kind: str) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind and not _negated(self.prepared, m.start)]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(m.id for m in self._named("model") if m.id))

    @property
    def families(self) -> list[str]:
        return list(dict.fromkeys(m.id for m in self._named("family") if m.id))

    @property
    def unclear(self) -> list[Mention]:
        """Model and device names that are unknown or ambiguous (the driver should ask about them)."""
        return [
            m for m in self.mentions if m.kind in ("model", "gpu") and not m.id and not _negated(self.prepared, m.start)
        ]


def _negated(t: str, start: int) -> bool:
    from advisor.nlu.slots import _negated as negated

    return negated(t, start)


def _reference(t: str) -> tuple | None:
    m = re.search(
        r"\b(?:the|your|that|this|ur)\s+(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|top)\s*"
        r"(one|model|option|pick|choice|suggestion|recommendation|entry|candidate|on the list|result)?\b",
        t,
    )
    if m and (
        m.group(2)
        or re.search(
            r"\b(the|your)\s+\w+\s*(\?|$|,|\.|one|please|instead|then|for|in|on|with|and)", t[m.start() : m.end() + 12]
        )
    ):
        if not (m.group(1) == "top" and not m.group(2)):
            return ("ordinal", ORDINALS[m.group(1)])
    m = re.search(r"(?:#|\bnumber |\bno\. ?|\boption |\bpick |\bchoice )(\d)\b", t)
    if m:
        return ("ordinal", int(m.group(1)) - 1)
    m = re.search(
        r"\b(?:top|these|those|the|first|all)\s+(\d)\b|\b(both|all of them|each of them|them all|all three|the "
        r"shortlist|"
        r"every one of them|these models|those models|all those|all these)\b",
        t,
    )
    if m:
        if m.group(1):
            return ("top", int(m.group(1)))
        word = m.group(2)
        return ("top", 2 if word == "both" else 3 if "three" in word else 5)
    if re.search(
        r"\b(it|that model|this model|that one|this one|the same model|same model|the model|the one you (picked|"
        r"suggested|recommended)|"
        r"its|the winner|your pick|your recommendation|your top pick)\b",
        t,
    ):
        return ("last",)
    return None


@functools.lru_cache(maxsize=1024)
def _read(text: str, context_json: str, catalog_id: int) -> Reading:
    from advisor.nlu.intents import scores
    from advisor.nlu.slots import read_slots

    context = json.loads(context_json) if context_json else {}
    prepared = prepared_text(text)
    mentions = link(prepared)
    masked = mask(prepared, [(m.start, m.end, PLACEHOLDER.get(m.kind, "NAME")) for m in mentions])
    qs = quantities(masked)
    fields, conflicts = read_slots(prepared, text, mentions, qs, context)
    families = [m.id for m in mentions if m.kind == "family" and m.id]
    models = [m.id for m in mentions if m.kind == "model" and m.id]
    if models:
        fields["mentioned_models"] = list(dict.fromkeys(models))
    if families:
        fields["mentioned_families"] = list(dict.fromkeys(families))
    shape = shape_of_mentions(prepared, mentions)
    return Reading(text, prepared, shape, mentions, qs, fields, scores(shape), conflicts, _reference(prepared))


def read(text: str, context: dict | None = None) -> Reading:
    """Read one message. ``context``: {"requirements": the state so far, "previous_tools": tool names of the
    previous turn, "previous_args": their arguments} (lets "and at 100M?" mean tokens after a cost question)."""
    from tools.common import catalog

    key = json.dumps(context, sort_keys=True, default=str) if context else ""
    r = _read(text, key, id(catalog()))
    return Reading(
        r.text, r.prepared, r.shape, r.mentions, r.quantities, dict(r.fields), r.scores, list(r.conflicts), r.reference
    )


__all__ = ["Mention", "Quantity", "Reading", "prepare", "quantities", "read", "shape_of"]
