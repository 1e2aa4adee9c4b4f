"""Reliability: tools fuzzed beyond their schema, faulty model output injected through the driver interface,
SIGKILL in the middle of a conversation, and 20 conversations written at once. Every test is bounded in time and
size; each records what it tried in test-output/reliability-counts.json (see docs/reliability.md)."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import Request  # module level: FastAPI resolves the string annotation of the fake server's handler here
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

import tools
from advisor.drivers import toolcalls
from advisor.graph import call_with_deadline
from tests.conftest import ScriptedModel, tool_call
from tests.reliability_counts import record
from tests.test_app import Server, free_port
from tools.common import catalog
from tools.errors import InvalidInput

CAT = catalog()
CALL_BUDGET_S = 5.0  # no single tool call may take longer, whatever its input (a slow lookup is a denial of service)


# ---------------------------------------------------------------- tools: beyond the schema

VALID_ARGS: dict[str, dict] = {
    "get_model": {"model": "llama 3.1 8b"},
    "find_models": {"family": "llama", "commercial": True, "limit": 5},
    "select_models": {"use_case": "code", "gpu": "RTX 4090", "commercial": True},
    "check_license": {"model": "llama 3.1 8b", "commercial": True, "monthly_active_users": 1000},
    "estimate_memory": {"model": "llama 3.1 8b", "quantization": "int4", "gpu": "RTX 4090", "context_length": 8192},
    "estimate_throughput": {"model": "llama 3.1 8b", "gpu": "RTX 4090", "quantization": "int4"},
    "estimate_cost": {"monthly_tokens": 10_000_000, "model": "llama 3.1 8b", "gpu": "RTX 4090"},
    "compare_benchmarks": {"models": ["llama 3.1 8b", "qwen2.5 7b"]},
    "plan_deployment": {"model": "llama 3.1 8b", "gpu": "RTX 4090", "monthly_tokens": 10_000_000},
    "list_gpus": {"segment": "datacenter"},
    "list_licenses": {},
}

UNKNOWN_NAMES = [
    "gpt-5-ultra",
    "RTX 9090",
    "llama 99 900b",
    "H100 H100 H100",
    "ＬＬａｍａ 3.1 8B",
    "llama\u200b3.1 8b",
    "\u202ellama 3.1 8b",
    "ℓℓama",
    "qwen" * 400,
    "a" * 2000,
    "a" * 2001,
    "a" * 100_000,
    "",
    " ",
    "\x00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%s%n%x",
    "{}",
    "null",
    "NaN",
    "💥" * 50,
]
ANY_NAME = st.sampled_from(
    sorted(CAT.models)
    + sorted(CAT.gpus)
    + sorted(CAT.quantizations)
    + sorted(CAT.licenses)
    + sorted(CAT.prices)
    + sorted(CAT.benchmarks)
    + UNKNOWN_NAMES
)
HUGE_INTS = st.sampled_from(
    [0, -1, -(2**31), 2**31, 2**53 + 1, 10**12, 10**15, 10**18, 2**63, 2**64, 10**30, 10**300, 10**400, -(10**400)]
)  # 10**400 is JSON-valid but beyond a float
ODD_FLOATS = st.sampled_from(
    [
        0.0,
        -0.0,
        5e-324,
        1e-12,
        0.999999,
        1.0000001,
        -1.0,
        1e15,
        1e308,
        -1e308,
        float("nan"),
        float("inf"),
        float("-inf"),
    ]
)
HOSTILE = st.one_of(
    HUGE_INTS,
    st.integers(),
    ODD_FLOATS,
    st.floats(),
    ANY_NAME,
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.lists(ANY_NAME, max_size=60),
    st.lists(st.one_of(st.none(), st.integers(), st.floats()), max_size=5),
    st.lists(st.lists(ANY_NAME, max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=4), ANY_NAME, max_size=3),
)


FIELD_NAMES = {  # valid values for the fields that name catalog entries
    "model": sorted(CAT.models),
    "models": sorted(CAT.models),
    "gpu": sorted(CAT.gpus),
    "quantization": sorted(CAT.quantizations),
    "license": sorted(CAT.licenses),
    "licenses": sorted(CAT.licenses),
    "api_models": sorted(CAT.prices),
    "benchmarks": sorted(CAT.benchmarks),
    "family": sorted(CAT.families),
    "use_case": ["code", "chat", "rag", "general"],
}


def _typed_hostile(field: str, prop: dict) -> st.SearchStrategy:
    """Values of the field's own type that stress the tool body (huge, zero, negative, unknown names), or anything."""
    kinds = {prop.get("type")} | {x.get("type") for x in prop.get("anyOf", [])}
    own = []
    names = st.sampled_from(FIELD_NAMES[field]) if field in FIELD_NAMES else ANY_NAME
    if "integer" in kinds:
        own += [HUGE_INTS, st.integers(-10, 10**7)]
    if "number" in kinds:
        own += [ODD_FLOATS, st.floats(-1e3, 1e12, allow_nan=False)]
    if "string" in kinds:
        enum = prop.get("enum") or next((x["enum"] for x in prop.get("anyOf", []) if "enum" in x), None)
        own += [names, ANY_NAME, st.sampled_from(enum)] if enum else [names, names, ANY_NAME]
    if "array" in kinds:
        own += [
            st.lists(names, max_size=60),
            st.lists(names, min_size=1, max_size=3, unique=True),
            st.lists(ANY_NAME, max_size=5),
        ]
    if "boolean" in kinds:
        own += [st.booleans()]
    if not own:
        return HOSTILE
    typed = st.one_of(*own)
    # four times in five the field's own type (to reach the tool body), else anything at all
    return st.integers(0, 4).flatmap(lambda i: HOSTILE if i == 0 else typed)


