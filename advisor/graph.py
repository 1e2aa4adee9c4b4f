"""The advisor's LangGraph graph.

    START -> intake -> agent -> tools -> agent -> ... -> ground -> END

- intake: reads the new message once against the conversation's working memory (advisor/memory.py): the
  requirements it states, what it asks, the models it is about, what it changes (every driver).
- agent: one planning step: for the offline driver the planner over the working memory (advisor/drivers/offline.py),
  for an LLM one model call with the tools bound and the working memory summarised in its prompt; counts steps and
  stops politely at the limit.
- tools: runs the requested tools through the registry, each under a deadline; bad input, failures and
  timeouts go back to the model as tool messages, never crash the turn; each call is recorded as the turn's
  analysis, select_models updates the shortlist, and the models the calls are about become the focus.
- ground: every number in the final answer must come from a tool result or the user; if not,
  the model is asked once to revise, then unsupported figures are removed.

Each node is a top-level function of the state and the graph's :class:`Context`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any, cast

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

import prompts
import tools
from advisor import grounding, memory
from advisor.memory import Analysis, Focus, OpenQuestion, Turn
from advisor.requirements import merge
from tools.registry import call_with_deadline

__all__ = ["AdvisorState", "Context", "build_graph", "call_with_deadline", "note"]

log = logging.getLogger(__name__)


def _replace(_old, new):
    return new


class AdvisorState(TypedDict, total=False):
    """What a conversation's checkpoint holds."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation: the user's messages, the model's replies and tool calls, tool results, and notes from the
    advisor's machinery to the model (HumanMessages marked advisor_note)."""
    requirements: Annotated[dict, merge]
    """What the user needs, read from every message and merged across turns (advisor/requirements.py)."""
    shortlist: Annotated[list[dict], _replace]
    """The newest select_models recommendations."""
    focus: Annotated[Focus, _replace]
    """The models and devices the conversation is about now."""
    analyses: Annotated[list[Analysis], _replace]
    """The last analyses, newest last: each turn's tool calls with their arguments and a digest of their results."""
    open_question: Annotated[OpenQuestion | None, _replace]
    """The question the advisor asked and awaits an answer to (None: none)."""
    turn: Annotated[Turn, _replace]
    """The current message as understood at intake (advisor/nlu/dialogue.py)."""
    steps: Annotated[int, _replace]
    """Model calls in this turn (intake resets the three counters at each new message)."""
    revisions: Annotated[int, _replace]
    """Times the model was asked in this turn to rewrite an answer with figures no tool gave."""
    retries: Annotated[int, _replace]
    """Empty or malformed replies in this turn, each answered with a note asking again."""


@dataclass(frozen=True)
class Context:
    """What every node of one graph shares: the model with the tools bound, and the turn's limits."""

    model: Runnable
    max_steps: int = 8
    offline: bool = False
    tool_timeout_s: float | None = 30.0
    model_timeout_s: float | None = None
    planner: Any = None  # the offline driver's planning step over the state (model.plan), instead of a model call


def note(text: str) -> HumanMessage:
    """A message from the advisor's machinery to the model (not shown as the user's)."""
    return HumanMessage(content=text, additional_kwargs={"advisor_note": True})


def _text_of(content: Any) -> str:
    """The text of a reply given as content blocks: strings and {"type": "text"} blocks, in order; the rest dropped."""
    out = []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            out.append(str(part.get("text") or ""))
    return "".join(out)


STEP_LIMIT_MESSAGE = (
    "I stopped here: answering needed more tool calls than one turn allows ({limit}). "
    "The results so far are above. Could you narrow the question (one model, one GPU, one volume) and ask again?"
)


def build_graph(
    model: BaseChatModel,
    *,
    max_steps: int = 8,
    offline: bool = False,
    checkpointer=None,
    tool_timeout_s: float | None = 30.0,
    model_timeout_s: float | None = None,
):
    """The compiled graph. ``model_timeout_s``: the longest one model call may take (Settings.timeout_s), and
    ``tool_timeout_s`` one tool call; None for no deadline."""
    planner = getattr(model, "plan", None) if offline else None
    context = Context(
        model.bind_tools(tools.schemas()), max_steps, offline, tool_timeout_s, model_timeout_s, planner=planner
    )
    graph = StateGraph(AdvisorState)
    graph.add_node("intake", intake)
    graph.add_node("agent", functools.partial(agent, context=context))
    graph.add_node("tools", functools.partial(run_tools, context=context))
    graph.add_node("ground", functools.partial(ground, context=context))
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "agent")
    graph.add_conditional_edges(
        "agent", after_agent, {"tools": "tools", "agent": "agent", "ground": "ground", END: END}
    )
    graph.add_edge("tools", "agent")
    graph.add_conditional_edges("ground", after_ground, {"agent": "agent", END: END})
    return graph.compile(checkpointer=checkpointer)


