"""The Advisor tab: the chat, with the requirements gathered so far, the shortlist, a chart that follows the
conversation and the report export beside it. The conversation's id lives in the browser, so a reload (or a server
restart) continues it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import gradio as gr

from advisor import charts, render
from advisor.events import Final
from advisor.requirements import describe
from advisor.service import Advisor, InputRejected, StorageUnavailable, new_thread_id, validate_thread_id
from advisor.signing import sign, unsign
from advisor.storage import thread_owner
from advisor.ui.messages import Transcript, chat_of, literal, warning
from advisor.ui.style import LAYOUT_JS
from advisor.users import user_of
from tools.errors import NotFound

EXAMPLES = [
    "We have one RTX 4090 and need a commercially usable coding model",
    "Customer-service chatbot in English and German, commercial, 200k monthly users, two L40S GPUs",
    "Can we use Llama 3.1 70B commercially with 800 million monthly active users?",
    "How much memory does Qwen2.5 32B need at 32k context on an A100 80GB?",
    "What would 10M tokens a month cost with Llama 3.1 8B versus an API?",
    "Compare Llama 2, Llama 3 and Llama 3.1 on benchmarks",
]
OFFLINE_PANEL = "\n\nThe offline driver answers with templates over the same tools. " + render.LLM_HOWTO
PAGE_THREAD = "page thread"  # what the page's signed conversation id is for (advisor/signing.py)


def valid_thread_id(value: object) -> bool:
    try:
        validate_thread_id(value)  # type: ignore[arg-type]
    except InputRejected:
        return False
    return True


def shortlist_rows(shortlist: list[dict]) -> str:
    """The shortlist so far, as a short table: the pick, its memory where it was fitted, its licence verdict."""
    if not shortlist:
        return "_No shortlist yet._"
    rows = [
        [
            i,
            r["name"],
            f"{r['fit']['needed']:g} {r['fit']['unit']}" if r.get("fit") else f"{r['memory_gb']:g} GB",
            render.VERDICT_SHORT.get(r["license_verdict"], r["license_verdict"]),
        ]
        for i, r in enumerate(shortlist, 1)
    ]
    return render.table(["#", "Model", "Memory", "Licence"], rows)


def requirements_markdown(requirements: dict) -> str:
    lines = describe(requirements or {})
    if not lines:
        return "_Nothing yet: tell me about your use case, hardware and licence needs._"
    return "\n".join(f"- {line}" for line in lines)


class Chat:
    """The tab's event handlers (their names are the api names Gradio gives them). The conversation's id goes to the
    page signed with the server's secret (:meth:`token`), and only an id the server signed comes back as one
    (:meth:`thread_of`): a page cannot choose which conversation it continues."""

    def __init__(self, advisor: Advisor):
        self.advisor = advisor

    def token(self, tid: str, user: str) -> str:
        """The id signed for this user: another user's page cannot use it (issue 29, Users)."""
        return sign(self.advisor.secret, f"{PAGE_THREAD}\x00{user}", tid)

    def thread_of(self, token: object, user: str) -> str | None:
        """The conversation a page's token names, if the server signed it for this user and it is theirs (or new)."""
        tid = unsign(self.advisor.secret, f"{PAGE_THREAD}\x00{user}", token)
        if tid is None or not valid_thread_id(tid):
            return None
        if thread_owner(self.advisor.checkpointer, tid) is None and not self.advisor.exists(tid):
            return tid  # made for this page, nothing said in it yet
        return tid if self.advisor.owns(tid, user) else None

    def load_thread(self, stored: str, request: gr.Request | None = None):
        user = user_of(request.headers if request is not None else None)
        tid = self.thread_of(stored, user) or new_thread_id()  # the browser's copy may be anything
        state = self.advisor.state(tid)
        history = self.advisor.history(tid)
        return (
            self.token(tid, user),
            self.token(tid, user),
            chat_of(history),
            requirements_markdown(state["requirements"]),
            shortlist_rows(state["shortlist"]),
            charts.latest(history),
            f"Thread `{tid}`",
        )

    def respond(self, message: str, history: list, token: str, request: gr.Request | None = None):
        user = user_of(request.headers if request is not None else None)
        tid = self.thread_of(token, user) or new_thread_id()
        token = self.token(tid, user)
        transcript = Transcript(list(history or []))
        try:
            # fresh: the id is one the server made and signed for this user; the first turn makes it theirs
            events = self.advisor.stream(message, thread_id=tid, user=user, fresh=True)
            next(events)  # validates the message, and that it can be stored, before anything is shown
        except (InputRejected, NotFound, StorageUnavailable) as exc:
            transcript.history.append(warning(exc))
            yield transcript.history, message, gr.skip(), gr.skip(), gr.skip(), token, token
            return
        transcript.history.append(gr.ChatMessage(role="user", content=literal(message)))
        yield transcript.history, "", gr.skip(), gr.skip(), gr.skip(), token, token
        for event in events:
            transcript.add(event)
            if isinstance(event, Final):  # the side panels follow the conversation
                yield (
                    transcript.history,
                    "",
                    requirements_markdown(event.requirements),
                    shortlist_rows(event.shortlist),
                    charts.latest(self.advisor.history(tid)),
                    token,
                    token,
                )
            else:
                yield transcript.history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), token, token

    def start_new(self, request: gr.Request | None = None):
        user = user_of(request.headers if request is not None else None)
        tid = new_thread_id()
        return (
            self.token(tid, user),
            self.token(tid, user),
            [],
            requirements_markdown({}),
            shortlist_rows([]),
            None,
            f"Thread `{tid}`",
            "",
        )

    def make_reports(self, token: str, request: gr.Request | None = None) -> str:
        # Links to the report route, which builds each report in memory when it is opened: no file is written
        # (an HTML report embeds plotly.js, about 5 MB, and Gradio would copy any file into its cache too).
        tid = self.thread_of(token, user_of(request.headers if request is not None else None))
        if tid is None or not self.advisor.exists(tid):
            return "_Nothing to export yet: ask something first._"
        base = f"api/threads/{tid}/report"
        return f"Download: [Markdown report]({base}?format=md) · [HTML report with charts]({base}?format=html)"


