"""The advisor as a service: a driver, the graph and a checkpointer, with typed turn events (advisor/events.py).

Every edge (CLI, browser UI, HTTP API) talks to :class:`Advisor`:

    advisor = Advisor.create(Settings.from_env(driver="offline"))
    result = advisor.ask("We have one RTX 4090 and need a commercial coding model", thread_id="t1")
    for event in advisor.stream("And the licence of the first one?", thread_id="t1"): ...
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from advisor import warmup
from advisor.config import Settings, is_postgres
from advisor.drivers import DriverInfo, make_driver, resolve_driver
from advisor.events import Failed, Final, ThreadStarted, Token, ToolCalled, ToolReturned, TurnEvent, TurnResult, fold
from advisor.requirements import TRANSIENT
from advisor.signing import server_secret
from advisor.storage import (
    StorageUnavailable,
    check_writable,
    claim_thread,
    end_turn,
    error_detail,
    open_sqlite,
    thread_owner,
    turn_lock,
)
from tools.errors import NotFound

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

log = logging.getLogger(__name__)
_TURN_OVER = object()  # the last item a turn's worker puts on its event queue


class InputRejected(ValueError):
    """The user's message cannot be accepted as it is; the message says why and what is allowed."""

    def __init__(self, message: str, field: str = "message"):
        super().__init__(message)
        self.field = field


def clean_text(text: str, limit: int) -> str:
    """Normalise a user's message: NFC, no control characters except newlines and tabs; refuse empty or oversize."""
    if not isinstance(text, str):
        raise InputRejected("message must be text")
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch == "\u200d")
    text = text.strip()
    if not text:
        raise InputRejected("message is empty; type a question, e.g. 'Which model fits one RTX 4090 for coding?'")
    if len(text) > limit:
        raise InputRejected(
            f"message is {len(text):,} characters; the limit is {limit:,}. Shorten it or split it into parts."
        )
    return text


def make_checkpointer(path: str):
    """An in-memory checkpointer for ":memory:", PostgreSQL's for a postgresql:// URL (advisor/storage_postgres.py),
    else the SQLite file's (advisor/storage.py), checked writable: StorageUnavailable says what is wrong with it."""
    if path == ":memory:":
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver()
    if is_postgres(path):
        from advisor.storage_postgres import open_postgres

        return open_postgres(path)
    return open_sqlite(path)


