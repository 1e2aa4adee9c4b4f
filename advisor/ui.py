"""The browser UI (Gradio Blocks). gradio is imported here only."""

from __future__ import annotations

import json
import logging
import re

import gradio as gr

from advisor.render import literal_markdown
from advisor.requirements import describe
from advisor.service import Advisor, InputRejected, StorageUnavailable, new_thread_id, validate_thread_id

log = logging.getLogger(__name__)

EXAMPLES = [
    "We have one RTX 4090 and need a commercially usable coding model",
    "Customer-service chatbot in English and German, commercial, 200k monthly users, two L40S GPUs",
    "Can we use Llama 3.1 70B commercially with 800 million monthly active users?",
    "How much memory does Qwen2.5 32B need at 32k context on an A100 80GB?",
    "What would 10M tokens a month cost with Llama 3.1 8B versus an API?",
    "Compare Llama 2, Llama 3 and Llama 3.1 on benchmarks",
]
# Enter sends and Shift+Enter starts a new line, as in every chat app (Gradio's multi-line textbox does the
# reverse). Capture-phase listeners see the key before the textbox does; IME composition is left alone.
ENTER_TO_SEND_JS = """
() => {
  if (window.__advisorEnterToSend) return;
  window.__advisorEnterToSend = true;
  const inBox = (e) => e.target && e.target.closest && e.target.closest("#message") && e.key === "Enter"
    && !e.isComposing && e.keyCode !== 229;
  document.addEventListener("keydown", (e) => {
    if (!inBox(e)) return;
    if (e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) { e.stopPropagation(); return; }
    e.preventDefault();
    e.stopPropagation();
    const send = document.querySelector("#send");
    if (send && e.target.value.trim()) send.click();
  }, true);
  document.addEventListener("keypress", (e) => { if (inBox(e)) e.stopPropagation(); }, true);
}
"""
SHORTLIST_COLUMNS = ["#", "model", "score", "format", "memory GB", "context", "licence", "verdict"]
MAX_TOOL_JSON = 4000


# Markup in a model's answer that would fetch something from elsewhere when shown: Markdown images, and HTML
# elements that load a URL. Shown as text instead (a Markdown image becomes a plain link).
_REMOTE_HTML = re.compile(r"<(?=\s*/?\s*(?:img|image|picture|source|video|audio|track|iframe|frame|object|embed|link|"
                          r"meta|base|svg|input|body|style|script)\b)", re.IGNORECASE)


def _literal(text: str) -> str:
    """What the user typed, shown as literal text in the chat (no HTML, no Markdown structure)."""
    return literal_markdown(str(text))


def _answer(text: str) -> str:
    """A model's answer for the chat: its Markdown is kept, but nothing in it loads from another server."""
    return _REMOTE_HTML.sub("&lt;", str(text).replace("![", "!\\["))


def _shortlist_rows(shortlist: list[dict]) -> list[list]:
    return [[i, r["name"], r["score"], r["quantization"], r["memory_gb"], r["context_length"], r["license"]["name"],
             r["license_verdict"].replace("_", " ")] for i, r in enumerate(shortlist or [], 1)]


def _requirements_md(req: dict) -> str:
    lines = describe(req or {})
    return "\n".join(f"- {x}" for x in lines) if lines else "_Nothing yet: tell me about your use case, hardware and licence needs._"


def _tool_message(event: dict, status: str, duration: float | None = None) -> gr.ChatMessage:
    body = {"arguments": event.get("args", {})}
    if "result" in event:
        body["result"] = event["result"]
    text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_TOOL_JSON:
        text = text[:MAX_TOOL_JSON] + "\n… (truncated; the full result is in the API and the report)"
    meta = {"title": f"Tool: {event['name']}", "status": status, "id": event["id"]}
    if duration is not None:
        meta["duration"] = round(duration, 3)
    if event.get("status") == "error" or (isinstance(event.get("result"), dict) and "error" in event["result"]):
        meta["title"] += " (error)"
    return gr.ChatMessage(role="assistant", content=f"```json\n{text}\n```", metadata=meta)


