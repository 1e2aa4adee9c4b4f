"""A conversation's working memory: what the graph's state holds besides the messages, as typed fields.

The graph's intake node updates it once per user message (advisor/nlu/dialogue.py reads the message against it);
the tools node records each analysis; the offline planner plans over it and the LLM drivers read it as a compact
summary in their system prompt. Nothing here re-reads the conversation, except :func:`recall`, which rebuilds the
memory once for a conversation checkpointed before these fields existed.

    requirements   what the user needs, merged across turns (advisor/requirements.py)
    focus          the models and devices the conversation is about now
    analyses       the last analyses (each: the turn, what it asked, the tool calls with their arguments, and a
                   digest of their results), newest last
    shortlist      the newest select_models recommendations
    open_question  the question the advisor asked and awaits an answer to (what it was for)
    turn           the current message as understood: its intents, its move (a new question, a what-if on an
                   earlier analysis, an alternative with an objective, an answer to the open question), the models
                   it is about, what it changed and what was derived from it
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypedDict

MAX_ANALYSES = 6


class Call(TypedDict):
    name: str
    args: dict


class Analysis(TypedDict, total=False):
    turn: int
    intents: list[str]
    calls: list[Call]
    digest: list[dict]  # per call, the figures a later what-if compares with (see digest())


class Focus(TypedDict, total=False):
    models: list[str]  # catalog model ids
    devices: list[str]  # catalog device ids


class OpenQuestion(TypedDict, total=False):
    kind: str  # "essentials", "which_model", "which_device", "conflict", "model_for"
    intents: list[str]  # what the question was asked for: resumed once it is answered
    options: list[str]  # catalog ids offered


class Turn(TypedDict, total=False):
    number: int  # user messages so far, this one included
    intents: list[str]
    move: str  # "ask" (a question of its own), "whatif", "alternative", "answer", "chat" (no tool)
    objective: str | None  # for an alternative: "cheaper", "better", "faster", "licence"
    models: list[str]  # the models this message is about (named, referred to, or in focus)
    named: list[str]  # models the message itself names
    compare: list[str]  # models to compare
    families: list[str]
    stated: dict  # requirement fields the message states (None: cleared)
    changes: list[str]  # requirement fields whose value changed
    rerun: list[Call]  # a what-if: the calls of the earlier analysis it re-runs
    before: list[dict]  # and the digest of their results, to say what changed
    question: str | None  # a clarifying question to ask instead of answering
    question_kind: str | None
    options: list[str]
    derived: list[str]  # how figures were worked out ("40,000 users x 25 messages x ...")
    both: dict[str, list[str]]  # two values of one field asked together ("fp8 vs int4"): a call for each
    several: bool  # devices named in the plural with no count ("on H200s")
    format_note: str | None


def _fit_figure(fit: object) -> dict:
    """A pick's memory per device in the device's own unit, as the shortlist's table shows it (GiB for an 80GB H100)."""
    if not isinstance(fit, dict) or fit.get("needed") is None or not fit.get("unit"):
        return {}
    return {"needed": fit["needed"], "unit": fit["unit"], "count": fit.get("count") or 1}


def digest(name: str, result: dict) -> dict:
    """The few figures of a result that a later what-if compares with ("still fits: 24.8 of 25.8 GB")."""
    if "error" in result:
        return {"error": True}
    if name == "select_models":
        return {
            "models": [
                {
                    "model": r.get("model"),
                    "name": r.get("name"),
                    "memory_gb": r.get("memory_gb"),
                    "quantization": r.get("quantization"),
                    **_fit_figure(r.get("fit")),
                }
                for r in (result.get("recommendations") or [])
            ]
        }
    if name == "estimate_memory":
        return {k: result.get(k) for k in ("total_gb", "fits", "available_gb", "quantization") if k in result}
    if name == "estimate_throughput":
        keys = ("decode_tokens_per_s", "tokens_per_s", "fits", "quantization")
        return {k: result.get(k) for k in keys if k in result}
    if name == "estimate_cost":
        out: dict[str, Any] = {k: result[k] for k in ("cheapest", "monthly_tokens") if k in result}
        for kind in ("cloud_gpu", "on_prem"):
            costs = [o.get("monthly_usd") for o in result.get("options") or [] if o.get("kind") == kind]
            costs = [c for c in costs if isinstance(c, (int, float))]
            if costs:
                out[kind + "_usd"] = min(costs)
        return out
    if name == "check_license":
        return {k: result.get(k) for k in ("verdict",) if k in result}
    return {}


