"""Conversations in a real PostgreSQL server, shared by replicas and by the workers of ``advisor serve --workers N``
(issue 16). The server is Debian's ``postgresql`` (installed by .ci/run), started and stopped by these tests in a
temporary folder (tests/postgres_server.py); nothing is mocked.

- a conversation begun on one server process continues on another, through every way in: the OpenAI-compatible
  endpoint, the plain HTTP routes, MCP, Gradio's one-request API and the browser UI behind a proxy that sends each
  request to the next replica (no sticky sessions);
- SIGKILL of the worker running a turn loses no stored message, the other worker goes on serving, and the supervisor
  replaces the one killed;
- a database that cannot be reached is refused at start with a message that says why (and never the password), and
  one that goes away while the server runs gets a clear error, not a traceback, and the server recovers;
- schema set-up is idempotent, also when several processes start at once;
- a conversation is pruned to its newest checkpoint every few turns, and a long message is stored once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.postgres_server import MISSING, TempPostgres, binaries
from tests.test_app import LAUNCH_ARGS, ROOT, Server, _chromium, free_port
from tests.test_reliability import _chat as chat  # the OpenAI-compatible endpoint, streamed or not
from tests.test_reliability import _thread as thread  # GET /api/threads/{id}

pytestmark = pytest.mark.postgres
FIRST = "We have one RTX 4090 and need a commercially usable coding model"


@pytest.fixture(scope="module")
def pg():
    if binaries() is None:
        if os.environ.get("ADVISOR_REQUIRE_POSTGRES"):
            pytest.fail(f"{MISSING}; ADVISOR_REQUIRE_POSTGRES is set")
        pytest.skip(MISSING)
    with TempPostgres() as server:
        yield server


_databases = iter(range(1, 1000))


@pytest.fixture
def db(pg) -> str:
    """A fresh database of the shared server, for one test."""
    return pg.create_database(f"t{next(_databases)}")


class PgServer(Server):
    """``python app.py --db postgresql://...`` (one process, or --workers N) on a free port."""

    def __init__(self, tmp: Path, url: str, *extra: str, env: dict | None = None):
        super().__init__(tmp, *extra, env=env)
        self.args[self.args.index("--db") + 1] = url


def users(state: dict) -> list[str]:
    return [m["content"] for m in state["messages"] if m["role"] == "user"]


