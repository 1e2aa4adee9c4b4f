"""The `openai` driver: any OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, Ollama, LM Studio) through
LangChain's ChatOpenAI, with what small local servers need:

- streamed tool calls put together by :class:`ToolCallAssembler`, whatever the server's habits: llama-cpp-python
  repeats ``function.name`` in every chunk (LangChain's own merging made "get_modelget_model..."), Ollama sends each
  call whole in one chunk (older versions without an ``index``), vLLM and llama.cpp's server send the name once and
  the arguments in pieces;
- ``stream_tools=False`` (``ADVISOR_OPENAI_STREAM_TOOLS=0``): calls that offer tools are not streamed, and
  ``tool_choice`` (``ADVISOR_OPENAI_TOOL_CHOICE=auto``) is sent where a server ignores tools without it:
  llama-cpp-python's ``chatml-function-calling`` drops the tools when no tool_choice is sent, and refuses to
  stream a call it chose itself ("Automatic streaming tool choice is not supported"), so it needs both;
- the context budget (``budget``): compact tool schemas, only the turn's tools when they are over the budget, and,
  where the server's context is known (``ADVISOR_CONTEXT_TOKENS``), a prompt that would not fit refused with its
  sizes before it is sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from advisor.drivers import budget

log = logging.getLogger(__name__)
ANSWER_RESERVE = 512


class ToolCallAssembler:
    """Tool calls put together from streamed pieces (LangChain tool_call_chunks: name, args, id, index).

    Per call: a name equal to the one held is a repeat (llama-cpp-python), one that extends it is the whole name so
    far, anything else the next piece of a split name; arguments that extend those held are the whole text so far,
    arguments equal to complete ones held are a repeat, anything else is the next piece. A piece without an index is
    a new call when it carries a new id, or a name and other arguments after a call whose arguments are complete
    (Ollama sent whole calls without an index before its issue 7881 was fixed).
    """

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self._by_index: dict[int, dict] = {}

    def add(self, piece: dict) -> None:
        call = self._call_for(piece)
        name = piece.get("name") or ""
        if name and name != call["name"]:
            call["name"] = name if name.startswith(call["name"]) else call["name"] + name
        args = piece.get("args") or ""
        held = call["args"]
        if args and not (args == held and _complete(held)):
            call["args"] = args if held and args.startswith(held) else held + args
        if piece.get("id") and not call["id"]:
            call["id"] = piece["id"]

    def _call_for(self, piece: dict) -> dict:
        index = piece.get("index")
        if index is not None:
            if index not in self._by_index:
                self._by_index[index] = self._new()
            return self._by_index[index]
        last = self.calls[-1] if self.calls else None
        if last is None:
            return self._new()
        if piece.get("id") and last["id"] and piece["id"] != last["id"]:
            return self._new()
        if piece.get("name") and piece.get("args") and _complete(last["args"]) and piece["args"] != last["args"]:
            return self._new()
        return last

    def _new(self) -> dict:
        call = {"name": "", "args": "", "id": None}
        self.calls.append(call)
        return call

    def chunks(self) -> list[dict]:
        return [
            {"name": c["name"], "args": c["args"] or "{}", "id": c["id"], "index": i, "type": "tool_call_chunk"}
            for i, c in enumerate(self.calls)
        ]


def _complete(args: str) -> bool:
    try:
        json.loads(args)
    except (TypeError, ValueError):
        return False
    return bool(args.strip())


class AdvisorChatOpenAI(ChatOpenAI):
    """ChatOpenAI with tool calls assembled by :class:`ToolCallAssembler`, ``stream_tools`` and the context budget."""

    stream_tools: bool = True
    context_tokens: int | None = None
    tool_tokens: int = budget.TOOL_TOKENS
    tool_choice: str | None = None

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        if self.tool_choice and "tool_choice" not in kwargs:
            kwargs["tool_choice"] = self.tool_choice
        return super().bind_tools(tools, **kwargs)

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            for call in delta.get("tool_calls") or []:
                call.setdefault("index", None)  # Ollama before its issue 7881: LangChain dropped such calls
                if not isinstance(call.get("function"), dict):
                    call["function"] = {}
            if delta.get("tool_calls"):
                delta.pop("function_call", None)  # llama-cpp-python repeats each call in the legacy field
        return super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)

    def _fit(self, messages: list[BaseMessage], kwargs: dict) -> dict:
        """The call's tools compact (the turn's only, over the budget); ContextOverflow when the prompt would not
        leave room for the answer in the server's context (when it is known)."""
        tools = kwargs.get("tools")
        if not tools:
            return kwargs
        chosen, tool_tokens = budget.fit_tools(
            tools, messages, lambda s: budget.estimate_tokens(json.dumps(s)), self.tool_tokens
        )
        if self.context_tokens:
            text_tokens = sum(budget.estimate_tokens(_text(m)) + 4 for m in messages)
            reserve = min(self.max_tokens or ANSWER_RESERVE, ANSWER_RESERVE, self.context_tokens // 4)
            budget.check_fits(
                text_tokens + tool_tokens,
                tool_tokens,
                self.context_tokens,
                reserve,
                hint=" (or a larger ADVISOR_CONTEXT_TOKENS, if the server's context is larger)",
            )
        return {**kwargs, "tools": chosen}

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        kwargs = self._fit(messages, kwargs)
        calls = ToolCallAssembler()
        chunks = 0
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            chunks += 1
            message = chunk.message
            if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
                for piece in message.tool_call_chunks:
                    calls.add(dict(piece))
                chunk = ChatGenerationChunk(
                    message=message.model_copy(
                        update={"tool_call_chunks": [], "tool_calls": [], "invalid_tool_calls": []}
                    ),
                    generation_info=chunk.generation_info,
                )
            yield chunk
        if not chunks:
            raise RuntimeError(_empty_stream(messages, kwargs.get("tools")))
        if calls.calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls.chunks()))  # type: ignore[arg-type]

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        # reached without streaming only: LangChain streams through _stream otherwise
        return super()._generate(messages, stop, run_manager, **{**self._fit(messages, kwargs), "stream": False})


def _text(message: BaseMessage) -> str:
    content = message.content
    text = content if isinstance(content, str) else json.dumps(content)
    calls = getattr(message, "tool_calls", None)
    return text + (json.dumps(calls) if calls else "")


def _empty_stream(messages: Sequence[BaseMessage], tools: Any) -> str:
    size = sum(budget.estimate_tokens(_text(m)) for m in messages) + budget.estimate_tokens(json.dumps(tools or []))
    return (
        f"the server ended its stream without a reply. A prompt longer than the server's context is one cause: this "
        f"one is about {size:,} tokens. Set ADVISOR_CONTEXT_TOKENS to the server's context to have such prompts "
        "refused with their sizes before they are sent."
    )


def make(settings: Any) -> AdvisorChatOpenAI:
    from pydantic import SecretStr

    return AdvisorChatOpenAI(
        base_url=settings.openai_base_url,
        model=settings.served_model,
        api_key=SecretStr(settings.openai_api_key or "not-needed"),
        temperature=0,
        timeout=settings.timeout_s,
        max_retries=1,
        streaming=True,
        disable_streaming=False if settings.openai_stream_tools else "tool_calling",
        stream_tools=settings.openai_stream_tools,
        tool_choice=settings.openai_tool_choice,
        context_tokens=settings.context_tokens,
        tool_tokens=settings.tool_tokens,
    )