def _near_valid(name: str) -> st.SearchStrategy:
    """A valid call with one or two fields replaced by hostile values (and sometimes an unknown field)."""
    props = tools.get(name).parameters_schema()["properties"]
    base = VALID_ARGS[name]
    if not props:
        return st.dictionaries(st.text(min_size=1, max_size=8), HOSTILE, max_size=2)
    fields = st.lists(st.sampled_from(sorted(props)), min_size=1, max_size=2, unique=True)

    def mutate(chosen: list[str]) -> st.SearchStrategy:
        values = st.fixed_dictionaries({f: _typed_hostile(f, props[f]) for f in chosen})
        extra = st.one_of(
            st.just({}), st.dictionaries(st.sampled_from(["modell", "gpu_count", "__proto__", ""]), HOSTILE, max_size=1)
        )
        return st.tuples(values, extra).map(lambda ve: {**base, **ve[0], **ve[1]})

    return fields.flatmap(mutate)


def _check_tool_outcome(name: str, args: Any) -> str:
    started = time.perf_counter()
    try:
        result = tools.get(name)(args)
    except InvalidInput as exc:
        err = exc.to_dict()["error"]
        assert err["type"] == "invalid_input" and err["message"], err
        json.dumps(exc.to_dict(), allow_nan=False)
        outcome = "invalid_input"
    else:
        assert isinstance(result, dict)
        json.dumps(result, allow_nan=False)  # NaN or inf in a result is a bug
        outcome = "result"
    elapsed = time.perf_counter() - started
    assert elapsed < CALL_BUDGET_S, f"{name} took {elapsed:.1f} s on {str(args)[:200]}"
    return outcome


NEAR_VALID_EXAMPLES = 200


@pytest.mark.parametrize("name", tools.names())
def test_near_valid_arguments_give_a_result_or_invalid_input(name):
    """Start from a call that works and break one or two fields: this reaches the tool bodies (huge volumes,
    zero GPUs, unknown names in the right field, NaN in a float) rather than stopping at type validation."""
    outcomes = {"result": 0, "invalid_input": 0, "other_exceptions": 0}
    assert _check_tool_outcome(name, VALID_ARGS[name]) == "result"

    @settings(max_examples=NEAR_VALID_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_near_valid(name))
    def run(args):
        try:
            outcomes[_check_tool_outcome(name, args)] += 1
        except Exception:
            outcomes["other_exceptions"] += 1
            raise

    try:
        run()
    finally:  # what was measured, also when the run fails
        record(f"tools.near_valid.{name}", examples=sum(outcomes.values()), **outcomes)
    assert outcomes["invalid_input"] > 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def test_arguments_that_are_not_an_object():
    """An LLM or a client may send a list, a string, a number or null instead of an object of arguments."""
    count = {"examples": 0, "other_exceptions": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(tools.names()), JSON_VALUES.filter(lambda v: not isinstance(v, dict)))
    def run(name, args):
        count["examples"] += 1
        try:
            _check_tool_outcome(name, args)
        except Exception:
            count["other_exceptions"] += 1
            raise
        if args is not None:
            with pytest.raises(InvalidInput, match="must be a JSON object"):
                tools.get(name)(args)

    try:
        run()
    finally:
        record("tools.not_an_object", **count)