def record(analyses: list[Analysis] | None, turn: int, intents: list[str], calls: list[Call], digests: list[dict]):
    """The analyses after this turn's tool calls: a new analysis for the turn, or the turn's own one extended."""
    out = list(analyses or [])
    if out and out[-1].get("turn") == turn:
        last = out[-1]
        out[-1] = {
            "turn": turn,
            "intents": list(last.get("intents") or []),
            "calls": [*(last.get("calls") or []), *calls],
            "digest": [*(last.get("digest") or []), *digests],
        }
    else:
        out.append({"turn": turn, "intents": list(intents), "calls": list(calls), "digest": list(digests)})
    return out[-MAX_ANALYSES:]


def last_calls(analyses: list[Analysis] | None) -> list[Call]:
    return list((analyses or [{}])[-1].get("calls", [])) if analyses else []


def summary(state: Mapping[str, Any]) -> str:
    """The working memory, compact, for an LLM driver's system prompt."""
    from advisor.requirements import TRANSIENT

    parts = []
    req = {k: v for k, v in (state.get("requirements") or {}).items() if k not in TRANSIENT}
    parts.append("Requirements: " + (json.dumps(req, ensure_ascii=False) if req else "none yet"))
    focus = state.get("focus") or {}
    if focus.get("models") or focus.get("devices"):
        parts.append("In focus: " + json.dumps(focus, ensure_ascii=False))
    shortlist = state.get("shortlist") or []
    if shortlist:
        parts.append("Current shortlist: " + ", ".join(str(r.get("model")) for r in shortlist[:5]))
    analyses = state.get("analyses") or []
    if analyses:
        calls = analyses[-1].get("calls", [])
        parts.append(
            "Last analysis: "
            + "; ".join(f"{c['name']}({json.dumps(c.get('args') or {}, ensure_ascii=False)})" for c in calls[:4])
        )
    question = state.get("open_question")
    if question:
        parts.append(f"You asked the user a question ({question.get('kind')}) and this message may answer it.")
    turn = state.get("turn") or {}
    if turn.get("move") == "whatif" and turn.get("rerun"):
        parts.append(
            "This message changes "
            + ", ".join(turn.get("changes") or [])
            + ": re-run "
            + ", ".join(c["name"] for c in turn["rerun"])
            + " with the change and say what changed."
        )
    elif turn.get("move") == "alternative":
        parts.append(f"The user asks for an alternative ({turn.get('objective') or 'another option'}).")
    if turn.get("derived"):
        parts.append("Worked out from the message: " + "; ".join(turn["derived"]))
    return "\n".join(parts)


def recall(messages: list) -> dict:
    """The working memory of a conversation checkpointed before it was kept in the state: rebuilt once from its
    messages (the latest analysis, the models in focus, whether the last reply was a question)."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    analyses: list[Analysis] = []
    number = 0
    calls: list[Call] = []
    digests: list[dict] = []
    asked = False
    for msg in messages:
        if isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
            if calls:
                analyses = record(analyses, number, [], calls, digests)
            number += 1
            calls, digests, asked = [], [], False
        elif isinstance(msg, AIMessage):
            calls += [{"name": c["name"], "args": c.get("args") or {}} for c in msg.tool_calls]
            asked = bool(msg.additional_kwargs.get("advisor_question"))
        elif isinstance(msg, ToolMessage):
            try:
                digests.append(digest(msg.name or "", json.loads(msg.content if isinstance(msg.content, str) else "")))
            except (json.JSONDecodeError, TypeError):
                digests.append({})
    if calls:
        analyses = record(analyses, number, [], calls, digests)
    out: dict = {"analyses": analyses, "turn": {"number": number}, "focus": {"models": focus_of(analyses)}}
    if asked:
        out["open_question"] = {"kind": "essentials", "intents": []}
    return out


def focus_of(analyses: list[Analysis] | None) -> list[str]:
    """The models the latest analysis that named any was about (a shortlist alone names none)."""
    for analysis in reversed(analyses or []):
        models: list[str] = []
        for c in analysis.get("calls", []):
            args = c.get("args") or {}
            if args.get("model"):
                models.append(args["model"])
            models += list(args.get("models") or [])
        if models:
            return list(dict.fromkeys(models))
        if any(c["name"] == "select_models" for c in analysis.get("calls", [])):
            return []
    return []
