"""Turn events and stored conversations -> Gradio chat messages. Pure translation, as in smolagents' gradio_ui.py:
what the user typed is shown literally, a model's answer keeps its Markdown but loads nothing from elsewhere, and
each tool call is a collapsible step that turns from pending to done."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import gradio as gr

from advisor.events import Failed, Final, Token, ToolCalled, ToolReturned, TurnEvent
from advisor.render import literal_markdown

MAX_TOOL_JSON = 4000
# Markup in a model's answer that would fetch something from elsewhere when shown: Markdown images, and HTML
# elements that load a URL. Shown as text instead (a Markdown image becomes a plain link).
_REMOTE_HTML = re.compile(
    r"<(?=\s*/?\s*(?:img|image|picture|source|video|audio|track|iframe|frame|object|embed|link|"
    r"meta|base|svg|input|body|style|script)\b)",
    re.IGNORECASE,
)


def literal(text: object) -> str:
    """What the user typed, shown as literal text in the chat (no HTML, no Markdown structure)."""
    return literal_markdown(str(text))


def answer(text: object) -> str:
    """A model's answer for the chat: its Markdown is kept, but nothing in it loads from another server."""
    return _REMOTE_HTML.sub("&lt;", str(text).replace("![", "!\\["))


def warning(text: object) -> gr.ChatMessage:
    return gr.ChatMessage(role="assistant", content=f"⚠️ {text}")


def tool_message(call: ToolCalled | ToolReturned, status: str) -> gr.ChatMessage:
    """A tool step: its arguments, and its result once it has one (cut at MAX_TOOL_JSON characters)."""
    body: dict = {"arguments": call.args}
    if isinstance(call, ToolReturned):
        body["result"] = call.result
    text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_TOOL_JSON:
        text = text[:MAX_TOOL_JSON] + "\n… (truncated; the full result is in the API and the report)"
    meta: Any = {"title": f"Tool: {call.name}", "status": status, "id": call.call_id}
    if isinstance(call, ToolReturned):
        meta["duration"] = round(call.duration_s, 3)
        if call.failed:
            meta["title"] += " (error)"
    return gr.ChatMessage(role="assistant", content=f"```json\n{text}\n```", metadata=meta)


class Transcript:
    """A chat history that follows a turn: :meth:`add` places each event's message (a pending tool step replaced
    by its result, streamed tokens growing one answer that the final text replaces)."""

    def __init__(self, history: list):
        self.history = history
        self.tool_rows: dict[str, int] = {}
        self.answer_row: int | None = None
        self.streamed = ""

    def add(self, event: TurnEvent) -> None:
        match event:
            case ToolCalled():
                self.tool_rows[event.call_id] = self._put(tool_message(event, "pending"), None)
            case ToolReturned():
                self._put(tool_message(event, "done"), self.tool_rows.get(event.call_id))
            case Token(text=text):
                self.streamed += text
                self.answer_row = self._put(
                    gr.ChatMessage(role="assistant", content=answer(self.streamed)), self.answer_row
                )
            case Failed(message=message):
                self._put(warning(message), None)
            case Final(text=text):
                self._put(gr.ChatMessage(role="assistant", content=answer(text) or "(no answer)"), self.answer_row)

    def _put(self, message: gr.ChatMessage, row: int | None) -> int:
        if row is None:
            self.history.append(message)
            return len(self.history) - 1
        self.history[row] = message
        return row


def chat_of(history: Iterable[dict]) -> list[gr.ChatMessage]:
    """A stored conversation (Advisor.history) as chat messages."""
    out: list[gr.ChatMessage] = []
    for i, item in enumerate(history):
        if item["role"] == "user":
            out.append(gr.ChatMessage(role="user", content=literal(item["content"])))
        elif item["role"] == "assistant":
            out.append(gr.ChatMessage(role="assistant", content=answer(item["content"])))
        else:
            step = ToolReturned(f"h{i}", item["name"], item["args"], item["result"], item.get("duration_s") or 0.0)
            out.append(tool_message(step, "done"))
    return out