def test_non_finite_values_are_named_for_what_the_field_wants():
    """Bug found: inf in a string field was reported as "must be a finite number", which no string is."""
    with pytest.raises(InvalidInput, match=r"use_case: Input should be a valid string"):
        tools.call("select_models", {"use_case": float("inf")})
    with pytest.raises(InvalidInput, match=r"vram_gb: must be a finite number, not nan"):
        tools.call("select_models", {"vram_gb": float("nan")})


def test_cost_context_length_is_bounded():
    """Bug found: estimate_cost took any context_length; a negative one gave a negative KV cache (and a result),
    10**400 raised OverflowError."""
    base = VALID_ARGS["estimate_cost"]
    for bad in (0, -(2**31), 10**400, -(10**400)):
        with pytest.raises(InvalidInput, match="context_length must be between 1 and"):
            tools.call("estimate_cost", {**base, "context_length": bad})
    assert tools.call("estimate_cost", {**base, "context_length": 10**9 // 100})["options"]


def test_huge_name_lookups_are_fast():
    """Fuzzy suggestions on a 100 kB name used to take about 30 s (SequenceMatcher is quadratic); the exercise
    endpoint passes names straight to the catalog, so this was a denial of service."""
    from catalog.query import LookupFailed

    for query in ("a" * 100_000, "llama " * 20_000, "x" * 2000):
        started = time.perf_counter()
        with pytest.raises(LookupFailed) as info:
            CAT.model(query)
        assert time.perf_counter() - started < 1.0
        assert len(str(info.value)) < 400  # the message echoes the start of the name, not all of it


# ---------------------------------------------------------------- faulty model output through the driver interface


def _raise(exc: BaseException):
    def step(messages):
        raise exc

    return step


BAD_JSON_CALL = AIMessage(
    content="",
    invalid_tool_calls=[
        {
            "name": "get_model",
            "args": '{"model": "llama',
            "id": "x1",
            "error": "not valid JSON",
            "type": "invalid_tool_call",
        }
    ],
)
ANSWER = AIMessage(content="Here is what I can say without that tool.")

# name -> (script for the faulty turn, text the user must see, extra settings)
FAULTS: dict[str, tuple[list, str, dict]] = {
    "malformed tool-call JSON, then an answer": ([BAD_JSON_CALL, ANSWER], ANSWER.content, {}),
    "malformed tool-call JSON on every step": (
        [BAD_JSON_CALL] * 4,
        "more tool calls than one turn allows",
        {"max_steps": 4},
    ),
    "arguments that are not an object": (
        [
            AIMessage(
                content="",
                invalid_tool_calls=[
                    {
                        "name": "get_model",
                        "args": "[1, 2]",
                        "id": "x2",
                        "error": "'arguments' must be an object",
                        "type": "invalid_tool_call",
                    }
                ],
            ),
            ANSWER,
        ],
        ANSWER.content,
        {},
    ),
    "unknown tool": ([tool_call("drop_database", {"really": True}), ANSWER], ANSWER.content, {}),
    "wrong argument types": (
        [tool_call("estimate_memory", {"model": 42, "batch_size": "lots", "num_gpus": -3}), ANSWER],
        ANSWER.content,
        {},
    ),
    "a tool that raises": ([tool_call("estimate_memory", {"model": "llama 3.1 8b"}), ANSWER], ANSWER.content, {}),
    "an empty reply, twice": ([AIMessage(content=""), AIMessage(content="")], "could not produce an answer", {}),
    "a whitespace reply, twice": (
        [AIMessage(content=" \n\t "), AIMessage(content="\n")],
        "could not produce an answer",
        {},
    ),
    "a model that loops on tool calls": (
        [tool_call("list_gpus", {}, f"c{i}") for i in range(5)],
        "more tool calls than one turn allows",
        {"max_steps": 5},
    ),
    "sixty tool calls in one reply": (
        [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "list_licenses", "args": {}, "id": f"m{i}", "type": "tool_call"} for i in range(60)
                ],
            ),
            ANSWER,
        ],
        ANSWER.content,
        {},
    ),
    "the same call id twice": (
        [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "get_model", "args": {"model": "llama 3.1 8b"}, "id": "dup", "type": "tool_call"},
                    {"name": "get_model", "args": {"model": "qwen2.5 7b"}, "id": "dup", "type": "tool_call"},
                ],
            ),
            ANSWER,
        ],
        ANSWER.content,
        {},
    ),
    "content blocks instead of text": (
        [AIMessage(content=[{"type": "text", "text": "Block answer."}, {"type": "reasoning", "reasoning": "hidden"}])],
        "Block answer.",
        {},
    ),
    "invented figures, twice": (
        [AIMessage(content="It needs 42.7 GB."), AIMessage(content="Truly 42.7 GB.")],
        "[figure removed]",
        {},
    ),
    "a 300 kB reply": ([AIMessage(content="word " * 60_000)], "word word", {}),
    "driver connection error": ([_raise(ConnectionError("connection refused"))], "ConnectionError", {}),
    "CUDA out of memory": (
        [_raise(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))],
        "failed to answer",
        {},
    ),
    "driver raises a timeout": ([_raise(TimeoutError("read timed out"))], "TimeoutError", {}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_faulty_model_output_leaves_a_usable_thread(fault, make_advisor, monkeypatch):
    script, expected, extra = FAULTS[fault]
    if fault == "a tool that raises":

        def boom(**kwargs):
            raise ZeroDivisionError("division by zero inside the tool")

        monkeypatch.setattr(tools.get("estimate_memory"), "fn", boom)
    model = ScriptedModel(script=[*script, AIMessage(content="Back again.")])
    advisor = make_advisor(model, offline=False, **extra)
    first = advisor.ask("We have one RTX 4090; which coding model?", thread_id="t")
    assert expected in first.reply and first.reply.strip()
    assert "Traceback" not in first.reply
    if fault == "a tool that raises":
        err = first.tool_calls[0].result["error"]
        assert err["type"] == "tool_failure" and "ZeroDivisionError" in err["message"]
    if fault in ("unknown tool", "wrong argument types"):
        assert all(t.result["error"]["type"] == "invalid_input" for t in first.tool_calls)
    second = advisor.ask("Hello again", thread_id="t")
    history = advisor.history("t")
    sent = ["We have one RTX 4090; which coding model?", "Hello again"]
    kept = [m["content"] for m in history if m["role"] == "user"]
    record(
        f"agent.fault.{fault}",
        injected=1,
        next_turn_ok=second.reply == "Back again.",
        messages_lost=sum(1 for m in sent if m not in kept),
    )
    assert second.reply == "Back again."
    assert kept == sent
    assert history[-1] == {"role": "assistant", "content": "Back again."}
    assert advisor.state("t")["requirements"]["gpu"] == "rtx-4090"
    assert not model.script  # every scripted reply was consumed: nothing was skipped or repeated


def test_a_driver_that_hangs_past_the_timeout(make_advisor):
    release = threading.Event()

    def hang(messages):
        release.wait(30)
        return AIMessage(content="LATE REPLY that must not appear")

    model = ScriptedModel(script=[hang, AIMessage(content="Back again.")])
    advisor = make_advisor(model, offline=False, timeout_s=0.5)
    try:
        started = time.perf_counter()
        first = advisor.ask("hello", thread_id="t")
        assert time.perf_counter() - started < 5
        assert "failed to answer" in first.reply and "TimeoutError" in first.reply and "0.5 s" in first.reply
        second = advisor.ask("hello again", thread_id="t")
        assert second.reply == "Back again."
    finally:
        release.set()
    time.sleep(0.2)  # the abandoned call returns now; its reply goes nowhere
    history = advisor.history("t")
    kept = [m["content"] for m in history if m["role"] == "user"]
    record(
        "agent.fault.a driver that hangs past the timeout",
        injected=1,
        next_turn_ok=second.reply == "Back again.",
        messages_lost=sum(1 for m in ("hello", "hello again") if m not in kept),
    )
    assert not any("LATE REPLY" in str(m.get("content")) for m in history)
    assert kept == ["hello", "hello again"]


def test_call_with_deadline():
    assert call_with_deadline(lambda: 7, 1.0) == 7
    assert call_with_deadline(lambda: 7, None) == 7
    with pytest.raises(KeyError):
        call_with_deadline(lambda: {}["missing"], 1.0)
    gate = threading.Event()
    with pytest.raises(TimeoutError, match="within 0.2 s"):
        call_with_deadline(lambda: gate.wait(10), 0.2)
    gate.set()


def test_settings_timeout_reaches_the_graph(make_advisor):
    release = threading.Event()
    model = ScriptedModel(script=[lambda m: (release.wait(30), AIMessage(content="late"))[1]])
    advisor = make_advisor(model, offline=False, timeout_s=0.3)
    try:
        assert "within 0.3 s" in advisor.ask("hi", thread_id="t").reply
    finally:
        release.set()


class RawTextModel(BaseChatModel):
    """A model that emits raw text which goes through the hf driver's tool-call parser and is streamed the way the
    hf driver streams it (malformed calls in the final chunk's additional_kwargs). After its texts, it says 'Done.'"""

    texts: list[str]
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "raw-text"

    def bind_tools(self, tools: Any, **kwargs: Any) -> RawTextModel:
        return self

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls += 1
        text = self.texts.pop(0) if self.texts else "Done."
        parsed = toolcalls.parse(text)
        in_call = bool(parsed.calls or parsed.invalid)
        if not in_call and text:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        final = AIMessageChunk(
            content=parsed.content if in_call else "",
            tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
                for i, c in enumerate(parsed.calls)
            ],
        )
        if parsed.invalid:
            final.additional_kwargs["invalid_tool_calls"] = parsed.invalid
        yield ChatGenerationChunk(message=final)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        message = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            message = chunk.message if message is None else message + chunk.message
        return ChatResult(
            generations=[
                ChatGeneration(
                    message=AIMessage(
                        content=message.content,
                        tool_calls=message.tool_calls,
                        additional_kwargs=message.additional_kwargs,
                    )
                )
            ]
        )


