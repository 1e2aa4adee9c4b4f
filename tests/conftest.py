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


# ---------------------------------------------------------------- markers that mean something


def pytest_collection_modifyitems(config, items):
    """`server` marks every test that uses a fixture its module lists in SERVER_FIXTURES (a fixture that starts the
    app or another server in a subprocess), so `make test-fast` leaves it out by marker; `gpu` tests run where torch
    sees a CUDA GPU and are skipped, with the reason, everywhere else."""
    for item in items:
        starts = getattr(getattr(item, "module", None), "SERVER_FIXTURES", ())
        if set(starts) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU: torch sees none (run where one is, e.g. bench-gpu machines)")
        for item in gpu_items:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """A test module skipped because an optional extra is not installed is reported in a banner, not lost among the
    skips: its tests did not run, and CI's log should say so where nobody can miss it."""
    missing = []
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr or "")
        if "could not import" in reason:
            missing.append((report.nodeid or report.fspath, reason))
    if missing:
        terminalreporter.section("MODULES SKIPPED: AN OPTIONAL EXTRA IS NOT INSTALLED", sep="!", red=True, bold=True)
        for where, reason in dict.fromkeys(missing):
            terminalreporter.write_line(f"{where}: {reason.removeprefix('Skipped: ')}", red=True, bold=True)
        terminalreporter.write_line(
            "their tests did not run; install the extras (make test installs .[hf,test])", red=True, bold=True
        )


@pytest.fixture(autouse=True, scope="session")
def _mutant_computes_its_own_cached_values():
    """Under `make mutation` each mutant's tests run in a process forked after a first full run, so values the tools
    compute once per catalog (rankings, percentiles, the speed model's fit) would still come from the unmutated
    code and the mutant could never be caught there. A copy of the catalog makes them be computed again, by the
    mutant. (mutmut names the mutant in MUTANT_UNDER_TEST; outside a mutation run nothing changes.)"""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if not mutant.startswith(("tools.", "catalog.", "advisor.")):
        yield
        return
    import copy

    from tools import common

    token = common._catalog.set(copy.copy(common.catalog()))
    try:
        yield
    finally:
        common._catalog.reset(token)
