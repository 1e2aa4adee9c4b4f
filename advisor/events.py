"""Turn events: what one turn of a conversation tells its edges (CLI, HTTP, OpenAI endpoint, browser UI), in order.

``Advisor.stream`` yields them; each edge matches on their types and only translates them (into terminal lines, SSE
chunks or chat messages). A turn yields one ``ThreadStarted``, then any number of ``Token``, ``ToolCalled`` and
``ToolReturned``, and ends with exactly one ``Final`` or ``Failed``.

    for event in advisor.stream("Which model fits one RTX 4090?"):
        match event:
            case Token(text=text): print(text, end="")
            case Final(text=text): print(text)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ThreadStarted:
    """The message was accepted (valid, storable) and the turn has started in the conversation ``thread_id``."""

    thread_id: str


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the model writes it (drivers that stream)."""

    text: str


@dataclass(frozen=True)
class ToolCalled:
    """The model asked for a tool; its result follows as a ``ToolReturned`` with the same ``call_id``."""

    call_id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolReturned:
    """A tool's result (or its structured error, ``{"error": {...}}``, with ``status`` "error")."""

    call_id: str
    name: str
    args: dict[str, Any]
    result: Any
    duration_s: float = 0.0
    status: str = "success"

    @property
    def failed(self) -> bool:
        return self.status == "error" or (isinstance(self.result, dict) and "error" in self.result)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "args": self.args,
            "result": self.result,
            "duration_s": self.duration_s,
            "id": self.call_id,
        }


@dataclass(frozen=True)
class Final:
    """The turn's answer, with the conversation's requirements and shortlist after it."""

    thread_id: str
    text: str
    requirements: dict[str, Any] = field(default_factory=dict)
    shortlist: list[dict] = field(default_factory=list)
    driver: str = "offline"


@dataclass(frozen=True)
class Failed:
    """The turn ended without an answer; ``message`` says why and whether the user's message is saved."""

    message: str


TurnEvent = ThreadStarted | Token | ToolCalled | ToolReturned | Final | Failed


@dataclass
class TurnResult:
    """A whole turn, folded from its events (:func:`fold`): the reply, every tool call, the state after it."""

    thread_id: str
    reply: str
    tool_calls: list[ToolReturned] = field(default_factory=list)
    requirements: dict = field(default_factory=dict)
    shortlist: list[dict] = field(default_factory=list)
    driver: str = "offline"

    def as_dict(self) -> dict:
        return {
            "thread_id": self.thread_id,
            "reply": self.reply,
            "tool_calls": [t.as_dict() for t in self.tool_calls],
            "requirements": self.requirements,
            "shortlist": self.shortlist,
            "driver": self.driver,
        }


class TurnFailed(RuntimeError):
    """Raised by :func:`fold` when the turn ended in ``Failed``; the message is the event's."""


def fold(events: Iterable[TurnEvent], driver: str = "offline") -> TurnResult:
    """The turn's result from its events; raises TurnFailed if it failed."""
    result = TurnResult(thread_id="", reply="", driver=driver)
    returned: dict[str, ToolReturned] = {}
    for event in events:
        match event:
            case ThreadStarted(thread_id=thread_id):
                result.thread_id = thread_id
            case ToolReturned():
                returned[event.call_id] = event
            case Final():
                result.reply, result.requirements, result.shortlist = event.text, event.requirements, event.shortlist
            case Failed(message=message):
                raise TurnFailed(message)
    result.tool_calls = list(returned.values())
    return result
