"""Turn events and stored conversations -> Gradio chat messages. Pure translation, as in smolagents' gradio_ui.py:
what the user typed is shown literally, a model's answer keeps its Markdown but loads nothing from elsewhere, and
each tool call is a collapsible step that turns from pending to done. An answer opens with its verdict card
(advisor/verdict.py, from the turn's tool results), its reasons, assumptions and sources folded under it; the offline
driver's notice is shown with the conversation's first answer only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import gradio as gr

from advisor import verdict
from advisor.events import Failed, Final, Token, ToolCalled, ToolReturned, TurnEvent
from advisor.render import OFFLINE_MARK, literal_markdown, split_folds, without_offline_note

FOLD_TITLE = "Reasons, assumptions and sources"

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


def present(text: str, calls: list[ToolReturned], offline_note_shown: bool = False) -> str:
    """An answer as the chat shows it: the verdict card of the turn's tool results, then the answer, its folded parts
    (advisor/render.py) under one "Reasons, assumptions and sources"; the offline notice left out once shown."""
    if offline_note_shown:
        text = without_offline_note(text)
    shown, more = split_folds(text)
    card = verdict.of(calls)
    out = [verdict.html(card)] if card else []
    out.append(answer(shown) or "(no answer)")
    if more:
        out.append(f"<details><summary>{FOLD_TITLE}</summary>\n\n{answer(more)}\n\n</details>")
    return "\n\n".join(out)


def _content(message: object) -> str:
    """A chat message's text, whichever shape the chat hands it back in (a ChatMessage, a dict, a list of parts)."""
    content: object = message.content if isinstance(message, gr.ChatMessage) else None
    if isinstance(message, dict):
        content = message.get("content")
    if isinstance(content, list):
        return " ".join(_content({"content": part.get("text") if isinstance(part, dict) else part}) for part in content)
    return content if isinstance(content, str) else ""


def _shows_offline_note(history: Iterable) -> bool:
    return any(OFFLINE_MARK in _content(m) for m in history)


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
        self.calls: list[ToolReturned] = []
        self.note_shown = _shows_offline_note(history)

    def add(self, event: TurnEvent) -> None:
        match event:
            case ToolCalled():
                self.tool_rows[event.call_id] = self._put(tool_message(event, "pending"), None)
            case ToolReturned():
                self.calls.append(event)
                self._put(tool_message(event, "done"), self.tool_rows.get(event.call_id))
            case Token(text=text):
                self.streamed += text
                self.answer_row = self._put(
                    gr.ChatMessage(role="assistant", content=answer(self.streamed)), self.answer_row
                )
            case Failed(message=message):
                self._put(warning(message), None)
            case Final(text=text):
                shown = present(text, self.calls, self.note_shown)
                self._put(gr.ChatMessage(role="assistant", content=shown), self.answer_row)

    def _put(self, message: gr.ChatMessage, row: int | None) -> int:
        if row is None:
            self.history.append(message)
            return len(self.history) - 1
        self.history[row] = message
        return row


def chat_of(history: Iterable[dict]) -> list[gr.ChatMessage]:
    """A stored conversation (Advisor.history) as chat messages."""
    out: list[gr.ChatMessage] = []
    calls: list[ToolReturned] = []  # the tool results of the turn so far
    note_shown = False
    for i, item in enumerate(history):
        if item["role"] == "user":
            calls = []
            out.append(gr.ChatMessage(role="user", content=literal(item["content"])))
        elif item["role"] == "assistant":
            out.append(gr.ChatMessage(role="assistant", content=present(item["content"], calls, note_shown)))
            note_shown = note_shown or OFFLINE_MARK in item["content"]
        else:
            step = ToolReturned(f"h{i}", item["name"], item["args"], item["result"], item.get("duration_s") or 0.0)
            calls.append(step)
            out.append(tool_message(step, "done"))
    return out