def whole(handler: Callable[..., Iterator[tuple]]) -> Callable[..., tuple]:
    """A streaming handler run to its end, for an event answered in one request: for each output the last value the
    handler gave it (gr.skip() where it gave none), which is what the page shows once the stream is over."""

    @functools.wraps(handler)
    def run(*args):
        shown: tuple | None = None
        for values in handler(*args):
            shown = values if shown is None else tuple(o if _skipped(n) else n for o, n in zip(shown, values))
        return shown

    return run


def _skipped(value: object) -> bool:
    return isinstance(value, dict) and value == gr.skip()  # a figure or table is never compared with ==


def build(
    demo: gr.Blocks,
    advisor: Advisor,
    thread: gr.State | gr.BrowserState,
    thread_store: gr.BrowserState,
    stateless: bool = False,
) -> None:
    """The tab's components, and its events wired to :class:`Chat` (``stateless``: each turn answered whole)."""
    chat = Chat(advisor)
    with gr.Row():
        with gr.Column(scale=3):
            chatbot, box, send, new, thread_label = _conversation(advisor)
        with gr.Column(scale=2):
            requirements, shortlist, plot, export, report_links = _side_panels(advisor)
    panels = [requirements, shortlist, plot]
    for trigger in (box.submit, send.click):
        trigger(
            whole(chat.respond) if stateless else chat.respond,
            inputs=[box, chatbot, thread],
            outputs=[chatbot, box, *panels, thread, thread_store],
            api_visibility="private",
            # turns of every user at once, up to the limit (Gradio's default is one at a time)
            concurrency_limit=advisor.settings.concurrency,
            concurrency_id="chat",
        )
    # reports are built when asked for, not after every turn (the HTML embeds plotly.js)
    export.click(chat.make_reports, inputs=[thread], outputs=[report_links], api_visibility="private")
    new.click(
        chat.start_new, outputs=[thread, thread_store, chatbot, *panels, thread_label, box], api_visibility="private"
    )
    demo.load(None, js=LAYOUT_JS)
    demo.load(
        chat.load_thread,
        inputs=[thread_store],
        outputs=[thread, thread_store, chatbot, *panels, thread_label],
        api_visibility="private",
    )


def _conversation(advisor: Advisor) -> tuple:
    """The chat, the message box with Send, New conversation with the thread's id, and the examples."""
    chatbot = gr.Chatbot(
        label="Conversation",
        height=560,
        elem_id="chat",
        autoscroll=False,  # LAYOUT_JS shows each new answer from its start instead
        buttons=["copy"],
        sanitize_html=True,
        render_markdown=True,
        feedback_options=None,
    )
    with gr.Row():
        box = gr.Textbox(
            placeholder="Describe what you need… (Enter sends, Shift+Enter: new line)",
            show_label=False,
            scale=5,
            lines=2,
            max_lines=8,
            elem_id="message",
            max_length=advisor.settings.max_message_chars,
        )
        send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
    with gr.Row():
        new = gr.Button("New conversation", size="sm", elem_id="new")
        thread_label = gr.Markdown("", elem_id="thread")
    gr.Examples(EXAMPLES, inputs=box, label="Try")
    return chatbot, box, send, new, thread_label


def _side_panels(advisor: Advisor) -> tuple:
    """The driver, the requirements so far, the shortlist, the chart and the report export."""
    gr.Markdown(
        f"**Driver:** {advisor.info.describe()}" + (OFFLINE_PANEL if advisor.info.offline else ""),
        elem_id="driver",
    )
    gr.Markdown("### Requirements so far")
    requirements = gr.Markdown(requirements_markdown({}), elem_id="requirements")
    gr.Markdown("### Shortlist")
    shortlist = gr.Markdown(shortlist_rows([]), elem_id="shortlist")
    plot = gr.Plot(label="Chart", elem_id="chart")
    export = gr.Button("Export report (Markdown and HTML)", size="sm", elem_id="report-export")
    report_links = gr.Markdown("", elem_id="report-links")
    return requirements, shortlist, plot, export, report_links
