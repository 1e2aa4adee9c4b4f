"""Streamed tool calls from the chunk shapes real OpenAI-compatible servers send (tests/fixtures/streams/*.json:
llama-cpp-python, llama.cpp's server, vLLM, Ollama with and without an index), served over HTTP and read by the
`openai` driver; the context budget and the settings for servers that cannot stream tool calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.messages import HumanMessage, SystemMessage

import tools
from advisor.config import Settings
from advisor.drivers import budget, make_driver
from advisor.drivers.openai_compat import ToolCallAssembler
from tests.test_openai_driver import _port

STREAMS = Path(__file__).parent / "fixtures" / "streams"
RECORDINGS = sorted(p.stem for p in STREAMS.glob("*.json"))


def recording(name: str) -> dict:
    return json.loads((STREAMS / f"{name}.json").read_text())


def replay_server(received: list[dict]) -> FastAPI:
    """/NAME/v1/chat/completions answers every request with the recording NAME: its chunks as server-sent events,
    or, for a request that does not stream, one completion with the recording's expected calls."""
    app = FastAPI()

    @app.post("/{name}/v1/chat/completions")
    async def completions(name: str, request: Request):
        body = await request.json()
        received.append(body)
        if name == "empty":
            return StreamingResponse(iter(["data: [DONE]\n\n"]), media_type="text/event-stream")
        rec = recording(name)
        if not body.get("stream"):
            calls = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
                }
                for i, c in enumerate(rec["expected"])
            ]
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            return JSONResponse(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                }
            )
        events = [f"data: {json.dumps(c)}\n\n" for c in rec["chunks"]] + ["data: [DONE]\n\n"]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def server():
    import threading
    import time

    import uvicorn

    received: list[dict] = []
    port = _port()
    srv = uvicorn.Server(uvicorn.Config(replay_server(received), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", received
    srv.should_exit = True
    thread.join(timeout=10)


def _driver(url: str, name: str, **settings):
    model, info = make_driver(
        Settings(driver="openai", openai_base_url=f"{url}/{name}/v1", model="m", db=":memory:", **settings)
    )
    return model.bind_tools(tools.schemas())


QUESTION = [SystemMessage(content="You advise."), HumanMessage(content="Is Llama 3.1 8B allowed commercially?")]


@pytest.mark.parametrize("name", RECORDINGS)
def test_every_recorded_stream_gives_the_calls_it_carries(server, name):
    url, _ = server
    reply = _driver(url, name).invoke(QUESTION)
    got = [{"name": c["name"], "args": c["args"]} for c in reply.tool_calls]
    assert got == recording(name)["expected"]
    assert not reply.invalid_tool_calls
    assert all(c["id"] for c in reply.tool_calls) and len({c["id"] for c in reply.tool_calls}) == len(got)
    assert "function_call" not in reply.additional_kwargs  # llama-cpp-python's legacy copy is not sent back


def test_langchains_own_merging_joins_llama_cpp_pythons_repeated_names(server):
    """Why the assembler exists: stock ChatOpenAI concatenates the name llama-cpp-python repeats in every chunk."""
    from langchain_openai import ChatOpenAI

    url, _ = server

    def stock(name):
        return ChatOpenAI(base_url=f"{url}/{name}/v1", model="m", api_key="x", streaming=True).bind_tools(
            tools.schemas()
        )

    joined = stock("llamacpp_python").invoke(QUESTION)
    names = [c["name"] for c in joined.tool_calls] + [c["name"] for c in joined.invalid_tool_calls]
    assert names and names[0] != "get_model" and names[0].startswith("get_modelget_model")


def test_tool_deciding_calls_need_not_stream(server):
    url, received = server
    received.clear()
    reply = _driver(url, "llamacpp_python", openai_stream_tools=False, openai_tool_choice="auto").invoke(QUESTION)
    assert [c["name"] for c in reply.tool_calls] == ["get_model"]
    assert received[-1]["stream"] is False and received[-1]["tool_choice"] == "auto"
    received.clear()
    _driver(url, "vllm").invoke(QUESTION)
    assert received[-1]["stream"] is True and "tool_choice" not in received[-1]


def test_the_tools_sent_are_compact_and_the_turns_own_over_the_budget(server):
    url, received = server
    received.clear()
    _driver(url, "vllm", tool_tokens=100_000).invoke(QUESTION)
    sent = received[-1]["tools"]
    text = json.dumps(sent)
    assert len(sent) == len(tools.schemas()) and "additionalProperties" not in text and '"default"' not in text
    assert len(text) < len(json.dumps(tools.schemas())) * 0.7
    received.clear()
    _driver(url, "vllm").invoke(QUESTION)  # the compact set is about 4,000 tokens, over the default 2,000
    names = [t["function"]["name"] for t in received[-1]["tools"]]
    assert "check_license" in names and "get_model" in names and "estimate_cost" not in names


def test_a_prompt_over_the_context_is_refused_with_its_sizes_before_it_is_sent(server):
    url, received = server
    received.clear()
    with pytest.raises(budget.ContextOverflow) as err:
        _driver(url, "vllm", context_tokens=400).invoke(QUESTION)
    assert "context is 400 tokens" in str(err.value) and "tool schemas" in str(err.value)
    assert received == []


def test_a_stream_without_a_reply_says_what_may_have_happened(server):
    url, _ = server
    with pytest.raises(RuntimeError, match="ended its stream without a reply.*ADVISOR_CONTEXT_TOKENS"):
        _driver(url, "empty").invoke(QUESTION)


def test_a_bad_tool_choice_is_refused_by_name():
    from advisor.drivers import DriverError

    with pytest.raises(DriverError, match="ADVISOR_OPENAI_TOOL_CHOICE.*auto, required or none"):
        make_driver(Settings(driver="openai", openai_base_url="http://127.0.0.1:9/v1", openai_tool_choice="always"))


# ---------------------------------------------------------------- the assembler's rules, one habit each


def _assemble(*pieces: dict) -> list[tuple[str, str]]:
    calls = ToolCallAssembler()
    for piece in pieces:
        calls.add(piece)
    return [(c["name"], c["args"]) for c in calls.chunks()]


def test_a_name_split_in_pieces_is_joined():
    assert _assemble({"index": 0, "name": "get_", "args": ""}, {"index": 0, "name": "model", "args": "{}"}) == [
        ("get_model", "{}")
    ]


def test_arguments_sent_whole_so_far_each_time_are_not_doubled():
    got = _assemble(
        {"index": 0, "name": "get_model", "args": '{"model"'},
        {"index": 0, "args": '{"model": "qwen3'},
        {"index": 0, "args": '{"model": "qwen3 8b"}'},
    )
    assert got == [("get_model", '{"model": "qwen3 8b"}')]


def test_complete_arguments_sent_again_are_a_repeat():
    piece = {"index": 0, "name": "get_model", "args": '{"model": "a"}', "id": "c1"}
    assert _assemble(piece, dict(piece)) == [("get_model", '{"model": "a"}')]


def test_calls_without_an_index_are_told_apart_by_id():
    got = _assemble(
        {"index": None, "name": "get_model", "args": '{"model": "a"}', "id": "c1"},
        {"index": None, "name": "get_model", "args": '{"model": "b"}', "id": "c2"},
    )
    assert got == [("get_model", '{"model": "a"}'), ("get_model", '{"model": "b"}')]
