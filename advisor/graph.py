"""The advisor's LangGraph graph.

    START -> intake -> agent -> tools -> agent -> ... -> ground -> END

- intake: reads the user's requirements from the new message into state (every driver).
- agent: one model call with the tools bound; counts steps and stops politely at the limit.
- tools: runs the requested tools from the registry; bad input and failures go back to the
  model as tool messages, never crash the turn; select_models updates the shortlist.
- ground: every number in the final answer must come from a tool result or the user; if not,
  the model is asked once to revise, then unsupported figures are removed.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import threading
import time
from typing import Annotated, Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

import prompts
import tools
from advisor import grounding
from advisor.requirements import TRANSIENT, context_of, extract, merge
from tools.errors import InvalidInput

log = logging.getLogger(__name__)


def _replace(_old, new):
    return new


class AdvisorState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    requirements: Annotated[dict, merge]
    shortlist: Annotated[list[dict], _replace]
    steps: Annotated[int, _replace]
    revisions: Annotated[int, _replace]
    retries: Annotated[int, _replace]


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


def call_with_deadline(fn, timeout_s: float | None):
    """Run ``fn()`` in a worker thread and wait at most ``timeout_s`` seconds for it.

    A model call that hangs (a stuck server, a runaway generation) must not hang the turn or hold the
    thread's lock: past the deadline this raises TimeoutError and the call is abandoned (its thread is a
    daemon and its result, if it ever comes, is dropped). The context (LangGraph's config and streaming
    callbacks) is copied into the worker, so tokens still stream. ``timeout_s`` None or <= 0: no deadline.
    """
    if not timeout_s or timeout_s <= 0:
        return fn()
    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="advisor-model-call", daemon=True).start()
    if not done.wait(timeout_s):
        raise TimeoutError(f"no answer within {timeout_s:g} s; the call was abandoned")
    if "error" in box:
        raise box["error"]
    return box["value"]


STEP_LIMIT_MESSAGE = (
    "I stopped here: answering needed more tool calls than one turn allows ({limit}). "
    "The results so far are above. Could you narrow the question (one model, one GPU, one volume) and ask again?"
)


def build_graph(model: BaseChatModel, *, max_steps: int = 8, offline: bool = False, checkpointer=None,
                tool_timeout_s: float = 30.0, model_timeout_s: float | None = None):
    """``model_timeout_s``: longest one model call may take (Settings.timeout_s); None for no deadline."""
    bound = model.bind_tools(tools.schemas())

    def intake(state: AdvisorState) -> dict:
        last = state["messages"][-1]
        text = last.content if isinstance(last.content, str) else json.dumps(last.content)
        context = context_of(state["messages"][:-1], state.get("requirements"))
        return {"requirements": extract(text, context), "steps": 0, "revisions": 0, "retries": 0}

    def agent(state: AdvisorState) -> dict:
        steps = state.get("steps", 0) + 1
        if steps > max_steps:
            return {"messages": [AIMessage(content=STEP_LIMIT_MESSAGE.format(limit=max_steps),
                                           additional_kwargs={"advisor_stop": "step_limit"})], "steps": steps}
        req = {k: v for k, v in (state.get("requirements") or {}).items() if k not in TRANSIENT}
        system = prompts.load("system").format(today=dt.date.today().isoformat(),
                                               requirements=json.dumps(req, ensure_ascii=False) if req else "none yet")
        try:
            prompt = [SystemMessage(content=system), *state["messages"]]
            reply = call_with_deadline(lambda: bound.invoke(prompt), model_timeout_s)
        except Exception as exc:  # driver timeout, server down, CUDA OOM: the thread must stay usable
            log.exception("model call failed")
            return {"messages": [AIMessage(
                content=f"The language model failed to answer ({type(exc).__name__}: {str(exc)[:200]}). "
                        "Your message is saved; please try again, or switch to the offline driver.",
                additional_kwargs={"advisor_stop": "driver_error"})], "steps": steps}
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        if not isinstance(reply.content, str):  # content blocks (some servers, reasoning models): keep the text parts
            reply = reply.model_copy(update={"content": _text_of(reply.content)})
        update: dict[str, Any] = {"messages": [reply], "steps": steps}
        # A streamed reply (hf driver) carries its malformed calls in additional_kwargs, not in invalid_tool_calls.
        invalid = reply.invalid_tool_calls or reply.additional_kwargs.get("invalid_tool_calls") or []
        if invalid and not reply.tool_calls:
            bad = invalid[0] if isinstance(invalid[0], dict) else {}
            update["messages"].append(note(
                f"Your tool call could not be used ({bad.get('error') or 'malformed'}). Call a tool with a JSON object "
                f"of arguments, e.g. {{\"name\": \"get_model\", \"arguments\": {{\"model\": \"llama 3.1 8b\"}}}}, or answer."))
            update["retries"] = state.get("retries", 0) + 1
        elif not reply.tool_calls and not (reply.content or "").strip():
            update["retries"] = state.get("retries", 0) + 1
            if update["retries"] <= 1:
                update["messages"].append(note("Your reply was empty. Answer the user's last message, using tools where needed."))
            else:
                update["messages"] = [AIMessage(content="I could not produce an answer this time. Please rephrase or ask again.",
                                                additional_kwargs={"advisor_stop": "empty"})]
        return update

    def run_tools(state: AdvisorState) -> dict:
        last = state["messages"][-1]
        out: list[ToolMessage] = []
        shortlist = None
        known = set(tools.names())
        for call in last.tool_calls:
            name, args, call_id = call["name"], call.get("args") or {}, call["id"]
            started = time.perf_counter()
            if name not in known:
                result = InvalidInput(f"unknown tool {name!r}; available tools: {', '.join(sorted(known))}",
                                      field="name").to_dict()
            else:
                try:
                    result = tools.call(name, args)
                except InvalidInput as exc:
                    result = exc.to_dict()
                except Exception as exc:  # a bug in a tool must not end the conversation
                    log.exception("tool %s failed", name)
                    result = {"error": {"type": "tool_failure", "message": f"{name} failed: {type(exc).__name__}: {exc}",
                                        "field": None, "suggestions": []}}
            duration = time.perf_counter() - started
            if name == "select_models" and "error" not in result:
                shortlist = result.get("recommendations", [])
            out.append(ToolMessage(content=json.dumps(result, ensure_ascii=False, default=str), name=name, tool_call_id=call_id,
                                   additional_kwargs={"args": args, "duration_s": round(duration, 4)},
                                   status="error" if "error" in result else "success"))
        update: dict[str, Any] = {"messages": out}
        if shortlist is not None:
            update["shortlist"] = shortlist
        return update

    def ground(state: AdvisorState) -> dict:
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or last.additional_kwargs.get("advisor_stop") or (
                offline and last.additional_kwargs.get("advisor_static")):
            return {}
        text = last.content if isinstance(last.content, str) else json.dumps(last.content)
        bad = grounding.find_ungrounded(text, grounding.evidence_from(state["messages"]))
        if not bad:
            return {}
        if state.get("revisions", 0) < 1 and not offline:
            return {"revisions": state.get("revisions", 0) + 1, "messages": [note(
                "These figures in your answer do not come from any tool result or from the user: "
                + ", ".join(bad) + ". Rewrite the answer using only figures from tool results (call a tool if you need "
                "one); do not mention this note.")]}
        cleaned = AIMessage(content=grounding.remove_ungrounded(text, bad), id=last.id,
                            additional_kwargs={**last.additional_kwargs, "removed_figures": bad})
        return {"messages": [cleaned]}

    def after_agent(state: AdvisorState) -> str:
        last = state["messages"][-1]
        if isinstance(last, AIMessage) and last.tool_calls and not last.additional_kwargs.get("advisor_stop"):
            return "tools"
        if isinstance(last, HumanMessage) and last.additional_kwargs.get("advisor_note"):
            return "agent"
        return "ground"

    def after_ground(state: AdvisorState) -> str:
        last = state["messages"][-1]
        return "agent" if isinstance(last, HumanMessage) and last.additional_kwargs.get("advisor_note") else END

    g = StateGraph(AdvisorState)
    g.add_node("intake", intake)
    g.add_node("agent", agent)
    g.add_node("tools", run_tools)
    g.add_node("ground", ground)
    g.add_edge(START, "intake")
    g.add_edge("intake", "agent")
    g.add_conditional_edges("agent", after_agent, {"tools": "tools", "agent": "agent", "ground": "ground"})
    g.add_edge("tools", "agent")
    g.add_conditional_edges("ground", after_ground, {"agent": "agent", END: END})
    return g.compile(checkpointer=checkpointer)
