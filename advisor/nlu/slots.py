"""Slots: the facts a message states, as requirement fields that map onto the tools' arguments.

``read_slots(prepared, original, mentions, qs, context)`` returns the fields one message states; a
field set to None is cleared ("forget the budget", "no GPU"). Numbers come from
advisor.nlu.quantities, names from advisor.nlu.entities; words ("not commercial", "we won't offer
it as an API", "fp8 KV cache", "on vLLM") are read here. A bare figure in a follow-up ("and at
100M?", "actually two") takes the meaning the previous turn gives it (``context``).
"""

from __future__ import annotations

import re
from typing import cast

from advisor.nlu.entities import Mention
from advisor.nlu.quantities import Quantity, context_tokens

USE_CASES = [
    (
        "customer_service",
        r"customer[- ]?(service|support|care|success)|help ?desk|support (bot|agent|chat|tickets?|team)|"
        r"call[- ]?cent(er|re)|tickets?\b|service desk|faq bot|answer(ing)? (our )?customers",
    ),
    (
        "code",
        r"\bcod(e|ing|er|ers)\b|programming|software (engineer|develop)|developer (assistant|tool)|copilot|code review|"
        r"autocomplet|\bide\b|pull requests?|refactor|write (python|java|sql|rust|go)\b|sql generation|text[- ]to[- "
        r"]sql|devs?\b",
    ),
    ("math", r"\bmath(s|ematics|ematical)?\b(?! benchmark)|arithmetic|calculus|algebra|olympiad"),
    (
        "reasoning",
        r"\breasoning\b|logic puzzles|step[- ]by[- ]step|hard problems|\bscience\b|thinking model|chain[- ]of[- "
        r"]thought",
    ),
    (
        "rag",
        r"\brag\b|retrieval|knowledge base|search over|our (own )?(docs|documents|wiki|manuals|pdfs)|internal (docs|"
        r"documents|wiki)|"
        r"question answering over|q&a over|document q&?a|semantic search|grounded answers|"
        r"answer(ing)? questions (over|about|from|on|using) (our|the|internal|company)|(pdf|pdfs|manuals|handbooks?|"
        r"policies|wiki) (q&a|search|questions)|"
        r"our (\w+ )?(manuals|pdfs|documents|docs|wiki|handbooks?|policies|knowledge)",
    ),
    (
        "long_context",
        r"long (documents?|contexts?|reports?|files|transcripts)|summari[sz]|contracts|whole books?|legal documents|"
        r"entire (codebase|books?|reports?)|very long",
    ),
    ("multilingual", r"multilingual|translat|many languages|several languages|multiple languages|non[- ]english"),
    ("tool_use", r"\bagents?\b|agentic|function[- ]calling|tool[- ]?(use|calling|calls)|\bmcp\b|calls? (our )?apis"),
    ("edge", r"\bedge\b|on[- ]device|mobile|phones?\b|raspberry|embedded|laptop[- ]only|offline device|iot\b|jetson"),
    ("chat", r"\bchat(bot|bots|ting)?\b|assistant|conversational|companion"),
    (
        "general",
        r"\bwriting\b|help (me )?(to )?write|drafting|\bemails?\b|essays?|copywriting|blog posts?|general[- ]purpose|"
        r"all[- ]rounder|everyday (use|tasks)|"
        # "the best model I can run on a mac studio": no task named, the best overall for the device
        r"\b(best|biggest|strongest|smartest|most capable)\s+(open\s+)?(model|llm)s?\s+(that\s+)?(i|we)\s+"
        r"(can|could)\s+(run|fit|host)\b|\bwhat\s+((open\s+)?(models?|llms?)\s+)?(can|could)\s+(i|we)\s+(run|fit|host)\b",
    ),
]
LANGUAGES = {
    "english": "en",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "hindi": "hi",
    "thai": "th",
    "chinese": "zh",
    "mandarin": "zh",
    "japanese": "ja",
    "korean": "ko",
    "arabic": "ar",
    "russian": "ru",
    "dutch": "nl",
    "polish": "pl",
    "turkish": "tr",
    "vietnamese": "vi",
    "indonesian": "id",
    "swedish": "sv",
    "danish": "da",
    "finnish": "fi",
    "norwegian": "no",
    "czech": "cs",
    "greek": "el",
    "hebrew": "he",
    "ukrainian": "uk",
    "romanian": "ro",
    "hungarian": "hu",
    "bengali": "bn",
    "urdu": "ur",
    "persian": "fa",
    "farsi": "fa",
    "malay": "ms",
    "tagalog": "tl",
    "swahili": "sw",
}


def _places() -> dict[str, dict]:
    """data/places.yaml: each territory's code, whether it is in the EU, and its names (countries, cities)."""
    from pathlib import Path

    import yaml

    return yaml.safe_load((Path(__file__).resolve().parent / "data" / "places.yaml").read_text(encoding="utf-8"))


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


PLACES = _places()
EU = "(" + _alternation([n for p in PLACES.values() if p["eu"] for n in p["names"]]) + ")"
NON_EU = "(" + _alternation([n for p in PLACES.values() if not p["eu"] for n in p["names"]]) + ")"

# engine words -> engine values of the tools (values the tools do not accept are kept in the state but not passed)
ENGINES = [
    (r"\bvllm\b", "vllm"),
    (r"\bsglang\b", "sglang"),
    (r"\bollama\b", "ollama"),
    (r"\bllama[ .\-_]?cpp\b|\bllamacpp\b|\blm ?studio\b|\bllama-server\b|\bkoboldcpp\b", "llama.cpp"),
    (r"\bmlx(?:[- ]lm)?\b", "mlx"),
    (r"\bexllama(?: ?v?[23])?\b|\btabby ?api\b", "exllama"),
    (r"\btensorrt(?:[- ]llm)?\b|\btrt[- ]?llm\b|\btriton\b", "tensorrt-llm"),
    (r"\b(?:hugging ?face |hf )?transformers\b(?! architecture)", "transformers"),
]
KV = {
    "fp8": "fp8",
    "int8": "int8",
    "q8": "q8_0",
    "q8_0": "q8_0",
    "q4": "q4_0",
    "q4_0": "q4_0",
    "fp16": "fp16",
    "bf16": "bf16",
    "8-bit": "int8",
    "8 bit": "int8",
    "4-bit": "q4_0",
    "4 bit": "q4_0",
}
SEGMENTS = [
    (r"consumer|gaming|geforce|desktop", "consumer"),
    (r"data ?cent(er|re)|server|datacenter|cloud gpus|enterprise", "datacenter"),
    (r"workstation|pro cards", "workstation"),
    (r"apple|macs?\b|m[1-4] chips", "apple"),
]
SPECIALTIES = ("chat", "code", "math", "reasoning", "multilingual", "long_context", "edge", "vision", "tool_use")

NEG = r"(?:not|n't|no|never|without|nor|non[- ]?)"
# phrases that clear a field: "forget the budget", "ignore the GPU", "no longer need 32k context"
CLEARABLE = [
    (r"budget|spend(ing)? (cap|limit)|price limit|cost (cap|limit)", ("budget_usd_per_month",)),
    (
        r"gpus?|hardware|cards?|graphics card|vram",
        ("gpu", "num_gpus", "vram_gb", "hardware", "unified_memory", "device_class", "cpu_cores"),
    ),
    (r"context( window| length)?|long context", ("min_context",)),
    (r"licen[cs]es?( constraint| filter| requirement)?|apache|mit|permissive", ("licenses",)),
    (r"(the )?(user|mau|users?) (count|number|figure)|users|mau", ("monthly_active_users",)),
    (r"(token )?volume|tokens?( a month| per month)?|traffic", ("monthly_tokens",)),
    (r"engine|vllm|ollama|llama\.?cpp|sglang|mlx", ("engine",)),
    (r"quanti[sz]ation|format|4[- ]?bit|8[- ]?bit|quant", ("quantization",)),
    (r"benchmarks?( subset| list)?", ("benchmarks",)),
    (r"languages?", ("languages",)),
    (r"(gpu )?(hourly )?price|hourly rate|\$/h(our)?", ("gpu_usd_per_hour",)),
    (r"utili[sz]ation", ("utilization",)),
    (r"input share|input/output split|split", ("input_share",)),
    (r"apis?( comparison)?|gpt|claude|gemini", ("api_models",)),
    (r"eu( part| thing)?|europe", ("eu_entity", "territories")),
    (r"revenue( figure)?|turnover", ("monthly_revenue_usd",)),
    (r"privacy|on[- ]?prem", ("privacy",)),
    (r"kv[- ]?cache( type| dtype)?", ("kv_cache_dtype",)),
    (r"(size|parameter) (limit|cap)|size constraint", ("max_params_b",)),
    (r"concurrency|concurrent users", ("concurrency",)),
    (r"use[- ]?case", ("use_case",)),
]
CLEAR_VERB = (
    r"(?:forget|ignore|drop|remove|scrap|clear|disregard|skip|never ?mind|no longer (?:need|care about|want|have)|"
    r"don'?t (?:care about|need|worry about|have)|doesn'?t matter|do(?:es)? not matter|without|no more|reset|lose|"
    r"ditch|get rid of)"
)