def history_to_chat(advisor: Advisor, thread_id: str) -> list[gr.ChatMessage]:
    out: list[gr.ChatMessage] = []
    for i, item in enumerate(advisor.history(thread_id)):
        if item["role"] == "user":
            out.append(gr.ChatMessage(role="user", content=_literal(item["content"])))
        elif item["role"] == "assistant":
            out.append(gr.ChatMessage(role="assistant", content=_answer(item["content"])))
        else:
            out.append(_tool_message({"name": item["name"], "args": item["args"], "result": item["result"], "id": f"h{i}"},
                                     "done", item.get("duration_s")))
    return out


def _chart_for_thread(advisor: Advisor, thread_id: str):
    from tools import charts

    memory: list[dict] = []
    last = None
    for item in advisor.history(thread_id):
        if item["role"] != "tool" or not isinstance(item["result"], dict):
            continue
        if item["name"] == "estimate_memory" and "error" not in item["result"]:
            memory = (memory + [item["result"]])[-4:]
        if item["name"] in ("estimate_cost", "estimate_memory", "compare_benchmarks", "select_models") and "error" not in item["result"]:
            last = item
    if last is None:
        return None
    prev = memory[:-1] if last["name"] == "estimate_memory" else None
    return charts.for_tool_result(last["name"], last["result"], prev)