def _raw_advisor(texts: list[str], **extra):
    from advisor.config import Settings
    from advisor.drivers import DriverInfo
    from advisor.service import Advisor, make_checkpointer

    model = RawTextModel(texts=list(texts))
    return model, Advisor(
        model,
        DriverInfo("hf", "raw", "test"),
        Settings(driver="offline", db=":memory:", **extra),
        checkpointer=make_checkpointer(":memory:"),
    )


RAW_MALFORMED = [
    '<tool_call>{"name": "get_model", "arguments": {model: llama</tool_call>',
    '<tool_call>{"name": "get_model", "arguments": "{\\"model\\": "}</tool_call>',
    '<tool_call>["get_model"]</tool_call>',
    '<tool_call>{"arguments": {"model": "llama 3.1 8b"}}</tool_call>',
    '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "estimate_memory", "arguments": [1, 2, 3]}</tool_call>',
    '[TOOL_CALLS] [{"name": "get_model", "arguments": {"model": ',
    "[TOOL_CALLS]get_model[ARGS]{not json}",
    '{"name": "get_model", "parameters": {"model": "llama 3.1 8b"}}; {"name": ',
    '<|python_tag|>{"name": null}',
    "<tool_call>" + "{" * 5000,
]


@pytest.mark.parametrize("raw", RAW_MALFORMED, ids=[f"raw{i}" for i in range(len(RAW_MALFORMED))])
def test_malformed_raw_tool_calls_are_explained_to_the_model(raw):
    model, advisor = _raw_advisor([raw, "I will answer without tools."])
    r = advisor.ask("What about llama 3.1 8b?", thread_id="t")
    assert r.reply == "I will answer without tools."
    again = advisor.ask("thanks", thread_id="t")
    assert again.reply == "Done."


