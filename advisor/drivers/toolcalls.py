"""Parse tool calls out of raw model text, in the formats open models use.

- Hermes / Qwen: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (one or more)
- Llama 3.1/3.2/3.3 JSON: ``{"name": ..., "parameters": {...}}`` (optionally after ``<|python_tag|>``),
  or several separated by ``;``
- Mistral: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}]`` and the newer
  ``[TOOL_CALLS]name[ARGS]{...}``

Malformed calls are returned as ``invalid`` entries with the error, never raised.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_MISTRAL_V11 = re.compile(r"\[TOOL_CALLS\]\s*([A-Za-z_][\w.-]*)\s*\[ARGS\]\s*(\{.*?\})(?=\s*\[TOOL_CALLS\]|\s*$)", re.S)
_THINK = re.compile(r"<think>.*?</think>\s*", re.S)


@dataclass
class Parsed:
    content: str
    calls: list[dict] = field(default_factory=list)  # {"name", "args", "id"}
    invalid: list[dict] = field(default_factory=list)  # {"name", "args" (raw text), "id", "error"}


def _new_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


def _loads(text: str):
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    # common slips: trailing commas, single quotes, a missing closing brace
    fixed = re.sub(r",\s*([}\]])", r"\1", text)
    try:
        return json.loads(fixed)
    except json.JSONDecodeError:
        pass
    if fixed.count("{") > fixed.count("}"):
        try:
            return json.loads(fixed + "}" * (fixed.count("{") - fixed.count("}")))
        except json.JSONDecodeError:
            pass
    raise ValueError(f"not valid JSON: {text[:120]}")


def _to_call(obj, raw: str, out: Parsed) -> None:
    if isinstance(obj, list):
        for item in obj:
            _to_call(item, raw, out)
        return
    if not isinstance(obj, dict):
        out.invalid.append({"name": None, "args": raw, "id": _new_id(), "error": "a tool call must be a JSON object"})
        return
    if "function" in obj and isinstance(obj["function"], dict):  # OpenAI-shaped
        obj = {"name": obj["function"].get("name"), "arguments": obj["function"].get("arguments")}
    name = obj.get("name")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = _loads(args) if args.strip() else {}
        except ValueError as exc:
            out.invalid.append({"name": name, "args": args, "id": _new_id(), "error": str(exc)})
            return
    if not isinstance(name, str) or not name:
        out.invalid.append({"name": None, "args": raw, "id": _new_id(), "error": "the tool call has no 'name'"})
        return
    if not isinstance(args, dict):
        out.invalid.append(
            {"name": name, "args": json.dumps(args), "id": _new_id(), "error": "'arguments' must be an object"}
        )
        return
    out.calls.append({"name": name, "args": args, "id": obj.get("id") or _new_id()})


def parse(text: str) -> Parsed:
    text = _THINK.sub("", text or "")
    # Hermes / Qwen
    if "<tool_call>" in text:
        out = Parsed(content=_HERMES.sub("", text).strip())
        for block in _HERMES.findall(text):
            try:
                _to_call(_loads(block), block, out)
            except ValueError as exc:
                out.invalid.append({"name": None, "args": block, "id": _new_id(), "error": str(exc)})
        return out
    # Mistral
    if "[TOOL_CALLS]" in text:
        head, _, rest = text.partition("[TOOL_CALLS]")
        out = Parsed(content=head.strip())
        v11 = _MISTRAL_V11.findall(text)
        if v11:
            for name, args in v11:
                try:
                    _to_call({"name": name, "arguments": _loads(args)}, args, out)
                except ValueError as exc:
                    out.invalid.append({"name": name, "args": args, "id": _new_id(), "error": str(exc)})
            return out
        body = rest.strip()
        try:
            _to_call(_loads(body), body, out)
        except ValueError as exc:
            out.invalid.append({"name": None, "args": body, "id": _new_id(), "error": str(exc)})
        return out
    # Llama 3.x JSON (whole message is the call)
    stripped = text.strip()
    if stripped.startswith("<|python_tag|>"):
        stripped = stripped[len("<|python_tag|>") :].strip()
    if stripped.startswith("{") and ('"name"' in stripped or "'name'" in stripped):
        out = Parsed(content="")
        pieces = [p for p in re.split(r"\}\s*;\s*\{", stripped)]
        if len(pieces) > 1:
            pieces = [p if p.startswith("{") else "{" + p for p in pieces]
            pieces = [p if p.endswith("}") else p + "}" for p in pieces]
        for piece in pieces:
            try:
                _to_call(_loads(piece), piece, out)
            except ValueError as exc:
                out.invalid.append({"name": None, "args": piece, "id": _new_id(), "error": str(exc)})
        if out.calls or out.invalid:
            return out
    return Parsed(content=text.strip())
