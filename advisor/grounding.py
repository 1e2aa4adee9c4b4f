"""Every figure in an answer must come from a tool result or from the user.

``find_ungrounded(answer, evidence)`` lists the numbers in ``answer`` that no tool result or user
message supports; names (model, GPU and licence names such as "Llama 3.1 8B" or "RTX 4090") are
not figures and are skipped. A number is supported when it equals a number in the evidence after
rounding to the precision shown, after unit scaling (k, M, B, %), or within 0.5%.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable

from catalog.query import normalize
from tools.common import per_catalog

_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-−])?\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<unit>\s?(?:%|k\b|K\b|M\b|B\b|bn\b|million\b|billion\b|thousand\b))?"
)
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "million": 1e6, "billion": 1e9, "thousand": 1e3}
SMALL_COUNTS = set(range(0, 11))  # list numbering, "two options", "3 questions"


def numbers_in(obj) -> set[float]:
    """Every number in a JSON-able value: numeric fields and numbers written inside strings."""
    out: set[float] = set()

    def walk(x):
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            if math.isfinite(x):
                out.add(float(x))
        elif isinstance(x, str):
            for value, _ in _parse(x):
                out.add(value)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(obj)
    return out


def _parse(text: str) -> list[tuple[float, str]]:
    found = []
    for m in _NUMBER.finditer(text):
        raw = m.group("num")
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        if m.group("sign"):  # "-2.14 GB" of headroom is the figure -2.14, not 2.14
            value = -value
        unit = (m.group("unit") or "").strip()
        if unit in _SCALE:
            found.append((value * _SCALE[unit], m.group(0)))
            found.append((value, m.group(0)))  # also the bare figure
        elif unit == "%":
            found.append((value, m.group(0)))
            found.append((value / 100, m.group(0)))
        else:
            found.append((value, m.group(0)))
    return found


def _decimals(token: str) -> int:
    m = re.search(r"\.(\d+)", token)
    return len(m.group(1)) if m else 0


def _supported(value: float, shown: str, evidence: set[float]) -> bool:
    if value in evidence:
        return True
    d = _decimals(shown)
    for v in evidence:
        if v == 0:
            continue
        if abs(value - v) <= 0.005 * abs(v):
            return True
        if round(v, d) == value:
            return True
        # a figure rounded to 2-3 significant digits ("16 GB" for 16.06, "$1.3k" for 1,284): within half a unit of
        # the last digit shown, at the scale it was shown in
        if value != 0 and len(re.sub(r"\D", "", shown)) <= 3 and abs(value - v) <= _half_unit(value, shown) * 1.0001:
            return True
    return False


def _half_unit(value: float, shown: str) -> float:
    """Half a unit of the last digit shown, scaled like the figure ("1.3k": 50; "16": 0.5; "45%": 0.005)."""
    m = re.search(r"\d+(?:\.\d+)?", shown.replace(",", ""))
    bare = float(m.group(0)) if m else 0.0
    scale = abs(value / bare) if bare else 1.0
    return 0.5 * 10 ** -_decimals(shown) * scale


# The only characters that re.IGNORECASE matches to an ASCII letter but str.lower() does not map onto it.
_PROBE = str.maketrans({"\u0130": "i", "\u0131": "i", "\u212a": "k", "\u017f": "s"})


@functools.lru_cache(maxsize=16)
def _plan(
    names: tuple[str, ...],
) -> tuple[tuple[tuple[re.Pattern, tuple[str, ...] | None, str | None], ...], frozenset[str]]:
    """The names that hold a digit, longest first, each with its pattern, its pieces and its longest piece; and the
    set of those longest pieces (one substring test each tells which names can occur in a text)."""
    plan = []
    for name in sorted({n for n in names if n and re.search(r"\d", n)}, key=len, reverse=True):
        pattern, pieces = _name_pattern(name)
        plan.append((pattern, pieces, max(pieces, key=len) if pieces else None))
    return tuple(plan), frozenset(key for _, _, key in plan if key is not None)


@functools.lru_cache(maxsize=8192)
def _name_pattern(name: str) -> tuple[re.Pattern, tuple[str, ...] | None]:
    """The compiled pattern for a name, and the pieces between its separators (ASCII names only): each piece is
    matched literally, ignoring case, so a text that lacks one of them cannot contain the name."""
    # one pass: a space or a hyphen in the name matches either, an underscore or nothing ("RTX 4090", "rtx-4090")
    pattern = re.compile(re.sub(r"\\[ \-]", lambda _: r"[\s\-_]?", re.escape(name)), re.IGNORECASE)
    pieces = tuple(p.lower() for p in re.split(r"[ \-]", name) if p) if name.isascii() and "\\" not in name else None
    return pattern, pieces


def strip_names(text: str, names: Iterable[str]) -> str:
    """Blank out catalog names so the digits inside them ("Qwen2.5-7B", "RTX 4090") are not read as figures."""
    out = text
    plan, keys = _plan(tuple(names))
    probe = text.translate(_PROBE).lower()  # blanking only removes text, so a piece absent here is absent later
    present = {k for k in keys if k in probe}
    for pattern, pieces, key in plan:
        if pieces and (key not in present or not all(p in probe for p in pieces)):
            continue
        out = pattern.sub(" ", out)
    return out


@per_catalog
def _catalog_names(cat) -> tuple[str, ...]:
    """Names of every model, GPU, licence, quantization and benchmark of the catalog in use."""
    from catalog.loader import model_names

    names: list[str] = []
    for m in cat.models.values():
        names += model_names(m)
    for g in cat.gpus.values():
        names += [g.id, g.name, *g.aliases]
    for lic in cat.licenses.values():
        names += [lic.id, lic.name]
    names += list(cat.quantizations)
    names += [q.name for q in cat.quantizations.values()]
    names += [b.name for b in cat.benchmarks.values()] + list(cat.benchmarks)
    return tuple(names)


def find_ungrounded(answer: str, evidence: set[float], names: Iterable[str] | None = None) -> list[str]:
    """Numbers in the answer that the evidence does not support, as written in the answer."""
    # URLs are sources, not figures; code spans are commands and ids. Both go before names are blanked out: a name
    # inside a URL (".../mistral-large-3-25-12.ts") would cut it short and leave "-25" to read as a figure.
    text = re.sub(r"https?://\S+", " ", answer)
    text = re.sub(r"`[^`]*`", " ", text)
    text = strip_names(text, names if names is not None else _catalog_names())
    bad: list[str] = []
    for m in _NUMBER.finditer(text):
        candidates = _parse(m.group(0))
        if not candidates:
            continue
        value, shown = candidates[0]
        bare = candidates[-1][0]
        if bare in SMALL_COUNTS and not m.group("unit") and "." not in shown:
            continue
        if any(_supported(v, shown, evidence) for v, _ in candidates):
            continue
        if shown.strip() not in bad:
            bad.append(shown.strip())
    return bad


def evidence_from(messages) -> set[float]:
    """Numbers from tool results and user messages of a LangChain message list, and the results of tools the offline
    driver ran to choose its calls' arguments (a format that fits), which it keeps on its own message."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    ev: set[float] = set()
    for msg in messages:
        if isinstance(msg, AIMessage) and msg.additional_kwargs.get("advisor_evidence"):
            ev |= _tool_result_numbers(json.dumps(msg.additional_kwargs["advisor_evidence"]))
        elif isinstance(msg, ToolMessage):
            ev |= _tool_result_numbers(msg.content if isinstance(msg.content, str) else json.dumps(msg.content))
        elif isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
            ev |= _user_numbers(msg.content if isinstance(msg.content, str) else str(msg.content))
    return ev


