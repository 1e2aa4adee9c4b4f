"""What answers say to people, over many tool results and offline answers (issue #25, Build 1-3):

- one unit rule: a sentence that says a model fits a device never shows a memory figure larger than the device's
  memory as its vendor states it (the vendor's "24GB" is 24 GiB; "fits ... about 25.63 GB" on a 24GB card read as a
  contradiction);
- no internal words: none of the tools' own field names, argument names or coded values (snake_case), and none of
  the phrases that leaked ("give hardware_usd", "_gb is 10^9 bytes", "the schema has no not_reported value", a
  Llama-3-8B memory basis, "[figure removed]");
- the verdict card opens answers that have a verdict, and every figure on it is a field of a tool result.
"""

from __future__ import annotations

import functools
import html
import itertools
import re
from pathlib import Path

import pytest
import yaml

import tools
from advisor import render, verdict
from advisor.events import ToolReturned
from advisor.grounding import find_ungrounded, numbers_in

ROOT = Path(__file__).resolve().parent.parent
MEMORY = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(GiB|GB|TB)\b")
SENTENCE = re.compile(r"(?<=[.;])\s+|\n+|\s\|\s")
PHRASES = (
    "[figure removed]",
    "figure(s) were removed",
    "_gb is",
    "the schema",
    "GiB for Llama-3-8B",
    "(give hardware_usd",
    "(estimate_",
)
CONFIG_WORDS = {"max_position_embeddings"}  # a config.json key, as model notes quote it, not a word of the tools'
DEVICES = [
    {"gpu": "RTX 4090"},
    {"gpu": "RTX 3090"},
    {"gpu": "L40S", "num_gpus": 2},
    {"gpu": "H100 SXM"},
    {"gpu": "A100 80GB", "num_gpus": 4},
    {"gpu": "M4 Max 128GB"},
    {"gpu": "M3 Ultra 512GB"},
    {"vram_gb": 24},
    {"vram_gb": 12},
    {"vram_gb": 48, "num_gpus": 2},
    {"vram_gb": 96, "unified_memory": True},
]
MODELS = ["qwen3.5-27b", "qwen3.5-35b-a3b", "llama-3.3-70b", "gpt-oss-120b", "gemma-4-31b", "deepseek-r1", "qwen3-8b"]
QUANTS = ["bf16", "fp8", "q8_0", "q5_k_m", "q4_k_m", "awq"]


def _call(name: str, args: dict) -> ToolReturned | None:
    result = tools.registry.run(name, args, 60)
    return None if "error" in result else ToolReturned(name, name, args, result)


@functools.cache
def tool_results() -> list[ToolReturned]:
    """Shortlists on every device for several use cases, memory estimates of several models in several formats on
    every device, deployment plans and costs: the tool results the answers below are laid out from."""
    calls = []
    for device, use_case in itertools.product(DEVICES, ["code", "chat", "long_context", "rag", "edge"]):
        calls.append(_call("select_models", {"use_case": use_case, "commercial": True, **device}))
    for device, model, quant in itertools.product(DEVICES, MODELS, QUANTS):
        calls.append(_call("estimate_memory", {"model": model, "quantization": quant, **device}))
        calls.append(
            _call("estimate_memory", {"model": model, "quantization": quant, "context_length": 32768, **device})
        )
    for device, model in itertools.product([d for d in DEVICES if "gpu" in d], MODELS[:4]):
        calls.append(_call("plan_deployment", {"model": model, **device}))
    for model, device in itertools.product(MODELS[:3], [{"gpu": "RTX 4090"}, {"gpu": "L40S", "num_gpus": 2}]):
        calls.append(_call("estimate_cost", {"model": model, "monthly_tokens": 50_000_000, **device}))
    calls.append(_call("estimate_cost", {"monthly_tokens": 10_000_000, "model": "llama-3.1-8b", "gpu": "L40S"}))
    calls.append(_call("list_licenses", {}))
    for model in MODELS:
        calls.append(_call("get_model", {"model": model}))
        calls.append(_call("check_license", {"model": model, "commercial": True, "monthly_active_users": 2_000_000}))
    calls.append(_call("compare_benchmarks", {"models": ["gemma-2-27b", "gemma-3-27b", "gemma-4-31b"]}))
    return [c for c in calls if c is not None]


