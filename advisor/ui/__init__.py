"""The browser UI (Gradio Blocks): one module per tab in advisor/ui/tabs, the translation of turn events into chat
messages in messages.py, the API and MCP functions in mcp.py. gradio is imported here only."""

from __future__ import annotations

import gradio as gr

from advisor.service import Advisor
from advisor.ui import mcp
from advisor.ui.messages import chat_of
from advisor.ui.tabs import advisor as advisor_tab
from advisor.ui.tabs import catalog as catalog_tab
from advisor.ui.tabs import exercises as exercises_tab
from advisor.ui.tabs import views as views_tab

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
HEADER = (
    "# Open LLM Advisor\nChoose an open-weight LLM and plan how to deploy it. Every figure comes from a tool "
    "result, every fact has a source."
)


def build_ui(advisor: Advisor) -> gr.Blocks:
    with gr.Blocks(title="Open LLM Advisor") as demo:
        thread_store = gr.BrowserState("", storage_key="open-llm-advisor-thread")
        thread = gr.State("")
        gr.Markdown(HEADER)
        with gr.Tabs():
            with gr.Tab("Advisor", id="advisor"):
                advisor_tab.build(demo, advisor, thread, thread_store)
            with gr.Tab("Exercises", id="exercises"):
                exercises_tab.build(advisor)
            with gr.Tab("Views", id="views"):
                views_tab.build(demo)
            with gr.Tab("Catalog", id="catalog"):
                catalog_tab.build(demo)
        demo.load(None, js=ENTER_TO_SEND_JS)
        mcp.register(advisor)
    return demo


def history_to_chat(advisor: Advisor, thread_id: str) -> list[gr.ChatMessage]:
    """A stored conversation as the chat shows it."""
    return chat_of(advisor.history(thread_id))


__all__ = ["build_ui", "history_to_chat"]
