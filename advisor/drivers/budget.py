"""The context budget of an LLM driver: tool schemas that fit a small model, only the tools a turn can need, and a
clear error when the prompt is longer than the model's context.

The tools' full JSON schemas (11 tools, about 20,000 characters) cost about 6,450 tokens in a Hermes-style chat
template: more than many small models' whole context. Both LLM drivers send them *compact* (a one-sentence
description per tool and a short one per argument; no defaults, bounds or titles: the registry still checks every
argument and answers a bad one with the allowed range), and when even the compact set is over the tools budget
(``Settings.tool_tokens``, 2,000 by default), only the tools the turn can need: those answering the intents read in
the user's latest message (the offline driver's reading), the ones already called in this turn, and ``get_model``.

A prompt longer than the context (less the tokens kept for the answer) raises :class:`ContextOverflow`, which names
the sizes, instead of failing inside the server minutes later.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

log = logging.getLogger(__name__)

TOOL_TOKENS = 2000  # default budget for the tool schemas of one call
DESCRIPTION_CHARS = 150
ARGUMENT_CHARS = 70
ALWAYS = ("get_model",)
CHARS_PER_TOKEN = 3.0  # where no tokenizer is at hand (the openai driver): JSON and English in common BPE vocabularies


class ContextOverflow(ValueError):
    """The prompt does not fit the model's context; the message names the sizes and what to do."""