def mcp_chat(url: str, message: str, thread_id: str) -> list:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        async with streamable_http_client(url + "/gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool("chat_api", {"message": message, "thread_id": thread_id})
                assert not result.isError, result
                return [c.text for c in result.content if c.type == "text"]

    return asyncio.run(asyncio.wait_for(run(), timeout=120))


def worker_pids(supervisor_pid: int) -> list[int]:
    """The supervisor's child processes (its workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == supervisor_pid:
            found.append(int(stat.parent.name))
    return sorted(found)


# ---------------------------------------------------------------- one conversation, any process


def test_a_conversation_continues_on_another_replica_through_every_api(tmp_path, db):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = PgServer(tmp_path / "a", db).start(), PgServer(tmp_path / "b", db).start()
    tid = "replicas-1"
    try:
        chat(a.url, tid, FIRST)
        second = chat(b.url, tid, "Actually we have two of them")  # B reads what A stored
        assert "RTX 4090" in second
        state = thread(b.url, tid)
        assert state["requirements"]["num_gpus"] == 2 and state["requirements"]["commercial"] is True
        assert state["shortlist"]

        # Gradio's one-request API on A (POST /gradio_api/run/chat), MCP's chat tool on B, a stream on A
        run = httpx.post(a.url + "/gradio_api/run/chat", json={"data": ["and at 32k context?", tid]}, timeout=120)
        assert run.status_code == 200, run.text
        reply, same = run.json()["data"][0]  # the function returns one value: (reply, thread id)
        assert same == tid and "32,768" in reply
        texts = mcp_chat(b.url, "Which one is cheapest to run?", tid)
        assert texts and tid in texts[-1]
        streamed = chat(a.url, tid, "Thanks, what about its licence?", stream=True)
        assert streamed.strip()

        on_a, on_b = thread(a.url, tid), thread(b.url, tid)
        assert on_a == on_b
        assert users(on_a) == [
            FIRST,
            "Actually we have two of them",
            "and at 32k context?",
            "Which one is cheapest to run?",
            "Thanks, what about its licence?",
        ]
        assert on_a["requirements"]["min_context"] == 32768 and on_a["requirements"]["num_gpus"] == 2
        report = httpx.get(f"{b.url}/api/threads/{tid}/report?format=md", timeout=60)
        assert report.status_code == 200 and "Which one is cheapest to run?" in report.text
    finally:
        a.stop()
        b.stop()


def test_turns_of_one_conversation_sent_to_two_replicas_at_once_are_both_kept(tmp_path, db):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = PgServer(tmp_path / "a", db).start(), PgServer(tmp_path / "b", db).start()
    tid = "replicas-race"
    try:
        chat(a.url, tid, FIRST)
        texts = [f"question {i}: what about {n} GPUs?" for i, n in enumerate((2, 3, 4, 1, 2, 3))]
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda i: chat((a, b)[i % 2].url, tid, texts[i]), range(6)))
        sent = users(thread(a.url, tid))
        # the turns ran one after another (the conversation's lock), so none overwrote another's messages
        assert sent[0] == FIRST and sorted(sent[1:]) == sorted(texts)
        messages = thread(b.url, tid)["messages"]
        assert [m["role"] for m in messages].count("assistant") >= 7
    finally:
        a.stop()
        b.stop()


@pytest.mark.browser
def test_browser_behind_a_proxy_without_sticky_sessions(tmp_path, db):
    """Two replicas (--stateless-ui) behind a round-robin proxy: one page, its events answered by both."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from tests.round_robin_proxy import RoundRobinProxy

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = PgServer(tmp_path / "a", db, "--stateless-ui").start()
    b = PgServer(tmp_path / "b", db, "--stateless-ui").start()
    try:
        with RoundRobinProxy([a.url, b.url]) as proxy, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(proxy.url + "/", wait_until="domcontentloaded")
            page.wait_for_selector("#message textarea", timeout=60_000)
            asked = [FIRST, "Actually we have two of them", "and at 32k context?"]
            for n, text in enumerate(asked, start=1):
                page.fill("#message textarea", text)
                page.click("#send")
                page.wait_for_function(
                    f"document.querySelectorAll('[data-testid=\"user\"]').length >= {n} && "
                    f"document.querySelectorAll('[data-testid=\"bot\"]').length >= {2 * n}",
                    timeout=90_000,
                )
                page.wait_for_function("!document.querySelector('#message textarea').value", timeout=30_000)
            shown = page.inner_text("#requirements")  # what each turn added, kept by replicas that took turns
            assert "GPUs: 2" in shown and "32,768" in shown and "RTX 4090" in shown
            chat_text = page.inner_text("#chat")
            assert all(text in chat_text for text in asked)

            page.reload(wait_until="domcontentloaded")  # the conversation is read back, by whichever replica
            page.wait_for_selector("#chat", timeout=60_000)
            page.wait_for_function(
                "(document.querySelector('#chat')?.innerText || '').includes('and at 32k context?')", timeout=60_000
            )
            browser.close()
        events = [(path, i) for method, path, i in proxy.served if method == "POST" and "/run/" in path]
        assert {i for _, i in events} == {0, 1}, proxy.served  # both replicas answered this page's events
        assert users(thread(a.url, _only_thread(db))) == asked
    finally:
        a.stop()
        b.stop()


def _only_thread(db: str) -> str:
    """The one conversation stored in this test's own database (the page's)."""
    import psycopg

    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


# ---------------------------------------------------------------- a worker killed mid-turn


def test_sigkill_of_a_worker_mid_turn_loses_nothing_and_the_other_goes_on(tmp_path, db):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "workers.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.stalling_server", str(port), db, "2"],
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_healthy(url, proc, log)
        deadline = time.time() + 60
        while len(worker_pids(proc.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        workers = worker_pids(proc.pid)
        assert len(workers) == 2, log.read_text()
        tid = "worker-kill-1"
        chat(url, tid, FIRST)
        chat(url, tid, "Actually we have two of them")
        before = thread(url, tid)

        failed: dict = {}

        def stalled_turn():
            try:
                chat(url, tid, "[stall] and what about a 32k context?", timeout=120)
            except httpx.HTTPError as exc:
                failed["error"] = exc

        t = threading.Thread(target=stalled_turn, daemon=True)
        t.start()
        deadline = time.time() + 60
        while "STALL-BEGIN" not in log.read_text() and time.time() < deadline:
            time.sleep(0.1)
        victim = int(log.read_text().split("STALL-BEGIN ", 1)[1].split()[0])
        assert victim in workers
        os.kill(victim, signal.SIGKILL)
        t.join(60)
        assert "error" in failed  # its client saw the connection drop

        # the other worker goes on at once: a new conversation, and this one (its lock went with the killed worker)
        assert "Shortlist" in chat(url, "worker-kill-2", FIRST, timeout=60)
        after = thread(url, tid)
        assert after["messages"][: len(before["messages"])] == before["messages"]
        assert users(after) == [FIRST, "Actually we have two of them", "[stall] and what about a 32k context?"]
        assert after["requirements"]["num_gpus"] == 2
        reply = chat(url, tid, "Just recommend, with 32k context", timeout=60)
        assert "Shortlist" in reply or "32,768" in reply
        assert users(thread(url, tid))[-1] == "Just recommend, with 32k context"

        # the supervisor replaced the worker it lost
        deadline = time.time() + 60
        while time.time() < deadline:
            now = worker_pids(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.3)
        assert len(worker_pids(proc.pid)) == 2 and victim not in worker_pids(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, wait_s: float = 90) -> None:
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


# ---------------------------------------------------------------- start-up and outages


def _start(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--driver", "offline", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
def test_an_unreachable_database_is_refused_at_start(workers):
    out = _start("--db", f"postgresql://advisor:s3cret-pw@127.0.0.1:{free_port()}/advisor", *workers)
    assert out.returncode == 2, out.stderr
    assert "cannot use the conversation database postgresql://***@127.0.0.1" in out.stderr
    assert "refused" in out.stderr.lower() or "connect" in out.stderr.lower()
    assert "s3cret-pw" not in out.stderr + out.stdout and "Traceback" not in out.stderr


def test_a_wrong_password_and_a_missing_database_are_named(pg):
    wrong = _start("--db", pg.url_of("postgres").replace(pg.password, "not-it"))
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr
    assert "not-it" not in wrong.stderr and "Traceback" not in wrong.stderr
    missing = _start("--db", pg.url_of("no_such_db"))
    assert missing.returncode == 2 and 'database "no_such_db" does not exist' in missing.stderr
    assert pg.password not in missing.stderr


def test_the_password_can_stay_out_of_the_url(tmp_path, db):
    """docs/deploy.md: ADVISOR_DB without the password, which libpq reads from PGPASSWORD."""
    from tests.postgres_server import USER

    bare = db.replace(f"{USER}:{db.split(':')[2].split('@')[0]}@", f"{USER}@")
    assert "pw-" not in bare
    srv = PgServer(tmp_path, bare, env={"PGPASSWORD": db.split(":")[2].split("@")[0]}).start()
    try:
        assert httpx.get(srv.url + "/healthz", timeout=30).json()["storage"] == {"ok": True}
        assert "Shortlist" in chat(srv.url, "pgpassword-1", FIRST)
    finally:
        srv.stop()


def test_several_workers_need_postgresql(tmp_path):
    out = _start("--workers", "2", "--db", str(tmp_path / "c.sqlite"))
    assert out.returncode == 2 and "--workers needs conversations in PostgreSQL" in out.stderr
    zero = _start("--workers", "0")
    assert zero.returncode == 2 and "--workers" in zero.stderr and "must be 1 or more" in zero.stderr


def test_the_database_going_away_gives_a_clear_error_and_the_server_recovers(tmp_path):
    with TempPostgres() as own:  # a server of its own, stopped and started again by this test
        url = own.create_database("advisor")
        srv = PgServer(tmp_path, url).start()
        try:
            tid = "outage-1"
            chat(srv.url, tid, FIRST)
            own.stop()
            body = {"messages": [{"role": "user", "content": "Actually we have two of them"}], "thread_id": tid}
            down = httpx.post(srv.url + "/v1/chat/completions", json=body, timeout=120)
            assert down.status_code in (200, 503), down.text
            said = down.text
            assert re.search(r"not (be )?saved", said) and "Traceback" not in said and own.password not in said
            health = httpx.get(srv.url + "/healthz", timeout=30)
            assert health.status_code == 503 and not health.json()["storage"]["ok"]

            own.start()
            deadline = time.time() + 60
            while httpx.get(srv.url + "/healthz", timeout=30).status_code != 200 and time.time() < deadline:
                time.sleep(0.5)
            assert "RTX 4090" in chat(srv.url, tid, "Actually we have two of them")
            assert users(thread(srv.url, tid)) == [FIRST, "Actually we have two of them"]
        finally:
            srv.stop()


# ---------------------------------------------------------------- the saver itself, in this process


def test_schema_set_up_is_idempotent_when_processes_start_at_once(db):
    from advisor.storage_postgres import open_postgres

    with ThreadPoolExecutor(4) as pool:
        savers = list(pool.map(lambda _: open_postgres(db), range(4)))
    for saver in savers:
        saver.close()
    open_postgres(db).close()  # and again, on a database already set up

    import psycopg

    with psycopg.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        versions = [r[0] for r in conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v")]
    assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "advisor_contents"} <= tables
    assert versions == sorted(set(versions))  # each migration applied once


def test_a_conversation_is_pruned_to_one_checkpoint_and_long_messages_are_stored_once(db):
    import psycopg

    from advisor.config import Settings
    from advisor.service import Advisor

    advisor = Advisor.create(Settings(driver="offline", db=db))
    try:
        long_text = "We need a coding assistant for our team. " + "Some background about our codebase. " * 120
        tid = advisor.ask(long_text).thread_id

        def checkpoints() -> int:
            with psycopg.connect(db) as conn:
                row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (tid,)).fetchone()
            assert row is not None
            return row[0]

        counts = [checkpoints()]
        for text in ("Actually we have two RTX 4090s", "and at 32k context?", "what about the licence?") * 2:
            advisor.ask(text, thread_id=tid)
            counts.append(checkpoints())
        # pruned after the 4th turn (PRUNE_EVERY) to the newest checkpoint, growing in between, never unbounded
        assert counts[3] == 1 and max(counts) <= 3 * 12 and counts[4] > 1, counts
        with psycopg.connect(db) as conn:
            contents = conn.execute("SELECT count(*) FROM advisor_contents").fetchone()
        assert contents is not None and 1 <= contents[0] <= 12  # the long message once, not once per checkpoint
        assert [m["content"] for m in advisor.history(tid) if m["role"] == "user"][0] == long_text.strip()
    finally:
        advisor.checkpointer.close()


def test_the_server_secret_is_shared_by_replicas_of_one_database_and_survives_restarts(db, pg):
    """The key that signs the page's conversation id (and the page's own storage key, derived from it) must be the
    same on every replica of one database and after a restart, or a page could not read its conversation back. It
    is generated once and stored in the database (issue 29, finding 4), concurrently too."""
    from concurrent.futures import ThreadPoolExecutor

    from advisor.storage_postgres import open_postgres

    with ThreadPoolExecutor(4) as pool:  # four processes' worth of savers starting at once
        savers = list(pool.map(lambda _: open_postgres(db), range(4)))
    try:
        secrets = {saver.shared_secret() for saver in savers}
        assert len(secrets) == 1 and len(next(iter(secrets))) == 32
        other = open_postgres(pg.create_database(f"t{next(_databases)}"))
        try:
            assert other.shared_secret() not in secrets
        finally:
            other.close()
    finally:
        for saver in savers:
            saver.close()
