"""The browser UI (Gradio Blocks). gradio is imported here only."""

from __future__ import annotations

import json
import logging

import gradio as gr

from advisor.requirements import describe
from advisor.service import Advisor, InputRejected, new_thread_id

log = logging.getLogger(__name__)

EXAMPLES = [
    "We have one RTX 4090 and need a commercially usable coding model",
    "Customer-service chatbot in English and German, commercial, 200k monthly users, two L40S GPUs",
    "Can we use Llama 3.1 70B commercially with 800 million monthly active users?",
    "How much memory does Qwen2.5 32B need at 32k context on an A100 80GB?",
    "What would 10M tokens a month cost with Llama 3.1 8B versus an API?",
    "Compare Llama 2, Llama 3 and Llama 3.1 on benchmarks",
]
SHORTLIST_COLUMNS = ["#", "model", "score", "format", "memory GB", "context", "licence", "verdict"]
MAX_TOOL_JSON = 4000


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
            out.append(gr.ChatMessage(role="user", content=item["content"]))
        elif item["role"] == "assistant":
            out.append(gr.ChatMessage(role="assistant", content=item["content"]))
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
                            box = gr.Textbox(placeholder="Describe what you need…", show_label=False, scale=5, lines=2,
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
            tid = stored or new_thread_id()
            state = advisor.state(tid)
            return (tid, tid, history_to_chat(advisor, tid), _requirements_md(state["requirements"]),
                    _shortlist_rows(state["shortlist"]), _chart_for_thread(advisor, tid), f"Thread `{tid}`")

        def respond(message: str, history: list, tid: str):
            tid = tid or new_thread_id()
            history = list(history or [])
            try:
                events = advisor.stream(message, thread_id=tid)
                first = next(events)  # validates the message before anything is shown
            except InputRejected as exc:
                history.append(gr.ChatMessage(role="assistant", content=f"⚠️ {exc}"))
                yield history, message, gr.skip(), gr.skip(), gr.skip(), tid, tid
                return
            history.append(gr.ChatMessage(role="user", content=message))
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
                        history.append(gr.ChatMessage(role="assistant", content=streamed))
                        answer_index = len(history) - 1
                    else:
                        history[answer_index] = gr.ChatMessage(role="assistant", content=streamed)
                elif kind == "error":
                    history.append(gr.ChatMessage(role="assistant", content=f"⚠️ {event['message']}"))
                elif kind == "final":
                    final = gr.ChatMessage(role="assistant", content=event["text"] or "(no answer)")
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
            from tools.catalog_tools import find_models

            r = find_models(family=None if family == "(all)" else family, license=None if licence == "(all)" else licence,
                            max_params_b=max_b, min_context=None if min_ctx == "any" else int(min_ctx), limit=200)
            rows = [[m["name"], m["family"], m["params_b"], m["active_params_b"], m["context_length"], m["license"]["id"],
                     m["release_date"]] for m in r["models"]]
            ids = [m["id"] for m in r["models"]]
            import pandas as pd

            df = pd.DataFrame(rows, columns=["model", "family", "params_b", "active_params_b", "context", "licence", "released"])
            return df, charts.quality_vs_size(benchmark, model_ids=ids)

        outputs = [chatbot, box, req_md, shortlist, plot, thread, thread_store]
        submit_args = dict(fn=respond, inputs=[box, chatbot, thread], outputs=outputs, api_visibility="private")
        box.submit(**submit_args)
        send.click(**submit_args)
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

        gr.api(chat_api, api_name="chat")
        _register_mcp_tools()
    return demo


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

        gr.api(make(tool), api_name=tool.name, api_description=tool.description)