def _stated_gib(call: ToolReturned) -> list[float]:
    """The device memory each result compares with, as its vendor states it ("24GB" -> 24)."""
    fits = [call.result.get("fit")] + [rec.get("fit") for rec in call.result.get("recommendations") or []]
    stated = [f["memory_stated"] for f in fits if f] + [call.args.get("vram_gb") and f"{call.args['vram_gb']}GB"]
    return [float(re.match(r"[\d.]+", s).group(0)) for s in stated if s]


def _positive_fit_sentences(text: str) -> list[str]:
    return [
        s
        for s in SENTENCE.split(text)
        if re.search(r"\bfits?\b", s, re.I) and not re.search(r"not fit|too big|fits at", s, re.I)
    ]


def test_a_sentence_that_says_fits_shows_no_memory_larger_than_the_device():
    checked = 0
    for call in tool_results():
        stated = _stated_gib(call)
        if not stated:
            continue
        card = verdict.of([call])
        texts = [render.render(call.name, call.result)] + ([verdict.markdown(card)] if card else [])
        for sentence in (s for t in texts for s in _positive_fit_sentences(t)):
            figures = [float(m.group(1).replace(",", "")) for m in MEMORY.finditer(sentence)]
            if not figures:
                continue
            checked += 1
            assert max(figures) <= max(stated), (call.name, call.args, sentence)
    assert checked > 200, checked


def test_the_fit_is_in_the_devices_unit_and_agrees_with_the_estimate():
    """GiB where the vendor's "GB" is 2^30 bytes: the RTX 4090's "24GB" is 24 GiB; the needed memory per device is
    the estimate's (10^9-byte) figure divided by 2^30/10^9."""
    r = tools.call("estimate_memory", {"model": "qwen3.5-35b-a3b", "quantization": "q5_k_m", "gpu": "RTX 4090"})
    fit = r["fit"]
    assert (fit["memory_stated"], fit["unit"], fit["memory"]) == ("24GB", "GiB", 24)
    assert fit["needed"] == pytest.approx(r["total_gb"] / 1.073741824, abs=0.01)
    assert fit["headroom"] == pytest.approx(fit["usable"] - fit["needed"], abs=0.01)
    assert fit["fits"] == r["fits"] and fit["max_context"] == r["max_context_that_fits"]
    assert r["total_gib"] == pytest.approx(sum(p["gib"] for p in r["breakdown"]), abs=0.02)


@functools.cache
def identifiers() -> frozenset[str]:
    """The tools' own snake_case words: argument names, result field names and coded values."""
    found: set[str] = set()
    for schema in tools.schemas():
        found |= set(schema["function"]["parameters"]["properties"])

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                found.add(k)
                if k != "architecture":  # config.json's own names (intermediate_size), which model notes quote
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str) and re.fullmatch(r"[a-z]+(?:_[a-z0-9]+)+", x):
            found.add(x)

    for call in tool_results():
        walk(call.result)
    return frozenset(w for w in found if "_" in w) - CONFIG_WORDS