def _has(pattern: str, t: str) -> bool:
    return re.search(pattern, t) is not None


def read_slots(
    t: str, original: str, mentions: list[Mention], qs: list[Quantity], context: dict | None = None
) -> tuple[dict, list[str]]:
    """(fields stated by the message, contradictions found in it)."""
    ctx = context or {}
    req: dict = {}
    conflicts: list[str] = []
    qs = [q for q in qs if not q.negated]  # "50M, not 500M": the figure taken back is no fact
    _use_case(t, req)
    _hardware(t, mentions, qs, req, conflicts)
    _memory_variants(t, mentions, qs, req, ctx)
    _cpu_server(t, mentions, qs, req, ctx)
    _licence_facts(t, req, conflicts)
    _figures(t, qs, req, ctx)
    _serving(t, original, req, mentions)
    _place_and_people(t, req)
    _clears(t, req)
    if _has(
        r"just recommend|skip the questions|no more questions|don'?t ask|go ahead|whatever you think|just (pick|choose|"
        r"tell|give)|"
        r"any is fine|you decide|up to you|your call|surprise me|doesn'?t matter,? just|assume the rest",
        t,
    ):
        req["proceed"] = True
    return req, conflicts


def _use_case(t: str, req: dict) -> None:
    for name, pattern in USE_CASES:
        if _has(pattern, t) and not _has(r"\b(not|no) (for |a |an )?(?:" + pattern + ")", t):
            req["use_case"] = name
            break
    pair = _two_of(t, lambda part: next((n for n, p in USE_CASES if _has(p, part)), None))
    if pair and req.get("use_case") in pair:
        req["use_case"], req["both"] = pair[0], {"use_case": list(pair)}  # "coding and math": a shortlist for each


def _two_of(t: str, read) -> tuple[str, str] | None:
    """Two values of one kind joined in a message ("fp8 vs int4", "coding and math", "for code or for maths"):
    each side of the joining word read on its own, the two different."""
    for m in re.finditer(r"\s(?:vs\.?|versus|or|and|against|compared (?:to|with))\s", t):
        left, right = read(t[max(0, m.start() - 14) : m.start()]), read(t[m.end() : m.end() + 14])
        if left and right and left != right and read(t[max(0, m.start() - 14) : m.end() + 14]) in (left, right):
            return left, right
    return None


def _hardware(t: str, mentions: list[Mention], qs: list[Quantity], req: dict, conflicts: list[str]) -> None:
    gpus = [m for m in mentions if m.kind == "gpu" and m.id and not _negated(t, m.start)]
    if gpus:
        g = gpus[-1]
        req["gpu"] = g.id
        if g.count is not None:
            req["num_gpus"] = g.count
        elif re.search(r"\b(a|an|one)\s+(\w+\s+){0,2}$", t[max(0, g.start - 24) : g.start]):
            req["num_gpus"] = None  # "a 4080 super", "an A100": one card (a bare "L40S" keeps the count stated)
        counts = {m.count for m in gpus if m.id == g.id and m.count is not None}
        if len(counts) > 1 and not _has(r"\bor\b|\bvs\.?\b|versus|instead|actually|rather", t):
            conflicts.append(f"the number of {g.text.upper()} GPUs ({' or '.join(str(c) for c in sorted(counts))})")
    mem = [q for q in qs if q.kind == "memory_gb"]
    if gpus and mem:
        _device_by_memory(gpus[-1], mem, req)
    gpu_count = next((q for q in qs if q.kind == "gpu_count"), None)
    # "an H100 box, 8 cards": the count stated beats the one card "an" implies
    if gpu_count is not None and req.get("num_gpus") is None and 0 < gpu_count.value <= 4096:
        req["num_gpus"] = int(gpu_count.value)
    _memory_and_apple(t, gpus, mem, req)
    _no_gpu_cloud_or_vision(t, req)
    if not gpus:
        _device_by_words(t, mentions, mem, req)


def _memory_and_apple(t: str, gpus: list[Mention], mem: list[Quantity], req: dict) -> None:
    """A memory size without a named GPU, and a Mac or another unified-memory device."""
    mac = re.search(
        r"\b(mac ?book( pro| air)?|mac ?studio|mac ?mini|imac|\bmac\b|apple silicon|m[1-5]( pro| max| ultra)?\b(?= "
        r"?(chip|with|\d)))",
        t,
    )
    if mem and not gpus and "vram_gb" not in req:
        vram = next(
            (
                q
                for q in mem
                if not re.search(r"\b(ram|system memory|disk|ssd|storage)\b(?! ?vram)", t[q.end : q.end + 20])
                or re.search(r"\b(vram|gpu|card|graphics|video|unified)\b", t[max(0, q.start - 30) : q.end + 30])
            ),
            None,
        )
        if vram is not None and (
            mac
            or _has(
                r"vram|gpu|graphics|card|video memory|memory|unified|\bgigs?\b|device|laptop|machine|box|"
                r"workstation|server|rig|budget card|accelerator|\bfits?\b|enough|\brun\b|\bload\b|\bhandle\b",
                t,
            )
        ):
            req["vram_gb"] = vram.value
    if mac and not req.get("gpu"):
        req["hardware"] = "apple"
        if "vram_gb" in req:
            req["unified_memory"] = True
    elif req.get("gpu"):
        from tools.common import catalog

        device = catalog().gpus.get(req["gpu"])
        if device is not None and getattr(device, "unified_memory", False):
            req["hardware"] = "apple" if device.segment == "apple" else req.get("hardware", "unified")


def _no_gpu_cloud_or_vision(t: str, req: dict) -> None:
    if _has(
        r"\b(no gpus?|without (a |any )?gpus?|cpu[- ]only|only (a |the )?cpus?|don'?t have (a |any )?gpus?|no graphics "
        r"card|"
        r"just (a )?cpu|on (the )?cpu|plain cpu|cpu server|no dedicated gpu)\b",
        t,
    ):
        req["gpu"] = None
        req["hardware"] = "none"
    if (
        _has(r"\b(cloud|rent(ed|ing)?|aws|gcp|azure|runpod|lambda labs|vast\.?ai|coreweave|modal|hosted gpus?)\b", t)
        and "gpu" not in req
        and "vram_gb" not in req
    ):
        req["hardware"] = "cloud"
    if _has(r"\b(images?|vision|screenshots?|photos?|pictures?|multimodal|diagrams?|scanned|ocr)\b", t) and not _has(
        r"(no|not|without|don'?t need) (images?|vision|multimodal)", t
    ):
        req["needs_vision"] = True


def _device_by_memory(g: Mention, mem: list[Quantity], req: dict) -> None:
    """'M3 Max with 36GB', 'RTX 3060 8GB': the catalog device of that name and memory; else the memory alone."""
    from tools.common import catalog

    cat = catalog()
    dev = cat.gpus.get(g.id or "")
    q = next((q for q in mem if 0 <= q.start - g.end <= 25), None)
    if dev is None or q is None or abs(_gib(dev) - q.value) <= 0.5:
        return
    prefix = re.sub(r"[-_]?\d+(gb|g)$", "", dev.id)
    same = [
        x for x in cat.gpus.values() if re.sub(r"[-_]?\d+(gb|g)$", "", x.id) == prefix and abs(_gib(x) - q.value) <= 0.5
    ]
    if same:
        req["gpu"] = same[0].id
        return
    req.pop("gpu", None)
    req.pop("num_gpus", None)
    _chip_with_memory(dev, q.value, req)