class Advisor:
    def __init__(self, model: BaseChatModel | None, info: DriverInfo, settings: Settings, checkpointer=None):
        """``model`` None: the offline driver, built with the graph when a turn (or the server's warm-up) first needs
        them: LangChain's and LangGraph's imports are seconds a start need not wait for (issue #25, Build 9)."""
        self.settings = settings
        self.info = info
        self._model = model
        self.checkpointer = checkpointer if checkpointer is not None else make_checkpointer(settings.db_path)
        # signs what browsers hand back (advisor/signing.py); ValueError: ADVISOR_SECRET is unusable
        self.secret = server_secret(self.checkpointer)
        self._graph: Any = None
        self._graph_lock = threading.Lock()
        self._thread_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # conversations nobody claimed (started through the Python API, or stored before owners were kept) are
        # open to every user while the server has one; app.create_app closes them when it has several
        self.unowned_open = True

    @classmethod
    def create(cls, settings: Settings | None = None, checkpointer=None) -> Advisor:
        settings = settings or Settings.from_env()
        name, reason = resolve_driver(settings)
        if name == "offline":  # built on first use (:attr:`model`)
            return cls(None, DriverInfo("offline", None, reason), settings, checkpointer)
        model, info = make_driver(settings)
        return cls(model, info, settings, checkpointer)

    @property
    def model(self) -> BaseChatModel:
        if self._model is None:
            self._build()
        return self._model  # type: ignore[return-value]

    @property
    def graph(self) -> Any:
        if self._graph is None:
            self._build()
        return self._graph

    def _build(self) -> None:
        """The driver (where it is the offline one) and the graph, once, whichever thread asks first."""
        with self._graph_lock:
            if self._model is None:
                from advisor.drivers.offline import OfflineChatModel

                self._model = OfflineChatModel()
            if self._graph is None:
                from advisor.graph import build_graph

                self._graph = build_graph(
                    self._model,
                    max_steps=self.settings.max_steps,
                    offline=self.info.offline,
                    checkpointer=self.checkpointer,
                    tool_timeout_s=self.settings.tool_timeout_s,
                    model_timeout_s=self.settings.timeout_s,
                )

    # ------------------------------------------------------------ turns

    def _lock(self, thread_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._thread_locks.setdefault(thread_id, threading.Lock())

    def _config(self, thread_id: str) -> dict:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 4 * self.settings.max_steps + 12}

    def new_thread(self, user: str | None = None) -> str:
        """A new conversation id made here (128 bits, 122 of them random), owned by ``user`` when one is given."""
        thread_id = new_thread_id()
        if user is not None:
            claim_thread(self.checkpointer, thread_id, user)
        return thread_id

    def owns(self, thread_id: str, user: str | None) -> bool:
        """Whether ``user`` may read and continue the conversation: it is theirs, or nobody's while unowned ones are
        open (:attr:`unowned_open`). ``user`` None: the Python API's caller, who may use any."""
        if user is None:
            return True
        owner = thread_owner(self.checkpointer, thread_id)
        return owner == user if owner is not None else self.unowned_open and self.exists(thread_id)

    def check_owner(self, thread_id: str, user: str | None) -> str:
        """The thread id if ``user`` may use the conversation; NotFound (404) otherwise, the same answer as for one
        that does not exist, so that another user's id tells nothing."""
        validate_thread_id(thread_id)
        if not self.owns(thread_id, user):
            raise NotFound(
                f"no conversation with thread id {thread_id!r} (ids are made by the server: leave thread_id out to "
                "start a conversation)",
                field="thread_id",
            )
        return thread_id

    def stream(
        self, text: str, thread_id: str | None = None, user: str | None = None, fresh: bool = False
    ) -> Iterator[TurnEvent]:
        """Run one turn, yielding its events (advisor/events.py): ThreadStarted, then Token, ToolCalled and
        ToolReturned, and last Final or Failed.

        The first event comes once the message is accepted: it is valid, the database takes writes, and the turn has
        started in a worker thread. From then on the turn runs to its end and is stored whether or not anyone reads
        the rest of the events: a client that goes away (a dropped stream, a closed tab) neither loses the message
        nor stops the answer, and closing this generator never waits for the model.

        ``user`` (the edges give it: HTTP, OpenAI, MCP, the UI): the conversation must be theirs (NotFound
        otherwise), and a new one is made theirs; with several users (:attr:`unowned_open` False) a client cannot
        choose a new id. ``fresh``: ``thread_id`` is one the server made and signed for this user (the UI's page)
        and may be new. ``user`` None (the Python API):
        any id, as given."""
        text = clean_text(text, self.settings.max_message_chars)
        if not thread_id:
            thread_id = new_thread_id()
            check_writable(self.checkpointer, recent_ok=True)  # StorageUnavailable: refused before it is acknowledged
            if user is not None:
                claim_thread(self.checkpointer, thread_id, user)
        else:
            validate_thread_id(thread_id)
            check_writable(self.checkpointer, recent_ok=True)
            if user is not None and not self.owns(thread_id, user):
                # a new id from the client: only with one user (compatibility), or when the server made it (fresh)
                new = thread_owner(self.checkpointer, thread_id) is None and not self.exists(thread_id)
                if not (new and (fresh or self.unowned_open)):
                    self.check_owner(thread_id, user)  # NotFound
                if claim_thread(self.checkpointer, thread_id, user) != user:  # another page claimed it meanwhile
                    self.check_owner(thread_id, user)
        events: queue.SimpleQueue = queue.SimpleQueue()
        worker = threading.Thread(
            target=self._run_turn, args=(text, thread_id, events), daemon=True, name=f"advisor-turn-{thread_id[:16]}"
        )
        worker.start()
        yield ThreadStarted(thread_id)
        while (event := events.get()) is not _TURN_OVER:
            yield event

    def _run_turn(self, text: str, thread_id: str, events: queue.SimpleQueue) -> None:
        try:
            warmup.wait()  # the caches the server builds as it starts (advisor/warmup.py): built once, not per turn
            # one turn of a conversation at a time: in this process, then across processes (PostgreSQL)
            with self._lock(thread_id), turn_lock(self.checkpointer, thread_id):
                for event in self._turn(text, thread_id):
                    events.put(event)
        except StorageUnavailable as exc:  # the conversation's lock could not be taken: nothing was stored
            events.put(Failed(f"your message could not be saved ({exc}); please try again later"))
        except Exception as exc:  # a bug outside the graph: the reader must still get an end
            log.exception("turn failed")
            events.put(Failed(f"the advisor failed on this turn ({type(exc).__name__}); please try again"))
        finally:
            events.put(_TURN_OVER)

    def _turn(self, text: str, thread_id: str) -> Iterator[TurnEvent]:
        from langgraph.errors import GraphRecursionError  # here: it imports LangChain's tracers (seconds at start)

        message = HumanMessage(content=text, id=uuid.uuid4().hex)
        answer: list[str] = [""]  # the last answer the graph wrote, should the state hold none
        try:
            # durability="sync": each step's checkpoint is on disk before the next step starts, so the user's
            # message is saved before the model is called and a crash mid-turn loses nothing written so far.
            for mode, payload in self.graph.stream(
                {"messages": [message]}, self._config(thread_id), stream_mode=["messages", "updates"], durability="sync"
            ):
                yield from _events_of(mode, payload, answer)
        except GraphRecursionError:
            answer[0] = (
                "I stopped: this question needed more steps than one turn allows. Please narrow it down and ask again."
            )
        except Exception as exc:
            log.exception("turn failed")
            yield Failed(
                f"the advisor failed on this turn ({type(exc).__name__}); {self._save_note(thread_id, message.id, exc)}"
            )
            return
        end_turn(self.checkpointer, thread_id)
        state = self.state(thread_id)
        yield Final(
            thread_id, state.get("reply") or answer[0], state["requirements"], state["shortlist"], self.info.name
        )

    def _save_note(self, thread_id: str, message_id: str | None, exc: Exception) -> str:
        """What a failed turn tells the user about their message: saved (read back to be sure) or not."""
        if self._saved(thread_id, message_id):
            return "your message is saved, please try again"
        detail = error_detail(exc)
        detail = f" ({detail})" if detail else ""
        return f"your message could not be saved{detail}; please try again later"

    def _saved(self, thread_id: str, message_id: str | None) -> bool:
        """Whether the message with this id is in the stored conversation (False when that cannot be read)."""
        try:
            return any(getattr(m, "id", None) == message_id for m in self.state(thread_id)["messages"])
        except Exception:
            log.exception("could not read thread %s back", thread_id)
            return False

    def ask(self, text: str, thread_id: str | None = None, user: str | None = None) -> TurnResult:
        """One whole turn: :meth:`stream` folded into its result (raises TurnFailed if the turn failed)."""
        return fold(self.stream(text, thread_id, user), driver=self.info.name)

    # ------------------------------------------------------------ reading threads

    def state(self, thread_id: str) -> dict:
        snap = self.graph.get_state(self._config(thread_id))
        values = snap.values or {}
        messages = values.get("messages", [])
        reply = ""
        for msg in reversed(messages):
            if isinstance(msg, AIMessage) and not msg.tool_calls:
                reply = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)
                break
            if isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
                break
        req = {k: v for k, v in (values.get("requirements") or {}).items() if k not in TRANSIENT}
        return {"messages": messages, "requirements": req, "shortlist": values.get("shortlist") or [], "reply": reply}

    def history(self, thread_id: str) -> list[dict]:
        """The conversation as the user saw it: user and assistant turns, with tool steps in between."""
        out: list[dict] = []
        for msg in self.state(thread_id)["messages"]:
            if isinstance(msg, HumanMessage):
                if not msg.additional_kwargs.get("advisor_note"):
                    out.append({"role": "user", "content": msg.content})
            elif isinstance(msg, AIMessage):
                if msg.content and not msg.tool_calls:
                    out.append({"role": "assistant", "content": msg.content})
            elif isinstance(msg, ToolMessage):
                out.append(
                    {
                        "role": "tool",
                        "name": msg.name,
                        "args": msg.additional_kwargs.get("args", {}),
                        "result": _loads(msg.content),
                        "duration_s": msg.additional_kwargs.get("duration_s", 0.0),
                    }
                )
        return out

    def exists(self, thread_id: str) -> bool:
        """Whether a conversation with this id has been stored."""
        return self.checkpointer.get_tuple(self._config(thread_id)) is not None

    def check_storage(self) -> None:
        """Raise StorageUnavailable unless the conversation database takes a write now."""
        check_writable(self.checkpointer)