def _internal_words(text: str) -> list[str]:
    text = re.sub(r"`[^`]*`|<https?://[^>]*>|https?://\S+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))
    words = set(re.findall(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/-])", text))
    return sorted(words & identifiers()) + [p for p in PHRASES if p in text]


def test_rendered_tool_results_use_no_internal_words():
    for call in tool_results():
        text = render.render(call.name, call.result)
        card = verdict.of([call])
        shown = text + ("\n" + verdict.markdown(card) + verdict.html(card) if card else "")
        assert _internal_words(shown) == [], (call.name, call.args, _internal_words(shown))


def test_every_model_page_uses_no_internal_words():
    """A model's page shows its catalog notes verbatim: a note that names a schema field (params_b, derived_from)
    reaches the user as a code word (found by the third fresh conversation set: 55 models' notes did)."""
    from catalog.query import get_catalog

    found = {}
    for model in get_catalog().models:
        words = _internal_words(render.render("get_model", tools.call("get_model", {"model": model})))
        if words:
            found[model] = words
    assert found == {}


SETS = sorted((ROOT / "bench" / "understanding").glob("*.yaml"))
# What a set's first pass found and no fix has removed yet: the set's test is expected to fail (strictly, so the mark
# goes once the answers are clean). Found by the second fresh set 2026-12, whose sentences were new to the driver.
KNOWN: dict[str, str] = {}  # set stem -> why its answers are known to fail (an xfail that must keep failing)


def _questions(path: Path) -> list[list[str]]:
    """Every conversation of one understanding set (other people's phrasing, written before this test)."""
    out = []
    for example in yaml.safe_load(path.read_text()):
        if "turns" in example:
            out.append([t["say"] for t in example["turns"]])
        elif "say" in example:
            out.append([example["say"]])
    return out


def test_the_understanding_sets_hold_over_300_turns():
    assert sum(len(c) for path in SETS for c in _questions(path)) > 300


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p, id=p.stem, marks=[pytest.mark.xfail(strict=True, reason=KNOWN[p.stem])] if p.stem in KNOWN else []
        )
        for p in SETS
    ],
)
def test_offline_answers_use_no_internal_words_and_remove_no_figure(make_advisor, path):
    """Every conversation of bench/understanding through the offline driver: no internal word in an answer, and no
    figure removed by the grounding check (a figure the templates print must come from a tool result)."""
    from advisor.ui.messages import present

    advisor = make_advisor()
    found: dict[str, list[str]] = {}
    answers = 0
    for i, conversation in enumerate(_questions(path)):
        for message in conversation:
            turn = advisor.ask(message, thread_id=f"w{i}")
            answers += 1
            for word in _internal_words(present(turn.reply, turn.tool_calls)):
                found.setdefault(word, []).append(message)
    assert answers > 0
    assert found == {}, {w: m[:3] for w, m in found.items()}


def test_the_verdict_card_opens_a_shortlist_and_its_figures_are_tool_fields(make_advisor):
    from advisor.ui.messages import present

    advisor = make_advisor()
    turn = advisor.ask("We have one RTX 4090 and need a commercially usable coding model", thread_id="v")
    card = verdict.of(turn.tool_calls)
    top = turn.tool_calls[0].result["recommendations"][0]
    assert card is not None and card.pick == top["name"] and card.fits[0].needed == top["fit"]["needed"]
    assert card.licence is not None and card.licence.use == "commercial use"
    shown = present(turn.reply, turn.tool_calls)
    assert shown.startswith('<div class="verdict">') and "<details><summary>" in shown
    evidence = set().union(*(numbers_in(c.result) for c in turn.tool_calls))
    assert find_ungrounded(verdict.markdown(card), evidence) == []
    cost = advisor.ask("What would 50M tokens a month cost?", thread_id="v")
    priced = verdict.of(cost.tool_calls)
    assert priced is not None and priced.cost is not None and priced.cost.monthly_tokens == 50_000_000
    assert "50M" in verdict.markdown(priced) and priced.cost.break_even
    evidence = set().union(*(numbers_in(c.result) for c in cost.tool_calls))
    assert find_ungrounded(verdict.markdown(priced), evidence) == []


def test_the_offline_notice_shows_once_per_conversation(make_advisor):
    from advisor.ui.messages import OFFLINE_MARK, chat_of

    advisor = make_advisor()
    for message in ("We have one RTX 4090 and need a commercially usable coding model", "and the licence?"):
        advisor.ask(message, thread_id="n")
    answers = [m.content for m in chat_of(advisor.history("n")) if m.role == "assistant" and not m.metadata]
    assert len(answers) == 2 and OFFLINE_MARK in answers[0] and OFFLINE_MARK not in answers[1]


def test_names_with_spaces_and_hyphens_are_not_figures():
    """A catalog name holding both a space and a hyphen ('AWQ 4-bit (group size 128)') is blanked out as written and
    with either separator; the pattern once rewrote its own character class and matched only with an underscore."""
    from advisor import grounding

    names = ["AWQ 4-bit (group size 128)", "RTX PRO 6000", "Qwen3 30B-A3B"]
    text = "Speed (AWQ 4-bit (group size 128), vllm) on an rtx-pro-6000 for Qwen3 30B A3B: 45 tokens/s"
    assert grounding.find_ungrounded(text, {45.0}, names) == []
    assert grounding.find_ungrounded(text.replace("45", "46"), {45.0}, names) == ["46"]
