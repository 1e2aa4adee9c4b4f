"""The graph with a scripted model (tool call -> result -> answer), grounding, limits, errors, and the offline
driver."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from langchain_core.messages import AIMessage, ToolMessage

import tools
from advisor.grounding import find_ungrounded, numbers_in
from advisor.requirements import extract, merge
from advisor.service import InputRejected
from tests.conftest import ScriptedModel, tool_call

# ---------------------------------------------------------------- graph with a scripted model


def test_tool_call_then_grounded_answer(make_advisor):
    def answer(messages):
        result = json.loads(next(m for m in reversed(messages) if isinstance(m, ToolMessage)).content)
        return AIMessage(content=f"Llama 3.1 8B needs about {result['total_gb']} GB in total.")

    model = ScriptedModel(
        script=[tool_call("estimate_memory", {"model": "llama 3.1 8b", "quantization": "int4"}), answer]
    )
    advisor = make_advisor(model, offline=False)
    r = advisor.ask("How much memory for llama 3.1 8b in 4-bit?", thread_id="t")
    assert [t.name for t in r.tool_calls] == ["estimate_memory"]
    assert str(r.tool_calls[0].result["total_gb"]) in r.reply
    assert "[figure removed]" not in r.reply


def test_ungrounded_figure_is_sent_back_for_revision(make_advisor):
    model = ScriptedModel(
        script=[
            AIMessage(content="Llama 3.1 8B needs 42.7 GB."),  # invented
            lambda msgs: AIMessage(content="I need to check that with a tool before giving a figure."),
        ]
    )
    advisor = make_advisor(model, offline=False)
    r = advisor.ask("How much memory does llama 3.1 8b need?", thread_id="t")
    assert "42.7" not in r.reply
    revision_request = model.seen[1][-1]
    assert "42.7" in revision_request.content and revision_request.additional_kwargs.get("advisor_note")


def test_figures_still_ungrounded_after_revision_are_removed(make_advisor):
    model = ScriptedModel(
        script=[AIMessage(content="It needs 42.7 GB."), AIMessage(content="It needs 42.7 GB, really.")]
    )
    advisor = make_advisor(model, offline=False)
    r = advisor.ask("memory of llama 3.1 8b?", thread_id="t")
    assert "42.7" not in r.reply and "[figure removed]" in r.reply


def test_user_figures_may_be_repeated(make_advisor):
    model = ScriptedModel(script=[AIMessage(content="Noted: 37 users and a budget of $450 a month.")])
    advisor = make_advisor(model, offline=False)
    r = advisor.ask("We have 37 users and $450 a month", thread_id="t")
    assert "37" in r.reply and "$450" in r.reply


def test_step_limit_gives_a_polite_message(make_advisor):
    looping = [tool_call("list_gpus", {}, call_id=f"c{i}") for i in range(10)]
    advisor = make_advisor(ScriptedModel(script=looping), offline=False, max_steps=3)
    r = advisor.ask("loop please", thread_id="t")
    assert "more tool calls than one turn allows" in r.reply
    assert len(r.tool_calls) == 3


def test_tool_errors_go_back_to_the_model(make_advisor):
    def check(messages):
        last = messages[-1]
        assert isinstance(last, ToolMessage)
        err = json.loads(last.content)["error"]
        assert err["type"] == "invalid_input" and err["field"] == "model"
        return AIMessage(
            content="That model is not in the catalog; did you mean " + ", ".join(err["suggestions"][:2]) + "?"
        )

    advisor = make_advisor(
        ScriptedModel(script=[tool_call("get_model", {"model": "lama 3.1 8"}), check]), offline=False
    )
    r = advisor.ask("tell me about lama 3.1 8", thread_id="t")
    assert "not in the catalog" in r.reply
    assert r.tool_calls[0].result["error"]["type"] == "invalid_input"


def test_unknown_tool_and_wrong_argument_types_are_tool_errors(make_advisor):
    model = ScriptedModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "delete_everything", "args": {}, "id": "a", "type": "tool_call"},
                    {
                        "name": "estimate_memory",
                        "args": {"model": "llama 3.1 8b", "batch_size": "lots"},
                        "id": "b",
                        "type": "tool_call",
                    },
                ],
            ),
            AIMessage(content="Both calls failed; tell me more."),
        ]
    )
    r = make_advisor(model, offline=False).ask("go", thread_id="t")
    errors = {t.name: t.result["error"] for t in r.tool_calls}
    assert "unknown tool" in errors["delete_everything"]["message"]
    assert errors["estimate_memory"]["field"] == "batch_size"


def test_a_failing_driver_leaves_the_thread_usable(make_advisor):
    def boom(messages):
        raise TimeoutError("driver timed out")

    model = ScriptedModel(script=[boom, AIMessage(content="Back again.")])
    advisor = make_advisor(model, offline=False)
    first = advisor.ask("hello", thread_id="t")
    assert "failed to answer" in first.reply and "TimeoutError" in first.reply
    second = advisor.ask("hello again", thread_id="t")
    assert second.reply == "Back again."
    assert [m["content"] for m in advisor.history("t") if m["role"] == "user"] == ["hello", "hello again"]


def test_malformed_tool_call_is_explained_to_the_model(make_advisor):
    bad = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "get_model",
                "args": "{model: llama",
                "id": "x",
                "error": "not valid JSON",
                "type": "invalid_tool_call",
            }
        ],
    )
    model = ScriptedModel(script=[bad, AIMessage(content="Sorry, here is my answer without tools.")])
    r = make_advisor(model, offline=False).ask("q", thread_id="t")
    assert r.reply == "Sorry, here is my answer without tools."
    assert "could not be used" in model.seen[1][-1].content


def test_empty_replies_end_politely(make_advisor):
    model = ScriptedModel(script=[AIMessage(content=""), AIMessage(content="")])
    r = make_advisor(model, offline=False).ask("q", thread_id="t")
    assert "could not produce an answer" in r.reply


def test_oversize_and_empty_messages_are_refused(make_advisor):
    advisor = make_advisor()
    with pytest.raises(InputRejected, match="limit is 8,000"):
        advisor.ask("x" * 9000, thread_id="t")
    with pytest.raises(InputRejected, match="empty"):
        advisor.ask(" \x00 \x07 ", thread_id="t")


# ---------------------------------------------------------------- grounding check itself


def test_grounding_accepts_rounding_units_and_names():
    evidence = numbers_in({"total_gb": 16.06, "monthly_usd": 1284.37, "monthly_tokens": 10000000, "share": 0.75})
    ok = "Llama 3.1 8B on an RTX 4090 needs about 16.1 GB (16 GB), costs $1,284 a month at 10M tokens, 75% input."
    assert find_ungrounded(ok, evidence) == []
    assert find_ungrounded("It costs $999 a month.", evidence) == ["$999"]
    negative = numbers_in({"headroom_gb": -2.14})
    assert find_ungrounded("headroom -2.14 GB", negative) == []
    assert find_ungrounded("headroom 2.14 GB", negative) == ["2.14"]


# ---------------------------------------------------------------- requirements


def test_requirements_are_read_and_corrected():
    req = merge(
        {}, extract("We're building a customer support bot for 2M monthly active users, commercial, 32k context")
    )
    assert req["use_case"] == "customer_service" and req["commercial"] is True
    assert req["monthly_active_users"] == 2_000_000 and req["min_context"] == 32768
    req = merge(req, extract("we have two 4090s"))
    assert req["gpu"] == "rtx-4090" and req["num_gpus"] == 2
    req = merge(req, extract("actually this is non-commercial research"))
    assert req["commercial"] is False
    req = merge(req, extract("about 10M tokens a month, data must not leave our servers, we are based in Germany"))
    assert req["monthly_tokens"] == 10_000_000 and req["privacy"] == "self_hosted" and req["eu_entity"] is True


# ---------------------------------------------------------------- offline driver conversations


def test_offline_gathers_requirements_then_shortlists(make_advisor):
    advisor = make_advisor()
    first = advisor.ask("I need a model", thread_id="t")
    assert not first.tool_calls
    assert first.reply.count("?") >= 1 and "just recommend" in first.reply
    second = advisor.ask("For customer service chat, commercial, about 50k monthly users", thread_id="t")
    assert not second.tool_calls and "hardware" in second.reply.lower()
    third = advisor.ask("We have one RTX 4090", thread_id="t")
    assert [t.name for t in third.tool_calls] == ["select_models"]
    assert third.shortlist and all(rec["memory_gb"] <= 24 * 2**30 / 1e9 for rec in third.shortlist)  # 24 GiB
    assert "Offline driver" in third.reply
    assert third.requirements["gpu"] == "rtx-4090" and third.requirements["commercial"] is True


def test_offline_correction_changes_the_answer(make_advisor):
    advisor = make_advisor()
    one = advisor.ask("One RTX 4090, coding assistant, commercial product. Just recommend.", thread_id="t")
    two = advisor.ask("Actually we have two 4090s", thread_id="t")
    assert two.tool_calls and two.tool_calls[0].args["num_gpus"] == 2
    assert two.requirements["num_gpus"] == 2
    # the answer is redone for two cards: the shortlist is select_models' for 2 x RTX 4090, and the reply says so
    expected = tools.call("select_models", two.tool_calls[0].args)["recommendations"]
    assert [r["model"] for r in two.shortlist] == [r["model"] for r in expected]
    assert all(r["memory_gb"] <= 2 * 24 * 2**30 / 1e9 for r in two.shortlist)
    assert "2 x NVIDIA GeForce RTX 4090" in two.reply and "2 x NVIDIA GeForce RTX 4090" not in one.reply


def test_offline_licence_memory_and_cost_questions(make_advisor):
    advisor = make_advisor()
    lic = advisor.ask("Can we use Llama 3.1 70B commercially with 800 million monthly active users?", thread_id="t")
    assert lic.tool_calls[0].name == "check_license" and "not allowed" in lic.reply
    mem = advisor.ask("How much memory does Qwen2.5 32B need at 32k context on an A100 80GB?", thread_id="t")
    assert {t.name for t in mem.tool_calls} == {"estimate_memory"}
    assert "GB" in mem.reply
    cost = advisor.ask("What would 100M tokens a month cost with llama 3.1 8b?", thread_id="t")
    assert cost.tool_calls[0].name == "estimate_cost" and "Break-even" in cost.reply


def test_offline_version_comparison(make_advisor):
    r = make_advisor().ask("Compare Llama 2, Llama 3 and Llama 3.1 on benchmarks", thread_id="t")
    call = r.tool_calls[0]
    assert call.name == "compare_benchmarks" and len(call.args["models"]) >= 3
    assert "MMLU" in r.reply


def test_thread_resumes_after_reopening_sqlite(tmp_path):
    from advisor.config import Settings
    from advisor.service import Advisor

    db = str(tmp_path / "conv.sqlite")
    a = Advisor.create(Settings(driver="offline", db=db))
    a.ask("We have one RTX 4090 and need a commercially usable coding model", thread_id="keep")
    del a
    b = Advisor.create(Settings(driver="offline", db=db))
    state = b.state("keep")
    assert state["requirements"]["gpu"] == "rtx-4090"
    assert state["shortlist"]
    r = b.ask("and what about a 32k context?", thread_id="keep")
    assert r.requirements["min_context"] == 32768 and r.requirements["gpu"] == "rtx-4090"
    assert len([m for m in b.history("keep") if m["role"] == "user"]) == 2


def test_cli_ask_json(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor.cli",
            "ask",
            "Can I use Qwen2.5 3B commercially?",
            "--json",
            "--driver",
            "offline",
            "--db",
            str(tmp_path / "c.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["tool_calls"][0]["name"] == "check_license"
    assert data["tool_calls"][0]["result"]["verdict"] == "not_allowed"
    assert data["requirements"]["commercial"] is True
    assert "offline" in data["driver_info"]


# ---------------------------------------------------------------- the working memory in the state


def test_the_state_holds_the_working_memory(make_advisor):
    advisor = make_advisor()
    advisor.ask("Recommend a coding model for one RTX 4090, commercial product, just recommend", thread_id="m")
    values = advisor.graph.get_state({"configurable": {"thread_id": "m"}}).values
    assert values["turn"]["number"] == 1 and values["turn"]["intents"] == ["recommend"]
    assert [c["name"] for c in values["analyses"][-1]["calls"]] == ["select_models"]
    assert values["analyses"][-1]["calls"][0]["args"]["gpu"] == "rtx-4090"
    top = values["shortlist"][0]["model"]
    assert values["analyses"][-1]["digest"][0]["models"][0]["model"] == top
    assert values["focus"] == {"devices": ["rtx-4090"], "models": []}  # a shortlist alone puts no model in focus
    advisor.ask("and its licence?", thread_id="m")
    values = advisor.graph.get_state({"configurable": {"thread_id": "m"}}).values
    assert values["turn"]["number"] == 2 and values["turn"]["models"] == [top]
    assert values["analyses"][-1]["calls"][0] == {
        "name": "check_license",
        "args": values["analyses"][-1]["calls"][0]["args"],
    }
    assert values["focus"]["models"] == [top] and len(values["analyses"]) == 2
    question = advisor.ask("how much memory does it need", thread_id="q")
    assert "?" in question.reply and not question.tool_calls
    asked = advisor.graph.get_state({"configurable": {"thread_id": "q"}}).values["open_question"]
    assert asked["kind"] == "model_for" and asked["intents"] == ["memory"]


def test_a_thread_checkpointed_before_the_working_memory_resumes(make_advisor):
    from langchain_core.messages import HumanMessage

    advisor = make_advisor()
    config = {"configurable": {"thread_id": "old"}}
    args = {"use_case": "rag", "gpu": "a100-80gb", "commercial": True, "top_k": 5}
    result = tools.call("select_models", args)
    messages = [
        HumanMessage(content="Recommend models for RAG on an A100 80GB, commercial, go ahead"),
        AIMessage(content="", tool_calls=[{"name": "select_models", "args": args, "id": "c1", "type": "tool_call"}]),
        ToolMessage(content=json.dumps(result), name="select_models", tool_call_id="c1"),
        AIMessage(content="Here is the shortlist."),
    ]
    # what checkpoints written before the working memory held: the messages, the requirements and the shortlist
    advisor.graph.update_state(
        config,
        {
            "messages": messages,
            "requirements": {k: v for k, v in args.items() if k != "top_k"},
            "shortlist": result["recommendations"],
        },
        as_node="ground",
    )
    assert not advisor.graph.get_state(config).values.get("analyses")
    r = advisor.ask("is the second one ok with 2M users?", thread_id="old")
    assert r.tool_calls[0].name == "check_license"
    assert r.tool_calls[0].args["model"] == result["recommendations"][1]["model"]
    assert r.tool_calls[0].args["monthly_active_users"] == 2_000_000 and r.tool_calls[0].args["commercial"] is True
    values = advisor.graph.get_state(config).values
    assert [a["turn"] for a in values["analyses"]] == [1, 2]  # the old turn recalled once, then this one
    assert values["analyses"][0]["calls"][0]["name"] == "select_models"


# ---------------------------------------------------------------- what-if, alternatives, defaults (issue #24)


def test_a_what_if_re_runs_the_analysis_it_changes_and_says_what_changed(make_advisor):
    advisor = make_advisor()
    first = advisor.ask("customer support bot on two L40S cards, commercial product", thread_id="w")
    before = [r["model"] for r in first.shortlist]
    advisor.ask("what would the top one cost at 80 million tokens a month", thread_id="w")
    licence = advisor.ask("is its licence fine for us?", thread_id="w")
    assert [c.name for c in licence.tool_calls] == ["check_license"]
    what_if = advisor.ask("what if we need a 64k context window?", thread_id="w")
    assert [c.name for c in what_if.tool_calls] == ["select_models"]  # the shortlist, not the licence check again
    args = what_if.tool_calls[0].args
    assert (args["min_context"], args["gpu"], args["num_gpus"], args["commercial"]) == (65536, "l40s", 2, True)
    after = [r["model"] for r in what_if.shortlist]
    assert "**What changed**" in what_if.reply
    changed = what_if.reply.split("**What changed**")[1].split("###")[0]
    from tools.common import catalog

    for model in set(before) - set(after):
        assert catalog().models[model].name in changed.split("drops out:")[1]
    assert "still shortlisted" in changed or "new:" in changed
    again = advisor.ask("what if we need a 64k context window?", thread_id="w")
    assert again.tool_calls[0].args == args  # the same change again: the same analysis


def test_an_alternative_is_chosen_by_its_objective(make_advisor):
    from tools.common import catalog

    advisor = make_advisor()
    advisor.ask("what does running llama 3.3 70b cost us for ~300M tokens/month", thread_id="a")
    cheaper = advisor.ask("too pricey. anything cheaper thats still decent for chat?", thread_id="a")
    names = [c.name for c in cheaper.tool_calls]
    assert names == ["select_models", "estimate_cost"]
    costed = cheaper.tool_calls[1].args
    assert costed["monthly_tokens"] == 300_000_000 and costed["model"] != "llama-3.3-70b"
    cat = catalog()
    new = cat.models[costed["model"]]
    assert (new.active_params_b or new.params_b) < cat.models["llama-3.3-70b"].params_b
    assert "**Alternative (cheaper)** to Llama 3.3 70B" in cheaper.reply
    cleaner = make_advisor()
    cleaner.ask("need a code completion model for our company's dev team, single RTX 5090", thread_id="c")
    cleaner.ask("licence of the first one?", thread_id="c")
    r = cleaner.ask("hmm anything with a cleaner licence, like apache or MIT?", thread_id="c")
    assert [c.name for c in r.tool_calls] == ["select_models"]
    assert r.tool_calls[0].args["licenses"] == ["apache-2.0", "mit"] and r.tool_calls[0].args["gpu"] == "rtx-5090"


def test_speed_with_no_format_answers_in_one_that_fits(make_advisor):
    advisor = make_advisor()
    r = advisor.ask("tokens per second for qwen3 32b on one L40S?", thread_id="s")
    call = r.tool_calls[0]
    assert call.name == "estimate_throughput" and call.args["quantization"] == "fp8"  # bf16 (~70 GB) does not fit
    assert call.result["fits"] is True and call.result["decode_tokens_per_s"] > 0
    assert "format: fp8, the best that fits (bf16 needs" in r.reply
    release = advisor.ask("deepseek v3.1 speed on 8 h100s?", thread_id="s2")
    assert release.tool_calls[0].args["quantization"] == "awq"  # its release format, fp8, does not fit 8 x 80 GB
    assert release.tool_calls[0].result["decode_tokens_per_s"] > 0
    fits = advisor.ask("how fast is gpt-oss-120b on one H100", thread_id="s3")
    assert fits.tool_calls[0].args["quantization"] == "mxfp4" and "the release format (it fits)" in fits.reply


def test_a_worked_out_volume_is_used_and_shown(make_advisor):
    advisor = make_advisor()
    r = advisor.ask(
        "about two thousand staff, each maybe ten questions a day at roughly a thousand tokens. what would llama 3.1 "
        "8b cost us monthly?",
        thread_id="d",
    )
    assert r.tool_calls[0].args["monthly_tokens"] == 600_000_000
    line = r.reply.splitlines()[0]
    assert "2,000 users x 10 messages a day x 1,000 tokens each x 30 days = 600,000,000" in line
    assert "[figure removed]" not in r.reply
    half = advisor.ask("and if its only half the users?", thread_id="d")
    assert half.tool_calls[0].name == "estimate_cost" and half.tool_calls[0].args["monthly_tokens"] == 300_000_000


def test_what_changed_gives_memory_in_the_unit_of_the_shortlists_table(make_advisor):
    """The what-if's "still shortlisted" figures are the table's: per device, in the device's unit (GiB for an 80GB
    H100), not the total in GB beside a table in GiB."""
    advisor = make_advisor()
    advisor.ask("coding assistant for our devs on one H100, commercial", thread_id="u")
    what_if = advisor.ask("what if we need 128k context?", thread_id="u")
    top = what_if.shortlist[0]
    changed = what_if.reply.split("**What changed**")[1].split("###")[0]
    assert f"{top['name']} ({top['fit']['needed']} GiB" in changed, changed
    assert " GB," not in changed and " GB)" not in changed, changed