def _events_of(mode: str, payload: Any, answer: list[str]) -> Iterator[TurnEvent]:
    """The turn events in one item of the graph's stream: tokens the agent writes ("messages" mode), tool calls,
    tool results and the answer in the nodes' updates ("updates" mode; the answer goes to ``answer[0]``)."""
    if mode == "messages":
        chunk, meta = payload
        if meta.get("langgraph_node") == "agent" and isinstance(chunk, AIMessageChunk):
            if isinstance(chunk.content, str) and chunk.content:
                yield Token(chunk.content)
        return
    for node, update in (payload or {}).items():
        for msg in (update or {}).get("messages", []) if isinstance(update, dict) else []:
            if isinstance(msg, AIMessage) and msg.tool_calls:
                for call in msg.tool_calls:
                    yield ToolCalled(call["id"] or "", call["name"], call.get("args") or {})
            elif isinstance(msg, ToolMessage):
                yield ToolReturned(
                    msg.tool_call_id,
                    msg.name or "",
                    msg.additional_kwargs.get("args", {}),
                    _loads(msg.content),
                    msg.additional_kwargs.get("duration_s", 0.0),
                    getattr(msg, "status", "success"),
                )
            elif isinstance(msg, AIMessage) and node in ("agent", "ground"):
                answer[0] = msg.content if isinstance(msg.content, str) else json.dumps(msg.content)


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def new_thread_id() -> str:
    return uuid.uuid4().hex


def validate_thread_id(thread_id: str) -> str:
    import re

    if not isinstance(thread_id, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,128}", thread_id):
        raise InputRejected(
            "thread_id must be 1-128 characters of letters, digits, '_', '-', '.', ':'", field="thread_id"
        )
    return thread_id


__all__ = ["Advisor", "InputRejected", "StorageUnavailable", "TurnResult", "clean_text", "make_checkpointer"]