def estimate_tokens(text: str) -> int:
    """Tokens of a text where the model's tokenizer is not at hand: one per 3 characters (SmolLM2's tokenizer gives
    3.0-3.6 on the tool schemas and the system prompt, so this errs on the long side)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


# ------------------------------------------------------------------ compact schemas


def _shorten(text: str, limit: int) -> str:
    """The first sentence, cut at a word within ``limit`` characters."""
    text = " ".join(str(text or "").split())
    first = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0].rstrip(".;:")
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def _compact_property(prop: dict) -> dict:
    variants = [v for v in prop.get("anyOf", []) if v.get("type") != "null"]
    base = {**variants[0], **{k: v for k, v in prop.items() if k != "anyOf"}} if len(variants) == 1 else prop
    out: dict[str, Any] = {}
    if "type" in base:
        out["type"] = base["type"]
    elif variants:
        out["type"] = [v.get("type", "string") for v in variants]
    if "enum" in base:
        out["enum"] = base["enum"]
    if base.get("type") == "array" and isinstance(base.get("items"), dict):
        out["items"] = _compact_property(base["items"])
    if base.get("description"):
        out["description"] = _shorten(base["description"], ARGUMENT_CHARS)
    return out


def compact_schema(schema: dict) -> dict:
    """One OpenAI function schema without what a model needs least: defaults, bounds, titles, nullable variants,
    ``additionalProperties``, and descriptions past their first sentence."""
    fn = schema.get("function", schema)
    params = fn.get("parameters") or {}
    properties = {name: _compact_property(p) for name, p in (params.get("properties") or {}).items()}
    compact_params: dict[str, Any] = {"type": "object", "properties": properties}
    if params.get("required"):
        compact_params["required"] = list(params["required"])
    return {
        "type": "function",
        "function": {
            "name": fn["name"],
            "description": _shorten(fn.get("description", ""), DESCRIPTION_CHARS),
            "parameters": compact_params,
        },
    }


def compact_schemas(schemas: Sequence[dict]) -> list[dict]:
    return [compact_schema(s) for s in schemas]


def name_of(schema: dict) -> str:
    return str(schema.get("function", schema).get("name"))


def tool_lines(schemas: Sequence[dict]) -> str:
    """The tools as one line each, ``name(arg*: type, arg: a|b): what it does`` (* required): the listing of the
    JSON tool-call prompt for chat templates that cannot render tools."""
    lines = []
    for schema in schemas:
        fn = schema.get("function", schema)
        params = fn.get("parameters") or {}
        required = set(params.get("required") or [])
        args = []
        for name, prop in (params.get("properties") or {}).items():
            kind = "|".join(map(str, prop["enum"])) if "enum" in prop else _type_text(prop)
            args.append(f"{name}{'*' if name in required else ''}: {kind}")
        lines.append(f"- {fn['name']}({', '.join(args)}): {fn.get('description', '')}")
    return "\n".join(lines)


def _type_text(prop: dict) -> str:
    kind = prop.get("type", "string")
    if kind == "array":
        return f"list of {_type_text(prop.get('items') or {})}"
    return "|".join(kind) if isinstance(kind, list) else str(kind)


# ------------------------------------------------------------------ the tools a turn can need


def turn_tools(messages: Sequence[BaseMessage]) -> list[str] | None:
    """The tools the turn can need: those answering the intents of the user's latest message as the graph's intake
    reads it (advisor/nlu/dialogue.py, against the memory rebuilt from the earlier messages, so follow-ups such as
    "and at 32k?" keep the last question), those already called in this turn, and get_model. None when nothing can
    be read (every tool is needed then)."""
    from advisor import memory
    from advisor.nlu.dialogue import understand
    from advisor.nlu.intents import TOOL_OF

    talk = [m for m in messages if not isinstance(m, SystemMessage)]
    users = [i for i, m in enumerate(talk) if _is_user(m)]
    if not users:
        return None
    last = talk[users[-1]]
    try:
        turn, _ = understand(last.content if isinstance(last.content, str) else "", memory.recall(talk[: users[-1]]))
        intents = list(turn.get("intents") or [])
    except Exception:  # a reading that fails must not fail the turn: send every tool
        log.exception("could not read the turn's intents")
        return None
    called = [c["name"] for m in talk[users[-1] + 1 :] if isinstance(m, AIMessage) for c in m.tool_calls]
    wanted = [TOOL_OF[i] for i in intents if i in TOOL_OF] + called
    if not wanted:
        return None
    return list(dict.fromkeys([*wanted, *ALWAYS]))


def _is_user(message: BaseMessage) -> bool:
    return isinstance(message, HumanMessage) and not message.additional_kwargs.get("advisor_note")


def fit_tools(
    schemas: Sequence[dict], messages: Sequence[BaseMessage], count: Callable[[list[dict]], int], budget: int
) -> tuple[list[dict], int]:
    """The compact schemas to send with this call and their token count: all of them where they fit the budget, else
    the turn's tools (all of those, even over the budget), or, when the turn's intents cannot be read, as many as fit
    in the registry's order (get_model, find_models, select_models, check_license, the estimators, ...)."""
    compact = compact_schemas(schemas)
    tokens = count(compact)
    if tokens <= budget or not compact:
        return compact, tokens
    wanted = turn_tools(messages)
    if wanted is not None:
        chosen = [s for s in compact if name_of(s) in wanted]
    else:
        chosen = []
        for schema in compact:
            if count([*chosen, schema]) <= budget:
                chosen.append(schema)
    chosen_tokens = count(chosen)
    log.info(
        "tools: %d compact schemas are %d tokens, over the budget of %d; sending %s (%d tokens)",
        len(compact),
        tokens,
        budget,
        ", ".join(name_of(s) for s in chosen),
        chosen_tokens,
    )
    return chosen, chosen_tokens


def check_fits(prompt_tokens: int, tool_tokens: int, context: int | None, reserve: int, hint: str = "") -> None:
    """Raise ContextOverflow when the prompt leaves fewer than ``reserve`` tokens of ``context`` for the answer."""
    if not context or prompt_tokens + reserve <= context:
        return
    raise ContextOverflow(
        f"the prompt needs {prompt_tokens:,} tokens (tool schemas {tool_tokens:,}, the conversation and notes "
        f"{prompt_tokens - tool_tokens:,}) and the answer {reserve:,} more, but the model's context is {context:,} "
        f"tokens. Start a new conversation, or use a model with a longer context{hint}."
    )


def schema_chars(schemas: Sequence[dict]) -> int:
    return len(json.dumps(list(schemas), ensure_ascii=False))