def test_malformed_call_in_a_streamed_reply_gets_the_right_feedback():
    """Bug found: the hf driver streams, and a streamed reply carries its malformed calls in additional_kwargs, so
    the graph used to treat it as an empty reply ("Your reply was empty") instead of explaining the JSON error."""
    model, advisor = _raw_advisor(
        ['<tool_call>{"name": "get_model", "arguments": {model: llama</tool_call>', "Answer."]
    )
    seen: list = []
    original = model._stream

    def spy(messages, *a, **k):
        seen.append(list(messages))
        return original(messages, *a, **k)

    object.__setattr__(model, "_stream", spy)
    assert advisor.ask("q", thread_id="t").reply == "Answer."
    note = seen[1][-1].content
    assert "could not be used" in note and "not valid JSON" in note


FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    '{"name": "get_model", "arguments": {"model": "llama 3.1 8b"}}',
    '{"name": "estimate_memory", "arguments": {"model": "qwen2.5 7b", "quantization": "int4"}}',
    '{"name": ',
    '"arguments": ',
    '"parameters": {',
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    ":",
    '"',
    "null",
    "[TOOL_CALLS]",
    "[ARGS]",
    "<|python_tag|>",
    "<think>",
    "</think>",
    "get_model",
    "no_such_tool",
    '"model": 1',
    "\x00",
    "💥",
    "42.7 GB",
    "\\u0000",
    "\n",
    "It needs 16 GB.",
]
RAW_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=14).map("".join)
RAW_FUZZ_EXAMPLES = 120