def _memory_variants(t: str, mentions: list[Mention], qs: list[Quantity], req: dict, ctx: dict) -> None:
    """A unified-memory chip sold with several memory sizes ("a Ryzen AI Max 395", "an M4 Max"), named without one:
    which is asked (the memory decides what fits), unless the conversation already holds one of them."""
    from tools.common import catalog

    cat = catalog()
    dev = cat.gpus.get(req.get("gpu") or "")
    if dev is None or not getattr(dev, "unified_memory", False):
        return
    m = next((m for m in mentions if m.kind == "gpu" and m.id == dev.id), None)
    if m is None or re.search(r"\d\s*(gb|gigs?|g)\b", m.text.lower()):
        return
    if any(q.kind == "memory_gb" and -30 <= q.start - m.end <= 30 for q in qs):
        return
    base = re.sub(r"-\d+(\.\d+)?gb$", "", dev.id)
    siblings = sorted(
        (g for g in cat.gpus.values() if re.sub(r"-\d+(\.\d+)?gb$", "", g.id) == base), key=lambda g: _gib(g)
    )
    if len(siblings) < 2 or len(siblings) > 4 or base == dev.id:
        return
    req.pop("gpu")
    req.pop("hardware", None)
    before = (ctx.get("requirements") or {}).get("gpu")
    if before in {g.id for g in siblings}:
        return  # the variant stated earlier stands
    m.id, m.candidates = None, [g.id for g in siblings]


def _chip_with_memory(dev, size: float, req: dict) -> None:
    """A chip with a memory size the catalog does not list ("M2 Max 48GB"): the stated memory with the chip's
    bandwidth (its memory interface is the chip's), said in the Understood line."""
    req["vram_gb"] = size
    if getattr(dev, "unified_memory", False):
        req["unified_memory"] = True
        req["hardware"] = "apple" if dev.segment == "apple" else "unified"
    if dev.segment == "apple":
        req["device_class"] = "apple"
    bw = getattr(dev, "memory_bandwidth_gbps", None)
    name = re.sub(r"\s*\(?\d+(\.\d+)?\s*GB\)?$", "", dev.name)
    if bw:
        req["memory_bandwidth_gbps"] = bw
        note = f"{name} with {size:g} GB, a pairing the catalog lacks: the chip's {bw:g} GB/s with the memory stated"
    else:
        note = f"{name} with {size:g} GB, a pairing the catalog lacks: the memory stated (bandwidth not reported)"
    req.setdefault("derived", []).append(note)


def _device_by_words(t: str, mentions: list[Mention], mem: list[Quantity], req: dict) -> None:
    """A device named by some of its words with its memory ("a Jetson Orin 32GB"): the variant with that memory;
    a memory none of them has is the chip with that memory. Without a memory the name stays unclear (asked)."""
    from tools.common import catalog

    cat = catalog()
    for m in mentions:
        if m.kind != "gpu" or m.id or not m.candidates or _negated(t, m.start):
            continue
        q = next((q for q in mem if 0 <= q.start - m.end <= 25), None)
        devices = [cat.gpus[c] for c in m.candidates if c in cat.gpus]
        if q is None or not devices:
            continue
        same = [d for d in devices if abs(_gib(d) - q.value) <= 0.5]
        if len(same) == 1:
            req["gpu"] = same[0].id
            m.id, m.candidates = same[0].id, []
        elif not same and len({d.memory_bandwidth_gbps for d in devices}) == 1:
            _chip_with_memory(devices[0], q.value, req)
            m.candidates = []
        return


CPU_NAMES = r"\b(epyc|xeon|threadripper|graviton|ampere altra|altra|ryzen|core i[3579]|core ultra)\b"
DDR_SPEED = {"4": 3200, "5": 4800}  # the common server speeds of each generation, when no speed is stated


def _cpu_server(t: str, mentions: list[Mention], qs: list[Quantity], req: dict, ctx: dict) -> None:
    """A CPU-only machine described by its parts: cores, RAM, memory channels and type (or bandwidth). The RAM is
    the memory a model must fit in; channels x transfers x 8 bytes its bandwidth (one socket's: a model instance
    runs on one NUMA node unless the engine is NUMA-aware). A CPU family named without its generation ("a 64-core
    Xeon") is described by these parts, not by one catalog server; a later message may add a part."""
    from tools.common import catalog

    gpu = catalog().gpus.get(req.get("gpu") or "")
    if gpu is not None and (gpu.segment == "cpu" or req.get("hardware") == "none"):
        # "Xeon" alone, or "no graphics card, ryzen 7 desktop": a CPU family, not one catalog device
        named = next((m for m in mentions if m.kind == "gpu" and m.id == gpu.id), None)
        if named is not None and not re.search(r"\d", named.text) and re.fullmatch(CPU_NAMES, named.text.lower()):
            req.pop("gpu")  # "Xeon" alone: which generation is not said
            req.pop("num_gpus", None)
            req["hardware"] = "none"
    earlier = (ctx.get("requirements") or {}).get("device_class") == "cpu" and "gpu" not in req
    if req.get("gpu") or (
        req.get("hardware") != "none" and not earlier and not re.search(CPU_NAMES + r"|\bcpu server\b", t)
    ):
        return
    cores = re.search(r"\b(\d{1,3})[- ]?(?:physical )?(?:cores?|c|vcpus?)\b", t)
    ram = next(
        (
            q
            for q in qs
            if q.kind == "memory_gb"
            and re.match(
                r"\s*(?:gb|gib|g|tb)?\s*(?:of\s+)?(?:(?:ecc|registered|system|main|host|server)\s+)*(?:ram|memory|"
                r"ddr\d)",
                t[q.end : q.end + 30],
            )
        ),
        None,
    )
    channels = re.search(r"\b(\d{1,2})[- ]?(?:memory )?channels?\b|\b(\d{1,2}) ?x ?(?:\d+ ?gb )?ddr\d", t)
    ddr = re.search(r"\bddr([45])(?:[- ]?(\d{4}))?", t)
    if not (cores or ram or channels or ddr or req.get("vram_gb")):
        return
    if not (req.get("hardware") == "none" or cores or ram or channels or earlier):
        return  # "an EPYC" alone says too little
    req["hardware"] = "cpu"
    req["device_class"] = "cpu"
    if re.search(r"\b(dual|two|2)[- ]?(x ?)?(socket|cpu|processor|" + CPU_NAMES + ")", t) and req.get("num_gpus") == 2:
        req.pop("num_gpus")  # "dual epyc 9654": two sockets, not two GPUs
    family = re.search(CPU_NAMES, t)
    if family:
        req["cpu_family"] = family.group(1)
    req.pop("unified_memory", None)
    if ram is not None:
        req["vram_gb"] = ram.value
    if cores:
        req["cpu_cores"] = int(cores.group(1))
    if "system_ram_bandwidth_gbps" in req:  # with no GPU, the RAM's bandwidth is the one a model streams from
        req["memory_bandwidth_gbps"] = req.pop("system_ram_bandwidth_gbps")
    if channels and ddr:  # the parts stated win over a catalog server's figure
        _ram_bandwidth(t, int(channels.group(1) or channels.group(2)), ddr, req)
    elif ddr and re.search(r"\b(desktop|pc|laptop|notebook|gaming (rig|pc)|mini pc)\b", t):
        _ram_bandwidth(t, 2, ddr, req, " (assumed: a desktop's two channels)")


def _ram_bandwidth(t: str, n: int, ddr: re.Match, req: dict, channels_note: str = "") -> None:
    """The bandwidth of the RAM the message describes: channels x transfers per second x 8 bytes, said in derived."""
    req["derived"] = [d for d in req.get("derived", []) if "a pairing the catalog lacks" not in d]
    rate = re.search(r"\b(\d{4}) ?mt/?s", t)
    stated = ddr.group(2) or (rate.group(1) if rate else None)
    mts = int(stated or DDR_SPEED[ddr.group(1)])
    bw = round(n * mts * 8 / 1000, 1)
    req["memory_bandwidth_gbps"] = bw
    assumed = "" if stated else f" (DDR{ddr.group(1)}'s common speed)"
    socket = (
        ", one socket's (a model instance runs on one NUMA node)"
        if re.search(r"\b(dual|two|2)[- ]?(socket|cpu|processor)s?\b|\b2 ?x ?(epyc|xeon)", t)
        else ""
    )
    req.setdefault("derived", []).append(
        f"memory bandwidth: {n} channels{channels_note} x {mts} MT/s{assumed} x 8 bytes = {bw:g} GB/s{socket}"
    )


def _gib(dev) -> float:
    """A device's memory as vendors state it (GiB, written 'GB')."""
    if getattr(dev, "memory_bytes", None):
        return dev.memory_bytes / 2**30
    return float(getattr(dev, "memory_gb", 0) or 0)


def _negated(t: str, start: int) -> bool:
    """'not an H100', 'instead of the 4090', 'no longer the A100' before a name."""
    before = t[max(0, start - 18) : start]
    return bool(
        re.search(
            r"(\bnot|\bno longer|instead of|rather than|\bnot on|\bnot the|\bnot a|\bnot an|\bexcept|\bbut not|"
            r"\bno)\s*(an? |the |on |with |using )?$",
            before,
        )
    )


