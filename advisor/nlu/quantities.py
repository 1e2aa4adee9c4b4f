"""Quantities in what people write: numbers in digits or words, with scale, unit, range and qualifier.

    >>> [(q.kind, q.value) for q in quantities("half a billion tokens a month for 1.2B MAU on a 24 gig card")]
    [('tokens_month', 500000000.0), ('users', 1200000000.0), ('memory_gb', 24.0)]

One parser for every slot that holds a number: ``prepare`` turns number words into digits ("eight
hundred million" -> "800000000", with text2num), then ``quantities`` reads each number with what
surrounds it: a scale ("50M", "32k", "1.2 billion"), a unit ("GB", "tokens a month", "MAU",
"$/hour", "€/kWh", "%"), a range ("5-10M", "between 1 and 2 million": the upper end is kept, the
cautious reading for licence thresholds and sizing) and a qualifier ("about", "under", "at least").
Catalog names that hold digits ("RTX 4090", "Llama 3.1 8B") are masked by the caller beforehand
(``mask``), so they are never read as figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text_to_num import text2num

SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
NUMBER_WORDS = set(SMALL) | set(TENS) | set(SCALES)
# "the second one", "which one", "one of them": "one" that is not a figure
_NOT_FIGURE_BEFORE_ONE = {
    "the",
    "this",
    "that",
    "which",
    "each",
    "every",
    "any",
    "no",
    "first",
    "second",
    "third",
    "last",
    "other",
    "another",
    "next",
    "previous",
    "same",
    "good",
    "best",
    "cheaper",
    "bigger",
    "smaller",
    "new",
    "older",
    "newer",
    "latest",
    "one",
    "a",
    "cheapest",
    "fastest",
    "right",
}
# Suffix scales written onto a number: "50M", "32k", "1.2B", "3bn".
SUFFIX = {
    "k": 1e3,
    "thousand": 1e3,
    "thousands": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mm": 1e6,
    "mil": 1e6,
    "mln": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}
POW2 = {2, 4, 8, 16, 32, 64, 128, 256, 512}


@dataclass
class Quantity:
    """One figure with its reading. ``kind`` names the unit family (listed above)."""

    kind: str  # see the list above
    value: float
    start: int  # span in the prepared text
    end: int
    lo: float | None = None  # a range's ends
    hi: float | None = None
    approx: bool = False  # "about 50M"
    bound: str | None = None  # "max" ("under 10B", "up to $500") or "min" ("at least 48 GB")
    detail: str | None = None  # e.g. "input"/"output" for prices and shares, "year" for yearly money, a rate's period
    negated: bool = False  # "not 500M", "instead of 3": a figure the message takes back


# kinds: users, tokens_month, tokens, tokens_per_s, context, memory_gb, gpu_count, usd_per_hour, usd_per_kwh,
# usd_per_mtok, usd_month, usd, percent, months, concurrency, batch, top_k, params_b, ratio, bandwidth_gbps, bits
# ("8-bit"), rate (messages or requests per period: detail is the period), tokens_each (tokens per message or
# request), and count (no unit)


# ------------------------------------------------------------------ preparing the text

_PLAIN_PUNCTUATION = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "−": "-",
        "×": "x",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "≤": "<=",
        "≥": ">=",
        "\u00a0": " ",
        "\u202f": " ",
    }
)


def prepare(text: str) -> str:
    """Lower case, plain punctuation, no thousands separators, number words as digits."""
    t = text.lower()
    t = t.translate(_PLAIN_PUNCTUATION)
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", t)  # 800,000 -> 800000
    t = re.sub(r"(?<=\d)_(?=\d{3}(?!\d))", "", t)  # 10_000_000
    t = re.sub(r"(?<=\d) (?=\d{3}(?![\d.]))(?=\d{3} ?\d{3})", "", t)  # 1 000 000 (two groups at least)
    t = re.sub(r"\bper ?cent\b", "percent", t)
    t = re.sub(r"(?<![a-z\d])(\d{1,3})x(?=[a-z])", r"\1x ", t)  # "4xL40S" -> "4x l40s"
    t = _words_to_digits(t)
    # "between 1 and 2 million" -> "1-2 million" (a range; "1 and 2" elsewhere are two figures)
    return re.sub(
        r"\bbetween ([$€£]?\d+(?:\.\d+)?\s?[a-z]{0,8}?)\s?and\s?(?=[$€£]?\d)",
        lambda m: "between " + m.group(1).strip() + "-",
        t,
    )


def _words_to_digits(t: str) -> str:
    out: list[str] = []
    pos = 0
    tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z]+(?:-[a-z]+)?|\d+(?:\.\d+)?|[^\sa-z\d]", t)]
    i = 0
    while i < len(tokens):
        word, start, end = tokens[i]
        value, used = _idiom(tokens, i)
        if (
            value is None
            and word[0].isalpha()
            and _is_number_run(word)
            and not (word in SCALES and (not out or i == 0 or tokens[i - 1][0][0].isdigit()))
        ):
            value, used = _number_words(tokens, i)
        if value is not None and used:
            end = tokens[i + used - 1][2]
            out.append(t[pos:start])
            out.append(str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0"))
            pos = end
            i += used
            continue
        i += 1
    out.append(t[pos:])
    return "".join(out)


def _idiom(tokens: list[tuple[str, int, int]], i: int) -> tuple[float | None, int]:
    """A number said as an idiom at token i, and how many tokens it takes: "half a billion", "a quarter of a
    million", "a million", "a dozen", "a couple of", "a pair of", "dual", "quad"."""
    word = tokens[i][0]
    nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
    nxt2 = tokens[i + 2][0] if i + 2 < len(tokens) else ""
    if word == "half" and nxt in ("a", "an") and nxt2 in SCALES:
        return 0.5 * SCALES[nxt2], 3
    if (
        word in ("a", "an")
        and nxt == "quarter"
        and nxt2 == "of"
        and i + 4 < len(tokens)
        and tokens[i + 3][0] in ("a", "an")
        and tokens[i + 4][0] in SCALES
    ):
        return 0.25 * SCALES[tokens[i + 4][0]], 5
    if word in ("a", "an") and nxt in ("million", "billion", "thousand", "hundred", "trillion"):
        return SCALES[nxt], 2
    if word in ("a", "an") and nxt == "dozen":
        return 12, 2
    if word in ("a", "an") and nxt in ("couple", "pair") and nxt2 == "of":
        return 2, 3
    if word in ("dual", "twin", "double") and nxt not in ("check", "the", "it"):
        return 2, 1
    if word in ("single", "quad") and nxt not in ("the", "it"):
        return (1 if word == "single" else 4), 1
    return None, 0


