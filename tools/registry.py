"""One registry of tools: typed functions in, validated calls and OpenAI function schemas out.

A tool is a plain function with type hints and a Google-style docstring. Its first docstring
paragraph is the tool description; the ``Args:`` section gives each parameter's description.
Arguments are validated by a pydantic model built from the signature, so every edge (Python,
CLI, HTTP, MCP, the LLM) gets the same checks and the same structured error.
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from tools.errors import InvalidInput

MAX_STRING = 2_000  # characters in any string argument
_ARG_LINE = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {arg: description}) from a Google-style docstring."""
    doc = inspect.cleandoc(doc or "")
    head, _, rest = doc.partition("\nArgs:\n")
    description = " ".join(head.split("\n\n")[0].split())
    args: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        if line.strip() and not line.startswith(" "):
            break  # next section (Returns:, ...)
        m = _ARG_LINE.match(line)
        if m and len(line) - len(line.lstrip()) <= 4:
            current = m.group(1)
            args[current] = m.group(2).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return description, args


@dataclass
class Tool:
    name: str
    fn: Callable[..., dict]
    description: str
    args_model: type[BaseModel]
    arg_docs: dict[str, str] = field(default_factory=dict)

    def parameters_schema(self) -> dict:
        schema = self.args_model.model_json_schema()
        _strip_titles(schema)
        schema.setdefault("required", [])
        schema["additionalProperties"] = False
        return schema

    def openai_schema(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters_schema()},
        }

    def validate(self, args: dict | None) -> BaseModel:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise InvalidInput(
                f"arguments of {self.name} must be a JSON object, not {type(args).__name__}", field=None
            )
        try:
            return self.args_model.model_validate(args)
        except ValidationError as exc:
            raise _to_invalid_input(self, exc) from None

    def __call__(self, args: dict | None = None) -> dict:
        parsed = self.validate(args)
        kwargs = {k: getattr(parsed, k) for k in type(parsed).model_fields}
        return with_catalog_date(self.fn(**kwargs))


def with_catalog_date(result: dict) -> dict:
    """Every answer states how current its facts are: the catalog's as-of date, once, in its assumptions."""
    from tools.common import catalog_as_of

    as_of = catalog_as_of()
    if not isinstance(result, dict) or as_of is None:
        return result
    result.setdefault("catalog_as_of", as_of.isoformat())
    notes = result.get("assumptions")
    if isinstance(notes, list) and not any(str(n).startswith("catalog as of") for n in notes):
        notes.append(f"catalog as of {as_of.isoformat()} (the newest date a model fact or price was read)")
    return result


def _strip_titles(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("title", None)
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop in value.values():
                    _strip_titles(prop)
            else:
                _strip_titles(value)
    elif isinstance(node, list):
        for item in node:
            _strip_titles(item)


def _to_invalid_input(tool: Tool, exc: ValidationError) -> InvalidInput:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    fld = loc[0] if loc else None
    allowed = sorted(tool.args_model.model_fields)
    if err["type"] == "extra_forbidden":
        import difflib

        close = difflib.get_close_matches(fld or "", allowed, n=3)
        return InvalidInput(
            f"{tool.name} has no argument {fld!r}; allowed arguments: {', '.join(allowed)}",
            field=fld,
            suggestions=close,
        )
    where = ".".join(loc) if loc else "arguments"
    msg = err["msg"]
    hint = tool.arg_docs.get(fld or "", "")
    text = f"{where}: {msg}"
    if err["type"] == "missing":
        text = f"{where} is required"
    if hint:
        text += f" ({fld}: {hint})"
    value = err.get("input")
    if err["type"] == "finite_number" and isinstance(value, float) and not math.isfinite(value):
        # only for number fields: inf given for a string field is a type error, said as such above
        text = f"{where}: must be a finite number, not {value}"
    return InvalidInput(text, field=fld)


class Registry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, fn: Callable[..., dict], name: str | None = None) -> Callable[..., dict]:
        name = name or fn.__name__
        description, arg_docs = parse_docstring(fn.__doc__ or "")
        hints = typing.get_type_hints(fn, include_extras=True)
        fields: dict[str, Any] = {}
        for pname, param in inspect.signature(fn).parameters.items():
            annotation = hints.get(pname, Any)
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[pname] = (annotation, Field(default=default, description=arg_docs.get(pname)))
        model = create_model(
            f"{name}_arguments",
            __config__=ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_STRING),
            **fields,
        )
        self._tools[name] = Tool(name, fn, description, model, arg_docs)
        return fn

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            import difflib

            raise InvalidInput(
                f"unknown tool {name!r}; available tools: {', '.join(sorted(self._tools))}",
                field="name",
                suggestions=difflib.get_close_matches(str(name), list(self._tools), n=3),
            ) from None

    def names(self) -> list[str]:
        return list(self._tools)

    def __iter__(self):
        return iter(self._tools.values())
