"""The `openai` driver against a real OpenAI-compatible HTTP server started by the test.

The server speaks the chat-completions wire format (streaming and not) and scripts its model:
the first call of a turn asks for a tool, the next one answers from the tool result.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from advisor.config import Settings
from advisor.service import Advisor, make_checkpointer


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scripted_server(received: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        received.append(body)
        last = body["messages"][-1]
        if last["role"] == "tool":
            data = json.loads(last["content"])
            message = {"role": "assistant", "content": f"{data['name']} has {data['params_b']} billion parameters."}
        else:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_model", "arguments": json.dumps({"model": "llama 3.1 8b"})},
                    }
                ],
            }
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        def events():
            def chunk(delta, finish=None):
                return (
                    "data: "
                    + json.dumps(
                        {
                            "id": "cmpl-1",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": body["model"],
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                        }
                    )
                    + "\n\n"
                )

            yield chunk({"role": "assistant", "content": ""})
            if message.get("tool_calls"):
                call = message["tool_calls"][0]
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                args = call["function"]["arguments"]
                for i in range(0, len(args), 7):
                    yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 7]}}]})
                yield chunk({}, "tool_calls")
            else:
                for word in message["content"].split(" "):
                    yield chunk({"content": word + " "})
                yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def openai_server():
    received: list[dict] = []
    port = _port()
    server = uvicorn.Server(uvicorn.Config(scripted_server(received), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", received
    server.should_exit = True
    thread.join(timeout=10)


def test_openai_driver_calls_tools_through_a_real_server(openai_server):
    url, received = openai_server
    settings = Settings(driver="openai", openai_base_url=url, model="scripted-model", db=":memory:")
    advisor = Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
    assert advisor.info.name == "openai" and advisor.info.model == "scripted-model"
    result = advisor.ask("How big is Llama 3.1 8B?", thread_id="t1")
    assert [t.name for t in result.tool_calls] == ["get_model"]
    params = result.tool_calls[0].result["params_b"]
    assert result.reply.strip() == f"Llama 3.1 8B has {params} billion parameters."
    first = received[0]
    assert first["model"] == "scripted-model"
    assert "get_model" in {t["function"]["name"] for t in first["tools"]}  # the turn's tools (budget.fit_tools)
    assert first["messages"][0]["role"] == "system"


def test_openai_driver_reports_a_dead_server():
    settings = Settings(
        driver="openai", openai_base_url=f"http://127.0.0.1:{_port()}/v1", model="m", db=":memory:", timeout_s=5
    )
    advisor = Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
    result = advisor.ask("hello", thread_id="t")
    assert "failed to answer" in result.reply and "try again" in result.reply