def test_fuzzed_raw_model_text_never_breaks_a_turn():
    """Up to three raw model outputs per turn built from tool-call markup, JSON pieces and noise."""
    count = {"examples": 0, "model_outputs": 0, "turns": 0, "exceptions": 0}

    @settings(max_examples=RAW_FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(RAW_TEXT, min_size=1, max_size=3))
    def run(texts):
        try:
            turn(texts)
        except Exception:
            count["exceptions"] += 1
            raise

    def turn(texts):
        model, advisor = _raw_advisor(texts, max_steps=6)
        r = advisor.ask("Which model for coding on one RTX 4090?", thread_id="t")
        count["turns"] += 1
        assert isinstance(r.reply, str) and r.reply.strip()
        assert advisor.ask("and the licence?", thread_id="t").reply.strip()
        count["turns"] += 1
        users = [m["content"] for m in advisor.history("t") if m["role"] == "user"]
        assert users == ["Which model for coding on one RTX 4090?", "and the licence?"]
        count["examples"] += 1
        count["model_outputs"] += model.calls

    try:
        run()
    finally:
        record("agent.raw_text_fuzz", **count)


def _faulty_openai_server(behaviours: dict[str, str]):
    """An OpenAI-compatible server that misbehaves by the last message it receives (the first behaviour whose key
    the message contains, so a client's retry meets the same fault): 'bad-args' (a streamed tool call whose
    arguments are broken JSON), 'hang' (no answer for 20 s), 'http-500', 'garbage' (200 with a non-JSON body),
    'answer:TEXT'."""
    import asyncio

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        last = str(body["messages"][-1].get("content") or "")
        kind = next((v for k, v in behaviours.items() if k in last), "answer:Done.")

        def chunk(delta, finish=None):
            return (
                "data: "
                + json.dumps(
                    {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                )
                + "\n\n"
            )

        if kind == "hang":
            await asyncio.sleep(20)
        if kind == "http-500":
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        if kind == "garbage":
            return PlainTextResponse("<html>not json", media_type="application/json")
        if kind == "bad-args":

            def events():
                yield chunk({"role": "assistant", "content": ""})
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_model", "arguments": '{"model": "lla'},
                            }
                        ]
                    }
                )
                yield chunk({}, "tool_calls")
                yield "data: [DONE]\n\n"
        else:
            text = kind.split(":", 1)[1]

            def events():
                yield chunk({"role": "assistant", "content": text})
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}/v1"


