"""Which requirement field fills which tool argument: a table, read against the tools' live schemas.

A field maps to the argument of the same name in every tool that has one, unless the table names
another argument per tool. ``arguments(tool, state)`` keeps only the arguments the tool's schema
has today and values its schema accepts (an engine the enum lacks is left out), so when a tool
gains an argument (``vram_gb`` in estimate_memory, ``engine`` in plan_deployment) it is filled from
the state with no other change; a new field is one line here.
"""

from __future__ import annotations

import functools

# field -> argument name for every tool that has it ("*"), or per tool; a tool missing from a dict gets nothing
ARGUMENTS: dict[str, dict[str, str]] = {
    "use_case": {"select_models": "use_case"},
    "gpu": {"*": "gpu"},
    "num_gpus": {"*": "num_gpus"},
    "vram_gb": {"*": "vram_gb"},
    "unified_memory": {"*": "unified_memory"},
    "device_class": {"*": "device_class"},  # a device given by its memory: consumer, datacenter, apple or cpu
    "min_context": {
        "select_models": "min_context",
        "find_models": "min_context",
        "estimate_memory": "context_length",
        "estimate_throughput": "context_length",
        "plan_deployment": "context_length",
    },
    "licenses": {"select_models": "licenses"},
    "commercial": {"*": "commercial"},
    "monthly_active_users": {"*": "monthly_active_users"},
    "languages": {"*": "languages"},
    "eu_entity": {"*": "eu_entity"},
    "hosted_service": {"*": "hosted_service"},
    "use_outputs_to_train_other_models": {"*": "use_outputs_to_train_other_models"},
    "redistribute": {"*": "redistribute"},
    "modify": {"*": "modify"},
    "monthly_tokens": {"*": "monthly_tokens"},
    "gpu_usd_per_hour": {"*": "gpu_usd_per_hour"},
    "utilization": {"*": "utilization"},
    "input_share": {"*": "input_share"},
    "api_models": {"*": "api_models"},
    "api_usd_per_mtok_input": {"*": "api_usd_per_mtok_input"},
    "api_usd_per_mtok_output": {"*": "api_usd_per_mtok_output"},
    "hardware_usd": {"*": "hardware_usd"},
    "amortization_months": {"*": "amortization_months"},
    "electricity_usd_per_kwh": {"*": "electricity_usd_per_kwh"},
    "on_prem": {"*": "on_prem"},
    "engine": {"*": "engine"},
    "quantization": {"*": "quantization"},
    "kv_cache_dtype": {"*": "kv_cache_dtype"},
    "benchmarks": {"*": "benchmarks"},
    "max_params_b": {"*": "max_params_b"},
    "needs_vision": {"*": "needs_vision"},
    # peak concurrent requests: a deployment and speed fact, not estimate_cost's per-replica batch
    "concurrency": {"estimate_throughput": "concurrency", "plan_deployment": "concurrency"},
    "batch_size": {"*": "batch_size"},
    "top_k": {"*": "top_k", "find_models": "limit"},
    "segment": {"list_gpus": "segment"},
    "min_memory_gb": {"list_gpus": "min_memory_gb"},
    "monthly_revenue_usd": {"*": "monthly_revenue_usd"},
    "territories": {"*": "territories"},
    "memory_bandwidth_gbps": {"*": "memory_bandwidth_gbps"},
    "system_ram_bandwidth_gbps": {"*": "system_ram_bandwidth_gbps"},
}
# Arguments deliberately left to the tool's default: estimate_cost's concurrency and context are per-replica batch
# settings, not the user's peak load or the context the model must support.
DELIBERATE = {("estimate_cost", "concurrency"), ("estimate_cost", "context_length")}


@functools.lru_cache(maxsize=64)
def _schema(tool: str) -> dict:
    import tools

    try:
        return tools.get(tool).parameters_schema().get("properties", {})
    except Exception:  # an unknown tool takes nothing
        return {}


def schema_properties(tool: str) -> dict:
    """The tool's argument schemas (cached; ``refresh()`` after the registry changes)."""
    return _schema(tool)


def refresh() -> None:
    _schema.cache_clear()


def argument_for(field: str, tool: str) -> str | None:
    names = ARGUMENTS.get(field)
    if not names:
        return None
    arg = names.get(tool, names.get("*"))
    return arg if arg and arg in _schema(tool) else None


def accepts(tool: str, arg: str, value) -> bool:
    """Whether the tool's schema takes this value: enums, and the type of plain fields."""
    prop = _schema(tool).get(arg)
    if prop is None:
        return False
    options = [prop, *prop.get("anyOf", [])]
    enums = [o["enum"] for o in options if "enum" in o]
    if enums:
        return any(value in e for e in enums)
    types = {o.get("type") for o in options}
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    if isinstance(value, float):
        return "number" in types or ("integer" in types and value == int(value))
    if isinstance(value, str):
        return "string" in types
    if isinstance(value, list):
        return "array" in types
    return True


def arguments(tool: str, state: dict, **fixed) -> dict:
    """The tool's arguments from the requirement state (fields with a value), then ``fixed`` over them."""
    out: dict = {}
    for field, value in state.items():
        if value is None:
            continue
        arg = argument_for(field, tool)
        if arg is None or not accepts(tool, arg, value):
            continue
        if (
            isinstance(value, float)
            and value == int(value)
            and "integer" in {o.get("type") for o in [_schema(tool)[arg], *_schema(tool)[arg].get("anyOf", [])]}
        ):
            value = int(value)
        out[arg] = value
    for key, value in fixed.items():
        if value is not None and key in _schema(tool):
            out[key] = value
    return out


def unfilled() -> dict[str, list[str]]:
    """Arguments of the tools today that no field fills (the planner chooses them, or a line here is missing)."""
    import tools

    filled: dict[str, set[str]] = {}
    for names in ARGUMENTS.values():
        for tool in tools.names():
            arg = names.get(tool, names.get("*"))
            if arg:
                filled.setdefault(tool, set()).add(arg)
    out = {}
    for tool in tools.names():
        missing = sorted(
            a for a in set(_schema(tool)) - filled.get(tool, set()) - PLANNER_CHOSEN if (tool, a) not in DELIBERATE
        )
        if missing:
            out[tool] = missing
    return out


# Arguments the offline planner fills itself from the conversation (the models in focus, their names), not from a field.
PLANNER_CHOSEN = {"model", "models", "query", "family", "license", "specialty"}


def fields_used(tool: str, args: dict) -> list[str]:
    """The requirement fields behind a call's arguments (for the 'Understood' line)."""
    out = []
    for field, names in ARGUMENTS.items():
        arg = names.get(tool, names.get("*"))
        if arg and arg in args:
            out.append(field)
    return out
