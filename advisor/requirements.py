"""Read deployment requirements out of what a user writes, deterministically.

Every driver uses this to keep the conversation's requirements state (shown in the UI); the
offline driver also plans its tool calls from it. The reading itself is advisor.nlu (quantities,
catalog names, slots); this module keeps the state: later statements override earlier ones, a
correction ("actually non-commercial", "we have two 4090s") updates it, and a field stated as None
("forget the budget", "no GPU") is cleared.
"""

from __future__ import annotations


def extract(text: str, context: dict | None = None) -> dict:
    """Requirements stated in one message, as a dict of only the fields it states (None: cleared).

    ``context`` (the state so far and the previous turn's tools) gives a bare figure its meaning:
    "and at 100M?" after a cost question is a token volume.
    """
    from advisor.nlu import read

    return read(text, context).fields


def context_of(messages: list, requirements: dict | None = None) -> dict:
    """What the next message is read against: the state so far and the tools of the turn before it.

    ``messages`` is the conversation up to (not including) the message to read.
    """
    from langchain_core.messages import AIMessage, HumanMessage

    tools: list[str] = []
    args: list[dict] = []
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
            break
        if isinstance(msg, AIMessage):
            for call in reversed(msg.tool_calls):
                tools.insert(0, call["name"])
                args.insert(0, call.get("args") or {})
    req = {k: v for k, v in (requirements or {}).items() if k not in TRANSIENT}
    return {"requirements": req, "previous_tools": tools, "previous_args": args} if (req or tools) else {}


TRANSIENT = ("mentioned_models", "mentioned_families", "top_k", "derived", "both")
# kept in the state but not shown as a requirement: the parts a derived volume was worked out from
HIDDEN = ("usage",)


def merge(old: dict | None, new: dict | None) -> dict:
    """Reducer: later statements win; a None value clears a field (e.g. 'no GPU' clears the GPU)."""
    out = dict(old or {})
    for key in TRANSIENT:
        out.pop(key, None)
    new = new or {}
    for key, value in new.items():
        if value is None:
            out.pop(key, None)
            if key == "gpu":
                out.pop("num_gpus", None)
            continue
        if key == "vram_gb":
            out.pop("gpu", None)  # a plain memory size replaces a named GPU
            for part in ("unified_memory", "device_class", "memory_bandwidth_gbps", "cpu_cores", "cpu_family"):
                if part not in new and not (
                    part != "unified_memory"
                    and out.get("device_class") == "cpu"
                    and new.get("hardware", "cpu") == "cpu"
                ):
                    out.pop(part, None)  # another device's parts go with it (a CPU server's RAM restated keeps them)
        if key == "use_case" and value == "chat" and out.get("use_case") == "customer_service":
            continue  # "a chatbot" does not undo "customer service"
        if key == "gpu":
            # another device keeps the count stated ("they're L40S, not A6000"); "an A100" clears it (None)
            out.pop("vram_gb", None)
            out.pop("unified_memory", None)
            out.pop("memory_bandwidth_gbps", None)
            out.pop("device_class", None)
            out.pop("cpu_cores", None)
            out.pop("cpu_family", None)
            if "hardware" not in new:
                out.pop("hardware", None)
        if key == "monthly_tokens" and "usage" not in new:
            out.pop("usage", None)  # a volume stated outright replaces one worked out from its parts
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
            # a size limit bounds the models as the hardware would ("best math model under 15B")
            if req.get("gpu") or req.get("vram_gb") or req.get("hardware") or req.get("max_params_b"):
                continue
            if req.get("monthly_tokens") and req.get("use_case"):
                continue  # "which model would you self-host for that (400M tokens a month)?": rented GPUs, costed
        elif key in req:
            continue
        out.append((key, question))
    return out


LABELS = {
    "use_case": "Use case",
    "gpu": "GPU",
    "num_gpus": "GPUs",
    "vram_gb": "GPU memory (GB)",
    "hardware": "Hardware",
    "commercial": "Commercial use",
    "monthly_active_users": "Monthly active users",
    "licenses": "Licences",
    "min_context": "Context (tokens)",
    "monthly_tokens": "Tokens a month",
    "budget_usd_per_month": "Budget ($/month)",
    "privacy": "Privacy",
    "languages": "Languages",
    "eu_entity": "Based in the EU",
    "hosted_service": "Offered as a service",
    "use_outputs_to_train_other_models": "Train other models on outputs",
    "proceed": "Proceed without more questions",
    "api_models": "APIs to compare",
    "gpu_usd_per_hour": "GPU price ($/hour)",
    "utilization": "GPU utilisation",
    "input_share": "Input share of tokens",
    "engine": "Engine",
    "quantization": "Weight format",
    "kv_cache_dtype": "KV cache",
    "benchmarks": "Benchmarks",
    "max_params_b": "Largest size (B parameters)",
    "needs_vision": "Needs vision",
    "concurrency": "Concurrent requests",
    "batch_size": "Batch size",
    "redistribute": "Redistributes the weights",
    "modify": "Modifies the weights",
    "unified_memory": "Unified memory",
    "api_usd_per_mtok_input": "API input price ($/M tokens)",
    "api_usd_per_mtok_output": "API output price ($/M tokens)",
    "hardware_usd": "Hardware price ($)",
    "amortization_months": "Amortisation (months)",
    "electricity_usd_per_kwh": "Electricity ($/kWh)",
    "on_prem": "Consider buying hardware",
    "segment": "GPU segment",
    "min_memory_gb": "Smallest GPU memory (GB)",
    "monthly_revenue_usd": "Monthly revenue ($)",
    "territories": "Territories",
    "memory_bandwidth_gbps": "Memory bandwidth (GB/s)",
    "system_ram_bandwidth_gbps": "System RAM bandwidth (GB/s)",
    "device_class": "Device class",
    "cpu_cores": "CPU cores",
    "cpu_family": "CPU",
}
# how a memory size reads for each kind of device
MEMORY_LABELS = {"cpu": "System RAM (GB)", "apple": "Unified memory (GB)"}


def describe(req: dict, context: dict | None = None) -> list[str]:
    """Human-readable lines for the requirements panel (``context``: the whole state, when ``req`` is part of it)."""
    whole = context if context is not None else req
    kind = whole.get("device_class") or ("apple" if whole.get("unified_memory") else None)
    labels = {**LABELS, "vram_gb": MEMORY_LABELS.get(kind or "", LABELS["vram_gb"])}
    return [f"{labels.get(k, k)}: {_shown(k, v)}" for k, v in req.items() if k not in TRANSIENT and k not in HIDDEN]


def _shown(key: str, value: object) -> str:
    from tools.common import catalog

    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "gpu" and value in catalog().gpus:
        return catalog().gpus[value].name
    if isinstance(value, int) and value >= 10_000:
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).replace("_", " ")
