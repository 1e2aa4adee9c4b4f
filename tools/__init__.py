"""The advisor's tools: plain typed functions over the catalog, one registry for every edge.

    >>> import tools
    >>> tools.call("estimate_memory", {"model": "llama 3.1 8b", "quantization": "int4"})["total_gb"]

``call`` validates the arguments and raises :class:`InvalidInput` (with ``to_dict()``) on bad
input; ``call_json`` returns that structured error instead of raising. ``schemas`` gives the
OpenAI function-calling schemas.
"""

from __future__ import annotations

from tools.catalog_tools import compare_benchmarks, find_models, get_model, list_gpus, list_licenses
from tools.cost import estimate_cost
from tools.deploy import plan_deployment
from tools.errors import InvalidInput
from tools.licensing import check_license
from tools.memory import estimate_memory
from tools.registry import Registry, Tool
from tools.selection import select_models
from tools.throughput import estimate_throughput

registry = Registry()
for _fn in (
    get_model,
    find_models,
    select_models,
    check_license,
    estimate_memory,
    estimate_throughput,
    estimate_cost,
    compare_benchmarks,
    plan_deployment,
    list_gpus,
    list_licenses,
):
    registry.register(_fn)


def call(name: str, args: dict | None = None) -> dict:
    """Run tool ``name`` with JSON-able ``args``; raises InvalidInput on bad input."""
    return registry.get(name)(args or {})


def call_json(name: str, args: dict | None = None) -> dict:
    """Like :func:`call`, but returns ``{"error": {...}}`` instead of raising InvalidInput."""
    try:
        return call(name, args)
    except InvalidInput as exc:
        return exc.to_dict()


def schemas() -> list[dict]:
    """Every tool in OpenAI function-calling format."""
    return [t.openai_schema() for t in registry]


def names() -> list[str]:
    return registry.names()


def get(name: str) -> Tool:
    return registry.get(name)


__all__ = ["InvalidInput", "Tool", "call", "call_json", "get", "names", "registry", "schemas"]
