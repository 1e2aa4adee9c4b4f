"""Conversation storage: LangGraph's SQLite checkpointer, kept so that a conversation grows linearly with its turns.

LangGraph writes a checkpoint after every step, and each checkpoint holds the whole message list: a conversation of
N turns stored every message about 7N times (5.6 MB after 10 turns, 20 MB after 20). :class:`CompactSqliteSaver`
changes two things and nothing else:

- Large message contents (tool results, long answers; ``CONTENT_MIN_CHARS`` and up) are stored once, compressed, in
  ``advisor_contents`` under their SHA-256; checkpoints and pending writes hold the reference. Identical contents
  (the same tool result in two conversations) are stored once too.
- Only the newest ``KEEP_CHECKPOINTS`` checkpoints of a conversation (and their pending writes) are kept. The advisor
  reads only the newest; time travel to older steps is not offered.

Durability is unchanged: contents are committed before the checkpoint that refers to them, the checkpoint is written
as before, and older checkpoints are deleted only after the new one is committed, so a SIGKILL at any point leaves
the newest committed checkpoint readable.

:class:`CompactContents` holds what both databases share (contents out of the checkpoints and back); each saver adds
its own SQL. The PostgreSQL saver, for several processes and machines, is in advisor/storage_postgres.py.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

log = logging.getLogger(__name__)

CONTENT_MIN_CHARS = 1024
KEEP_CHECKPOINTS = 2
REF_KEY = "advisor_content_ref"  # in a stored message's additional_kwargs: the SHA-256 of its content
_CACHE_CHARS = 8_000_000  # contents read back, kept in memory (they never change)


class StorageUnavailable(RuntimeError):
    """The conversation database cannot be written (read-only, corrupt, disk full, locked); the message says why."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# mypy sees the mixin as a checkpointer, so that its super() calls are checked; at run time it is a plain class
if TYPE_CHECKING:
    _Saver = BaseCheckpointSaver
else:
    _Saver = object