def build_ui(advisor: Advisor) -> gr.Blocks:
    from tools import charts
    from tools.common import catalog

    cat = catalog()
    info = advisor.info
    driver_md = f"**Driver:** {info.describe()}"
    if info.offline:
        driver_md += ("\n\nThe offline driver answers with templates over the same tools. To let a local LLM drive: on a "
                      "CUDA machine run `advisor serve --driver hf` (default model Qwen/Qwen3-8B in 4-bit), or point at an "
                      "OpenAI-compatible server with `--driver openai --base-url URL --model NAME`.")

    with gr.Blocks(title="Open LLM Advisor") as demo:
        thread_store = gr.BrowserState("", storage_key="open-llm-advisor-thread")
        thread = gr.State("")
        gr.Markdown("# Open LLM Advisor\nChoose an open-weight LLM and plan how to deploy it. Every figure comes from a tool result, every fact has a source.")
        with gr.Tabs():
            with gr.Tab("Advisor", id="advisor"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", height=560, elem_id="chat", buttons=["copy"],
                                             sanitize_html=True, render_markdown=True, feedback_options=None)
                        with gr.Row():
                            box = gr.Textbox(placeholder="Describe what you need… (Enter sends, Shift+Enter: new line)", show_label=False, scale=5, lines=2,
                                             max_lines=8, elem_id="message", max_length=advisor.settings.max_message_chars)
                            send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                        with gr.Row():
                            new = gr.Button("New conversation", size="sm", elem_id="new")
                            thread_label = gr.Markdown("", elem_id="thread")
                        gr.Examples(EXAMPLES, inputs=box, label="Try")
                    with gr.Column(scale=2):
                        gr.Markdown(driver_md, elem_id="driver")
                        gr.Markdown("### Requirements so far")
                        req_md = gr.Markdown(_requirements_md({}), elem_id="requirements")
                        gr.Markdown("### Shortlist")
                        shortlist = gr.Dataframe(headers=SHORTLIST_COLUMNS, value=[], interactive=False, wrap=True,
                                                 elem_id="shortlist")
                        plot = gr.Plot(label="Chart", elem_id="chart")
                        export = gr.Button("Export report (Markdown and HTML)", size="sm", elem_id="report-export")
                        report_links = gr.Markdown("", elem_id="report-links")
            with gr.Tab("Exercises", id="exercises"):
                from advisor import exercises as ex

                gr.Markdown("Guided walkthroughs of the tutorial's three exercises. Each runs as a conversation with the "
                            "advisor (the same tools and driver as the chat); the summary and chart come from its tool results.")
                with gr.Row():
                    ex_choice = gr.Radio([f"{e.number}. {e.title}" for e in ex.EXERCISES.values()], value=f"1. {ex.EXERCISES[1].title}",
                                         label="Exercise", elem_id="exercise-choice")
                with gr.Accordion("Assumptions (exercise 2) and family (exercise 3)", open=False):
                    with gr.Row():
                        ex_model = gr.Dropdown(sorted(cat.models), value="llama-3.1-8b", label="Model to self-host")
                        ex_gpu = gr.Dropdown(sorted(cat.gpus), value="rtx-4090", label="GPU")
                        ex_price = gr.Number(value=None, label="GPU $/hour (empty: catalog price)", minimum=0)
                        ex_util = gr.Slider(0.05, 1.0, value=0.5, step=0.05, label="Utilisation")
                        ex_share = gr.Slider(0.0, 1.0, value=0.75, step=0.05, label="Input share")
                    ex_apis = gr.Dropdown(sorted(p.id for p in cat.prices.values() if p.kind == "proprietary"),
                                          value=["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku-4.5"],
                                          multiselect=True, label="APIs to compare")
                    ex_family = gr.Radio(list(ex.FAMILY_VERSIONS), value="llama", label="Family (exercise 3)")
                ex_run = gr.Button("Run walkthrough", variant="primary", elem_id="exercise-run")
                with gr.Row():
                    with gr.Column(scale=3):
                        ex_chat = gr.Chatbot(label="Walkthrough", height=520, elem_id="exercise-chat", feedback_options=None)
                    with gr.Column(scale=2):
                        ex_summary = gr.Markdown(elem_id="exercise-summary")
                        ex_plot = gr.Plot(label="Chart")
            with gr.Tab("Views", id="views"):
                from advisor import views as vw

                gr.Markdown("The tutorial's tables, computed from the catalog and the tools.")
                view_choice = gr.Dropdown(list(vw.VIEWS), value="families", label="View", elem_id="view-choice")
                view_md = gr.Markdown(elem_id="view")
                view_plot = gr.Plot(label="Chart")
            with gr.Tab("Catalog", id="catalog"):
                families = sorted({m.family for m in cat.models.values()})
                with gr.Row():
                    fam = gr.Dropdown(["(all)", *families], value="(all)", label="Family")
                    lic = gr.Dropdown(["(all)", *sorted(cat.licenses)], value="(all)", label="Licence")
                    size = gr.Slider(0.1, 1000, value=1000, step=0.1, label="Max parameters (B)")
                    ctx = gr.Dropdown(["any", "8192", "32768", "131072", "262144"], value="any", label="Min context")
                    bench = gr.Dropdown(sorted(cat.benchmarks), value="MMLU", label="Benchmark for the scatter")
                catalog_table = gr.Dataframe(interactive=False, wrap=True, elem_id="catalog-table")
                catalog_plot = gr.Plot(label="Quality vs size")

        def load_thread(stored: str):
            tid = stored if _valid_thread_id(stored) else new_thread_id()  # the browser's copy may be anything
            state = advisor.state(tid)
            return (tid, tid, history_to_chat(advisor, tid), _requirements_md(state["requirements"]),
                    _shortlist_rows(state["shortlist"]), _chart_for_thread(advisor, tid), f"Thread `{tid}`")

        def respond(message: str, history: list, tid: str):
            tid = tid if _valid_thread_id(tid) else new_thread_id()
            history = list(history or [])
            try:
                events = advisor.stream(message, thread_id=tid)
                next(events)  # validates the message, and that it can be stored, before anything is shown
            except (InputRejected, StorageUnavailable) as exc:
                history.append(gr.ChatMessage(role="assistant", content=f"⚠️ {exc}"))
                yield history, message, gr.skip(), gr.skip(), gr.skip(), tid, tid
                return
            history.append(gr.ChatMessage(role="user", content=_literal(message)))
            yield history, "", gr.skip(), gr.skip(), gr.skip(), tid, tid
            tool_index: dict[str, int] = {}
            answer_index = None
            streamed = ""
            for event in events:
                kind = event["type"]
                if kind == "tool_call":
                    history.append(_tool_message(event, "pending"))
                    tool_index[event["id"]] = len(history) - 1
                elif kind == "tool_result":
                    idx = tool_index.get(event["id"])
                    msg = _tool_message(event, "done", event.get("duration_s"))
                    if idx is None:
                        history.append(msg)
                    else:
                        history[idx] = msg
                elif kind == "token":
                    streamed += event["text"]
                    if answer_index is None:
                        history.append(gr.ChatMessage(role="assistant", content=_answer(streamed)))
                        answer_index = len(history) - 1
                    else:
                        history[answer_index] = gr.ChatMessage(role="assistant", content=_answer(streamed))
                elif kind == "error":
                    history.append(gr.ChatMessage(role="assistant", content=f"⚠️ {event['message']}"))
                elif kind == "final":
                    final = gr.ChatMessage(role="assistant", content=_answer(event["text"]) or "(no answer)")
                    if answer_index is None:
                        history.append(final)
                    else:
                        history[answer_index] = final
                    yield (history, "", _requirements_md(event["requirements"]), _shortlist_rows(event["shortlist"]),
                           _chart_for_thread(advisor, tid), tid, tid)
                    continue
                yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), tid, tid

        def start_new():
            tid = new_thread_id()
            return tid, tid, [], _requirements_md({}), [], None, f"Thread `{tid}`", ""

        def browse(family: str, licence: str, max_b: float, min_ctx: str, benchmark: str):
            import tools
            from tools.errors import InvalidInput

            try:
                r = tools.call("find_models", {
                    "family": None if family == "(all)" else family, "license": None if licence == "(all)" else licence,
                    "max_params_b": max_b, "min_context": None if min_ctx in (None, "any") else int(min_ctx), "limit": 200})
            except (InvalidInput, ValueError, TypeError) as exc:
                raise gr.Error(f"cannot filter the catalog that way: {exc}") from None
            rows = [[m["name"], m["family"], m["params_b"], m["active_params_b"], m["context_length"], m["license"]["id"],
                     m["release_date"]] for m in r["models"]]
            ids = [m["id"] for m in r["models"]]
            import pandas as pd

            df = pd.DataFrame(rows, columns=["model", "family", "params_b", "active_params_b", "context", "licence", "released"])
            return df, charts.quality_vs_size(benchmark, model_ids=ids)

        def make_reports(tid: str):
            # Links to the report route, which builds each report in memory when it is opened: no file is written
            # (an HTML report embeds plotly.js, about 5 MB, and Gradio would copy any file into its cache too).
            if not _valid_thread_id(tid) or not advisor.exists(tid):
                return "_Nothing to export yet: ask something first._"
            base = f"api/threads/{tid}/report"
            return (f"Download: [Markdown report]({base}?format=md) · [HTML report with charts]({base}?format=html)")

        def run_walkthrough(choice, model, gpu, price, util, share, apis, family):
            from advisor import exercises as ex

            from catalog.query import LookupFailed

            try:
                number = int(str(choice).split(".", 1)[0])
                cost = ex.CostAssumptions(model=model, gpu=gpu, gpu_usd_per_hour=float(price) if price else None,
                                          utilization=float(util), input_share=float(share),
                                          api_models=list(apis or [])) if number == 2 else None
                result = ex.run(advisor, number, family=family, cost=cost)
            except (ValueError, TypeError, LookupFailed, InputRejected, StorageUnavailable) as exc:
                return [gr.ChatMessage(role="assistant", content=f"⚠️ {_literal(exc)}")], "", None
            msgs = []
            for turn in result.turns:
                msgs.append(gr.ChatMessage(role="user", content=_literal(turn["user"])))
                for call in turn["tool_calls"]:
                    msgs.append(_tool_message({"name": call["name"], "args": call["args"], "result": call["result"],
                                               "id": call["id"]}, "done", call.get("duration_s")))
                msgs.append(gr.ChatMessage(role="assistant", content=_answer(turn["reply"])))
            return msgs, _summary_md(result), _chart_for_thread(advisor, result.thread_id)

        def show_view(name):
            from advisor import views as vw

            try:
                v = vw.get(name)
            except (ValueError, TypeError, KeyError):
                return f"Unknown view; choose one of: {', '.join(vw.VIEWS)}", None
            return v["markdown"], v.get("figure")

        outputs = [chatbot, box, req_md, shortlist, plot, thread, thread_store]
        submit_args = dict(fn=respond, inputs=[box, chatbot, thread], outputs=outputs, api_visibility="private")
        box.submit(**submit_args)
        send.click(**submit_args)
        # reports are built when asked for, not after every turn (the HTML embeds plotly.js)
        export.click(make_reports, inputs=[thread], outputs=[report_links], api_visibility="private")
        ex_run.click(run_walkthrough, inputs=[ex_choice, ex_model, ex_gpu, ex_price, ex_util, ex_share, ex_apis, ex_family],
                     outputs=[ex_chat, ex_summary, ex_plot], api_visibility="private")
        view_choice.change(show_view, inputs=[view_choice], outputs=[view_md, view_plot], api_visibility="private")
        demo.load(show_view, inputs=[view_choice], outputs=[view_md, view_plot], api_visibility="private")
        demo.load(None, js=ENTER_TO_SEND_JS)
        new.click(start_new, outputs=[thread, thread_store, chatbot, req_md, shortlist, plot, thread_label, box],
                  api_visibility="private")
        demo.load(load_thread, inputs=[thread_store],
                  outputs=[thread, thread_store, chatbot, req_md, shortlist, plot, thread_label], api_visibility="private")
        filters = [fam, lic, size, ctx, bench]
        for f in filters:
            f.change(browse, inputs=filters, outputs=[catalog_table, catalog_plot], api_visibility="private")
        demo.load(browse, inputs=filters, outputs=[catalog_table, catalog_plot], api_visibility="private")

        # A plain chat endpoint for gradio_client and scripts: message + thread id in, reply + thread id out.
        def chat_api(message: str, thread_id: str = "") -> tuple[str, str]:
            """Ask the advisor one question. Returns the reply and the thread id to continue with.

            Args:
                message: The question, e.g. "Which model fits one RTX 4090 for coding?"
                thread_id: Conversation to continue; empty starts a new one.
            """
            try:
                result = advisor.ask(message, thread_id=thread_id or None)
            except InputRejected as exc:
                return f"error: {exc}", thread_id
            return result.reply, result.thread_id

        # queue=False: MCP calls these in-process (Gradio's fast path) instead of through an HTTP client of its own
        # that calls back into this server: that client sent no credentials (every MCP call failed behind --auth)
        # and kept a connection open that stopped SIGTERM from ending the process.
        gr.api(chat_api, api_name="chat", queue=False)
        _register_mcp_tools()
    return demo


