"""Answers in a terminal: `advisor chat` (a conversation, rendered with rich: Markdown, tables that fit the window)
and the plain text that `advisor ask` and `advisor exercise` print (Markdown, for pipes and files).

Both open an answer with its verdict (advisor/verdict.py) and show the folded parts in place; the chat shows the
offline driver's notice once. The chat quits on /exit, /quit or Ctrl-D; an empty line does nothing."""

from __future__ import annotations

from collections.abc import Iterable

from advisor import verdict
from advisor.events import Failed, Final, ToolCalled, ToolReturned, TurnEvent
from advisor.render import OFFLINE_MARK, split_folds, unfold, without_offline_note

QUIT = ("/exit", "/quit")
MORE = "/more"


def answer_text(text: str, calls: Iterable[ToolReturned], offline_note: bool = True, folded: bool = False) -> str:
    """An answer as Markdown: its verdict first, then the answer with its folded parts in place (or left out:
    ``folded``), the offline notice unless left out."""
    card = verdict.of(calls)
    body = split_folds(text)[0] if folded else unfold(text)
    if not offline_note:
        body = without_offline_note(body)
    return (verdict.markdown(card) + "\n\n" + body) if card else body


class Chat:
    """`advisor chat`: reads messages from a terminal (or a pipe), prints each answer rendered for it."""

    def __init__(self, advisor, thread: str, console=None):
        from rich.console import Console

        self.advisor = advisor
        self.thread = thread
        self.console = console or Console(highlight=False)
        self.note_shown = bool(advisor.history(thread)) if advisor.exists(thread) else False
        self.more = ""  # the last answer's reasons, assumptions and sources, shown on /more

    def run(self, read=input) -> None:
        self.console.print(
            f"Open LLM Advisor ({self.advisor.info.describe()}). Thread {self.thread}. "
            f"{MORE} shows an answer's reasons, assumptions and sources; /exit or Ctrl-D quits.",
            markup=False,
        )
        while True:
            try:
                text = read("you> ")
            except (EOFError, KeyboardInterrupt):
                self.console.print()
                break
            if text.strip().lower() in QUIT:
                break
            if text.strip().lower() == MORE:
                self.show_more()
            elif text.strip():
                self.turn(text)
        self.console.print(
            f"Conversation saved as thread {self.thread} (resume: advisor chat --thread {self.thread}).", markup=False
        )

    def turn(self, text: str) -> None:
        from advisor.service import InputRejected, StorageUnavailable

        try:
            self.show(self.advisor.stream(text, thread_id=self.thread))
        except InputRejected as exc:
            self.console.print(f"advisor> {exc}", markup=False)
        except StorageUnavailable as exc:
            self.console.print(f"advisor> your message was not saved: {exc}", markup=False)

    def show(self, events: Iterable[TurnEvent]) -> None:
        from rich.markdown import Markdown

        calls: list[ToolReturned] = []
        for event in events:
            match event:
                case ToolCalled(name=name):
                    self.console.print(f"  [tool] {name}", style="dim", markup=False)
                case ToolReturned():
                    calls.append(event)
                case Final(text=text):
                    self.console.print(Markdown(answer_text(text, calls, not self.note_shown, folded=True)))
                    self.more = split_folds(text)[1]
                    if self.more:
                        self.console.print(f"({MORE}: reasons, assumptions and sources)", style="dim", markup=False)
                    self.console.print()
                    self.note_shown = self.note_shown or OFFLINE_MARK in text
                case Failed(message=message):
                    self.console.print(f"advisor> {message}", markup=False)

    def show_more(self) -> None:
        from rich.markdown import Markdown

        self.console.print(Markdown(self.more) if self.more else "(nothing more to show)")
        self.console.print()
