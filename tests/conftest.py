"""Shared test fixtures. No test may reach the network or a real model hub."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ADVISOR_DRIVER", "offline")

from langchain_core.language_models.chat_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402


class ScriptedModel(BaseChatModel):
    """A chat model that replays a script: each entry is an AIMessage, or a function of the messages
    that returns one (or raises, to act as a failing driver). ``seen`` records every call's messages."""

    script: list[Any]
    seen: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        if not self.script:
            raise AssertionError("the scripted model was called more often than scripted")
        step = self.script.pop(0)
        message = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])


def tool_call(name: str, args: dict, call_id: str = "c1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


@pytest.fixture()
def make_advisor() -> Callable[..., Any]:
    """Build an Advisor around a model (scripted or offline) with an in-memory checkpointer."""
    from advisor.config import Settings
    from advisor.drivers import DriverInfo
    from advisor.service import Advisor, make_checkpointer

    def build(model: BaseChatModel | None = None, offline: bool | None = None, **settings):
        if model is None:
            from advisor.drivers.offline import OfflineChatModel

            model = OfflineChatModel()
            offline = True if offline is None else offline
        info = DriverInfo("offline" if offline else "scripted", None, "test")
        s = Settings(driver="offline", db=":memory:", **settings)
        return Advisor(model, info, s, checkpointer=make_checkpointer(":memory:"))

    return build