def _licence_facts(t: str, req: dict, conflicts: list[str]) -> None:
    t = re.sub(r"(?<=\d)\.(?=\d)", "_", t)  # "llama 3.1" is no sentence end for the patterns' [^.?!] windows
    _commercial(t, req, conflicts)
    _licence_names(t, req)
    # facts the licence terms turn on
    _hosting(t, req)
    _uses_of_the_model(t, req)


def _commercial(t: str, req: dict, conflicts: list[str]) -> None:
    non = _has(
        r"non[- ]?commercial|not (for )?commercial|no commercial|research (use )?only|personal (use|project)|hobby|"
        r"academic|"
        r"not[- ]for[- ]profit|nonprofit|non[- ]profit|just for (fun|me|myself|learning)|side project|not (going to be "
        r")?sold|"
        r"not making money|won'?t (make|earn) money|no revenue|internal (research|experiment)|home use|at home|homelab|"
        r"thesis|for myself|for fun|learning project|university project|school project|student project|personal\b|"
        r"research (group|lab|team|institute|project)|university research|for research\b|phd|coursework|classroom",
        t,
    )
    com = _has(
        r"(?<!non[- ])(?<!non)(?<!not )(?<!no )comm?erc?iall?(ly|y)?\b|client (project|work)|for (a |our )?clients?\b|"
        r"\bstartup\b|consumer (app|product)|customer[- ]facing|\bpaid\b|\bproducts?\b|(at|for|in) (my|our|the|a) "
        r"(company|firm|business|employer)|"
        r"is for (a |the |my |our )?(company|business|work)|\bbusiness\b|"
        r"\b(our|my) (saas|platform|service)\b|at work\b|in (our|my) (company|job)|"
        r"for (a|our|my) (product|business|startup|company|customers|clients|saas)|"
        r"\bsaas\b|monetiz|\bsell\b|selling|paying (customers|users)|enterprise|revenue|paid (app|product|plan|service|"
        r"tier)|"
        r"for profit|\bin production\b|our (product|app|startup|company|business)|(my|our) clients|customers|"
        r"\bcharg(e|es|ing) (money|users|people|customers|for)|\bsubscriptions?\b|spin(ning)? (out|off) (a|our|as a) "
        r"(company|startup|business)|\bspin-?(off|out)\b|\bfintech\b|\bagency\b|"
        r"\b(game|app|platform|service) (with|for) [^.?!]{0,30}\b(players|subscribers|customers)\b|\bplayers\b|"
        # a business of any kind that is ours: "an internal tool at our law firm", "we run a small game studio"
        r"\b(at|for|in|run|running|own|owning)\s+(a|an|our|my)\s+([\w-]+\s+){0,3}(company|firm|business|studio|"
        r"agency|shop|store|startup|consultancy|practice|bank|corporation|enterprise|retailer|publisher)s?\b",
        t,
    )
    if (
        non
        and com
        and not _has(r"actually|now|instead|changed|rather|no longer|anymore|turns out|switch", t)
        and not _has(r"non[- ]?commercial[^.]{0,40}(then|later|eventually|maybe)", t)
    ):
        if not _has(r"(is|for|allowed|use)[^.]{0,20}commercial(ly)?\s*(\?|$)|commercial(ly)? or (non|not)", t):
            conflicts.append("whether the use is commercial")
    if non:
        req["commercial"] = False
    elif com:
        req["commercial"] = True


def _licence_names(t: str, req: dict) -> None:
    lic = []
    if _has(r"\bapache\b", t):
        lic.append("apache-2.0")
    if _has(r"\bmit\b(?! (license )?research)", t) and not _has(r"\bmit (university|cs)", t):
        lic.append("mit")
    if _has(
        r"permissive|truly open|osi[- ]approved|open[- ]source licen[cs]e|fully open|no (strings|restrictions) "
        r"attached|"
        r"no weird licen|real open source|open licen[cs]e",
        t,
    ):
        lic = ["permissive"]
    if lic and not _has(r"\b(is|are|under)\b[^.?!]{0,40}\b(apache|mit)\b[^.]*\?", t):
        req["licenses"] = sorted(set(lic))


def _hosting(t: str, req: dict) -> None:
    neg_host = _has(
        r"(not|n't|never|no)\s+(be\s+)?(offer|host|sell|expose|provide|run)\w*\s+(it\s+|the model\s+)?(as|via|"
        r"through)\s+(an?\s+)?"
        r"(api|service|saas|hosted)|internal(ly)?( use)? only|only internal|just internal|not (a )?(saas|hosted "
        r"service|public api)|"
        r"(internal|in-house) (tool|use|staff|employees)|only (our|for) (own )?(staff|employees|team)",
        t,
    )
    pos_host = _has(
        r"\bsaas\b|hosted (service|api|offering|product)|as an? (api|service|hosted|managed)|offer (it|the model|them|"
        r"this)? ?(to (others|customers|clients) )?(as|via|through)|"
        r"(sell|resell|provide|expose|serve) (it |the model |access )?(as|via|through) (an? )?(api|service|endpoint)|"
        r"(public|paid|commercial) api|api (for|to) (our )?(customers|clients|others|developers)|"
        r"(host|run|serve) (it|the model|them) for (our )?(customers|clients|others|third parties|other companies)|"
        r"model[- ]as[- ]a[- ]service|inference (api|service|platform) for|managed service|let (other|third)|"
        r"(sell|offer|provide|launch|run) (an? |our )?(api|saas|inference|hosted) (service|product|platform|offering)|"
        r"(api|endpoint) (that|which) (we|our customers|customers|others) (sell|pay|call)|resell|"
        r"(sell|selling|offer|offering|provide|providing|give|giving) (\w+ ){0,3}(api|inference) access|inference "
        r"platform|"
        r"host\w*\s+(\S+\s+){0,5}for (our |my |the )?(clients|customers|others|other companies|third parties|users of)",
        t,
    )
    if neg_host:
        req["hosted_service"] = False
    elif pos_host:
        req["hosted_service"] = True


def _uses_of_the_model(t: str, req: dict) -> None:
    """Training other models on its outputs, redistributing it, modifying it."""
    train = (
        r"(train|fine[- ]?tun|distil|finetun|bootstrap|improv|teach)\w*[^.?!]{0,50}(outputs?|generations?|responses?|"
        r"answers|completions|synthetic)|"
        r"distil\w*[^.?!]{0,40}\binto\b|(train|fine[- ]?tun)\w*[^.?!]{0,50}(labels?|data|annotations?)\s+(produced|"
        r"generated|created|made|written)\s+(by|with)|"
        r"(outputs?|generations?|labels?|answers|completions)[^.?!]{0,30}\b(to|for)\s+(train|fine[- ]?tune|distil)|"
        r"student model|"
        r"(generate|create|produce|make)\w*[^.?!]{0,20}(training|synthetic|fine[- ]?tuning) data|"
        r"(label|annotat)\w*[^.?!]{0,40}\bwith\b[^.?!]{0,40}\b(train|fine[- ]?tun)|"
        r"(outputs?|generations?|responses?|completions)[^.?!]{0,40}(train|fine[- ]?tun|distil)\w*[^.?!]{0,25}(models?|"
        r"llms?|ours|student)|"
        r"synthetic (training )?data|distillation|distil+ (it|from it) into|generate (training )?data (for|to train)|"
        r"as a teacher|teacher model"
    )
    if _has(train, t):
        if _has(
            r"(not|n't|never|no)\s+(be\s+)?(\w+\s+){0,3}(train|fine[- ]?tun|distil|use (its|the) outputs)|no "
            r"(distillation|synthetic)",
            t,
        ):
            req["use_outputs_to_train_other_models"] = False
        else:
            req["use_outputs_to_train_other_models"] = True
    if _has(
        r"redistribut|re-?publish|ship (\w+ ){0,4}(weights|model|checkpoint)|bundle|bundling|"
        r"ship (it|them|the model|this) (in|inside|with|within|as part of|on)|(inside|into|in) (our|the|a|my) (desktop|"
        r"mobile|ios|android) app|"
        r"(share|publish|release|upload|distribute|sell) (the |our )?(fine[- ]?tuned |modified )?(weights|checkpoint|"
        r"model files)|"
        r"embed (it|the model) in (our|an?) (app|product|device)|on[- ]device in (our|the) app|include (the )?weights|"
        r"(put|publish) (it|the weights) on (hugging ?face|the hub)",
        t,
    ):
        req["redistribute"] = not _has(
            r"(not|n't|never|no)\s+(\w+\s+){0,2}(redistribut|ship|share|publish|release|distribute|bundle)", t
        )
    if _has(
        r"fine[- ]?tun|finetun|\blora\b|qlora|modify|modified|merge (it|the weights)|(continue|further) pre[- ]?train|"
        r"train (it|the model) (further|on our)|adapt (it|the model)|custom (version|checkpoint)",
        t,
    ) and not _has(
        r"(outputs?|generations?|responses?|data)[^.?!]{0,40}(train|fine[- ]?tun)|fine[- ]?tun\w* (of )?(our|my) own|"
        r"(train|fine[- ]?tun)\w* (an?other|other|our own|a smaller|a new) model",
        t,
    ):
        req["modify"] = not _has(r"(not|n't|never|no|without)\s+(\w+\s+){0,2}(fine[- ]?tun|modify|lora)", t)


