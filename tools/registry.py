"""One registry of tools: typed functions in, validated calls and OpenAI function schemas out.

A tool is a plain function with type hints and a Google-style docstring. Its first docstring
paragraph is the tool description; the ``Args:`` section gives each parameter's description.
Arguments are validated by a pydantic model built from the signature, so every edge (Python,
CLI, HTTP, MCP, the LLM) gets the same checks and the same structured error.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import math
import re
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from tools.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)
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
            raise InvalidInput(f"arguments of {self.name} must be a JSON object, not {type(args).__name__}", field=None)
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
    return explain(exc, tool.args_model, tool.name, tool.arg_docs)


def explain(
    exc: ValidationError, model: type[BaseModel], owner: str, docs: dict[str, str] | None = None
) -> InvalidInput:
    """The first error of a validation as InvalidInput: the field named, what is allowed (a range as "between 1 and
    20", a list's length, the allowed arguments), and the field's description from the docstring."""
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    fld = loc[0] if loc else None
    allowed = sorted(model.model_fields)
    if err["type"] == "extra_forbidden":
        import difflib

        close = difflib.get_close_matches(fld or "", allowed, n=3)
        return InvalidInput(
            f"{owner} has no argument {fld!r}; allowed arguments: {', '.join(allowed)}", field=fld, suggestions=close
        )
    where = ".".join(loc) if loc else "arguments"
    text = f"{where}: {err['msg']}"
    if err["type"] == "missing":
        text = f"{where} is required"
    elif len(loc) == 1 and fld in model.model_fields and (limit := _limit_text(err["type"], model.model_fields[fld])):
        text = f"{where} {limit}"
    hint = (docs or {}).get(fld or "", "")
    if hint:
        text += f" ({fld}: {hint})"
    value = err.get("input")
    if err["type"] == "finite_number" and isinstance(value, float) and not math.isfinite(value):
        # only for number fields: inf given for a string field is a type error, said as such above
        text = f"{where}: must be a finite number, not {value}"
    return InvalidInput(text, field=fld)


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_LENGTH_ERRORS = {"too_short", "too_long"}


def _limit_text(error_type: str, info: FieldInfo) -> str | None:
    """What a field's declared limits allow, for an error that broke one of them: "must be between 1 and 20",
    "must be greater than 0", "takes at most 20 entries"."""
    bounds = {
        name: getattr(item, name)
        for item in info.metadata
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length")
        if getattr(item, name, None) is not None
    }
    if error_type in _RANGE_ERRORS:
        low = f"{_number(bounds['ge'])}" if "ge" in bounds else None
        high = f"{_number(bounds['le'])}" if "le" in bounds else None
        if low is not None and high is not None:
            return f"must be between {low} and {high}"
        parts = [
            f"at least {low}" if low is not None else None,
            f"greater than {_number(bounds['gt'])}" if "gt" in bounds else None,
            f"at most {high}" if high is not None else None,
            f"less than {_number(bounds['lt'])}" if "lt" in bounds else None,
        ]
        return "must be " + " and ".join(p for p in parts if p)
    if error_type in _LENGTH_ERRORS:
        low, high = bounds.get("min_length"), bounds.get("max_length")
        if error_type == "too_long" and high is not None:
            return f"takes at most {high:,} entries"
        if low is not None:
            return f"needs at least {low:,} {'entry' if low == 1 else 'entries'}"
    return None


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("advisor_deadline", default=None)


def current_deadline() -> float | None:
    """The time.monotonic() by which the innermost call_with_deadline around this code must be done (None: no
    deadline), so that work it abandons can stop itself (the hf driver's generation does)."""
    return _DEADLINE.get()


def call_with_deadline(fn: Callable[[], Any], timeout_s: float | None) -> Any:
    """Run ``fn()`` in a worker thread and wait at most ``timeout_s`` seconds for it.

    A call that hangs (a stuck server, a runaway generation, a tool caught in a loop) must not hang the turn or hold
    the conversation's lock: past the deadline this raises TimeoutError and the call is abandoned (its thread is a
    daemon and its result, if it ever comes, is dropped). The context (LangGraph's config and streaming callbacks,
    the catalog in use) is copied into the worker. ``timeout_s`` None or <= 0: no deadline.
    """
    if not timeout_s or timeout_s <= 0:
        return fn()
    ctx = contextvars.copy_context()
    outer = _DEADLINE.get()
    deadline = time.monotonic() + timeout_s
    ctx.run(_DEADLINE.set, deadline if outer is None else min(outer, deadline))
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="advisor-deadline-call", daemon=True).start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"no answer within {timeout_s:g} s; the call was abandoned")
    if "error" in box:
        raise box["error"]
    return box["value"]


def failure(kind: str, message: str) -> dict:
    """A structured error for what is not the caller's fault (a tool that failed or ran out of time)."""
    return {"error": {"type": kind, "message": message, "field": None, "suggestions": []}}


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

            raise NotFound(
                f"unknown tool {name!r}; available tools: {', '.join(sorted(self._tools))}",
                field="name",
                suggestions=difflib.get_close_matches(str(name), list(self._tools), n=3),
            ) from None

    def names(self) -> list[str]:
        return list(self._tools)

    def run(self, name: str, args: Any, timeout_s: float | None = None) -> dict:
        """Call a tool for a model, never raising: its result, or the structured error of an unknown tool, bad
        arguments (invalid_input), a failure inside the tool (tool_failure) or no result within ``timeout_s``
        (tool_timeout). The model reads the error and can correct itself."""
        try:
            tool = self.get(name)
            return call_with_deadline(lambda: tool(args), timeout_s)
        except InvalidInput as exc:
            return exc.to_dict()
        except TimeoutError:
            return failure("tool_timeout", f"{name} gave no result within {timeout_s:g} s; try narrower arguments")
        except Exception as exc:  # a bug in a tool must not end the conversation
            log.exception("tool %s failed", name)
            return failure("tool_failure", f"{name} failed: {type(exc).__name__}: {exc}")

    def __iter__(self):
        return iter(self._tools.values())