def _valid_thread_id(value) -> bool:
    try:
        validate_thread_id(value)
    except InputRejected:
        return False
    return True


def _summary_md(result) -> str:
    """The walkthrough's conclusion, laid out from the tool results it collected."""
    from advisor import render

    s = result.summary
    if result.number == 1:
        if not s.get("top3"):
            return "The walkthrough did not reach a shortlist; see the conversation."
        parts = ["### Top three"]
        for i, m in enumerate(s["top3"], 1):
            lines = [f"**{i}. {m['name']}** (score {m['score']})",
                     f"- fit: {m['fit']['quantization']}, about {m['fit']['memory_gb']} GB",
                     f"- licence: {m['license']['name']}, {m['license']['verdict'].replace('_', ' ')}"
                     + (f" ({'; '.join(m['license']['conditions'][:2])})" if m['license']['conditions'] else ""),
                     "- benchmarks: " + ", ".join(f"{k} {v}" for k, v in m["benchmarks"].items())]
            if m.get("cost"):
                lines.append("- cost a month: " + "; ".join(f"{o['name']}: ${o['monthly_usd']:,}" for o in m["cost"]["self_hosted"]))
            parts.append("\n".join(lines))
        return "\n\n".join(parts)
    if result.number == 2:
        if "volumes" not in s:
            return s.get("note", "")
        return render.estimate_cost({k: s[k] for k in ("monthly_tokens", "options", "break_even", "assumptions")}
                                    | {"table": s["volumes"], "cheapest": s["cheapest_at_volume"]})
    if "table" not in s:
        return s.get("note", "")
    return render.compare_benchmarks({"benchmarks": [{"id": b, "name": b} for b in s["benchmarks"]], "table": s["table"],
                                      "changes": s["changes"], "missing": s["missing"], "sources": s["sources"]})


def _register_mcp_tools() -> None:
    """Expose every advisor tool through Gradio's API, and so through its MCP server."""
    import functools

    import tools

    for tool in tools.registry:
        def make(t):
            @functools.wraps(t.fn)
            def call(*args, **kwargs):
                bound = dict(zip(t.args_model.model_fields, args))
                bound.update(kwargs)
                return tools.call_json(t.name, {k: v for k, v in bound.items() if v is not None})

            return call

        gr.api(make(tool), api_name=tool.name, api_description=tool.description, queue=False)
