"""GET /v1/models and POST /v1/chat/completions: the advisor as an OpenAI-compatible chat model, streamed (server-sent
``chat.completion.chunk`` events) or not. Pass ``thread_id`` (or ``metadata.thread_id``) to continue a conversation;
each reply carries ``thread_id`` and the X-Advisor-Thread header.

The turn's events become chunks in :class:`ChunkStream` and a whole reply in :func:`completion_body`; both are pure,
so what a client receives can be tested without a server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from advisor.events import Failed, Final, ThreadStarted, Token, ToolReturned, TurnEvent
from advisor.http.errors import ErrorBody, SafeJSONResponse, json_text
from advisor.http.pools import turn_thread
from advisor.service import InputRejected, validate_thread_id
from advisor.users import user_of

SERVED_MODEL_NAME = "open-llm-advisor"
CHUNK_CHARS = 400  # an answer that was not streamed token by token is sent in pieces of this size
router = APIRouter(tags=["openai"])


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Any = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = SERVED_MODEL_NAME
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    thread_id: str | None = Field(
        default=None, description="Continue this advisor conversation (an extension to the OpenAI API)."
    )
    metadata: dict | None = None

    def last_user_text(self) -> str:
        """The newest user message's text (text parts joined when it is a list of content parts)."""
        for msg in reversed(self.messages):
            if msg.role == "user":
                if isinstance(msg.content, str):
                    return msg.content
                if isinstance(msg.content, list):
                    return "\n".join(
                        part["text"]
                        for part in msg.content
                        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
                    )
        return ""


@dataclass(frozen=True)
class Completion:
    """One reply's identity, repeated in each of its chunks."""

    thread_id: str
    model: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(self, delta: dict, finish: str | None = None) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            "thread_id": self.thread_id,
        }
        return f"data: {json_text(body)}\n\n"


class ChunkStream:
    """Turn events -> server-sent chunks: a first chunk with the role, the tokens as they come, what the final answer
    adds to them (all of it, if nothing was streamed), an error as text, then "stop" and [DONE]."""

    def __init__(self, completion: Completion):
        self.completion = completion
        self.sent = ""

    def start(self) -> list[str]:
        return [self.completion.chunk({"role": "assistant", "content": ""})]

    def on(self, event: TurnEvent) -> list[str]:
        match event:
            case Token(text=text):
                self.sent += text
                return [self.completion.chunk({"content": text})]
            case Failed(message=message):
                return [self.completion.chunk({"content": f"\n[error: {message}]"})]
            case Final(text=text):
                rest = text[len(self.sent) :] if text.startswith(self.sent) else "\n\n" + text
                return [
                    self.completion.chunk({"content": rest[i : i + CHUNK_CHARS]})
                    for i in range(0, len(rest), CHUNK_CHARS)
                ]
        return []

    def end(self) -> list[str]:
        return [self.completion.chunk({}, finish="stop"), "data: [DONE]\n\n"]


def sse_chunks(events: Iterable[TurnEvent], completion: Completion) -> Iterator[str]:
    """Every chunk a streamed reply sends for these events, in order."""
    stream = ChunkStream(completion)
    yield from stream.start()
    for event in events:
        yield from stream.on(event)
    yield from stream.end()


def completion_body(events: Iterable[TurnEvent], completion: Completion) -> dict:
    """A whole (not streamed) reply: the answer, or the error, and every tool call with its result."""
    reply, steps = "", []
    for event in events:
        match event:
            case Final(text=text):
                reply = text
            case ToolReturned():
                steps.append({"name": event.name, "arguments": event.args, "result": event.result})
            case Failed(message=message):
                reply = message
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "thread_id": completion.thread_id,
        "advisor_tool_calls": steps,
    }


@router.get("/v1/models")
def models() -> dict:
    return {
        "object": "list",
        "data": [{"id": SERVED_MODEL_NAME, "object": "model", "created": 0, "owned_by": "open-llm-advisor"}],
    }


COMPLETION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a chat.completion object, or with stream=true a text/event-stream of chat.completion.chunk "
        "objects",
        "content": {"application/json": {}, "text/event-stream": {"schema": {"type": "string"}}},
    },
    503: {"model": ErrorBody, "description": "the message was not saved: the conversation database cannot be written"},
}


@router.post("/v1/chat/completions", responses=COMPLETION_RESPONSES)
async def chat_completions(req: ChatCompletionRequest, request: Request):
    """OpenAI-compatible chat with the advisor. Pass `thread_id` (or metadata.thread_id) to continue a conversation;
    the reply carries `thread_id` and the X-Advisor-Thread header."""
    thread_id = req.thread_id or (req.metadata or {}).get("thread_id")
    try:
        thread_id = validate_thread_id(thread_id) if thread_id else None
        # a new conversation's id is made by the server; a given one must be the user's own (NotFound: 404)
        events = request.app.state.advisor.stream(req.last_user_text(), thread_id, user_of(request.headers))
        # validates the message (size, emptiness) and the database, and starts the turn, before answering: from
        # here the turn runs to its end and is stored even if this client goes away (StorageUnavailable: 503)
        started = await turn_thread(next, events)
        assert isinstance(started, ThreadStarted)
        thread_id = started.thread_id
    except InputRejected as exc:
        raise InputRejected(str(exc), field="messages" if exc.field == "message" else exc.field) from None
    completion = Completion(thread_id, req.model)
    headers = {"X-Advisor-Thread": thread_id}
    if req.stream:
        return StreamingResponse(_streamed(events, completion), media_type="text/event-stream", headers=headers)
    return SafeJSONResponse(completion_body(await turn_thread(list, events), completion), headers=headers)


async def _streamed(events: Iterator[TurnEvent], completion: Completion):
    stream = ChunkStream(completion)
    for chunk in stream.start():
        yield chunk
    # each wait for the turn's next event is a thread of its own pool: a client that drops the stream only stops
    # reading (the turn goes on), and slow turns never hold the threads other routes need
    while (event := await turn_thread(next, events, None)) is not None:
        for chunk in stream.on(event):
            yield chunk
    for chunk in stream.end():
        yield chunk