def intake(state: AdvisorState) -> dict:
    """Read the new message once against the working memory: the requirements it states, and the turn as understood
    (what it asks, the models it is about, what it changes). A conversation checkpointed before the working memory
    was kept gets it rebuilt from its messages first (memory.recall)."""
    from advisor.nlu.dialogue import understand

    last = state["messages"][-1]
    text = last.content if isinstance(last.content, str) else json.dumps(last.content)
    update: dict[str, Any] = {}
    mem: dict[str, Any] = dict(state)
    if not state.get("turn") and len(state["messages"]) > 1:
        update = memory.recall(state["messages"][:-1])
        mem.update(update)
    turn, fields = understand(text, mem)
    focus = dict(mem.get("focus") or {})
    if turn.get("named"):
        focus["models"] = list(turn["named"])
    requirements = merge(mem.get("requirements"), fields)
    if requirements.get("gpu"):
        focus["devices"] = [requirements["gpu"]]
    return {
        **update,
        "requirements": fields,
        "turn": turn,
        "focus": focus,
        "open_question": None,
        "steps": 0,
        "revisions": 0,
        "retries": 0,
    }


def agent(state: AdvisorState, context: Context) -> dict:
    """One model call with the tools bound (under the model's deadline); past max_steps, a polite stop instead."""
    steps = state.get("steps", 0) + 1
    if steps > context.max_steps:
        return {
            "messages": [
                AIMessage(
                    content=STEP_LIMIT_MESSAGE.format(limit=context.max_steps),
                    additional_kwargs={"advisor_stop": "step_limit"},
                )
            ],
            "steps": steps,
        }
    if context.planner is not None:
        try:
            update = {**call_with_deadline(lambda: context.planner(state), context.model_timeout_s), "steps": steps}
            return _grounded_here(state, update, context)
        except Exception as exc:  # a planner bug must leave the thread usable, like a failing model
            log.exception("offline planner failed")
            return {
                "messages": [
                    AIMessage(
                        content=f"The offline planner failed on this message ({type(exc).__name__}). "
                        "Your message is saved; please rephrase or try again.",
                        additional_kwargs={"advisor_stop": "driver_error"},
                    )
                ],
                "steps": steps,
            }
    system = prompts.load("system").format(today=dt.date.today().isoformat(), requirements=memory.summary(state))
    try:
        prompt = [SystemMessage(content=system), *state["messages"]]
        reply = call_with_deadline(lambda: context.model.invoke(prompt), context.model_timeout_s)
    except Exception as exc:  # driver timeout, server down, CUDA OOM: the thread must stay usable
        log.exception("model call failed")
        return {
            "messages": [
                AIMessage(
                    content=f"The language model failed to answer ({type(exc).__name__}: {str(exc)[:200]}). "
                    "Your message is saved; please try again, or switch to the offline driver.",
                    additional_kwargs={"advisor_stop": "driver_error"},
                )
            ],
            "steps": steps,
        }
    return {**_checked_reply(_as_text_reply(reply), state), "steps": steps}


def _as_text_reply(reply: Any) -> AIMessage:
    if not isinstance(reply, AIMessage):
        reply = AIMessage(content=str(getattr(reply, "content", reply)))
    if not isinstance(reply.content, str):  # content blocks (some servers, reasoning models): keep the text parts
        reply = reply.model_copy(update={"content": _text_of(reply.content)})
    return reply


def _checked_reply(reply: AIMessage, state: AdvisorState) -> dict:
    """The reply, with a note asking again after a malformed tool call or an empty reply (the second empty reply
    in a turn ends it with an apology)."""
    update: dict[str, Any] = {"messages": [reply]}
    # A streamed reply (hf driver) carries its malformed calls in additional_kwargs, not in invalid_tool_calls.
    invalid = reply.invalid_tool_calls or reply.additional_kwargs.get("invalid_tool_calls") or []
    if invalid and not reply.tool_calls:
        bad = invalid[0] if isinstance(invalid[0], dict) else {}
        update["messages"].append(
            note(
                f"Your tool call could not be used ({bad.get('error') or 'malformed'}). Call a tool with a JSON object "
                f'of arguments, e.g. {{"name": "get_model", "arguments": {{"model": "llama 3.1 8b"}}}}, or answer.'
            )
        )
        update["retries"] = state.get("retries", 0) + 1
    elif not reply.tool_calls and not _text_of(reply.content).strip():
        update["retries"] = state.get("retries", 0) + 1
        if update["retries"] <= 1:
            update["messages"].append(
                note("Your reply was empty. Answer the user's last message, using tools where needed.")
            )
        else:
            update["messages"] = [
                AIMessage(
                    content="I could not produce an answer this time. Please rephrase or ask again.",
                    additional_kwargs={"advisor_stop": "empty"},
                )
            ]
    return update


