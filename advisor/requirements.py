"""Read deployment requirements out of what a user writes, deterministically.

Every driver uses this to keep the conversation's requirements state (shown in the UI); the
offline driver also plans its tool calls from it. Later statements override earlier ones, so a
correction ("actually non-commercial", "we have two 4090s") updates the state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from catalog.query import normalize

NUMBER_WORDS = {"one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "dual": 2, "pair": 2, "three": 3, "four": 4,
                "five": 5, "six": 6, "seven": 7, "eight": 8, "sixteen": 16}
SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6, "b": 1e9, "bn": 1e9,
         "billion": 1e9, "billions": 1e9}
USE_CASE_WORDS = [
    ("customer_service", r"customer[- ]?(service|support|care)|help ?desk|support (bot|agent|chat)|call cent(er|re)|ticket"),
    ("code", r"\bcod(e|ing|er)\b|programming|software engineer|developer assistant|copilot|code review|autocomplet"),
    ("math", r"\bmath(s|ematics)?\b|arithmetic|calculus"),
    ("reasoning", r"reasoning|logic puzzles|step[- ]by[- ]step|hard problems|\bscience\b"),
    ("rag", r"\brag\b|retrieval|knowledge base|search over|our documents|internal docs|question answering over"),
    ("long_context", r"long (documents?|contexts?|reports?)|summari[sz]|contracts|whole books?|legal documents"),
    ("multilingual", r"multilingual|translat|many languages|several languages"),
    ("tool_use", r"\bagents?\b|agentic|function[- ]calling|tool[- ]?(use|calling)"),
    ("edge", r"\bedge\b|on[- ]device|mobile|phone|raspberry|embedded"),
    ("chat", r"\bchat(bot)?\b|assistant"),
]
LANGUAGES = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt",
    "hindi": "hi", "thai": "th", "chinese": "zh", "mandarin": "zh", "japanese": "ja", "korean": "ko", "arabic": "ar",
    "russian": "ru", "dutch": "nl", "polish": "pl", "turkish": "tr", "vietnamese": "vi", "indonesian": "id",
    "swedish": "sv", "danish": "da", "finnish": "fi", "norwegian": "no", "czech": "cs", "greek": "el", "hebrew": "he",
    "ukrainian": "uk", "romanian": "ro", "hungarian": "hu",
}
EU_COUNTRIES = r"\b(eu|european union|europe|germany|france|spain|italy|netherlands|belgium|austria|ireland|poland|sweden|denmark|finland|portugal|greece|czechia|czech republic|romania|hungary|luxembourg|slovakia|slovenia|croatia|bulgaria|estonia|latvia|lithuania|cyprus|malta)\b"


@dataclass
class Mentions:
    models: list[str] = field(default_factory=list)
    gpus: list[tuple[str, int | None]] = field(default_factory=list)  # (gpu id, count if stated)
    families: list[str] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)  # proprietary API price ids


class _Scanner:
    """Find catalog names inside free text: the longest token runs that match a model or GPU name."""

    def __init__(self) -> None:
        from catalog.loader import model_names
        from tools.common import catalog

        cat = catalog()
        self.models: dict[tuple[str, ...], str] = {}
        for m in cat.models.values():
            for name in model_names(m):
                toks = tuple(normalize(name).split())
                if toks:
                    self.models.setdefault(toks, m.id)
                    loose = tuple(t for t in toks if t not in ("instruct", "chat", "it", "hf", "meta"))
                    if len(loose) >= 2:
                        self.models.setdefault(loose, m.id)
        self.gpus: dict[tuple[str, ...], str] = {}
        for g in cat.gpus.values():
            for name in [g.id, g.name, *g.aliases]:
                toks = tuple(normalize(name).split())
                if toks:
                    self.gpus.setdefault(toks, g.id)
                    if toks[0] == "nvidia" and len(toks) > 1:
                        self.gpus.setdefault(toks[1:], g.id)
        self.families: dict[tuple[str, ...], str] = {}
        for f in cat.families.values():
            for name in (f.id, f.name):
                toks = tuple(normalize(name).split())
                if toks:
                    self.families.setdefault(toks, f.id)
        # proprietary API offers, by name ("GPT-4o mini", "gpt-4o-mini", "Claude Haiku")
        self.apis: dict[tuple[str, ...], str] = {}
        short: dict[tuple[str, ...], set[str]] = {}
        for p in cat.prices.values():
            if p.kind != "proprietary":
                continue
            for name in (p.model_name, p.id.split("/", 1)[-1]):
                toks = tuple(normalize(name).split())
                self.apis.setdefault(toks, p.id)
                bare = tuple(t for t in toks if not t[0].isdigit())
                if len(bare) >= 2:
                    short.setdefault(bare, set()).add(p.id)
        for toks, ids in short.items():
            if len(ids) == 1:
                self.apis.setdefault(toks, next(iter(ids)))
        self.max_len = max(len(k) for k in [*self.models, *self.gpus, *self.apis, (0,)])

    def scan(self, text: str) -> Mentions:
        toks = normalize(text).split()
        out = Mentions()
        i = 0
        while i < len(toks):
            hit = None
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                key = tuple(toks[i:i + n])
                if key in self.apis and (n > 1 or key[0] in ("o3",)):
                    hit = ("api", self.apis[key], n)
                    break
                if key in self.models:
                    hit = ("model", self.models[key], n)
                    break
                if key in self.gpus:
                    hit = ("gpu", self.gpus[key], n)
                    break
                if key in self.families and n >= 1:
                    hit = ("family", self.families[key], n)
                    break
            if hit is None:
                i += 1
                continue
            kind, ident, n = hit
            if kind == "api" and ident not in out.apis:
                out.apis.append(ident)
            elif kind == "model" and ident not in out.models:
                out.models.append(ident)
            elif kind == "family" and ident not in out.families:
                out.families.append(ident)
            elif kind == "gpu":
                count = _count_before(toks, i)
                # "4090s" normalizes to "4090 s": a plural after the name also says "more than one"
                plural = i + n < len(toks) and toks[i + n] == "s"
                out.gpus.append((ident, count if count is not None else (None if plural else 1)))
            i += n
        return out


_scanner: _Scanner | None = None


def scanner() -> _Scanner:
    global _scanner
    from tools.common import catalog

    if _scanner is None or getattr(_scanner, "_catalog", None) is not catalog():
        _scanner = _Scanner()
        _scanner._catalog = catalog()
    return _scanner


def _count_before(toks: list[str], i: int) -> int | None:
    for back in (1, 2):
        if i - back < 0:
            break
        t = toks[i - back]
        if t.isdigit() and 0 < int(t) <= 64:
            return int(t)
        if t in NUMBER_WORDS:
            return NUMBER_WORDS[t]
        if t not in ("x", "nvidia", "rtx", "geforce", "of", "the"):
            break
    return None


def _number(text: str, unit: str | None) -> float:
    value = float(text.replace(",", "").replace("_", ""))
    if unit:
        value *= SCALE.get(unit.lower(), 1)
    return value


_NUM = r"(\d[\d,_]*(?:\.\d+)?)"
_UNIT = r"\s*(k|m|mn|b|bn|thousand|millions?|billions?)?\b"


def extract(text: str) -> dict:
    """Requirements stated in one message, as a dict of only the fields it states."""
    t = text.lower()
    req: dict = {}

    # use case (first match in priority order, customer service before chat)
    for name, pattern in USE_CASE_WORDS:
        if re.search(pattern, t):
            req["use_case"] = name
            break

    # hardware
    mentions = scanner().scan(text)
    if mentions.gpus:
        gid, count = mentions.gpus[-1]
        req["gpu"] = gid
        if count is not None:
            req["num_gpus"] = count  # "H100s" with no number leaves the count to the tools
    m = re.search(r"(\d{1,4}(?:\.\d)?)\s*(?:gb|gib|g)\b\s*(?:of\s+)?(?:vram|gpu|graphics|video memory|card)?", t)
    if m and not mentions.gpus and re.search(r"vram|gpu|graphics|card|video memory|memory", t):
        req["vram_gb"] = float(m.group(1))
    mac = re.search(r"\b(mac ?book|mac ?studio|mac ?mini|imac|\bmac\b|apple silicon|m[1-4] (pro|max|ultra))", t)
    if mac and not mentions.gpus:
        m = re.search(r"(\d{1,3})\s*(?:gb|gib|g)\b", t)
        if m:
            req["vram_gb"] = float(m.group(1))
        req["hardware"] = "apple"
    if re.search(r"\b(no gpu|without (a )?gpu|cpu[- ]only|don'?t have (a|any) gpu|only (a )?cpu)\b", t):
        req["gpu"] = None
        req["hardware"] = "none"
    if re.search(r"\b(cloud|rent(ed|ing)?|aws|gcp|azure|runpod|lambda labs)\b", t) and "gpu" not in req:
        req["hardware"] = "cloud"

    # licence and commercial use
    if re.search(r"non[- ]?commercial|research (use )?only|personal (use|project)|hobby|academic|not for profit|nonprofit", t):
        req["commercial"] = False
    elif re.search(r"commercial|for (a|our) (product|business|startup|company|customers|clients)|\bsaas\b|monetiz|sell|paying customers|enterprise", t):
        req["commercial"] = True
    if re.search(r"apache|\bmit\b|permissive|truly open|osi[- ]approved|open[- ]source licen[cs]e", t):
        req["licenses"] = ["permissive"]
    if re.search(r"\bsaas\b|hosted service|as an api|offer (it|the model) (as|via)", t):
        req["hosted_service"] = True
    if re.search(r"(train|fine[- ]tune|distil+)\w* (other|our own|another|a smaller) models? (on|with|from) (its|the) outputs|synthetic data", t):
        req["use_outputs_to_train_other_models"] = True

    # users, context, volume, budget
    m = re.search(_NUM + _UNIT + r"\s*(monthly active users|mau|users|customers|active users)", t) or \
        re.search(r"(?:mau|monthly active users)\s*(?:of|:|=|is|are)?\s*" + _NUM + _UNIT, t)
    if m:
        req["monthly_active_users"] = int(_number(m.group(1), m.group(2)))
    m = re.search(_NUM + r"\s*(k|m)?\s*(?:tokens?\s+)?(?:of\s+)?context", t) or re.search(r"context (?:window |length )?(?:of\s+)?" + _NUM + r"\s*(k|m)?", t)
    if m:
        base = float(m.group(1).replace(",", ""))
        unit = (m.group(2) or "").lower()
        if unit == "m":
            value = base * 1_048_576 if base in (1, 2, 4, 10) else base * 1e6
        elif unit == "k" or base < 1000:
            # "32k" / "128k" context means 32,768 / 131,072 tokens; other sizes are read as thousands
            value = base * 1024 if base in (2, 4, 8, 16, 32, 64, 128, 256, 512) else base * 1000
        else:
            value = base
        req["min_context"] = int(value)
    m = re.search(_NUM + _UNIT + r"\s*tokens?\s*(?:a|per|/|each|every)\s*month", t) or \
        re.search(_NUM + _UNIT + r"\s*tokens?\s*monthly", t) or re.search(r"monthly (?:volume|tokens)[^0-9]{0,12}" + _NUM + _UNIT, t)
    if m:
        req["monthly_tokens"] = int(_number(m.group(1), m.group(2)))
    m = re.search(r"(?:budget|spend|up to|at most|under|max(?:imum)?)[^$\d]{0,20}\$\s?" + _NUM + _UNIT, t) or \
        re.search(r"\$\s?" + _NUM + _UNIT + r"\s*(?:a|per|/)\s*month", t)
    if m:
        req["budget_usd_per_month"] = round(_number(m.group(1), m.group(2)), 2)

    m = re.search(r"\$\s?(\d+(?:\.\d+)?)\s*(?:an|per|/|a)\s*(?:gpu[- ])?(?:hour|hr|h)\b", t) or \
        re.search(r"(\d+(?:\.\d+)?)\s*(?:usd|dollars?)\s*(?:an|per|/|a)\s*(?:gpu[- ])?(?:hour|hr|h)\b", t)
    if m:
        req["gpu_usd_per_hour"] = float(m.group(1))
    m = re.search(r"(\d{1,3})\s*%\s*(?:busy|utili[sz]ation|utili[sz]ed|of the time|load)", t) or \
        re.search(r"utili[sz]ation\s*(?:of|is|at|:)?\s*(\d{1,3})\s*%", t)
    if m and 0 < int(m.group(1)) <= 100:
        req["utilization"] = int(m.group(1)) / 100
    m = re.search(r"(\d{1,3})\s*%\s*(?:of (?:the )?tokens (?:are )?)?input", t) or re.search(r"input share\s*(?:of|is|:)?\s*(0?\.\d+)", t)
    if m:
        v = float(m.group(1))
        req["input_share"] = v / 100 if v > 1 else v

    # privacy and location
    if re.search(r"on[- ]?prem|data (can(no|')t|must not|may not|should not) leave|air[- ]?gapped|self[- ]host|private data|confidential|gdpr|hipaa|privacy", t):
        req["privacy"] = "self_hosted"
    if re.search(r"(based|located|company|we are|we're|headquartered|incorporated)\b[^.]{0,30}" + EU_COUNTRIES, t) or re.search(r"\beu[- ]based\b|\beu (company|entity)\b", t):
        req["eu_entity"] = True
    langs = [code for word, code in LANGUAGES.items() if re.search(rf"\b{word}\b", t)]
    if langs:
        req["languages"] = sorted(set(langs))

    if re.search(r"just recommend|skip the questions|no more questions|don'?t ask|go ahead|whatever you think|just (pick|choose|tell)|any is fine|you decide", t):
        req["proceed"] = True
    if mentions.models:
        req["mentioned_models"] = mentions.models
    if mentions.families:
        req["mentioned_families"] = mentions.families
    if mentions.apis:
        req["api_models"] = mentions.apis
    return req


TRANSIENT = ("mentioned_models", "mentioned_families")


def merge(old: dict | None, new: dict | None) -> dict:
    """Reducer: later statements win; a None value clears a field (e.g. 'no GPU' clears the GPU)."""
    out = dict(old or {})
    for key in TRANSIENT:
        out.pop(key, None)
    for key, value in (new or {}).items():
        if key == "gpu" and value is None:
            out.pop("gpu", None)
            out.pop("num_gpus", None)
            continue
        if key == "vram_gb" and value:
            out.pop("gpu", None)  # a plain memory size replaces a named GPU
        if key == "use_case" and value == "chat" and out.get("use_case") == "customer_service":
            continue  # "a chatbot" does not undo "customer service"
        if key == "gpu" and value:
            out.pop("vram_gb", None)
            out.pop("hardware", None)
            if "num_gpus" not in (new or {}):
                out.pop("num_gpus", None)
        out[key] = value
    return out


ESSENTIALS = (
    ("use_case", "What will the model mainly do (for example customer-service chat, coding, document Q&A)?"),
    ("hardware", "What hardware will it run on: which GPU(s) and how many, or cloud / no GPU?"),
    ("commercial", "Is this for commercial use, and roughly how many monthly active users?"),
)


def missing_essentials(req: dict) -> list[tuple[str, str]]:
    out = []
    for key, question in ESSENTIALS:
        if key == "hardware":
            if req.get("gpu") or req.get("vram_gb") or req.get("hardware"):
                continue
        elif key in req:
            continue
        out.append((key, question))
    return out


def describe(req: dict) -> list[str]:
    """Human-readable lines for the requirements panel."""
    labels = {
        "use_case": "Use case", "gpu": "GPU", "num_gpus": "GPUs", "vram_gb": "GPU memory (GB)", "hardware": "Hardware",
        "commercial": "Commercial use", "monthly_active_users": "Monthly active users", "licenses": "Licences",
        "min_context": "Context (tokens)", "monthly_tokens": "Tokens a month", "budget_usd_per_month": "Budget ($/month)",
        "privacy": "Privacy", "languages": "Languages", "eu_entity": "Based in the EU", "hosted_service": "Offered as a service",
        "use_outputs_to_train_other_models": "Train other models on outputs", "proceed": "Proceed without more questions",
        "api_models": "APIs to compare", "gpu_usd_per_hour": "GPU price ($/hour)", "utilization": "GPU utilisation",
        "input_share": "Input share of tokens",
    }
    from tools.common import catalog

    def show(key, value):
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key == "gpu" and value in catalog().gpus:
            return catalog().gpus[value].name
        if isinstance(value, int) and value >= 10_000:
            return f"{value:,}"
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value).replace("_", " ")

    return [f"{labels.get(k, k)}: {show(k, v)}" for k, v in req.items() if k not in TRANSIENT]
