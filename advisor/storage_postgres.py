"""Conversations in PostgreSQL, for a team: any number of worker processes and replicas share them
(``--db postgresql://USER@HOST/DB``, or ``ADVISOR_DB``).

:class:`CompactPostgresSaver` is LangGraph's ``PostgresSaver`` (langgraph-checkpoint-postgres over psycopg 3) with
the two changes the SQLite saver makes (advisor/storage.py, :class:`~advisor.storage.CompactContents`): large message
contents are stored once, compressed, in ``advisor_contents``, and a conversation's older checkpoints are deleted.
Pruning is LangGraph's own ``prune(strategy="keep_latest")``, run at the end of every fourth turn of a conversation
in a process (PRUNE_EVERY); it also deletes the channel blobs that no kept checkpoint refers to. So a conversation
grows linearly with its turns here too.

Where it differs from SQLite, and why:

- After pruning one checkpoint is kept, not two: ``keep_latest`` keeps the newest (the one the advisor reads);
  in between, the checkpoints of the turns since (about seven a turn) wait for the next pruning. The guarantee is
  the same: the newest committed checkpoint is never deleted, and nothing older is ever read.
- Every statement commits as it runs (autocommit; LangGraph writes a checkpoint's blobs and its row in one
  pipeline). With PostgreSQL's defaults (``fsync=on``, ``synchronous_commit=on``) a commit is on disk when it
  returns, so a SIGKILL of a worker, or of the whole machine running it, loses no step that was committed. Turning
  either setting off trades that away, as it does for every PostgreSQL application.
- Turns of one conversation never run at once in two processes: each turn holds a PostgreSQL advisory lock on its
  conversation (:meth:`CompactPostgresSaver.turn_lock`), as a threading lock does within one process. The lock
  belongs to a connection, so a process killed mid-turn releases it. Each turn in progress holds one connection.
- Schema set-up is idempotent and safe when several processes start at once: LangGraph's migrations and the
  advisor's two tables are created under an advisory lock.

A database that cannot be reached is refused at start with a message that says why (connection refused, password
failed, no such database) and never shows a password (:func:`advisor.config.redact_url`).
"""

from __future__ import annotations

import logging
import os
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from advisor.config import redact_url, redact_urls
from advisor.storage import CompactContents, StorageUnavailable

log = logging.getLogger(__name__)
# psycopg's pool logs every connection taken and returned at INFO: three lines per statement, under load the
# server's busiest work. Its warnings (a connection found broken, a pool that cannot grow) still show.
logging.getLogger("psycopg.pool").setLevel(logging.WARNING)

CONNECT_TIMEOUT_S = 10  # libpq's connect_timeout: how long an unreachable host may take to say so
POOL_TIMEOUT_S = 10.0  # how long one storage call waits for a connection before the database counts as down
STORAGE_CONNECTIONS = 8  # storage calls of this process that reach the database at once; more wait their turn
TURN_CONNECTIONS = 32  # turns of this process that may hold their conversation's lock at once; more wait
TURN_WAIT_S = 300.0  # how long a turn waits for one of those connections
PRUNE_EVERY = 4  # a conversation's older checkpoints are deleted after every 4th turn (end_turn)
PROBE_FRESH_S = 1.0  # a write probe that succeeded this recently stands for the next (check_writable)
SETUP_WAIT_S = 120.0  # how long a process starting waits for another's schema set-up
_KEY_SPACE = 0x41445653  # the advisor's advisory locks: (this, hashtext(thread id)), apart from other applications'
_SETUP_KEY = 0  # (key space, 0): held while the schema is set up
# the same connection settings as PostgresSaver.from_conn_string
_CONNECTION = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
_TABLES = (
    "CREATE TABLE IF NOT EXISTS advisor_contents (hash TEXT PRIMARY KEY, data BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS advisor_probe (id INTEGER PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS advisor_secret (id INTEGER PRIMARY KEY, secret BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS advisor_owner (thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL)",
)


def reason(exc: BaseException) -> str:
    """What went wrong, on one line, without credentials: psycopg's message (libpq's, for a connection) or the
    exception's name."""
    text = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
    return redact_urls(text)