def _figures(t: str, qs: list[Quantity], req: dict, ctx: dict) -> None:
    rate = next((q for q in qs if q.kind == "rate"), None)
    for q in qs:
        near = t[max(0, q.start - 40) : q.end + 40]
        if q.kind.startswith("usd"):
            _money_figure(t, q, near, req)
        elif q.kind in ("percent", "ratio"):
            _share_figure(t, q, near, req)
        elif q.kind == "tokens" and rate is not None and q.start > rate.start and q.value < 1e6:
            q.kind = "tokens_each"  # "ten questions a day at roughly a thousand tokens"
        elif q.kind not in ("rate", "tokens_each", "bits"):
            _count_figure(t, q, near, req)
    _purchase(t, qs, req)
    price = req.get("hardware_usd")
    _bare_figure(t, [q for q in qs if price is None or q.value != price], req, ctx)  # "... for around 280k": a price
    derive(t, qs, req, ctx)


# ------------------------------------------------------------------ figures worked out from others

DAYS_A_MONTH = 30
PER_MONTH = {"month": 1.0, "week": DAYS_A_MONTH / 7, "day": float(DAYS_A_MONTH)}
PER_DAY = {"hour": 1.0, "minute": 60.0, "second": 3600.0}


def derive(t: str, qs: list[Quantity], req: dict, ctx: dict) -> None:
    """Figures the message gives only as parts: a monthly volume from users x messages x tokens or from requests
    per hour x tokens, a price per million tokens from an API bill and its volume, a purchase price, another
    card, and relative changes ("half the users", "the volume doubles"). Each one worked out is said in
    ``derived`` (the "Understood:" line shows it); ``usage`` keeps the parts for a later change."""
    derived: list[str] = []
    _usage(t, qs, req, derived)
    _relative(t, req, ctx, derived)
    _api_bill(t, qs, req, ctx, derived)
    _purchase(t, qs, req)
    _another_card(t, req, ctx)
    if derived:
        req["derived"] = req.get("derived", []) + derived


def _a(period: str) -> str:
    return ("an " if period == "hour" else "a ") + period


def _n(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.2f}"


def _usage(t: str, qs: list[Quantity], req: dict, derived: list[str]) -> None:
    rate = next((q for q in qs if q.kind == "rate"), None)
    each = next((q for q in qs if q.kind == "tokens_each"), None)
    if rate is None or each is None or "monthly_tokens" in req:
        return
    users = next(
        (
            q
            for q in qs
            if q.start < rate.start
            and (q.kind == "users" or (q.kind == "count" and re.match(r"\s*" + _PEOPLE, t[q.end : q.end + 30])))
        ),
        None,
    )
    usage: dict = {"rate": rate.value, "period": rate.detail, "tokens_each": each.value}
    if users is not None:
        usage["users"] = users.value
    hours = _hours_a_day(t) if rate.detail in PER_DAY else None
    if hours is not None:
        usage["hours_a_day"] = hours
    req["usage"] = usage
    _usage_volume(usage, req, derived)


_PEOPLE = (
    r"(?:[a-z]+\s)?(?:staff|employees|developers|devs|engineers|agents|analysts|people|users|students|learners|"
    r"customers|members|players|clients|readers|patients|subscribers|workers|lawyers|doctors|nurses)\b"
)


def _hours_a_day(t: str) -> float:
    m = re.search(r"\b(\d{1,2})\s*(?:hours?|hrs?|h)\s*(?:a|per|each)\s*day\b", t)
    if m and 0 < float(m.group(1)) <= 24:
        return float(m.group(1))
    if re.search(r"business hours|working hours|office hours|9 ?(?:to|-) ?5\b", t):
        return 8.0
    return 24.0


def _usage_volume(usage: dict, req: dict, derived: list[str]) -> None:
    """monthly_tokens from the usage parts, and the sentence that shows the working."""
    period = usage["period"]
    factor = usage.get("factor", 1.0)
    parts = []
    value = usage["rate"] * usage["tokens_each"] * factor
    item = "requests" if "users" not in usage else "messages"
    if "users" in usage:
        value *= usage["users"]
        parts.append(f"{_n(usage['users'])} users")
        parts.append(f"{_n(usage['rate'])} {item} {_a(period)}")
    else:
        parts.append(f"{_n(usage['rate'])} {item} {_a(period)}")
    parts.append(f"{_n(usage['tokens_each'])} tokens each")
    if period in PER_DAY:
        hours = usage.get("hours_a_day", 24.0)
        value *= PER_DAY[period] * hours * DAYS_A_MONTH
        if period != "hour":
            parts.append(f"{_n(PER_DAY[period])} {period}s an hour" if period != "second" else "3,600 seconds an hour")
        parts.append(f"{_n(hours)} hours a day" + (" (assumed: around the clock)" if hours == 24 else ""))
        parts.append(f"{DAYS_A_MONTH} days")
    else:
        value *= PER_MONTH.get(period, 1.0)
        if period == "day":
            parts.append(f"{DAYS_A_MONTH} days")
        elif period == "week":
            parts.append(f"{DAYS_A_MONTH}/7 weeks")
    if factor != 1.0:
        parts.append(f"{_n(factor)} (the change)")
    req["monthly_tokens"] = int(round(value))
    per_s = value / (DAYS_A_MONTH * 86400)
    derived.append(
        f"tokens a month: {' x '.join(parts)} = {_n(round(value))} (a load of about {_n(round(per_s))} tokens/s "
        "on average)"
    )


_TIMES = {
    "half": 0.5,
    "halve": 0.5,
    "halves": 0.5,
    "halved": 0.5,
    "double": 2.0,
    "doubles": 2.0,
    "doubled": 2.0,
    "twice": 2.0,
    "triple": 3.0,
    "triples": 3.0,
    "tripled": 3.0,
    "quadruple": 4.0,
    "quadruples": 4.0,
    "a third": 1 / 3,
    "a quarter": 0.25,
    "a tenth": 0.1,
}
_WHAT = (
    r"(users?|people|customers|players|staff|employees|members|students|traffic|volume|load|tokens?|requests?|usage|"
    r"messages|queries|demand)"
)


def _relative(t: str, req: dict, ctx: dict, derived: list[str]) -> None:
    """ "half the users", "the volume doubles", "10x the traffic", "20% more requests": a change to a figure stated
    earlier."""
    before = ctx.get("requirements") or {}
    factor, what = None, None
    m = re.search(
        r"\b(half|halve[sd]?|double[sd]?|twice|triple[sd]?|quadruple[sd]?|a third|a quarter|a tenth|"
        r"(\d+(?:\.\d+)?)\s*(?:x|times))"
        r"\s+(?:(?:the|our|as many|as much|of the|of our|of|more|that|this)\s+)*" + _WHAT + r"\b",
        t,
    )
    if m:
        factor = float(m.group(2)) if m.group(2) else _TIMES[m.group(1)]
        what = m.group(3)
    m = m or re.search(
        _WHAT + r"\s+(?:\w+\s+){0,2}?(doubles?|halves|triples?|quadruples?|(?:grows?|goes up|increases?|rises?)\s+"
        r"(?:by\s+)?(\d+(?:\.\d+)?)\s*(?:x|times|%|percent)|(?:grows?|goes up|increases?)\s+(?:by\s+)?(?:a\s+)?"
        r"(?:factor of\s+)?"
        r"(\d+(?:\.\d+)?))\b",
        t,
    )
    if m and factor is None:
        what = m.group(1)
        word = m.group(2).split()[0]
        if m.group(3):
            n = float(m.group(3))
            factor = 1 + n / 100 if re.search(r"%|percent", m.group(2)) else n
        elif m.group(4):
            factor = float(m.group(4))
        else:
            factor = _TIMES.get(word)
    p = re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s+(more|fewer|less)\s+" + _WHAT + r"\b", t)
    if p and factor is None:
        n = float(p.group(1)) / 100
        factor, what = (1 + n if p.group(2) == "more" else 1 - n), p.group(3)
    factor, what = _fold_or_them(t, factor, what)
    if factor is None or what is None or factor <= 0:
        return
    people = re.match(r"users?|people|customers|players|staff|employees|members|students", what)
    usage = dict(before.get("usage") or {})
    if people and "monthly_active_users" in before and "monthly_active_users" not in req:
        req["monthly_active_users"] = int(round(before["monthly_active_users"] * factor))
    if "monthly_tokens" in req:
        return
    if usage and (not people or "users" in usage):
        if people:
            usage["users"] = usage["users"] * factor
        else:
            usage["factor"] = usage.get("factor", 1.0) * factor
        req["usage"] = usage
        _usage_volume(usage, req, derived)
    elif "monthly_tokens" in before and not people:
        req["monthly_tokens"] = int(round(before["monthly_tokens"] * factor))
        derived.append(f"tokens a month: {_n(before['monthly_tokens'])} x {_n(factor)} = {_n(req['monthly_tokens'])}")