def test_a_misbehaving_openai_compatible_server(tmp_path):
    """The same faults from a real OpenAI-compatible server through the openai driver (langchain-openai)."""
    from advisor.config import Settings
    from advisor.service import Advisor, make_checkpointer

    # the broken arguments come back either as a tool error (partial JSON parsed) or as the advisor's note
    behaviours = {
        "could not be used": "answer:I could not call the tool, sorry.",
        "invalid_input": "answer:I could not call the tool, sorry.",
        "How big": "bad-args",
        "hang now": "hang",
        "fail now": "http-500",
        "garbage now": "garbage",
        "still there": "answer:Back again.",
    }
    server, url = _faulty_openai_server(behaviours)
    try:
        settings = Settings(driver="openai", openai_base_url=url, model="m", db=":memory:", timeout_s=3)
        advisor = Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
        first = advisor.ask("How big is Llama 3.1 8B?", thread_id="t")
        assert first.reply == "I could not call the tool, sorry."
        started = time.perf_counter()
        hung = advisor.ask("hang now?", thread_id="t")
        assert "failed to answer" in hung.reply and time.perf_counter() - started < 15
        assert "failed to answer" in advisor.ask("fail now?", thread_id="t").reply  # HTTP 500, retried once
        assert "failed to answer" in advisor.ask("garbage now?", thread_id="t").reply  # a body that is not JSON
        last = advisor.ask("still there?", thread_id="t")
        users = [m["content"] for m in advisor.history("t") if m["role"] == "user"]
        sent = ["How big is Llama 3.1 8B?", "hang now?", "fail now?", "garbage now?", "still there?"]
        faults = sorted({v for v in behaviours.values() if not v.startswith("answer:")})
        record(
            "agent.openai_server_faults",
            injected=len(faults),
            kinds=faults,
            next_turn_ok=last.reply == "Back again.",
            messages_lost=sum(1 for m in sent if m not in users),
        )
        assert last.reply == "Back again."
        assert users == sent
    finally:
        server.should_exit = True


# ---------------------------------------------------------------- no data lost: SIGKILL, restart, concurrency


def _chat(url: str, thread_id: str, text: str, stream: bool = False, timeout: float = 120) -> str:
    body = {
        "model": "open-llm-advisor",
        "messages": [{"role": "user", "content": text}],
        "thread_id": thread_id,
        "stream": stream,
    }
    if not stream:
        r = httpx.post(url + "/v1/chat/completions", json=body, timeout=timeout)
        assert r.status_code == 200, r.text
        assert r.json()["thread_id"] == thread_id
        return r.json()["choices"][0]["message"]["content"]
    text_out = ""
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                assert chunk["thread_id"] == thread_id
                text_out += chunk["choices"][0]["delta"].get("content") or ""
    return text_out


def _thread(url: str, thread_id: str) -> dict:
    r = httpx.get(f"{url}/api/threads/{thread_id}", timeout=30)
    assert r.status_code == 200
    return r.json()


def _sigkill(srv: Server) -> None:
    os.kill(srv.proc.pid, signal.SIGKILL)
    assert srv.proc.wait(timeout=30) == -signal.SIGKILL


@pytest.mark.server
def test_sigkill_mid_conversation_loses_nothing(tmp_path):
    tid = "crash-test-1"
    stalling = Server(tmp_path)
    stalling.args = [sys.executable, "-m", "tests.stalling_server", str(stalling.port), str(stalling.db)]
    stalling.start()
    in_flight: dict = {}
    try:
        _chat(stalling.url, tid, "We have one RTX 4090 and need a commercially usable coding model")
        _chat(stalling.url, tid, "Actually we have two 4090s")
        before = _thread(stalling.url, tid)
        assert before["requirements"]["num_gpus"] == 2 and before["shortlist"]

        def third():
            try:
                _chat(stalling.url, tid, "[stall] and what about a 32k context?", timeout=60)
            except httpx.HTTPError as exc:  # the server dies under it
                in_flight["error"] = exc

        worker = threading.Thread(target=third, daemon=True)
        worker.start()
        deadline = time.time() + 30
        while "STALL-BEGIN" not in stalling.log.read_text() and time.time() < deadline:
            time.sleep(0.1)
        assert "STALL-BEGIN" in stalling.log.read_text(), "the turn never reached the model call"
        _sigkill(stalling)  # in the middle of the turn: the model call is running
        worker.join(30)
        assert "error" in in_flight
    finally:
        stalling.stop(kill=True)

    kills = 1
    srv = Server(tmp_path).start()  # the real app, on the same --db (same folder)
    assert srv.db == stalling.db
    try:
        after = _thread(srv.url, tid)
        measured = {
            "messages_before": len(before["messages"]),
            "messages_lost": sum(1 for m in before["messages"] if m not in after["messages"]),
            "requirements_lost": sum(1 for k, v in before["requirements"].items() if after["requirements"].get(k) != v),
        }
        record("persistence.sigkill", kills=kills, restarts=kills, **measured)
        assert after["messages"][: len(before["messages"])] == before["messages"]  # every earlier message, unchanged
        users = [m["content"] for m in after["messages"] if m["role"] == "user"]
        assert users == [
            "We have one RTX 4090 and need a commercially usable coding model",
            "Actually we have two 4090s",
            "[stall] and what about a 32k context?",
        ]  # the interrupted turn's message was saved too
        for key in ("gpu", "num_gpus", "commercial", "use_case"):
            assert after["requirements"][key] == before["requirements"][key]
        assert after["shortlist"] == before["shortlist"]

        reply = _chat(srv.url, tid, "Just recommend, with 32k context")
        assert "Shortlist" in reply
        state = _thread(srv.url, tid)
        assert state["requirements"]["num_gpus"] == 2 and state["requirements"]["min_context"] == 32768
        assert len([m for m in state["messages"] if m["role"] == "user"]) == 4

        _sigkill(srv)  # again, right after a completed turn, with no clean shutdown
        kills += 1
        srv2 = Server(tmp_path).start()
        try:
            final = _thread(srv2.url, tid)
            measured["messages_before"] += len(state["messages"])
            measured["messages_lost"] += sum(1 for m in state["messages"] if m not in final["messages"])
            measured["requirements_lost"] += sum(
                1 for k, v in state["requirements"].items() if final["requirements"].get(k) != v
            )
            record("persistence.sigkill", kills=kills, restarts=kills, **measured)
            assert final["messages"] == state["messages"] and final["requirements"] == state["requirements"]
            assert "Shortlist" in _chat(srv2.url, tid, "Actually three 4090s")
            assert _thread(srv2.url, tid)["requirements"]["num_gpus"] == 3
        finally:
            srv2.stop()
    finally:
        srv.stop(kill=True)