class CompactPostgresSaver(CompactContents, PostgresSaver):
    """PostgresSaver that stores large message contents once, keeps the newest checkpoint of each conversation, and
    serializes the turns of a conversation across processes."""

    def __init__(self, conn: Any, turns: ConnectionPool | None = None, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self._init_contents()
        self._turns = turns  # connections that hold a conversation's lock for a turn (None: no cross-process lock)
        self._probe_id = os.getpid() % 2_000_000_000  # one probe row per process: probes never wait on each other
        self._probed_at = -PROBE_FRESH_S  # when a probe last succeeded (time.monotonic())
        self._turns_unpruned: OrderedDict[str, int] = OrderedDict()  # conversation -> its turns since pruning

    def setup(self) -> None:
        """LangGraph's migrations (versioned, each applied once) and the advisor's tables (IF NOT EXISTS)."""
        super().setup()
        with self._cursor() as cur:
            for statement in _TABLES:
                cur.execute(statement)

    @contextmanager
    def _cursor(self, *, pipeline: bool = False) -> Iterator[psycopg.Cursor[DictRow]]:
        """LangGraph's cursor, without its lock when connections come from a pool. That lock keeps one shared
        connection to one thread at a time; here every call has a connection of its own, and with the lock the turns
        of different conversations (each about thirty statements) waited for each other's round trips."""
        if not isinstance(self.conn, ConnectionPool):  # a single connection (set-up): LangGraph's, locked
            with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        try:
            with self.conn.connection() as conn:
                if pipeline:  # one round trip for a checkpoint's blobs and its row, as LangGraph does
                    with conn.pipeline(), conn.cursor(binary=True, row_factory=dict_row) as cur:
                        yield cur
                else:
                    with conn.cursor(binary=True, row_factory=dict_row) as cur:
                        yield cur
        except psycopg.OperationalError:
            self._purge()
            raise

    def _purge(self) -> None:
        """After a connection failed: try every idle connection of both pools now, so that those the database dropped
        (it restarted, or a proxy cut them) are replaced before a turn takes one. Measured without this: the first turn
        after a restart failed on a connection the old server had terminated, one taken within the idle check's 2 s."""
        for pool in (self.conn, self._turns):
            if isinstance(pool, ConnectionPool):
                try:
                    pool.check()
                except psycopg.Error as exc:
                    log.warning("could not check the pool's connections (%s)", reason(exc))

    def close(self) -> None:
        for pool in (self.conn, self._turns):
            if isinstance(pool, ConnectionPool):
                pool.close()

    # ------------------------------------------------------------ CompactContents' SQL

    def _commit_contents(self, new: dict[str, bytes]) -> None:
        if new:
            with self._cursor(pipeline=True) as cur:
                cur.executemany(
                    "INSERT INTO advisor_contents (hash, data) VALUES (%s, %s) ON CONFLICT (hash) DO NOTHING",
                    list(new.items()),
                )

    def _select_contents(self, digests: list[str]) -> Iterable[tuple[str, bytes]]:
        with self._cursor() as cur:
            cur.execute("SELECT hash, data FROM advisor_contents WHERE hash = ANY(%s)", (digests,))
            return [(row["hash"], bytes(row["data"])) for row in cur.fetchall()]

    def _prune(self, config) -> None:
        """Nothing after each checkpoint: :meth:`end_turn` prunes once a turn (LangGraph's pruning is about ten
        statements, and a turn writes about seven checkpoints)."""

    def end_turn(self, thread_id: str) -> None:
        """After every PRUNE_EVERY-th turn of a conversation in this process: LangGraph's keep_latest for it, so only
        its newest checkpoint (and the blobs it refers to) stays. Pruning is about seventeen statements, as many as
        the rest of a turn's storage; measured with bench/concurrency.py, once a turn it cost about a third of the
        database's work. Housekeeping: should it fail (the database went away meanwhile), the next pruning removes
        what this one left."""
        with self._cache_lock:
            done = self._turns_unpruned.pop(thread_id, 0) + 1
            if done < PRUNE_EVERY:
                self._turns_unpruned[thread_id] = done
                if len(self._turns_unpruned) > 10_000:  # a bound on what is remembered: the oldest is pruned later
                    self._turns_unpruned.popitem(last=False)
                return
        try:
            self.prune([thread_id], strategy="keep_latest")
        except psycopg.Error as exc:
            log.warning("could not prune older checkpoints (%s); the next turn will", reason(exc))

    # ------------------------------------------------------------ turns and health

    @contextmanager
    def turn_lock(self, thread_id: str) -> Iterator[None]:
        """Hold the conversation's advisory lock for one turn: a turn of it running in another process finishes
        first. StorageUnavailable when the database cannot be reached."""
        if self._turns is None:
            yield
            return
        try:
            with self._turns.connection(timeout=TURN_WAIT_S) as conn:
                conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_KEY_SPACE, thread_id))
                try:
                    yield
                finally:
                    try:
                        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_KEY_SPACE, thread_id))
                    except psycopg.Error as exc:  # the connection broke: the server has released the lock with it
                        log.warning("could not release a conversation's lock (%s)", reason(exc))
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                self._purge()
            raise StorageUnavailable(f"the conversation database cannot be reached ({reason(exc)})") from exc

    def check_writable(self, recent_ok: bool = False) -> None:
        """Commit one small write, or raise StorageUnavailable saying why. ``recent_ok``: a probe that succeeded
        less than PROBE_FRESH_S ago stands for this one. Every turn asks so (its message is refused before anything
        is acknowledged when the database is down), and under load one committed write a second per process says as
        much as one a turn; a database lost within that second still fails the turn, at its conversation's lock,
        with the same message. /healthz always probes."""
        if recent_ok and time.monotonic() - self._probed_at < PROBE_FRESH_S:
            return
        try:
            with self._cursor() as cur:
                cur.execute(
                    "INSERT INTO advisor_probe (id, at) VALUES (%s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at",
                    (self._probe_id, time.time()),
                )
        except psycopg.Error as exc:
            self._probed_at = -PROBE_FRESH_S
            raise StorageUnavailable(f"the conversation database cannot be written ({reason(exc)})") from exc
        self._probed_at = time.monotonic()

    def shared_secret(self) -> bytes:
        """The secret generated for this database by the first process that asked (advisor/signing.py)."""
        from advisor.signing import new_secret

        try:
            with self._cursor() as cur:
                cur.execute(
                    "INSERT INTO advisor_secret (id, secret) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                    (new_secret(),),
                )
                cur.execute("SELECT secret FROM advisor_secret WHERE id = 1")
                row = cur.fetchone()
        except psycopg.Error as exc:
            raise StorageUnavailable(f"the conversation database cannot be written ({reason(exc)})") from exc
        assert row is not None
        return bytes(row["secret"])

    def claim(self, thread_id: str, owner: str) -> str:
        """Record the conversation's owner unless it has one; returns its owner (advisor/service.py)."""
        try:
            with self._cursor() as cur:
                cur.execute(
                    "INSERT INTO advisor_owner (thread_id, owner) VALUES (%s, %s) ON CONFLICT (thread_id) DO NOTHING",
                    (thread_id, owner),
                )
                cur.execute("SELECT owner FROM advisor_owner WHERE thread_id = %s", (thread_id,))
                row = cur.fetchone()
        except psycopg.Error as exc:
            raise StorageUnavailable(f"the conversation database cannot be written ({reason(exc)})") from exc
        assert row is not None
        return str(row["owner"])

    def owner_of(self, thread_id: str) -> str | None:
        try:
            with self._cursor() as cur:
                cur.execute("SELECT owner FROM advisor_owner WHERE thread_id = %s", (thread_id,))
                row = cur.fetchone()
        except psycopg.Error as exc:
            raise StorageUnavailable(f"the conversation database cannot be read ({reason(exc)})") from exc
        return None if row is None else str(row["owner"])


