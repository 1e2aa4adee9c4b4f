"""Parse tool calls out of raw model text, in the formats open models use.

- Hermes / Qwen: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (one or more)
- Llama 3.1/3.2/3.3 JSON: ``{"name": ..., "parameters": {...}}`` (optionally after ``<|python_tag|>``),
  or several separated by ``;``
- Mistral: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}]`` and the newer
  ``[TOOL_CALLS]name[ARGS]{...}``
- gpt-oss (harmony): ``<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{...}<|call|>``; the
  answer is the ``final`` channel, the ``analysis`` channel is dropped
- the JSON tool-call prompt (for chat templates without tools, see ``hf.FALLBACK_PROMPT``): the Hermes form, or the
  bare JSON object, also inside a ```json fence

:class:`StreamFilter` decides, as the text streams, which part of it is for the user (not tool-call markup).

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
_HARMONY_CALL = re.compile(
    r"to=functions\.([\w.-]+)[^<]*(?:<\|channel\|>[^<]*)?(?:<\|constrain\|>[^<]*)?<\|message\|>(.*?)"
    r"(?:<\|call\|>|<\|end\|>|$)",
    re.S,
)
_HARMONY_FINAL = re.compile(r"<\|channel\|>final<\|message\|>(.*?)(?:<\|return\|>|<\|end\|>|$)", re.S)
_FENCED = re.compile(r"^```(?:json)?\s*(\{.*\})\s*```$", re.S)
MARKERS = ("<tool_call>", "[TOOL_CALLS]", "<|python_tag|>")
HARMONY = ("<|channel|>", "<|start|>")


@dataclass
class Parsed:
    content: str
    calls: list[dict] = field(default_factory=list)  # {"name", "args", "id"}
    invalid: list[dict] = field(default_factory=list)  # {"name", "args" (raw text), "id", "error"}


def _new_id() -> str:
    """Nine letters and digits: the form Mistral's chat templates require of a tool-call id (others take any)."""
    return uuid.uuid4().hex[:9]


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
    if any(marker in text for marker in HARMONY):
        return _parse_harmony(text)
    fenced = _FENCED.match(text.strip())
    if fenced and re.search(r"[\"']name[\"']", fenced.group(1)):
        text = fenced.group(1)
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


def _parse_harmony(text: str) -> Parsed:
    """gpt-oss: calls on the commentary channel addressed to functions.NAME, the answer on the final channel."""
    final = _HARMONY_FINAL.search(text)
    out = Parsed(content=final.group(1).strip() if final else "")
    for name, args in _HARMONY_CALL.findall(text):
        try:
            _to_call({"name": name, "arguments": _loads(args) if args.strip() else {}}, args, out)
        except ValueError as exc:
            out.invalid.append({"name": name, "args": args, "id": _new_id(), "error": str(exc)})
    if not final and not out.calls and not out.invalid:
        out.content = re.sub(r"<\|[a-z_]+\|>", " ", text.split("<|message|>")[-1]).strip()
    return out


class StreamFilter:
    """The part of a model's text that may be shown as it streams: everything before tool-call markup (held back,
    then parsed at the end), none of a message that opens as a JSON object (a Llama or fallback call), and only the
    final channel of gpt-oss. A marker split across tokens ("<tool" + "_call>") is held until it is clear."""

    def __init__(self) -> None:
        self.text = ""
        self.sent = ""
        self.in_call = False

    def feed(self, piece: str) -> str:
        """The new text to show after ``piece``."""
        self.text += piece
        visible = self._visible()
        if not visible.startswith(self.sent) or len(visible) <= len(self.sent):
            return ""
        new, self.sent = visible[len(self.sent) :], visible
        return new

    def remainder(self, content: str) -> str:
        """What of the final content was not shown yet (the stream's chunks add up to the content)."""
        if content.startswith(self.sent):
            return content[len(self.sent) :]
        return ""

    def _visible(self) -> str:
        """What may be shown so far, less trailing whitespace (shown once more text follows it)."""
        return self._shown_part().rstrip()

    def _shown_part(self) -> str:
        text = self.text.lstrip()
        if any(marker in text for marker in HARMONY):
            final = _HARMONY_FINAL.search(text)
            return _hold_partial(final.group(1).lstrip(), ("<|return|>", "<|end|>")) if final else ""
        if text.startswith(("{", "<|python_tag|>")) or _opens_fenced_json(text):
            self.in_call = True
            return ""
        cut = min((i for i in (text.find(m) for m in MARKERS) if i >= 0), default=-1)
        if cut >= 0:
            self.in_call = True
            return text[:cut].rstrip()
        return _hold_partial(text, MARKERS + HARMONY + ("```",) if len(text) < 12 else MARKERS)


def _opens_fenced_json(text: str) -> bool:
    if not text.startswith("```"):
        return False
    head, newline, body = text.partition("\n")
    return not newline or body.lstrip()[:1] in ("", "{")


def _hold_partial(text: str, markers: tuple[str, ...]) -> str:
    """The text less a tail that could be the start of a marker (or a fence at the start)."""
    for marker in markers:
        if marker in text and marker != "```":
            text = text[: text.find(marker)]
    hold = 0
    for marker in markers:
        for size in range(min(len(marker), len(text)), 0, -1):
            if text.endswith(marker[:size]):
                hold = max(hold, size)
                break
    return text[: len(text) - hold] if hold else text