class CompactContents(_Saver):
    """What both compact savers share: large message contents stored once, in ``advisor_contents``, and read back
    (with a cache), and the newest checkpoints only. Mixed in before the database's own saver, which provides
    :meth:`_commit_contents`, :meth:`_select_contents` and :meth:`_prune`."""

    def _init_contents(self) -> None:
        self._stored: dict[tuple, str] = {}  # (message id, length, hash()) -> digest already committed
        self._read: OrderedDict[str, str] = OrderedDict()  # digest -> content, least recently used first
        self._read_chars = 0
        self._cache_lock = threading.Lock()

    def _commit_contents(self, new: dict[str, bytes]) -> None:
        """Store these contents (digest -> compressed text), keeping any already there; committed on return."""
        raise NotImplementedError

    def _select_contents(self, digests: list[str]) -> Iterable[tuple[str, bytes]]:
        """(digest, compressed text) for those of these digests that are stored."""
        raise NotImplementedError

    def _prune(self, config) -> None:
        """Delete the conversation's older checkpoints, keeping the one just saved in ``config``."""
        raise NotImplementedError

    # ------------------------------------------------------------ writing

    def _externalize(self, messages: Any, new: dict[str, bytes], refs: list[tuple[tuple, str]]) -> Any:
        """The messages with large contents replaced by references; the contents not yet stored go into ``new``,
        and every (message key, digest) into ``refs`` (remembered once committed, to skip hashing them again)."""
        if not isinstance(messages, list):
            return messages
        out = []
        for msg in messages:
            content = getattr(msg, "content", None)
            if not isinstance(msg, BaseMessage) or not isinstance(content, str) or len(content) < CONTENT_MIN_CHARS:
                out.append(msg)
                continue
            key = (msg.id, len(content), hash(content))
            digest = self._stored.get(key)
            if digest is None:
                digest = _digest(content)
                new[digest] = zlib.compress(content.encode("utf-8", "surrogatepass"), 6)
            refs.append((key, digest))
            out.append(
                msg.model_copy(update={"content": "", "additional_kwargs": {**msg.additional_kwargs, REF_KEY: digest}})
            )
        return out

    def _remember(self, refs: list[tuple[tuple, str]]) -> None:
        """After a commit: these contents are stored."""
        if len(self._stored) > 20_000:
            self._stored.clear()
        self._stored.update(refs)

    def put(self, config, checkpoint, metadata, new_versions):
        values = checkpoint.get("channel_values") or {}
        new: dict[str, bytes] = {}
        refs: list[tuple[tuple, str]] = []
        if isinstance(values.get("messages"), list):
            checkpoint = {
                **checkpoint,
                "channel_values": {**values, "messages": self._externalize(values["messages"], new, refs)},
            }
        self._commit_contents(new)  # before the checkpoint that refers to them
        saved = super().put(config, checkpoint, metadata, new_versions)
        self._remember(refs)
        self._prune(saved)
        return saved

    def put_writes(self, config, writes, task_id, task_path: str = "") -> None:
        new: dict[str, bytes] = {}
        refs: list[tuple[tuple, str]] = []
        writes = [
            (channel, self._externalize(value, new, refs) if channel == "messages" else value)
            for channel, value in writes
        ]
        self._commit_contents(new)
        super().put_writes(config, writes, task_id, task_path)
        self._remember(refs)

    # ------------------------------------------------------------ reading

    def _contents(self, digests: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._cache_lock:
            for d in digests:
                if d in self._read:
                    self._read.move_to_end(d)
                    found[d] = self._read[d]
        missing = sorted(digests - set(found))
        if missing:
            for digest, data in self._select_contents(missing):
                found[digest] = zlib.decompress(data).decode("utf-8", "surrogatepass")
            with self._cache_lock:
                for d in missing:
                    if d in found and d not in self._read:
                        self._read[d] = found[d]
                        self._read_chars += len(found[d])
                while self._read_chars > _CACHE_CHARS and self._read:
                    _, text = self._read.popitem(last=False)
                    self._read_chars -= len(text)
        return found

    @staticmethod
    def _refs(messages: Any) -> set[str]:
        return (
            {
                m.additional_kwargs[REF_KEY]
                for m in messages
                if isinstance(m, BaseMessage) and REF_KEY in m.additional_kwargs
            }
            if isinstance(messages, list)
            else set()
        )

    @staticmethod
    def _restore(messages: Any, contents: dict[str, str]) -> Any:
        if not isinstance(messages, list):
            return messages
        out = []
        for msg in messages:
            ref = msg.additional_kwargs.get(REF_KEY) if isinstance(msg, BaseMessage) else None
            if ref is None:
                out.append(msg)
                continue
            kwargs = {k: v for k, v in msg.additional_kwargs.items() if k != REF_KEY}
            text = contents.get(ref)
            if text is None:
                log.error("stored content %s is missing from advisor_contents", ref)
                text = "[this stored content is missing from the database]"
            out.append(msg.model_copy(update={"content": text, "additional_kwargs": kwargs}))
        return out

    def _restore_tuple(self, item: CheckpointTuple | None) -> CheckpointTuple | None:
        if item is None:
            return None
        values = item.checkpoint.get("channel_values") or {}
        refs = self._refs(values.get("messages"))
        for _, channel, value in item.pending_writes or []:
            if channel == "messages":
                refs |= self._refs(value)
        if not refs:
            return item
        contents = self._contents(refs)
        checkpoint: Any = {
            **item.checkpoint,
            "channel_values": {**values, "messages": self._restore(values.get("messages"), contents)},
        }
        writes = [
            (task, channel, self._restore(value, contents) if channel == "messages" else value)
            for task, channel, value in item.pending_writes or []
        ]
        return item._replace(checkpoint=checkpoint, pending_writes=writes)

    def get_tuple(self, config) -> CheckpointTuple | None:
        return self._restore_tuple(super().get_tuple(config))

    def list(self, config, *, filter=None, before=None, limit=None) -> Iterator[CheckpointTuple]:
        # read them all first: the parent's generator holds the connection's lock while it yields
        items = [*super().list(config, filter=filter, before=before, limit=limit)]
        for item in items:
            restored = self._restore_tuple(item)
            if restored is not None:  # an item in restores to an item out
                yield restored


class CompactSqliteSaver(CompactContents, SqliteSaver):
    """SqliteSaver that stores large message contents once and keeps a bounded checkpoint history."""

    def __init__(self, conn: sqlite3.Connection, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self._init_contents()

    def setup(self) -> None:
        if self.is_setup:
            return
        super().setup()
        self.conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS advisor_contents (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS advisor_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS advisor_secret (id INTEGER PRIMARY KEY, secret BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS advisor_owner (thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL);
            """
        )

    def shared_secret(self) -> bytes:
        """The secret generated for this database the first time it was asked for (advisor/signing.py)."""
        from advisor.signing import new_secret

        with self.lock:
            try:
                self.setup()
                self.conn.execute("INSERT OR IGNORE INTO advisor_secret (id, secret) VALUES (1, ?)", (new_secret(),))
                self.conn.commit()
                row = self.conn.execute("SELECT secret FROM advisor_secret WHERE id = 1").fetchone()
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"the conversation database cannot be written ({exc})") from exc
        return bytes(row[0])

    def claim(self, thread_id: str, owner: str) -> str:
        """Record the conversation's owner unless it has one; returns its owner (advisor/service.py)."""
        with self.lock:
            try:
                self.conn.execute(
                    "INSERT OR IGNORE INTO advisor_owner (thread_id, owner) VALUES (?, ?)", (thread_id, owner)
                )
                self.conn.commit()
                row = self.conn.execute("SELECT owner FROM advisor_owner WHERE thread_id = ?", (thread_id,)).fetchone()
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"the conversation database cannot be written ({exc})") from exc
        return str(row[0])

    def owner_of(self, thread_id: str) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT owner FROM advisor_owner WHERE thread_id = ?", (thread_id,)).fetchone()
        return None if row is None else str(row[0])

    def _commit_contents(self, new: dict[str, bytes]) -> None:
        if new:
            with self.cursor() as cur:
                cur.executemany("INSERT OR IGNORE INTO advisor_contents (hash, data) VALUES (?, ?)", list(new.items()))

    def _select_contents(self, digests: list[str]) -> Iterable[tuple[str, bytes]]:
        with self.cursor(transaction=False) as cur:
            for start in range(0, len(digests), 500):
                part = digests[start : start + 500]
                cur.execute(
                    f"SELECT hash, data FROM advisor_contents WHERE hash IN ({','.join('?' * len(part))})", part
                )
                yield from cur.fetchall()

    def _prune(self, config) -> None:
        """Delete the conversation's checkpoints older than the newest KEEP_CHECKPOINTS, and their pending writes."""
        conf = config["configurable"]
        thread_id, ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        with self.cursor() as cur:
            cur.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?",
                (thread_id, ns, KEEP_CHECKPOINTS - 1),
            )
            row = cur.fetchone()
            if row is None:
                return
            oldest_kept = row[0]
            cur.execute(
                "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?",
                (thread_id, ns, oldest_kept),
            )
            cur.execute(
                "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?",
                (thread_id, ns, oldest_kept),
            )

    # ------------------------------------------------------------ health

    def check_writable(self, recent_ok: bool = False) -> None:
        """Commit one small write, or raise StorageUnavailable saying why (``recent_ok``: PostgreSQL's only)."""
        with self.lock:
            try:
                self.setup()
                self.conn.execute("INSERT OR REPLACE INTO advisor_probe (id, at) VALUES (1, ?)", (time.time(),))
                self.conn.commit()
            except sqlite3.Error as exc:
                try:
                    self.conn.rollback()
                except sqlite3.Error:
                    pass
                raise StorageUnavailable(f"the conversation database cannot be written ({exc})") from exc


def _connect(path: str) -> sqlite3.Connection:
    # one connection for every thread: SqliteSaver serializes its use with a lock
    return sqlite3.connect(path, check_same_thread=False, timeout=30)


def open_sqlite(path: str) -> CompactSqliteSaver:
    """The checkpointer for a SQLite file, checked writable; StorageUnavailable says what is wrong."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = CompactSqliteSaver(conn)
        saver.setup()
    except (OSError, sqlite3.Error) as exc:
        raise StorageUnavailable(
            f"cannot open the conversation database {path} ({exc}); pass --db with a writable file, or fix this one"
        ) from exc
    try:
        saver.check_writable()
    except StorageUnavailable as exc:
        raise StorageUnavailable(f"{exc}: {path}; pass --db with a writable file, or fix this one") from exc
    return saver


def check_writable(checkpointer, recent_ok: bool = False) -> None:
    """Raise StorageUnavailable if the checkpointer cannot store; in-memory checkpointers always can. ``recent_ok``:
    a probe that just succeeded may stand for this one (a turn's check; /healthz always probes)."""
    probe = getattr(checkpointer, "check_writable", None)
    if probe is not None:
        probe(recent_ok)


def turn_lock(checkpointer, thread_id: str) -> AbstractContextManager:
    """The checkpointer's lock on a conversation across processes, held for one turn (PostgreSQL's); nothing for a
    checkpointer that only one process uses."""
    lock = getattr(checkpointer, "turn_lock", None)
    return lock(thread_id) if lock is not None else nullcontext()


def end_turn(checkpointer, thread_id: str) -> None:
    """After a turn: the checkpointer's housekeeping for the conversation, where it does it per turn (PostgreSQL's
    pruning; SQLite's runs after each checkpoint)."""
    done = getattr(checkpointer, "end_turn", None)
    if done is not None:
        done(thread_id)


def claim_thread(checkpointer, thread_id: str, owner: str) -> str:
    """Make ``owner`` the conversation's owner unless it has one; returns its owner. Kept in the database's
    advisor_owner table (SQLite, PostgreSQL), or beside an in-memory checkpointer."""
    claim = getattr(checkpointer, "claim", None)
    if claim is not None:
        return claim(thread_id, owner)
    owners = _memory_owners(checkpointer)
    return owners.setdefault(thread_id, owner)


def thread_owner(checkpointer, thread_id: str) -> str | None:
    """The conversation's owner; None for one nobody claimed (started through the Python API, or before owners)."""
    owner_of = getattr(checkpointer, "owner_of", None)
    if owner_of is not None:
        return owner_of(thread_id)
    return _memory_owners(checkpointer).get(thread_id)


def _memory_owners(checkpointer) -> dict[str, str]:
    owners = getattr(checkpointer, "_advisor_owners", None)
    if owners is None:
        owners = {}
        checkpointer._advisor_owners = owners
    return owners


def error_detail(exc: BaseException) -> str | None:
    """What a database error says, on one line and without credentials, for a message to the user; None when the
    exception is not the database's."""
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    if type(exc).__module__.split(".")[0] in ("psycopg", "psycopg_pool"):
        from advisor.config import redact_urls

        return redact_urls(" ".join(str(exc).split())) or type(exc).__name__
    return None
