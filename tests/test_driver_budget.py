"""The LLM drivers' shared pieces without a model: compact tool schemas and the turn's tools (budget), tool-call
formats per family and what of a streamed reply is shown (toolcalls), the weights --model names, the loop guard,
and parallel calls for templates that take one (hf)."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

import tools
from advisor.drivers import budget, toolcalls

# ---------------------------------------------------------------- compact schemas and the turn's tools


def test_compact_schemas_keep_names_types_enums_and_required_and_drop_the_rest():
    full = {s["function"]["name"]: s for s in tools.schemas()}
    compact = {budget.name_of(s): s for s in budget.compact_schemas(tools.schemas())}
    assert compact.keys() == full.keys()
    cost = compact["estimate_cost"]["function"]
    assert cost["parameters"]["required"] == ["monthly_tokens"]
    props = cost["parameters"]["properties"]
    assert props.keys() == full["estimate_cost"]["function"]["parameters"]["properties"].keys()
    assert props["model"]["type"] == "string"  # anyOf [string, null] collapsed
    assert props["api_models"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": props["api_models"]["description"],
    }
    assert "llama.cpp" in props["engine"]["enum"]
    text = json.dumps(list(compact.values()))
    for dropped in ('"default"', '"minimum"', '"maximum"', "additionalProperties", "anyOf"):
        assert dropped not in text
    assert len(text) < 0.65 * len(json.dumps(tools.schemas()))


def test_descriptions_are_cut_to_their_first_sentence():
    assert budget._shorten("Does A. Then B.", 100) == "Does A"
    long = "word " * 60
    cut = budget._shorten(long, 40)
    assert len(cut) <= 43 and cut.endswith("...")


def test_tool_lines_mark_required_arguments_and_list_enums():
    lines = budget.tool_lines(budget.compact_schemas([tools.get("estimate_memory").openai_schema()]))
    assert lines.startswith("- estimate_memory(model*: string, quantization: string")
    assert "engine: auto|transformers|vllm" in lines and lines.count("\n") == 0


def test_the_turns_tools_follow_its_intents_and_the_calls_made_in_it():
    memory = budget.turn_tools([HumanMessage(content="How much memory does Llama 3.1 8B need at 32k context?")])
    assert (
        memory is not None and "estimate_memory" in memory and "get_model" in memory and "estimate_cost" not in memory
    )
    turn = [
        HumanMessage(content="How much memory does Llama 3.1 8B need at 32k context?"),
        AIMessage(content="", tool_calls=[{"name": "list_gpus", "args": {}, "id": "a", "type": "tool_call"}]),
        ToolMessage(content="{}", tool_call_id="a", name="list_gpus"),
    ]
    assert "list_gpus" in (budget.turn_tools(turn) or [])
    assert budget.turn_tools([HumanMessage(content="hello")]) is None


def test_fit_tools_sends_all_under_the_budget_and_the_turns_over_it():
    question = [SystemMessage(content="s"), HumanMessage(content="Is Llama 3.1 8B allowed commercially?")]
    count = lambda s: budget.estimate_tokens(json.dumps(s))
    everything, tokens = budget.fit_tools(tools.schemas(), question, count, 100_000)
    assert len(everything) == len(tools.schemas()) and tokens == count(everything)
    chosen, small = budget.fit_tools(tools.schemas(), question, count, 2000)
    assert {budget.name_of(s) for s in chosen} == {"check_license", "get_model"} and small < 2000
    unread, size = budget.fit_tools(tools.schemas(), [HumanMessage(content="hello")], count, 1000)
    assert 0 < len(unread) < len(tools.schemas()) and size <= 1000  # as many as fit, in the registry's order


def test_overflow_names_the_sizes():
    budget.check_fits(900, 300, 1000, 100)  # fits exactly
    with pytest.raises(budget.ContextOverflow, match=r"needs 8,270 tokens \(tool schemas 6,450.*context is 8,192"):
        budget.check_fits(8270, 6450, 8192, 512)
    budget.check_fits(10**6, 10, None, 512)  # no context known: no check


# ---------------------------------------------------------------- tool-call formats


def test_parse_gpt_oss_harmony():
    text = (
        "<|channel|>analysis<|message|>The user wants the licence.<|end|><|start|>assistant<|channel|>commentary "
        'to=functions.check_license <|constrain|>json<|message|>{"model": "gpt-oss 20b", "commercial": true}<|call|>'
    )
    p = toolcalls.parse(text)
    assert p.calls[0]["name"] == "check_license" and p.calls[0]["args"] == {"model": "gpt-oss 20b", "commercial": True}
    assert p.content == ""
    final = toolcalls.parse("<|channel|>analysis<|message|>hmm<|end|><|start|>assistant<|channel|>final<|message|>Yes.")
    assert final.calls == [] and final.content == "Yes."


def test_parse_a_fenced_json_call_and_leave_other_fences_alone():
    p = toolcalls.parse('```json\n{"name": "get_model", "arguments": {"model": "phi 4"}}\n```')
    assert p.calls[0]["args"] == {"model": "phi 4"}
    code = toolcalls.parse('```json\n{"tensor_parallel": 2}\n```')
    assert code.calls == [] and "tensor_parallel" in code.content


def test_new_ids_suit_mistral_templates():
    p = toolcalls.parse('<tool_call>{"name": "get_model", "arguments": {}}</tool_call>')
    assert len(p.calls[0]["id"]) == 9 and p.calls[0]["id"].isalnum()


def _shown(pieces: list[str]) -> tuple[str, toolcalls.StreamFilter]:
    f = toolcalls.StreamFilter()
    return "".join(f.feed(p) for p in pieces), f


def test_streaming_shows_text_and_holds_back_markup_split_across_tokens():
    shown, f = _shown(
        ["Let me", " check.", "<", "tool", "_call", '>{"name": "get_model", "arguments": {}}', "</tool_call>"]
    )
    assert shown == "Let me check." and "<" not in shown
    parsed = toolcalls.parse(f.text)
    assert parsed.calls and shown + f.remainder(parsed.content) == parsed.content


def test_streaming_holds_trailing_space_so_the_shown_text_is_the_replys():
    shown, f = _shown(["Let me look. ", '<tool_call>{"name": "get_model", "arguments": {}}</tool_call>'])
    assert shown == "Let me look." == toolcalls.parse(f.text).content
    shown, f = _shown(["Two", " words ", "\n\n", "and more"])
    assert shown == "Two words \n\nand more"


def test_streaming_holds_a_json_call_and_shows_plain_text_whole():
    shown, f = _shown(['{"name"', ': "get_model", "arguments": {}}'])
    assert shown == "" and toolcalls.parse(f.text).calls
    shown, f = _shown(["Llama 3.1 8B ", "fits in ", "4-bit."])
    assert shown + f.remainder(toolcalls.parse(f.text).content) == "Llama 3.1 8B fits in 4-bit."
    shown, _ = _shown(
        ["<|channel|>analysis<|message|>think<|end|>", "<|start|>assistant<|channel|>final<|message|>", "Yes", "."]
    )
    assert shown == "Yes."


# ---------------------------------------------------------------- the hf driver's helpers (no model)


def test_model_names_weights_or_says_what_is_accepted(tmp_path):
    from advisor.drivers.hf import ModelUnavailable, resolve_weights

    gguf = tmp_path / "m.Q4_1.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_weights(str(gguf)).gguf_file == "m.Q4_1.gguf"
    assert resolve_weights(str(tmp_path)).source == "gguf"  # a folder holding one GGUF file
    (tmp_path / "other.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelUnavailable, match="holds 2 GGUF files"):
        resolve_weights(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    assert resolve_weights(str(tmp_path)).source == "folder"
    assert resolve_weights("Qwen/Qwen3-8B").source == "hub"
    with pytest.raises(ModelUnavailable, match="no such file or folder: /nowhere/x.gguf") as err:
        resolve_weights("/nowhere/x.gguf")
    assert "hf download" not in str(err.value)
    with pytest.raises(ModelUnavailable, match="not a .gguf file"):
        resolve_weights(str(tmp_path / "config.json"))


def test_the_loop_guard_stops_cycles_not_tables():
    from advisor.drivers.hf import _looping

    assert _looping([7] * 48, 4) and not _looping([7] * 47, 4)
    sentence = list(range(20))
    assert _looping([1, 2, 3] + sentence * 4, 4) and not _looping(sentence * 3, 4)
    table = [5, 6] * 8 + list(range(100, 140))  # "|---|---|..." then text
    assert not _looping(table, 4)
    assert not _looping(list(range(300)), 4)


def test_parallel_calls_become_single_calls_each_followed_by_its_result():
    from advisor.drivers.hf import one_call_per_message

    msgs = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a"}, {"id": "b"}]},
        {"role": "tool", "content": "ra", "tool_call_id": "a"},
        {"role": "tool", "content": "rb", "tool_call_id": "b"},
    ]
    out = one_call_per_message(msgs)
    assert [(m["role"], m.get("tool_call_id") or [c["id"] for c in m.get("tool_calls", [])]) for m in out] == [
        ("user", []),
        ("assistant", ["a"]),
        ("tool", "a"),
        ("assistant", ["b"]),
        ("tool", "b"),
    ]


def test_tool_call_ids_reach_templates_in_mistrals_nine_character_form():
    from advisor.drivers.hf import to_template_messages

    msgs = to_template_messages(
        [
            AIMessage(
                content="",
                tool_calls=[{"name": "get_model", "args": {}, "id": "call_0123456789ab", "type": "tool_call"}],
            ),
            ToolMessage(content="{}", tool_call_id="call_0123456789ab", name="get_model"),
        ]
    )
    call_id = msgs[0]["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum() and msgs[1]["tool_call_id"] == call_id


def test_written_tools_put_calls_and_results_in_the_text():
    from advisor.drivers.hf import to_template_messages

    msgs = to_template_messages(
        [
            AIMessage(
                content="", tool_calls=[{"name": "get_model", "args": {"model": "x"}, "id": "c", "type": "tool_call"}]
            ),
            ToolMessage(content='{"params_b": 8}', tool_call_id="c", name="get_model"),
        ],
        written_tools=True,
    )
    assert msgs[0] == {
        "role": "assistant",
        "content": '<tool_call>{"name": "get_model", "arguments": {"model": "x"}}</tool_call>',
    }
    assert msgs[1] == {"role": "user", "content": '<tool_response>{"params_b": 8}</tool_response>'}


def test_settings_read_the_new_variables_and_refuse_bad_ones(monkeypatch):
    from advisor.config import Settings

    monkeypatch.setenv("ADVISOR_DEVICE", "cpu")
    monkeypatch.setenv("ADVISOR_THREADS", "2")
    monkeypatch.setenv("ADVISOR_OPENAI_STREAM_TOOLS", "0")
    monkeypatch.setenv("ADVISOR_CONTEXT_TOKENS", "8192")
    s = Settings.from_env()
    assert (s.device, s.threads, s.openai_stream_tools, s.context_tokens) == ("cpu", 2, False, 8192)
    monkeypatch.setenv("ADVISOR_OPENAI_STREAM_TOOLS", "maybe")
    with pytest.raises(ValueError, match="ADVISOR_OPENAI_STREAM_TOOLS must be 1 or 0"):
        Settings.from_env()
    monkeypatch.setenv("ADVISOR_OPENAI_STREAM_TOOLS", "1")
    monkeypatch.setenv("ADVISOR_THREADS", "two")
    with pytest.raises(ValueError, match="ADVISOR_THREADS must be a number, not 'two'"):
        Settings.from_env()


def test_the_advisors_own_llm_weights_have_a_name_of_their_own_and_the_old_one_still_works(monkeypatch):
    """Settings.llm_weights (how the hf driver loads the advisor's LLM) is not a tool's weight format; the older
    flag --quantization and variable ADVISOR_QUANT still set it, the new ones win."""
    import argparse

    from advisor import options
    from advisor.config import Settings

    parser = argparse.ArgumentParser()
    options.add_agent_options(parser)
    for flag in ("--llm-weights", "--quantization"):
        assert options.settings(parser.parse_args([flag, "8bit"])).llm_weights == "8bit"
    with pytest.raises(SystemExit):
        parser.parse_args(["--llm-weights", "q4_k_m"])  # a tool's format is refused here
    monkeypatch.setenv("ADVISOR_QUANT", "none")
    assert Settings.from_env().llm_weights == "none"
    monkeypatch.setenv("ADVISOR_LLM_WEIGHTS", "4bit")
    assert Settings.from_env().llm_weights == "4bit"
    assert not hasattr(Settings(), "quantization")