def run_tools(state: AdvisorState, context: Context) -> dict:
    """Run each tool the model called through the registry, each under the tool deadline; a successful
    select_models becomes the shortlist."""
    out: list[ToolMessage] = []
    update: dict[str, Any] = {"messages": out}
    calls: list[memory.Call] = []
    digests: list[dict] = []
    for call in state["messages"][-1].tool_calls:  # type: ignore[union-attr]
        name, args = call["name"], call.get("args") or {}
        started = time.perf_counter()
        result = tools.registry.run(name, args, context.tool_timeout_s)
        calls.append({"name": name, "args": dict(args)})
        digests.append(memory.digest(name, result))
        if name == "select_models" and "error" not in result:
            update["shortlist"] = result.get("recommendations", [])
        out.append(
            ToolMessage(
                content=json.dumps(result, ensure_ascii=False, default=str),
                name=name,
                tool_call_id=call["id"],
                status="error" if "error" in result else "success",
                additional_kwargs={"args": args, "duration_s": round(time.perf_counter() - started, 4)},
            )
        )
    turn = state.get("turn") or {}
    update["analyses"] = memory.record(
        state.get("analyses"), turn.get("number", 0), turn.get("intents", []), calls, digests
    )
    focus = dict(state.get("focus") or {})
    focus["models"] = memory.focus_of(update["analyses"][-1:]) or (
        [] if any(c["name"] == "select_models" for c in calls) else focus.get("models", [])
    )
    update["focus"] = focus
    return update


def ground(state: AdvisorState, context: Context) -> dict:
    """Check every figure of the answer against the tool results and the user's words: ask the model once to rewrite
    it, then remove the figures still unsupported."""
    last = state["messages"][-1]
    if (
        not isinstance(last, AIMessage)
        or last.additional_kwargs.get("advisor_stop")
        or (context.offline and last.additional_kwargs.get("advisor_static"))
    ):
        return {}
    text = last.content if isinstance(last.content, str) else json.dumps(last.content)
    # the user's figures include those worked out from them (a monthly volume from users x messages x tokens)
    worked_out = grounding.numbers_in([state.get("requirements") or {}, (state.get("turn") or {}).get("derived") or []])
    bad = grounding.find_ungrounded(text, grounding.evidence_from(state["messages"]) | worked_out)
    if not bad:
        return {}
    if state.get("revisions", 0) < 1 and not context.offline:
        return {
            "revisions": state.get("revisions", 0) + 1,
            "messages": [
                note(
                    "These figures in your answer do not come from any tool result or from the user: "
                    + ", ".join(bad)
                    + ". Rewrite the answer using only figures from tool results (call a tool if you need "
                    "one); do not mention this note."
                )
            ],
        }
    cleaned = AIMessage(
        content=grounding.remove_ungrounded(text, bad),
        id=last.id,
        additional_kwargs={**last.additional_kwargs, "removed_figures": bad},
    )
    return {"messages": [cleaned]}


def _grounded_here(state: AdvisorState, update: dict, context: Context) -> dict:
    """The offline planner's answer grounded in the same step: the checks of :func:`ground`, which for the offline
    driver only ever remove figures (it is never asked to revise), so the turn saves one graph step and its
    checkpoint."""
    messages = update.get("messages") or []
    last = messages[-1] if messages else None
    if not isinstance(last, AIMessage) or last.tool_calls or last.additional_kwargs.get("advisor_stop"):
        return update
    after = cast(AdvisorState, {**state, **update, "messages": [*state["messages"], *messages]})
    checked = ground(after, context)
    final = (checked.get("messages") or [last])[-1]
    final = AIMessage(
        content=final.content, id=final.id, additional_kwargs={**final.additional_kwargs, "advisor_grounded": True}
    )
    return {**update, "messages": [*messages[:-1], final]}


def after_agent(state: AdvisorState) -> str:
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls and not last.additional_kwargs.get("advisor_stop"):
        return "tools"
    if isinstance(last, HumanMessage) and last.additional_kwargs.get("advisor_note"):
        return "agent"
    if isinstance(last, AIMessage) and last.additional_kwargs.get("advisor_grounded"):
        return END  # grounded in the step that wrote it (the offline planner)
    return "ground"


def after_ground(state: AdvisorState) -> str:
    last = state["messages"][-1]
    return "agent" if isinstance(last, HumanMessage) and last.additional_kwargs.get("advisor_note") else END
