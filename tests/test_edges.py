"""The edges only translate: typed turn events folded into a turn's result, turned into OpenAI SSE chunks, a whole
completion and chat messages; exceptions mapped to HTTP statuses in one place; tool limits declared in signatures
(and so in every schema); a tool that runs past its deadline answered with an error, not a hung turn."""

from __future__ import annotations

import json
import time

import pytest

import tools
from advisor.events import Failed, Final, ThreadStarted, Token, ToolCalled, ToolReturned, TurnFailed, fold
from advisor.http.openai_compatible import Completion, completion_body, sse_chunks

RESULT = {"total_gb": 5.4}
TURN = [
    ThreadStarted("t1"),
    ToolCalled("c1", "estimate_memory", {"model": "llama 3.1 8b"}),
    ToolReturned("c1", "estimate_memory", {"model": "llama 3.1 8b"}, RESULT, 0.01),
    Token("It needs "),
    Token("5.4 GB."),
    Final("t1", "It needs 5.4 GB.", {"model": "llama-3.1-8b"}, [], "offline"),
]


def _deltas(chunks: list[str]) -> list[dict]:
    assert chunks[-1] == "data: [DONE]\n\n"
    return [json.loads(c.removeprefix("data: "))["choices"][0] for c in chunks[:-1]]


def test_fold_gives_the_reply_the_tool_calls_and_the_state():
    result = fold(TURN, driver="offline")
    assert result.thread_id == "t1" and result.reply == "It needs 5.4 GB."
    assert [(t.name, t.result) for t in result.tool_calls] == [("estimate_memory", RESULT)]
    assert result.requirements == {"model": "llama-3.1-8b"}
    with pytest.raises(TurnFailed, match="disk is full"):
        fold([ThreadStarted("t1"), Failed("disk is full")])


def test_streamed_chunks_carry_the_role_the_tokens_only_what_the_answer_adds_and_stop():
    choices = _deltas(list(sse_chunks(TURN, Completion("t1", "open-llm-advisor"))))
    assert choices[0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["delta"].get("content") for c in choices[1:-1]] == ["It needs ", "5.4 GB."]
    assert choices[-1] == {"index": 0, "delta": {}, "finish_reason": "stop"}


def test_an_answer_not_streamed_comes_in_pieces_and_an_error_as_text():
    answer = "x" * 900
    choices = _deltas(list(sse_chunks([ThreadStarted("t"), Final("t", answer)], Completion("t", "m"))))
    assert [len(c["delta"]["content"]) for c in choices[1:-1]] == [400, 400, 100]
    choices = _deltas(list(sse_chunks([ThreadStarted("t"), Failed("no luck")], Completion("t", "m"))))
    assert choices[1]["delta"]["content"] == "\n[error: no luck]"


def test_a_whole_completion_has_the_answer_and_every_tool_call():
    body = completion_body(TURN, Completion("t1", "open-llm-advisor"))
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "It needs 5.4 GB."}
    assert body["advisor_tool_calls"] == [
        {"name": "estimate_memory", "arguments": {"model": "llama 3.1 8b"}, "result": RESULT}
    ]
    assert body["thread_id"] == "t1" and body["object"] == "chat.completion"


def test_the_transcript_replaces_a_pending_step_and_grows_one_answer():
    from advisor.ui.messages import Transcript

    transcript = Transcript([])
    for event in TURN[1:]:
        transcript.add(event)
    step, answer = transcript.history
    assert step.metadata["status"] == "done" and '"total_gb": 5.4' in step.content
    assert answer.content == "It needs 5.4 GB."
    transcript.add(Failed("it broke"))
    assert transcript.history[-1].content == "⚠️ it broke"


def test_each_exception_class_has_one_status():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from advisor.http import errors
    from advisor.service import InputRejected, StorageUnavailable
    from tools.errors import InvalidInput, NotFound

    api = FastAPI()
    errors.install(api)
    raised = {
        "/not-found": NotFound("no such thing", field="name", suggestions=["thing"]),
        "/invalid": InvalidInput("top_k must be between 1 and 20", field="top_k"),
        "/rejected": InputRejected("message is empty"),
        "/storage": StorageUnavailable("read-only"),
        "/bug": ZeroDivisionError("oops"),
    }
    for path, exc in raised.items():
        api.add_api_route(path, lambda exc=exc: (_ for _ in ()).throw(exc))
    client = TestClient(api, raise_server_exceptions=False)
    expect = {
        "/not-found": (404, "invalid_input", "name"),
        "/invalid": (422, "invalid_input", "top_k"),
        "/rejected": (422, "invalid_input", "message"),
        "/storage": (503, "storage_unavailable", None),
        "/bug": (500, "internal_error", None),
    }
    for path, (status, kind, field) in expect.items():
        r = client.get(path)
        assert (r.status_code, r.json()["error"]["type"], r.json()["error"]["field"]) == (status, kind, field), path
    assert client.get("/not-found").json()["error"]["suggestions"] == ["thing"]


def test_tool_limits_are_in_every_schema():
    params = tools.get("estimate_cost").parameters_schema()["properties"]
    assert params["monthly_tokens"]["minimum"] == 1 and params["monthly_tokens"]["maximum"] == 10**13
    assert params["utilization"]["minimum"] == 0.01 and params["utilization"]["maximum"] == 1
    bounded = [name for name, p in params.items() if "maximum" in json.dumps(p) or "maxItems" in json.dumps(p)]
    assert len(bounded) >= 12, bounded
    top_k = tools.get("select_models").parameters_schema()["properties"]["top_k"]
    assert (top_k["minimum"], top_k["maximum"]) == (1, 20)
    with pytest.raises(tools.InvalidInput, match=r"top_k must be between 1 and 20 \(top_k: How many"):
        tools.call("select_models", {"top_k": 21})


def test_a_tool_past_its_deadline_is_answered_with_an_error():
    from tools.registry import Registry

    registry = Registry()

    def slow(seconds: float = 1.0) -> dict:
        """Sleep.

        Args:
            seconds: How long.
        """
        time.sleep(seconds)
        return {"slept": seconds}

    registry.register(slow)
    tools.call("list_licenses")  # the catalog is loaded (its first load alone can take seconds)
    started = time.perf_counter()
    result = registry.run("slow", {"seconds": 2.0}, timeout_s=0.2)
    assert time.perf_counter() - started < 1.5
    assert result["error"]["type"] == "tool_timeout" and "slow" in result["error"]["message"]
    assert registry.run("slow", {"seconds": 0.01}, timeout_s=2)["slept"] == 0.01
    assert registry.run("nope", {})["error"]["field"] == "name"
    assert registry.run("slow", {"seconds": "x"})["error"]["type"] == "invalid_input"