def _setup_lock_taken(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS taken", (_KEY_SPACE, _SETUP_KEY)).fetchone()
    return bool(row and row["taken"])  # type: ignore[call-overload]


def _set_up(url: str) -> None:
    """Connect once (the error that says why, should that fail) and set the schema up under the set-up lock."""
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, **_CONNECTION) as conn:  # type: ignore[arg-type]
        # polled, not waited for: LangGraph's migrations build indexes CONCURRENTLY, which waits for every open
        # transaction, and a process blocked in pg_advisory_lock is one (three processes starting at once deadlocked)
        deadline = time.monotonic() + SETUP_WAIT_S
        while not _setup_lock_taken(conn):
            if time.monotonic() > deadline:
                raise StorageUnavailable(f"another process held the schema set-up lock for over {SETUP_WAIT_S:.0f} s")
            time.sleep(0.2)
        try:
            CompactPostgresSaver(conn).setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_KEY_SPACE, _SETUP_KEY))


class _IdleCheck:
    """The pool's check: a connection not taken for a few seconds is tried (an empty query) before use, so one that
    broke meanwhile (the server restarted) is replaced rather than failed on; one in steady use is not, which saves
    a round trip per statement under load."""

    def __init__(self, idle_s: float = 2.0) -> None:
        self.idle_s = idle_s
        self.taken: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __call__(self, conn) -> None:
        now = time.monotonic()
        if now - self.taken.get(conn, 0.0) > self.idle_s:
            ConnectionPool.check_connection(conn)
        self.taken[conn] = now


def _pool(url: str, name: str, min_size: int, max_size: int, timeout: float) -> ConnectionPool:
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={**_CONNECTION, "connect_timeout": CONNECT_TIMEOUT_S},
        check=_IdleCheck(),
        timeout=timeout,
        name=name,
        open=False,
    )


def open_postgres(url: str) -> CompactPostgresSaver:
    """The checkpointer for a PostgreSQL database, set up and checked writable; StorageUnavailable says what is
    wrong, never with the password."""
    shown = redact_url(url)
    fix = "check --db (or ADVISOR_DB), that PostgreSQL runs and accepts connections from here, and the credentials"
    try:
        _set_up(url)
        pool = _pool(url, "advisor-checkpoints", 1, STORAGE_CONNECTIONS, POOL_TIMEOUT_S)
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        turns = _pool(url, "advisor-turns", 0, TURN_CONNECTIONS, TURN_WAIT_S)
        turns.open()
    except psycopg.Error as exc:
        raise StorageUnavailable(f"cannot use the conversation database {shown} ({reason(exc)}); {fix}") from exc
    saver = CompactPostgresSaver(pool, turns)
    try:
        saver.check_writable()
    except StorageUnavailable as exc:
        saver.close()
        raise StorageUnavailable(f"{exc}: {shown}; {fix}") from exc
    return saver