_FOLD = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _fold_or_them(t: str, factor: float | None, what: str | None) -> tuple[float | None, str | None]:
    """ "usage grows fivefold", "a 3-fold increase in traffic": a factor; "half of them use it": a share of the
    people stated earlier."""
    if factor is not None and what is not None:
        return factor, what
    fold = re.search(r"\b(\d+(?:\.\d+)?|" + "|".join(_FOLD) + r")[- ]?fold\b", t)
    subject = re.search(r"\b" + _WHAT + r"\b", t)
    if fold and subject:
        word = fold.group(1)
        return float(_FOLD.get(word) or word), subject.group(1)
    share = re.search(
        r"\b(half|a third|a quarter|a tenth|(\d+(?:\.\d+)?)\s*(?:%|percent))\s+of\s+(them|those|these|us)\b", t
    )
    if share:
        return (float(share.group(2)) / 100 if share.group(2) else _TIMES[share.group(1)]), "users"
    return factor, what


def _api_bill(t: str, qs: list[Quantity], req: dict, ctx: dict, derived: list[str]) -> None:
    """ "we pay OpenAI $9k a month for 1.5B tokens": the price per million tokens a self-hosted option must beat."""
    if "api_usd_per_mtok_input" in req or "api_usd_per_mtok_output" in req:
        return
    bill = next((q for q in qs if q.kind == "usd_month" and q.detail != "year"), None)
    if bill is None or not re.search(
        r"\b(api|apis|openai|anthropic|claude|gpt[\w.-]*|gemini|mistral api|provider|bill\w*|invoice\w*|pay\w*|"
        r"spend\w*)\b",
        t,
    ):
        return
    volume = req.get("monthly_tokens")
    if not volume or not re.search(
        r"\b(api|apis|openai|anthropic|claude|gpt[\w.-]*|gemini|provider|bill\w*|invoice)", t
    ):
        return
    price = bill.value / (volume / 1e6)
    req["api_usd_per_mtok_input"] = req["api_usd_per_mtok_output"] = round(price, 4)
    if req.get("budget_usd_per_month") == round(bill.value, 2):
        req.pop("budget_usd_per_month")
    derived.append(
        f"API price to beat: ${_n(bill.value)} a month / {_n(volume)} tokens = ${price:,.2f} per 1M tokens "
        "(input and output alike)"
    )


def _purchase(t: str, qs: list[Quantity], req: dict) -> None:
    """ "buy 4x RTX 6000 Ada for about 28k all in": the price of owned hardware (a bare 28k included)."""
    if "hardware_usd" in req:
        return
    verb = re.search(r"\b(buy\w*|bought|purchas\w*|outright|own the|owning)\b", t)
    if not verb:
        return
    for q in qs:
        if q.start < verb.start() or q.kind not in ("count", "usd") or q.value < 1000:
            continue
        lead = t[max(verb.end(), q.start - 30) : q.start]
        if re.search(
            r"\b(for|at|costs?|cost us|price[ds]?|paying|pay|spend|spending|budget of)\s*"
            r"(about|around|roughly|~|approx\w*)?\s*[$€£]?$",
            lead,
        ):
            req["hardware_usd"] = q.value
            return


def _another_card(t: str, req: dict, ctx: dict) -> None:
    """ "buy a second one", "add another card", "one more GPU": the count of the device in use, plus one."""
    before = ctx.get("requirements") or {}
    if "num_gpus" in req or not (before.get("gpu") or before.get("vram_gb")):
        return
    m = re.search(
        r"\b(?:a|one)\s+(second|third|fourth|2nd|3rd|4th)\s+(?:one|card|gpu|of them)\b|\b(another|one more|an extra|"
        r"an additional)\s+(?:one|card|gpu|of (?:those|these|them))\b",
        t,
    )
    if not m:
        return
    if m.group(1):
        req["num_gpus"] = {"second": 2, "third": 3, "fourth": 4, "2nd": 2, "3rd": 3, "4th": 4}[m.group(1)]
    else:
        req["num_gpus"] = int(before.get("num_gpus") or 1) + 1


def _count_figure(t: str, q: Quantity, near: str, req: dict) -> None:
    """Users, tokens, context, bandwidth, months, concurrency, batch, size limit, picks, memory."""
    k = q.kind
    if k == "users" and q.value >= 1:
        req["monthly_active_users"] = int(q.value)
    elif k == "tokens_month":
        req["monthly_tokens"] = int(q.value)
    elif k == "tokens":
        if (
            re.search(r"context|window|prompt|ctx|long|document|input length|per request|conversation", near)
            or q.value < 1e6
        ):
            req["min_context"] = (
                context_tokens(q.value / _k(q), "k" if _k(q) == 1000 else None) if q.value < 1e7 else int(q.value)
            )
        else:
            req["monthly_tokens"] = int(q.value)
    elif k == "context":
        req["min_context"] = int(q.value)
    elif k == "bandwidth_gbps":
        if re.search(r"\b(system|ram|ddr\d?|cpu|dram)\b", near):
            req["system_ram_bandwidth_gbps"] = q.value
        else:
            req["memory_bandwidth_gbps"] = q.value
    elif k == "months":
        req["amortization_months"] = int(q.value)
    elif k == "concurrency":
        req["concurrency"] = max(1, int(q.value))
    elif k == "batch":
        req["batch_size"] = max(1, int(q.value))
    elif k == "params_b" and q.bound == "max":
        req["max_params_b"] = q.value
    elif k == "top_k":
        req["top_k"] = max(1, min(int(q.value), 20))
    elif (
        k == "memory_gb"
        and q.bound == "min"
        and re.search(r"gpus?|cards?|vram|memory", near)
        and re.search(r"(list|which|show|what) (gpus|cards)", t)
    ):
        req["min_memory_gb"] = q.value


def _money_figure(t: str, q: Quantity, near: str, req: dict) -> None:
    """Prices, revenue, budgets and hardware costs."""
    k = q.kind
    if k == "usd_per_hour":
        req["gpu_usd_per_hour"] = q.value
    elif k == "usd_per_kwh":
        req["electricity_usd_per_kwh"] = q.value
    elif k == "usd_per_mtok":
        side = q.detail or ("input" if "api_usd_per_mtok_input" not in req else "output")
        req[f"api_usd_per_mtok_{side}"] = q.value
    elif k in ("usd_month", "usd") and re.search(
        r"revenue|turnover|\barr\b|\bsales\b|we (make|earn|bring in)|earnings|income", near
    ):
        yearly = q.detail == "year" or (
            k == "usd" and re.search(r"annual|a year|per year|yearly|\barr\b|annually|/yr|p\.a\.", near)
        )
        req["monthly_revenue_usd"] = int(round(q.value / 12 if (k == "usd" and yearly) else q.value))
    elif k == "usd_month":
        if (
            re.search(
                r"budget|spend|afford|at most|max|under|up to|cap|limit|no more than|less than|keep (it|costs?)", near
            )
            or q.bound == "max"
        ):
            req["budget_usd_per_month"] = round(q.value, 2)
    elif k == "usd":
        if re.search(
            r"(server|machine|box|hardware|gpu|card|rig|workstation|build|cluster|node)s?\b[^.]{0,25}(cost|costs|price|"
            r"priced|paid|buy|bought|for)|"
            r"(buy|bought|paid|purchase|costs?|priced at|spent)\s*[^.]{0,12}$",
            t[max(0, q.start - 40) : q.start],
        ) or re.search(
            r"^\s*(for the|for a|server|machine|box|of hardware|hardware|up front|upfront|capex|to buy)",
            t[q.end : q.end + 25],
        ):
            req["hardware_usd"] = q.value
        elif re.search(r"budget|spend|afford", near):
            req["budget_usd_per_month"] = round(q.value, 2)