def _number_words(tokens: list[tuple[str, int, int]], i: int) -> tuple[float | None, int]:
    """The number that number words from token i spell ("two hundred and fifty"), and how many tokens they take;
    None for a bare scale ("800 million": read with its digits) or a "one" that is no figure."""
    j = i
    words: list[str] = []
    while j < len(tokens) and (
        _is_number_run(tokens[j][0])
        or (tokens[j][0] == "and" and words and j + 1 < len(tokens) and _is_number_run(tokens[j + 1][0]))
    ):
        words.append(tokens[j][0])
        j += 1
    phrase = " ".join(words)
    prev = tokens[i - 1][0] if i > 0 else ""
    nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
    if all(w in SCALES for w in words):
        return None, 0
    if phrase == "one" and (
        prev in _NOT_FIGURE_BEFORE_ONE or nxt in ("of", "or", "more", "another", "model", "to", "thing", "question", "")
    ):
        return None, 0
    try:
        return float(text2num(phrase.replace("-", " "), "en")), j - i
    except ValueError:
        return None, 0


def _is_number_run(word: str) -> bool:
    parts = word.split("-")
    return all(p in NUMBER_WORDS for p in parts)


def mask(prepared: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace catalog-name spans by placeholders of the same length ("GPU", "MODEL", ...), keeping offsets."""
    chars = list(prepared)
    for start, end, label in spans:
        width = end - start
        fill = (label.upper() + " " * width)[:width] if width >= len(label) else "#" * width
        chars[start:end] = fill
    return "".join(chars)


# ------------------------------------------------------------------ reading figures

_FIGURE = re.compile(
    r"(?P<cur>[$€£]|usd ?|eur ?|gbp ?)?"
    r"(?P<a>\d+(?:\.\d+)?)(?: ?(?P<sa>k|thousands?|mn|mm|mln|mio|mil|millions?|bn|billions?|trillion|[kmbt])\b)?"
    r"(?:(?: ?(?:-|to) ?)(?P<cur2>[$€£])?(?P<b>\d+(?:\.\d+)?)(?: ?(?P<sb>k|thousands?|mn|mm|mln|mio|mil|millions?|bn|"
    r"billions?|trillion|[kmbt])\b)?)?"
    r"(?P<plus>\+)?"
)
_APPROX = re.compile(
    r"(?:about|around|roughly|approximately|approx\.?|~|circa|some|nearly|almost|ca\.?|like|maybe|perhaps|est\.?|"
    r"estimated)\s*$"
)
_MAX = re.compile(
    r"(?:under|below|less than|up to|upto|at most|max(?:imum)?|no more than|not more than|within|<=?|"
    r"smaller than|lower than|cap(?:ped)? at|limit(?:ed)? to|max of|ceiling of|not exceed(?:ing)?)\s*(?:of\s*)?$"
)
_MIN = re.compile(
    r"(?:over|more than|above|at least|min(?:imum)?|>=?|no less than|upwards of|exceeding|beyond)\s*(?:of\s*)?$"
)

USER_WORDS = (
    r"(?:monthly |active |daily |weekly |registered |paying |end[- ])*(?:users?|maus?|customers?|people|"
    r"subscribers?|members?|employees?|seats?|visitors?|accounts?|players?|students?|patients?|clients?|"
    r"monthly actives?|actives|installs|downloads)"
)
# what a rate counts ("25 messages a day", "1,200 requests an hour", "90 req/min")
ITEMS = (
    r"(?:messages?|msgs?|questions?|queries|query|prompts?|chats?|conversations?|requests?|reqs?|calls?|tasks?|"
    r"documents?|docs?|tickets?|emails?|sessions?|turns?|completions?|jobs?|searches|lookups?|summaries|replies)"
)
RATE_PERIOD = {
    "day": "day",
    "hour": "hour",
    "hr": "hour",
    "h": "hour",
    "minute": "minute",
    "min": "minute",
    "m": "minute",
    "second": "second",
    "sec": "second",
    "s": "second",
    "week": "week",
    "month": "month",
    "mo": "month",
}
PERIOD = {
    "month": 1.0,
    "mo": 1.0,
    "day": 30.0,
    "daily": 30.0,
    "week": 30 / 7,
    "weekly": 30 / 7,
    "year": 1 / 12,
    "yr": 1 / 12,
    "annually": 1 / 12,
    "yearly": 1 / 12,
    "monthly": 1.0,
    "hour": 730.0,
    "hr": 730.0,
}
_PER = r"(?:a|an|per|/|each|every|in a|a single)\s*"


def _scale(word: str | None) -> float:
    return SUFFIX.get((word or "").strip(), 1.0)


def context_tokens(value: float, scale_word: str | None) -> int:
    """'32k' context is 32,768 tokens and '1M' 1,048,576 (the usual binary sizes); other figures are taken as
    written."""
    s = (scale_word or "").strip()
    if s in ("k", "thousand") and value in POW2:
        return int(value * 1024)
    if s in ("m", "mn", "million") and value in (1, 2, 4, 10):
        return int(value * 1_048_576) if value != 10 else 10_000_000
    return int(value * _scale(s))


def quantities(prepared: str) -> list[Quantity]:
    """Every figure of a prepared (and masked) text, each with the kind its surroundings give it."""
    out: list[Quantity] = []
    for m in _FIGURE.finditer(prepared):
        start, end = m.start(), m.end()
        if start > 0 and (prepared[start - 1].isalnum() or prepared[start - 1] == ".") and not m.group("cur"):
            # inside a word or a name ("gpt4", "v0.3", "q4"): not a figure of its own; "x2" multipliers pass
            if not (prepared[start - 1] == "x" and (start < 2 or not prepared[start - 2].isalnum())):
                continue
        if (
            end < len(prepared)
            and prepared[end - 1].isdigit()
            and (prepared[end].isalpha() and not _unit_glued(prepared, end))
        ):
            continue
        q = _read(prepared, m)
        if q is not None:
            out.append(q)
    return out


def _unit_glued(text: str, end: int) -> bool:
    """A unit written onto a number: '24gb', '32k' (handled by the pattern), '4x', '60%', '2h'."""
    return bool(
        re.match(
            r"(gb|gib|g\b|gig|tb|x\b|h\b|hr|s\b|ms|tok|tps|yr|mo\b|mau|w\b|kw|months?|years?|days?|weeks?|"
            r"users|percent|pct|min|gpus?|cards?|nodes?|tokens?|k\b|m\b|b\b|t\b|bn|mn|st\b|nd\b|rd\b|th\b|"
            r"bit|cores?|vcpu)",
            text[end:],
        )
    )


def _read(t: str, m: re.Match) -> Quantity | None:
    a = float(m.group("a"))
    b = float(m.group("b")) if m.group("b") else None
    sa, sb = m.group("sa"), m.group("sb")
    start, end = m.start(), m.end()
    before = t[max(0, start - 40) : start]
    after = t[end : end + 60]
    if b is not None and b < a and not sb and not sa:
        return None  # "3-1" is no range
    scale_a = _scale(sa) if sa else (_scale(sb) if sb and b is not None else 1.0)
    scale_b = _scale(sb) if sb else scale_a
    lo, hi = a * scale_a, (b * scale_b if b is not None else None)
    value = hi if hi is not None else lo
    scale_word = sb if (b is not None and sb) else sa
    currency = m.group("cur") or m.group("cur2")
    approx = bool(_APPROX.search(before)) or bool(re.match(r"\s*(?:ish|or so|give or take)\b", after))
    # "48 GB or more", "80gb and up": a lower bound said after the figure
    plus_after = re.match(
        r"\s*(?:[a-z]{1,3}\s*)?(?:or (?:more|above|higher|bigger|larger|greater)|and (?:up|above))\b", after
    )
    bound = "max" if _MAX.search(before) else "min" if (_MIN.search(before) or m.group("plus") or plus_after) else None
    q = Quantity("count", value, start, end, lo if hi is not None else None, hi, approx, bound)
    q.negated = bool(
        re.search(r"(\bnot|instead of|rather than|in place of|\bnor)\s*(the\s*|a\s*|an\s*)?[$€£~]?$", before)
    )
    after_l = after.lstrip()
    low_scale = (scale_word or "").strip()
    around = _Around(t, start, before, after, after_l, value, a, b, scale_word, low_scale, currency)
    for classify in (_money_percent_ratio, _sizes, _rates, _context_or_volume, _load, _picks):
        found = classify(q, around)
        if found is _NO_FIGURE:
            return None
        if found is not None:
            return found
    return q


# What a classifier returns when the figure turns out to be none (a ratio that is not one); None: not this kind.
_NO_FIGURE = Quantity("none", 0.0, 0, 0)


@dataclass(frozen=True)
class _Around:
    """A figure in its surroundings: what the classifiers of :func:`_read` look at."""

    t: str
    start: int
    before: str  # up to 40 characters before the figure
    after: str  # up to 60 characters after it
    rest: str  # after, without its leading space
    value: float
    a: float
    b: float | None
    scale_word: str | None
    low_scale: str
    currency: str | None


def _money_percent_ratio(q: Quantity, w: _Around) -> Quantity | None:
    """Money, a percentage or an input:output ratio."""
    t, start, before, after, after_l, value, currency = w.t, w.start, w.before, w.after, w.rest, w.value, w.currency
    if currency or re.match(r"(usd|dollars?|bucks|eur|euros?|gbp|pounds?)\b|[€$£]", after_l):
        return _money(q, before, after_l, currency)
    if (
        not w.low_scale
        and w.value < 100
        and re.match(r"(?:an|a|per|/)\s*(?:gpu[- ]?)?(?:hour|hr|h)\b|/h\b|hourly\b", after_l)
        and (w.b is None)
        and (
            "." in t[start : start + 8].split()[0]
            or re.search(r"\b(at|for|costs?|pay|paying|price[ds]?|rent\w*)\s*$", before)
        )
    ):
        q.kind = "usd_per_hour"  # "H100s at 2.10 an hour": a price with the currency left out
        return q
    if re.match(r"(%|percent|pct)", after_l):
        q.kind, q.value = "percent", value / 100
        return q
    if re.match(r":\s*1\b", after) or re.match(r"/\s*\d{1,2}\s*(?:input|split|in)", after):
        ratio = _ratio(q, t, start)
        return _NO_FIGURE if ratio is None else ratio
    return None


def _sizes(q: Quantity, w: _Around) -> Quantity | None:
    """Parameters, bandwidth, memory, a GPU count or a speed."""
    before, after_l, value, low_scale = w.before, w.rest, w.value, w.low_scale
    if low_scale in ("b", "bn", "billion", "billions") and re.match(
        r"(-?\s*param|parameters?|models?\b|or (smaller|less|under)|max\b|dense|active)", after_l
    ):
        q.kind, q.value = "params_b", value / 1e9
        return q
    if re.match(
        r"(gb|gib|tb)\s*/\s*s\b|gbps\b|tbps\b|(gb|tb)/sec|(gigabytes?|terabytes?) (per|a|/) ?s(ec(ond)?)?\b", after_l
    ):
        q.kind = "bandwidth_gbps"
        if re.match(r"(tb|terabytes?)", after_l):
            q.value = value * 1000
        return q
    if re.match(r"-?\s*(bits?|bpw)\b", after_l):
        q.kind = "bits"  # "8-bit", "4 bit": a weight format, never a count of GPUs
        return q
    if re.match(r"(gb|gib|gig|gigs|gigabytes?|g\b|gbs)", after_l):
        q.kind = "memory_gb"
        return q
    if not w.low_scale and re.match(
        r"(?:x\s*|of\s*)?\d+(?:\.\d+)?\s*(?:gb|gib|gigs?|g\b)\s*(?:each\s*)?"
        r"(?:gpus?|cards?|graphics cards?|accelerators?"
        r"|devices?|vram)\b",
        after_l,
    ):
        q.kind = "gpu_count"  # "two 48gb cards", "3 x 24GB GPUs"
        return q
    if re.match(r"(tb|tib|terabytes?)\b", after_l):
        q.kind, q.value = "memory_gb", value * 1000
        return q
    if (
        re.match(r"(x\b|\*)\s*(gpu|[a-z]*\s*gpu)", after_l)
        or re.match(r"x?\s*(gpus?|cards?|graphics cards?|accelerators?)\b", after_l)
        or re.match(r"(x\s*)?gpu\b", after_l)
    ):
        q.kind = "gpu_count"
        return q
    if re.search(r"\bx\s*$", before[-3:]) and re.search(r"gpu\s*x\s*$", before):
        q.kind = "gpu_count"
        return q
    if re.match(r"(tokens?|toks?)\s*(/|per|a|an)\s*(s\b|sec|second)|(tok/s|t/s|tps|tokens/s)", after_l):
        q.kind = "tokens_per_s"
        return q
    return None


def _rates(q: Quantity, w: _Around) -> Quantity | None:
    """A rate ("25 messages a day", "1,200 requests an hour", "90 req/min", "5 rps") or tokens per item ("600 tokens
    per message", "1500 tokens each")."""
    after_l = w.rest
    m = re.match(
        r"(?:[a-z]+\s){0,2}?"
        + ITEMS
        + r"\s*(?:(?:each|apiece|a head|per (?:person|head|user))\s+)?(?:"  # "25 questions each per day"
        + _PER
        + r"|/\s*)(day|hour|hr|h|minute|min|second|sec|s|week|month|mo)\b",
        after_l,
    ) or re.match(r"(?:" + ITEMS + r"\s*)?(?:per\s*)?(?:r|q)p(m|s|h)\b", after_l)
    if m:
        q.kind, q.detail = "rate", RATE_PERIOD[m.group(1)]
        return q
    if re.match(
        r"(?:tokens?|toks?)\s*(?:(?:each|apiece)(?!\s+(?:month|day|week|year|hour|minute))|"
        r"(?:per|a|an|/|every|in each|in an?)\s*(?:user\s*)?" + ITEMS + r")\b",
        after_l,
    ):
        q.kind = "tokens_each"
        return q
    return None


def _context_or_volume(q: Quantity, w: _Around) -> Quantity | None:
    """A context length, tokens (a month, a day...), revenue or a monthly volume."""
    before, after_l, value, a, b, scale_word, low_scale = w.before, w.rest, w.value, w.a, w.b, w.scale_word, w.low_scale
    ctx = re.match(
        r"(?:-?token\s*|tokens?\s*(?:of\s*)?)?(context|ctx|context window|window|context length|prompts?\b)", after_l
    )
    if ctx or re.search(
        r"(context|ctx)(?: window| length| size)?\s*(?:of|:|=|is|up to|at|to|around|about)?\s*(?:~\s*)?$", before
    ):
        q.kind, q.value = "context", float(context_tokens(a if b is None else b, scale_word))
        return q
    per = re.match(
        r"(?:tokens?|toks?)\s*(?:monthly|"
        + _PER
        + r"(month|mo|day|week|year|yr|hour|hr)|(daily|weekly|yearly|annually))",
        after_l,
    ) or re.match(
        r"(?:tokens?|toks?)\b.{0,20}?\b(?:" + _PER + r"(month|mo|day|week|year)|(monthly|daily|weekly|yearly))\b",
        after_l,
    )
    if per:
        period = next((g for g in per.groups() if g), "month")
        q.kind, q.value = "tokens_month", value * PERIOD[period]
        return q
    if re.match(r"(tokens?|toks?)\b", after_l):
        q.kind = "tokens"
        return q
    if re.search(
        r"(revenue|turnover|income|earnings|sales|we (make|earn|bring in))\s*(of|is|:|=|around|about|~)?\s*$", before
    ) and not re.match(r"(tokens?|users?)", after_l):
        q.kind = "usd_month" if re.match(r"(/\s*mo(nth)?\b|(a|per|each|every) month\b|monthly\b)", after_l) else "usd"
        if q.kind == "usd" and re.match(r"(/\s*y(ea)?r\b|(a|per|each|every) year\b|annually|yearly)", after_l):
            q.kind, q.value, q.detail = "usd_month", value / 12, "year"
        return q
    if low_scale and re.match(
        r"(/\s*mo(nth)?\b|(a|per|each|every) month\b|monthly\b(?!\s*(active|actives|users|unique|visitors|customers)))",
        after_l,
    ):
        q.kind = "tokens_month"  # "100M/month": a volume
        return q
    if re.match(r"(?:" + _PER + r"(month|mo)\b|/mo\b|monthly\b)", after_l) and re.search(
        r"(volume|traffic|throughput)\s*(?:of|is|:)?\s*$", before
    ):
        q.kind = "tokens_month"
        return q
    return None


def _at_once(after: str) -> bool:
    """ "20 devs hitting it at once", "50 people using it at the same time": people (not devices) at the same time."""
    m = re.match(r"([a-z' ]{1,30}?)\s*(at once|at the same time|simultaneously|concurrently|in parallel)\b", after)
    return m is not None and not re.search(r"\b(gpus?|cards?|models?|nodes?|servers?|machines?|boxes|devices?)\b", m[1])


def _load(q: Quantity, w: _Around) -> Quantity | None:
    """Concurrency, users, a batch, or months and years of amortisation."""
    before, after_l, value = w.before, w.rest, w.value
    if (
        re.match(r"(concurrent|simultaneous|parallel)\b", after_l)
        or re.match(
            r"[a-z ]{0,20}?(requests?|users?|sessions?|streams?|chats?|conversations?|queries)\s*(at once|at the same "
            r"time|in parallel|concurrently|simultaneously)",
            after_l,
        )
        or _at_once(after_l)
        or re.search(r"(concurrency|concurrent (?:users|requests)|parallel requests)\s*(?:of|:|=|is)?\s*$", before)
    ):
        q.kind = "concurrency"
        return q
    if re.match(USER_WORDS + r"\b(?![\s-]*models?\b)", after_l) or re.search(
        r"\b(mau|maus|monthly active users|user base|users)\s*(?:of|:|=|is|are|around|about|~)?\s*$", before
    ):
        q.kind = "users"
        return q
    if re.search(r"batch(?: size)?\s*(?:of|:|=|is)?\s*$", before) or re.match(
        r"(sequences|requests) (per|in a) batch|batch\b", after_l
    ):
        q.kind = "batch"
        return q
    if re.match(r"(months?|mos)\b", after_l) and re.search(
        r"(over|amorti[sz]|write|written|depreciat|lifetime|for)\b[^.]{0,25}$", before
    ):
        q.kind = "months"
        return q
    if (
        re.match(r"(years?|yrs?)\b", after_l)
        and re.search(r"(over|amorti[sz]|write|written|depreciat|lifetime|keep|for)\b[^.]{0,25}$", before + " ")
        or re.match(r"-?years?\s*(amorti[sz]|depreciat|lifetime|write)", after_l)
    ):
        q.kind, q.value = "months", value * 12
        return q
    return None


def _picks(q: Quantity, w: _Around) -> Quantity | None:
    """How many picks to show, or a size limit ("under 10B")."""
    before, after_l, value, low_scale = w.before, w.rest, w.value, w.low_scale
    if (
        re.search(r"\btop\s*$", before)
        or re.match(r"(?:\w+\s)?(models|options|candidates|picks|recommendations|suggestions|choices)\b", after_l)
        and re.search(
            r"(top|best|give me|show me|list|recommend|suggest|shortlist|pick|choose|name)\b[^.]{0,15}$", before
        )
    ):
        q.kind = "top_k"
        return q
    if low_scale in ("b", "bn") and q.bound == "max":
        q.kind, q.value = "params_b", value / 1e9  # "under 10B"
        return q
    return None


def _money(q: Quantity, before: str, after: str, currency: str | None) -> Quantity:
    q.detail = (
        "eur" if (currency and ("€" in currency or "eur" in currency)) or re.match(r"(eur|euros?|€)", after) else None
    )
    rest = re.sub(r"^(usd|dollars?|bucks|eur|euros?|€|\$|gbp|pounds?)\s*", "", after)
    if re.match(r"(?:" + _PER + r"|)(kwh|kilowatt)", rest):
        q.kind = "usd_per_kwh"
    elif re.match(r"(?:" + _PER + r"|)(?:gpu[- ]?)?(hour|hr|h)\b|/h\b|hourly|an hour", rest):
        q.kind = "usd_per_hour"
    elif re.match(
        r"(?:" + _PER + r"|for\s*)(?:1\s*m|1m|one million|million|mtok|m\b|1000000)\s*(?:(input|output|prompt|"
        r"completion)\s*)?(?:tokens?|toks?)?",
        rest,
    ) or re.match(r"/\s*(?:1\s*)?m(tok)?\b", rest):
        q.kind = "usd_per_mtok"
        side = re.search(r"\b(input|prompt|output|completion)\b", rest[:40] + " " + before[-20:])
        q.detail = {"prompt": "input", "completion": "output"}.get(side.group(1), side.group(1)) if side else None
    elif re.match(r"(?:" + _PER + r"|)(month|mo)\b|monthly|/mo\b", rest) or re.search(
        r"monthly\s*(?:budget|spend|cost)?\s*(?:of|is|:)?\s*$", before
    ):
        q.kind = "usd_month"
    elif re.match(r"(?:" + _PER + r"|)(year|yr)\b|yearly|annually|/yr|per annum", rest) or re.search(
        r"(yearly|annual)\s*(?:budget|spend)?\s*(?:of|is|:)?\s*$", before
    ):
        q.kind, q.value, q.detail = "usd_month", q.value / 12, "year"
    else:
        q.kind = "usd"
    return q


def _ratio(q: Quantity, t: str, start: int) -> Quantity | None:
    m = re.match(r"(\d+(?:\.\d+)?)\s*(?::|/)\s*(\d+(?:\.\d+)?)", t[start:])
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    if a + b <= 0:
        return None
    around = t[max(0, start - 40) : start + 60]
    share = a / (a + b)
    if re.search(r"output\s*(?:to|:|/)\s*input", around):
        share = 1 - share
    q.kind, q.value, q.end = "ratio", share, start + m.end()
    return q


def first(qs: list[Quantity], kind: str) -> Quantity | None:
    return next((q for q in qs if q.kind == kind), None)