@functools.lru_cache(maxsize=512)
def _user_numbers(text: str) -> frozenset[float]:
    """A user's figures as written and as read ("half a billion" is 500,000,000; "32k context" is 32,768 tokens)."""
    from advisor.nlu import prepare, quantities

    out = set(numbers_in(text))
    try:
        prepared = prepare(text)
        out |= numbers_in(prepared)
        for q in quantities(prepared):
            out |= {v for v in (q.value, q.lo, q.hi) if v is not None}
    except Exception:  # reading figures must never break the answer
        pass
    return frozenset(out)


@functools.lru_cache(maxsize=512)
def _tool_result_numbers(content: str) -> frozenset[float]:
    """Numbers of one tool result (pure; cached, since every turn re-reads the results of the turns before it)."""
    try:
        return frozenset(numbers_in(json.loads(content)))
    except (json.JSONDecodeError, TypeError):
        return frozenset(numbers_in(content))


def remove_ungrounded(answer: str, bad: list[str]) -> str:
    out = answer
    for token in bad:
        out = re.sub(rf"(?<![\w.]){re.escape(token)}(?![\w])", "[figure removed]", out)
    return out + (f"\n\n_{len(bad)} figure(s) were removed because no tool result supports them._" if bad else "")


__all__ = ["evidence_from", "find_ungrounded", "numbers_in", "remove_ungrounded", "normalize"]
