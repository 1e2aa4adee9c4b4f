"""The browser UI (Gradio Blocks): one module per tab in advisor/ui/tabs, the translation of turn events into chat
messages in messages.py, the API and MCP functions in mcp.py. gradio is imported here only.

Two ways to serve it. By default (one process) chat turns stream through Gradio's queue: an event is posted to
``queue/join`` and its updates come back on ``queue/data``, two requests that the process that took the first must
also answer, with the conversation's id held for the page on the server (``gr.State``). With ``stateless=True``
(``advisor serve --workers N``, or ``--stateless-ui`` behind a proxy without sticky sessions) every event is one
request, its answer whole (the chat shows a turn when it is over, tool steps included), and the id lives in the
page: any worker or replica can answer any event, since the conversation itself is in the shared database."""

from __future__ import annotations

import anyio
import gradio as gr

from advisor.service import Advisor
from advisor.signing import public_derivation
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


# Threads the UI's handlers run in beyond Settings.concurrency's chat turns: page loads, the other tabs, MCP, /chat.
UI_SPARE_THREADS = 8


class OwnPoolBlocks(gr.Blocks):
    """Blocks whose handlers run in a thread pool of their own (``max_threads``). Gradio's default of 40 is AnyIO's
    default pool, which FastAPI's synchronous routes share: 40 slow turns through the chat API (MCP's path) or the
    stateless UI held every thread of it and /healthz waited for the model (issue 29, finding 2)."""

    def create_limiter(self) -> None:
        self.limiter = anyio.CapacityLimiter(self.max_threads)  # type: ignore[assignment]


def browser_state_key(advisor: Advisor) -> str:
    """The key Gradio's BrowserState encrypts the page's stored value with. It is published in /config, so it is no
    secret: what keeps a page from choosing its conversation is the server's signature on the id it stores
    (tabs/advisor.py). It is derived from the server's secret, so it is the same for every replica of one database
    and across restarts (Gradio's default is random per process: a page could not read back what it stored)."""
    return public_derivation(advisor.secret, "browser state")


def build_ui(advisor: Advisor, stateless: bool = False) -> gr.Blocks:
    """The UI; ``stateless``: every event answered in one request by whichever process takes it (module docstring)."""
    secret = browser_state_key(advisor)
    with OwnPoolBlocks(title="Open LLM Advisor") as demo:
        thread_store = gr.BrowserState("", storage_key="open-llm-advisor-thread", secret=secret)
        # this page's conversation: in the page itself when any process may answer its next event
        thread = (
            gr.BrowserState("", storage_key="open-llm-advisor-thread-page", secret=secret)
            if stateless
            else gr.State("")
        )
        gr.Markdown(HEADER)
        with gr.Tabs():
            with gr.Tab("Advisor", id="advisor"):
                advisor_tab.build(demo, advisor, thread, thread_store, stateless)
            with gr.Tab("Exercises", id="exercises"):
                exercises_tab.build(advisor)
            with gr.Tab("Views", id="views"):
                views_tab.build(demo)
            with gr.Tab("Catalog", id="catalog"):
                catalog_tab.build(demo)
        demo.load(None, js=ENTER_TO_SEND_JS)
        mcp.register(advisor)
    # the limiter's threads and the queue's running jobs: the chat turns allowed at once, and the rest beside them
    demo.max_threads = demo._queue.max_thread_count = advisor.settings.concurrency + UI_SPARE_THREADS
    if stateless:
        for fn in demo.fns.values():  # each event one request: no queue/join + queue/data pair to keep together
            fn.queue = False
    return demo


# Components through which a page uploads files (Gradio's upload route is refused when the UI has none of them).
FILE_COMPONENTS = (
    "File", "UploadButton", "Image", "ImageEditor", "ImageSlider", "Audio", "Video", "Model3D", "MultimodalTextbox",
    "Gallery", "SimpleImage",
)  # fmt: skip


def takes_files(demo: gr.Blocks) -> bool:
    """Whether any component of the UI lets a page upload a file."""
    kinds = tuple(kind for name in FILE_COMPONENTS if isinstance(kind := getattr(gr, name, None), type))
    return any(isinstance(block, kinds) for block in demo.blocks.values())


def history_to_chat(advisor: Advisor, thread_id: str) -> list[gr.ChatMessage]:
    """A stored conversation as the chat shows it."""
    return chat_of(advisor.history(thread_id))


__all__ = ["build_ui", "history_to_chat", "takes_files"]