def _share_figure(t: str, q: Quantity, near: str, req: dict) -> None:
    """Percentages (utilisation, idle, input or output share) and input:output ratios."""
    k = q.kind
    if k == "percent":
        role = _percent_role(t, q)
        if role == "utilization" and 0 < q.value <= 1:
            req["utilization"] = round(q.value, 4)
        elif role == "idle" and 0 <= q.value < 1:
            req["utilization"] = round(1 - q.value, 4)
        elif role == "input":
            req["input_share"] = round(q.value, 4)
        elif role == "output":
            req["input_share"] = round(1 - q.value, 4)
    elif k == "ratio" and re.search(r"input|output|prompt|completion|in:out|in/out", near):
        req["input_share"] = round(q.value, 4)


_PERCENT_ROLES = [
    ("utilization", r"utili[sz]|busy|load(ed)?\b|occupancy|duty|usage"),
    ("idle", r"idle"),
    ("input", r"\b(input|prompt|in)s?\b"),
    ("output", r"\b(output|completion|generated|out)s?\b"),
]


def _percent_role(t: str, q: Quantity) -> str | None:
    """What a percentage is about: the words right after it ("60% busy"), else the nearest words before
    ("utilisation 60%")."""
    after = re.sub(r"^\s*(%|percent|pct)", "", t[q.end : q.end + 35])
    for role, pattern in _PERCENT_ROLES:
        if re.match(r"\s*(of (the )?(time|tokens|traffic)\s*)?(are |is |being |as )?(" + pattern + ")", after):
            return role
    before = t[max(0, q.start - 30) : q.start]
    best, where = None, -1
    for role, pattern in _PERCENT_ROLES:
        for m in re.finditer(pattern, before):
            if m.start() > where and not re.search(r"[,;.]", before[m.end() :]):
                best, where = role, m.start()
    return best


def _k(q: Quantity) -> float:
    return 1000.0 if q.value >= 1000 and q.value % 1000 == 0 else 1.0


def _bare_figure(t: str, qs: list[Quantity], req: dict, ctx: dict) -> None:
    """A figure with no unit in a follow-up: 'and at 100M?', 'actually two', 'what about 32k?', 'make it 4'."""
    # "ryzen 7", "core ultra 9": a CPU's tier, not a figure
    bare = [
        q
        for q in qs
        if q.kind == "count"
        and not re.search(CPU_NAMES + r"\s*$", t[max(0, q.start - 16) : q.start])
        and not re.match(r"\s*(x\s*)?(-?socket|" + CPU_NAMES + ")", t[q.end : q.end + 24])  # "dual (2) epyc"
    ]
    if not bare or len(t) > 90:
        return
    q = bare[-1]
    raw = t[q.start : q.end]
    previous = set(ctx.get("previous_tools") or ())
    scaled = bool(re.search(r"\d\s?(k|m|b|mn|bn|million|billion|thousand)\b", raw)) or q.value >= 1000
    followup = (
        re.search(
            r"\b(actually|make (that|it)|change (it |that )?to|instead|rather|what about|how about|and (at|with|for)?|"
            r"with|at|for|try|let'?s say|say|now|then|only|just|meant|i mean|correction|sorry|oops|typo|mistake|"
            r"wait|what if|suppose)\b",
            t,
        )
        or len(t.split()) <= 4
    )
    if not followup:
        return
    if (
        scaled
        and raw.rstrip()[-1:] == "k"
        and q.value < 2_000_000
        and not ({"estimate_cost"} & previous and q.value >= 100_000)
    ):
        req.setdefault("min_context", context_tokens(float(cast(re.Match, re.match(r"[\d.]+", raw)).group(0)), "k"))
    elif scaled:
        if "check_license" in previous and "estimate_cost" not in previous:
            req.setdefault("monthly_active_users", int(q.value))
        elif previous & {"estimate_cost", "plan_deployment"} or "monthly_tokens" in ctx.get("requirements", {}):
            req.setdefault("monthly_tokens", int(q.value))
        elif "monthly_active_users" in ctx.get("requirements", {}):
            req.setdefault("monthly_active_users", int(q.value))
    elif (
        q.value == int(q.value)
        and 1 <= q.value <= 16
        and not re.match(
            r"[- ]?(?:memory )?(?:channels?|cores?|sockets?|threads?|vcpus?|mt)\b", t[q.end : q.end + 12].lstrip()
        )
        and (
            ctx.get("requirements", {}).get("gpu")
            or re.search(r"gpus?|cards?", t)
            or "num_gpus" in str(ctx.get("previous_args", ""))
        )
    ):
        req.setdefault("num_gpus", int(q.value))


def _serving(t: str, original: str, req: dict, mentions: list[Mention]) -> None:
    from tools.common import catalog

    cat = catalog()
    engines = [
        value
        for pattern, value in ENGINES
        if _has(pattern, t)
        and not _has(r"(not|n't|no|without|instead of|rather than)\s+(use\s+|using\s+|on\s+)?" + pattern, t)
    ]
    if engines:
        req["engine"] = engines[0]
    quant = quantization_in(t, req.get("engine"), req.get("hardware") == "apple")
    if quant and quant in cat.quantizations:
        req["quantization"] = quant
    pair = _two_of(t, lambda part: quantization_in(part, req.get("engine"), req.get("hardware") == "apple"))
    if pair and all(q in cat.quantizations for q in pair):
        req["quantization"], req["both"] = pair[0], {"quantization": list(pair)}  # "fp8 vs int4": one call for each
    kv = re.search(
        r"\b(fp8|int8|q8_0|q8|q4_0|q4|fp16|bf16|8[- ]bit|4[- ]bit)\s*(?:quanti[sz]ed\s*)?kv(?:[- ]?cache)?\b|"
        r"\bkv[- ]?cache\s*(?:in|at|as|of|to|=|:|quanti[sz]ed to|with)?\s*(fp8|int8|q8_0|q8|q4_0|q4|fp16|bf16|8[- ]bit|"
        r"4[- ]bit)\b",
        t,
    )
    if kv:
        req["kv_cache_dtype"] = KV[(kv.group(1) or kv.group(2)).replace("_0", "_0")]
        if req.get("quantization") == {"fp8": "fp8", "int8": "int8"}.get(
            kv.group(1) or kv.group(2) or ""
        ) and not re.search(r"(weights?|model|quanti[sz]ation)\s*(in|at|as)?\s*" + (kv.group(1) or kv.group(2)), t):
            req.pop("quantization", None)  # "fp8 KV cache" is not fp8 weights
    marks = benchmarks_in(t, original)
    if marks:
        req["benchmarks"] = marks
    langs = [
        code
        for word, code in LANGUAGES.items()
        if re.search(rf"\b{word}\b", t) and not re.search(rf"\b{word} (company|startup|entity|firm|team|gdpr|law)", t)
    ]
    if langs:
        req["languages"] = sorted(set(langs))
    apis = [m.id for m in mentions if m.kind == "api" and m.id]
    if apis:
        req["api_models"] = list(dict.fromkeys(apis))
    if _has(
        r"(only|just) (the )?cloud|cloud only|no (on[- ]?prem|buying|purchase)|(don'?t|won'?t|not) (want to )?(buy|"
        r"purchase)|"
        r"rent(ing)? only|only rent(ing)?|no hardware (purchase|buying)|not buying|without buying",
        t,
    ):
        req["on_prem"] = False
    seg = [value for pattern, value in SEGMENTS if _has(r"\b(" + pattern + r")\b", t)]
    if seg and _has(r"\b(gpus|cards|devices|hardware|accelerators|chips|macs|machines)\b", t):
        req["segment"] = seg[0]


QUANT_WORDS = [
    (r"\bmxfp4\b", "mxfp4"),
    (r"\bnvfp4\b", "nvfp4"),
    (r"\bfp4\b", "nvfp4"),
    (r"\bexl3\b", "exl3_4bpw"),
    (r"\bexl2\b", "exl2_4bpw"),
    (r"\b(i?q\d(?:_k)?(?:_[a-z0-9]+)?)\b", None),
    (r"\bawq\b", "awq"),
    (r"\bgptq\b", "gptq"),
    (r"\bnf4\b|\bbnb[- ]?4|bitsandbytes 4", "int4"),
    (r"\bint4\b", "int4"),
    (r"\bint8\b|llm\.int8|bnb[- ]?8|bitsandbytes 8", "int8"),
    (r"\bfp8\b", "fp8"),
    (r"\bfp16\b|\bhalf precision\b", "fp16"),
    (
        r"\bbf16\b|bfloat16|full precision|unquanti[sz]ed|no quanti[sz]ation|native precision|full weights|16[- ]?bit",
        "bf16",
    ),
]