CONVERSATIONS = 20


@pytest.mark.server
def test_twenty_conversations_written_concurrently(tmp_path):
    srv = Server(tmp_path).start()
    barrier = threading.Barrier(CONVERSATIONS)

    def turns(k: int) -> list[str]:
        return [
            f"Customer service chatbot, commercial, {k + 1}00k monthly active users",
            "We have one RTX 4090",
            "Actually we have two 4090s",
        ]

    def converse(k: int) -> list[str]:
        tid = f"concurrent-{k:02d}"
        barrier.wait(timeout=60)
        return [_chat(srv.url, tid, text, stream=bool(k % 2)) for text in turns(k)]

    try:
        with ThreadPoolExecutor(CONVERSATIONS) as pool:
            replies = list(pool.map(converse, range(CONVERSATIONS), timeout=300))
        threads = [_thread(srv.url, f"concurrent-{k:02d}") for k in range(CONVERSATIONS)]
        incomplete = mixed_up = 0
        for k, (sent, thread) in enumerate(zip(replies, threads)):
            users = [m["content"] for m in thread["messages"] if m["role"] == "user"]
            answers = [m["content"] for m in thread["messages"] if m["role"] == "assistant"]
            incomplete += len(answers) != 3 or len(users) != 3 or not all(a.strip() for a in answers)
            mixed_up += (
                users != turns(k)
                or (answers and answers[-1].strip() != sent[-1].strip())
                or thread["requirements"].get("monthly_active_users") != (k + 1) * 100_000
            )
        record(
            "persistence.concurrent",
            conversations=CONVERSATIONS,
            turns=sum(len(r) for r in replies),
            streamed=sum(1 for k in range(CONVERSATIONS) if k % 2),
            incomplete=int(incomplete),
            mixed_up=int(mixed_up),
        )
        for k, sent in enumerate(replies):
            thread = _thread(srv.url, f"concurrent-{k:02d}")
            users = [m["content"] for m in thread["messages"] if m["role"] == "user"]
            answers = [m["content"] for m in thread["messages"] if m["role"] == "assistant"]
            assert users == turns(k), k
            assert len(answers) == 3 and all(a.strip() for a in answers)
            assert answers[-1].strip() == sent[-1].strip()  # what the client got is what was stored
            req = thread["requirements"]
            assert (
                req["monthly_active_users"] == (k + 1) * 100_000 and req["num_gpus"] == 2 and req["gpu"] == "rtx-4090"
            )
            assert thread["shortlist"]
    finally:
        srv.stop()


def test_tool_results_survive_a_json_round_trip_without_nan():
    """Results are stored in the checkpoint as JSON; NaN or inf would not survive a strict parser."""
    for name, args in VALID_ARGS.items():
        text = json.dumps(tools.call(name, args), allow_nan=False)
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in json.loads(text).values())