def quantization_in(t: str, engine: str | None = None, apple: bool = False) -> str | None:
    """The weight format a text names: an exact id, a family word, or "4-bit"/"8-bit" read for the engine in use."""
    from tools.common import catalog

    ids = catalog().quantizations
    for pattern, value in QUANT_WORDS:
        m = re.search(pattern, t)
        if not m:
            continue
        if value is None:
            word = m.group(1)
            if word in ids:
                return word
            prefixed = sorted(i for i in ids if i.startswith(word + "_") or i == word)
            preferred = [i for i in prefixed if i.endswith("_k_m")] or prefixed
            if preferred:
                return preferred[0]
            continue
        if re.search(r"kv[- ]?cache\s*(in|at|as|to)?\s*$", t[max(0, m.start() - 16) : m.start()]) or re.match(
            r"\s*kv", t[m.end() :]
        ):
            continue
        return value
    bits = re.search(r"\b(2|3|4|5|6|8)[- ]?bits?\b|\b(two|three|four|five|six|eight)[- ]bits?\b", t)
    gguf = re.search(r"\bgguf\b", t) or engine in ("llama.cpp", "ollama")
    if bits:
        if re.search(r"kv[- ]?cache|cache", t[bits.end() : bits.end() + 14]):
            return None
        n = (
            bits.group(1)
            or {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "eight": "8"}[bits.group(2)]
        )
        if engine == "mlx" or (apple and not gguf and engine is None and n in ("4", "8")):
            return f"mlx_{n}bit" if f"mlx_{n}bit" in ids else None
        if engine == "exllama":
            return "exl2_4bpw" if n == "4" else None
        if gguf or n in ("2", "3", "5", "6"):
            return {"2": "q2_k", "3": "q3_k_m", "4": "q4_k_m", "5": "q5_k_m", "6": "q6_k", "8": "q8_0"}[n]
        if engine in ("vllm", "sglang", "tensorrt-llm"):
            return "awq" if n == "4" else "fp8"
        return {"4": "int4", "8": "int8"}[n]
    if gguf and re.search(r"\bgguf\b", t):
        return "q4_k_m"
    return None


def benchmarks_in(t: str, original: str) -> list[str]:
    """Benchmark ids named in the text; the longest name wins where names overlap ("MMLU-Pro" is not also
    "MMLU", "HumanEval+" not also "HumanEval"); common-word names such as MATH only when written in capitals."""
    from catalog.query import normalize
    from tools.common import catalog

    spans: list[tuple[int, int, str]] = []
    for b in catalog().benchmarks.values():
        for name in {b.id, b.name}:
            key = normalize(name)
            if not key:
                continue
            if key.isalpha() and key in ("math", "ruler", "hle", "bbh"):
                m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", original)
                if m or re.search(rf"\b{key}\b (benchmark|score)", t):
                    spans.append((0, 0, b.id) if not m else (-1 - m.start(), -1 - m.end(), b.id))
                continue
            pattern = (
                r"(?<![a-z0-9])"
                + r"[\s\-_.]*".join(re.escape(p) for p in key.split())
                + (r"\s?\+" if "+" in name else r"(?!\s?\+)")
                + r"(?![a-z0-9])"
            )
            for m in re.finditer(pattern, t):
                spans.append((m.start(), m.end(), b.id))
    keep = []
    for start, end, ident in spans:
        if start >= 0 and any(
            s2 <= start and end <= e2 and (e2 - s2) > (end - start) for s2, e2, _ in spans if s2 >= 0
        ):
            continue
        keep.append(ident)
    order = list(catalog().benchmarks)
    return sorted(set(keep), key=order.index)


# what an organisation of the user's is called, after its place ("a Lisbon fintech", "our Munich office")
_ORG_NOUNS = (
    r"(company|startup|entity|firm|business|bank|hospital|government|agency|university|org|organi[sz]ation|office|"
    r"team|fintech|hq|headquarters|branch|subsidiary|house|studio|shop|lab|ngo|non-?profit|clinic|practice|"
    r"consultancy|insurer|retailer|publisher|group|corporation|corp|gmbh|sa|sarl|bv|ab|oy|srl|spa)\b"
)


def _place_and_people(t: str, req: dict) -> None:
    if _has(
        r"on[- ]?prem|data (can(no|')t|must not|may not|should not|shouldn'?t|won'?t|must stay|stays)|air[- ]?gapped|"
        r"self[- ]?host|"
        r"private data|confidential|gdpr|hipaa|privacy|sensitive data|patient data|never leave|stay (on|in) (our|the) "
        r"(servers|premises|network)|"
        r"no (cloud|third[- ]party) (apis?|services)|can'?t use (cloud|external) apis",
        t,
    ):
        req["privacy"] = "self_hosted"
    if (
        re.search(
            r"(based|located|company|we are|we're|headquartered|incorporated|registered|entity|operate|domiciled|firm|"
            r"startup|"
            r"fintech|agency|office|hq|i'?m|i am|we|our)\b[^.?!]{0,30}\b(in|from|out of)\s+(the\s+)?" + EU + r"\b",
            t,
        )
        or re.search(r"\b(eu|european|e\.u\.)[- ](based|company|entity|firm|startup|business|citizen|resident|org)", t)
        or re.search(r"\b" + EU + r"[- ](based|headquartered|registered)\b", t)
        or re.search(r"\b" + EU + r" (\w+ )?" + _ORG_NOUNS, t)  # "our Munich office", "a Polish software house"
        or re.search(r"\b(hq|headquarters|head office|seat)\s*(:|-|=|is|are)?\s*(in\s+)?(the\s+)?" + EU + r"\b", t)
    ):
        if not re.search(r"\b(not|n't|outside( of)?|no longer)\b[^.?!]{0,20}\b(in|from|based in)?\s*(the )?" + EU, t):
            req["eu_entity"] = True
    if (
        re.search(r"\b(not (in|from|based in) (the )?(eu|europe)|outside (of )?(the )?(eu|europe)|non[- ]eu)\b", t)
        or re.search(
            r"(based|located|company|we are|we're|headquartered|incorporated|registered)\b[^.?!]{0,25}\b(in|"
            r"from)\s+(the\s+)?" + NON_EU + r"\b",
            t,
        )
        or re.search(r"\b" + NON_EU + r"[- ](based|company|entity|firm|startup)\b", t)
    ):
        if "eu_entity" not in req:
            req["eu_entity"] = False
    places = _territories(t)
    if places:
        req["territories"] = places


# Where a user is established or will use the model (check_license territories): ISO 3166 codes, "EU" for the Union.
TERRITORIES = {code: _alternation(p["names"]) for code, p in PLACES.items()}
_PLACE_BEFORE = (
    r"(based|located|company|we are|we're|headquartered|incorporated|registered|entity|operate|operating|domiciled|"
    r"firm|startup|users|customers|clients|deploy|deployed|launch|launching|sell|selling|available|serve|serving|"
    r"use it|used|i'?m|i am|we|our|hospital|bank|government|agency|university|allowed|permitted|legal|ok|okay|"
    r"usable|available|office|hq|fintech|agency)\b[^.?!]{0,30}\b(in|from|across|throughout|out of)\s+(the\s+)?"
)
_ORG_AFTER = r"[- ](based|users|customers|market|(\w+ )?" + _ORG_NOUNS + r")"


def _territories(t: str) -> list[str]:
    out = []
    for code, names in TERRITORIES.items():
        if re.search(_PLACE_BEFORE + r"(" + names + r")\b", t) or re.search(r"\b(" + names + r")" + _ORG_AFTER, t):
            if not re.search(r"\b(not|outside( of)?|except)\s+(in\s+|from\s+|the\s+)?(" + names + r")\b", t):
                out.append(code)
    return out


def _clears(t: str, req: dict) -> None:
    for pattern, keys in CLEARABLE:
        if (
            re.search(CLEAR_VERB + r"\s+(about\s+)?(the\s+|that\s+|our\s+|my\s+|any\s+)?(" + pattern + r")\b", t)
            or re.search(
                r"\b(no|without)\s+(" + pattern + r")\s+(limit|constraint|cap|requirement|restriction|preference)", t
            )
            or re.search(r"\b(" + pattern + r")\s+(doesn'?t|does not|don'?t|do not) matter", t)
            or re.search(r"\bno (specific |particular )?(" + pattern + r")\b(?! gpu)", t)
            and keys[0] in ("budget_usd_per_month", "engine", "benchmarks", "languages", "licenses")
            and not re.search(r"\bno (" + pattern + r")\b\s*(other|else)", t)
        ):
            for key in keys:
                if key not in req:  # what the same message states stands ("forget the 4090, we have an A100")
                    req[key] = None
