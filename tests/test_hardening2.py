"""Hardening, second pass (issue 29): one regression test per finding of the second review, each of which failed on
the code before its fix. Figures (time per hostile message, /healthz under load, UI users at once) are measured by
scripts under bench/, never asserted as timings here; these tests assert what bounds them (comparisons made, pools
used, turns run at once)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from tests.test_app import ROOT, free_port
from tests.test_hardening import COMMONMARK
from tests.test_postgres import worker_pids

# ---------------------------------------------------------------- 1. near-miss names cost a bounded amount


def hostile_message(chars: int = 8000, seed: int = 29) -> str:
    """A message of near-miss model names ("lama37b qwn12b gema54b ..."), each a versioned name the catalog lacks."""
    rng = random.Random(seed)
    heads = ["lama", "qwn", "gema", "mistrl", "phii", "deepsek", "falcn", "llama", "qwen", "gemma"]
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(f"{rng.choice(heads)}{rng.randint(1, 99)}b")
    return " ".join(words)[:chars]


def test_near_miss_names_examined_per_message_are_bounded(monkeypatch):
    """Finding 1. Every unknown name in a message was compared (difflib) with every catalog name: 252 lookups of
    ~1,100 names each for one 8,000-character message, 14-27 s of CPU. Now at most MAX_SUGGESTED unknown names are
    looked up per message, each once."""
    from advisor import nlu
    from advisor.nlu import entities, read
    from catalog.query import NameIndex

    calls: list[str] = []
    real = NameIndex.suggest

    def counted(self, query, n=5):
        calls.append(query)
        return real(self, query, n)

    monkeypatch.setattr(NameIndex, "suggest", counted)
    nlu._read.cache_clear()  # a reading cached by another test would make no lookups
    reading = read(hostile_message())
    unknown = [m for m in reading.mentions if m.kind == "model" and m.status == "unknown"]
    assert len(calls) <= entities.MAX_SUGGESTED, len(calls)
    assert len(calls) == len(set(calls))  # each name once, though the message is scanned twice
    assert len(unknown) > entities.MAX_SUGGESTED  # there were more to examine: the cap is what held
    assert sum(1 for m in unknown if m.suggestions) <= entities.MAX_SUGGESTED
    # a normal message still gets its suggestions
    calls.clear()
    assert "gemma-3-27b" in read("Is gemma 5 27b any good?").mentions[0].suggestions


def test_suggestions_come_from_a_prepared_index():
    """Finding 1 (catalog). Suggestions are one rapidfuzz pass over names prepared once, with a score cutoff; the
    closest names are still offered first."""
    from catalog.query import LookupFailed, get_catalog

    cat = get_catalog()
    index = cat._model_index  # noqa: SLF001 (the index itself is what is tested)
    assert len(index.names) == len(index.exact) and index.names[0] in index.exact
    with pytest.raises(LookupFailed) as err:
        cat.model("lama 3.1 8b instrct")
    assert err.value.suggestions[0] == "llama-3.1-8b"
    with pytest.raises(LookupFailed) as err:
        cat.model("zzzzqqqqxxxx")
    assert err.value.suggestions == []  # nothing close enough: the cutoff holds


# ---------------------------------------------------------------- 2. /healthz never waits behind a turn


class HeldModel(BaseChatModel):
    """A chat model whose every call waits until ``release`` is set (a slow model call), counting the calls inside."""

    release: Any
    inside: list = []

    @property
    def _llm_type(self) -> str:
        return "held"

    def bind_tools(self, tools: Any, **kwargs: Any) -> HeldModel:
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.inside.append(1)
        self.release.wait(120)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="Done."))])


async def _default_pool_in_use() -> int:
    import anyio.to_thread

    return int(anyio.to_thread.current_default_thread_limiter().borrowed_tokens)


def _within(seconds: float, call):
    """call() in a thread; its result, or None if it has not returned within ``seconds``."""
    box: list = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    return box[0] if box else None


SLOW_TURNS = {"chat": 40, "v1": 8, "exercise": 4}  # 40: AnyIO's default pool, which every edge but /v1 used


def test_slow_turns_on_every_edge_leave_healthz_answering(make_advisor):
    """Finding 2. /healthz is synchronous, so it ran in AnyIO's default pool of 40 threads, and so did every turn
    through Gradio (its chat API, which MCP uses, the stateless UI) and every exercise: 40 slow turns stopped /healthz
    for the whole model call. Now turns, exercises, the UI and the health check each wait in a pool of their own:
    with 52 model calls held, the default pool is (nearly) idle and /healthz answers."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server

    model = HeldModel(release=threading.Event())
    advisor = make_advisor(model, offline=False)
    calls = {
        "chat": lambda c, k: c.post("/gradio_api/run/chat", json={"data": [f"Question {k}", ""]}),
        "v1": lambda c, k: c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": f"Q{k}"}]}),
        "exercise": lambda c, k: c.post("/api/exercises/1"),
    }
    with TestClient(app_server.create_app(advisor.settings, advisor=advisor)) as client:
        with ThreadPoolExecutor(sum(SLOW_TURNS.values())) as pool:
            try:
                futures = [pool.submit(calls[edge], client, k) for edge, n in SLOW_TURNS.items() for k in range(n)]
                deadline = time.monotonic() + 30
                while len(model.inside) < len(futures) and time.monotonic() < deadline:
                    time.sleep(0.1)
                health = _within(5, lambda: client.get("/healthz"))
                assert health is not None, "/healthz waited behind the slow turns"
                assert health.status_code == 200 and health.json()["storage"] == {"ok": True}
                assert len(model.inside) == len(futures), f"{len(model.inside)} of {len(futures)} turns started"
                in_use = client.portal.call(_default_pool_in_use)
                assert in_use < 5, f"{in_use} threads of the default pool held by slow turns"
            finally:
                model.release.set()
            assert [f.result(timeout=60).status_code for f in futures] == [200] * len(futures)


# ---------------------------------------------------------------- 3. UI turns run concurrently


def _ui_turn(client, respond: dict, text: str) -> dict:
    """One chat turn as the page sends it through Gradio's queue (queue/join, then the event stream to its end)."""
    session = uuid.uuid4().hex[:11]
    joined = client.post(
        "/gradio_api/queue/join",
        json={"data": [text, [], ""], "fn_index": respond["id"], "session_hash": session, "event_data": None},
    )
    assert joined.status_code == 200, joined.text[:300]
    with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as events:
        for line in events.iter_lines():
            if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                return json.loads(line[5:])
    raise AssertionError("the turn never completed")


@pytest.mark.parametrize("concurrency", [4, 40])
def test_ui_turns_run_concurrently_up_to_the_configured_limit(make_advisor, concurrency):
    """Finding 3. The chat event had Gradio's default concurrency limit of 1: four users' turns ran one after the
    other (6.9, 13, 19 and 25 s). Now up to Settings.concurrency (--concurrency, default 40) run at once."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server

    users = min(concurrency + 2, 6)  # more users than a limit of 4: the limit holds as well as allows
    model = HeldModel(release=threading.Event())
    advisor = make_advisor(model, offline=False, concurrency=concurrency)
    with TestClient(app_server.create_app(advisor.settings, advisor=advisor)) as client:
        deps = client.get("/config").json()["dependencies"]
        respond = next(d for d in deps if d.get("api_name") == "respond")
        with ThreadPoolExecutor(users) as pool:
            try:
                turns = [pool.submit(_ui_turn, client, respond, f"User {k} asks") for k in range(users)]
                deadline = time.monotonic() + 30
                while len(model.inside) < min(users, concurrency) and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(0.5)  # time for any turn past the limit to start, if the limit let it
                assert len(model.inside) == min(users, concurrency), (len(model.inside), users, concurrency)
            finally:
                model.release.set()
            assert all(t.result(timeout=60)["success"] for t in turns)
    assert len(model.inside) == users


# ---------------------------------------------------------------- 4. the page's conversation id is signed


def _ui_fn(demo, name: str):
    return next(f.fn for f in demo.fns.values() if f.name == name)


def test_the_page_cannot_choose_its_conversation(make_advisor, tmp_path, monkeypatch):
    """Finding 4. The page's conversation id was encrypted in the browser with a key published in /config (a hash
    of a fixed prefix and the --db URL): anyone could hand the page any thread id. Now the server signs the id with
    a secret it never sends (ADVISOR_SECRET, else one generated and stored once in the database) and a value it
    did not sign starts a new conversation."""
    from advisor.config import Settings
    from advisor.service import Advisor
    from advisor.ui import build_ui

    advisor = make_advisor()
    victim = "b" * 32
    advisor.ask("We have one RTX 4090 and need a commercially usable coding model. Just recommend.", thread_id=victim)
    demo = build_ui(advisor)
    load = _ui_fn(demo, "load_thread")
    for forged in (victim, victim + ".AAAAAAAAAAAAAAAAAAAAAA", "x" * 40):
        thread, stored, chat, *_ = load(forged)
        assert chat == [] and victim not in f"{thread}{stored}", forged
    token = load("")[1]  # the server's own token for a new conversation: it reads back as that conversation
    assert load(token)[1] == token and load(token)[0] == token
    config = json.dumps(demo.get_config_file(), default=str)
    assert advisor.secret.hex() not in config

    # the secret: from ADVISOR_SECRET, or generated once for the database and shared by every process using it
    db = str(tmp_path / "c.sqlite")
    first, again = (Advisor.create(Settings(driver="offline", db=db)) for _ in range(2))
    other = Advisor.create(Settings(driver="offline", db=str(tmp_path / "d.sqlite")))
    assert first.secret == again.secret != other.secret and len(first.secret) >= 32
    monkeypatch.setenv("ADVISOR_SECRET", "operator-chosen secret value, long enough")
    assert Advisor.create(Settings(driver="offline", db=db)).secret not in (first.secret, other.secret)
    token = _ui_fn(build_ui(first), "start_new")()[0]
    assert _ui_fn(build_ui(again), "load_thread")(token)[0] == token  # another replica of the same database
    assert _ui_fn(build_ui(other), "load_thread")(token)[0] != token


def test_an_unusable_secret_is_refused_at_start(tmp_path, monkeypatch, capsys):
    """Finding 4 (set-up). A short ADVISOR_SECRET, or a file that cannot be read, stops the server with the setting
    named, before anything listens; a file's contents are used as the secret."""
    from advisor import server as app_server
    from advisor.config import Settings
    from advisor.signing import configured_secret

    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the server must not start"))
    monkeypatch.setenv("ADVISOR_SECRET", "short")
    assert app_server.serve(settings=Settings(driver="offline", db=":memory:")) == 2
    assert "ADVISOR_SECRET must be at least 16 characters" in capsys.readouterr().err
    monkeypatch.setenv("ADVISOR_SECRET_FILE", str(tmp_path / "missing"))
    assert app_server.serve(settings=Settings(driver="offline", db=":memory:")) == 2
    assert "ADVISOR_SECRET_FILE" in capsys.readouterr().err
    (tmp_path / "secret").write_text("a secret read from a file\n")
    monkeypatch.setenv("ADVISOR_SECRET_FILE", str(tmp_path / "secret"))
    from_file = configured_secret()
    monkeypatch.delenv("ADVISOR_SECRET_FILE")
    monkeypatch.setenv("ADVISOR_SECRET", "a secret read from a file")
    assert from_file == configured_secret() is not None


# ---------------------------------------------------------------- 5, 6. the supervisor of --workers


def _supervise(factory: str, port: int, tmp_path, env: dict | None = None) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "supervisor.log"
    code = (
        "import sys; from advisor.workers import Supervisor; "
        f"sys.exit(Supervisor({factory!r}, '127.0.0.1', {port}, 2, 1).run())"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    return proc, log


@pytest.mark.server
def test_a_worker_that_can_never_start_makes_the_server_give_up(tmp_path):
    """Finding 6. A worker whose app cannot be built for good (a catalog that fails validation) was started again
    every second for ever: the port never answered and the supervisor never exited. Now a worker that fails to start
    MAX_FAILED_STARTS times in a row, with growing pauses, stops the server with a clear message and status 1."""
    from advisor.workers import MAX_FAILED_STARTS

    proc, log = _supervise("tests.failing_worker:broken", free_port(), tmp_path)
    try:
        assert proc.wait(timeout=120) == 1, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert text.count("stands for a bad catalog") <= 2 * MAX_FAILED_STARTS  # bounded tries, both workers together
    assert f"could not start {MAX_FAILED_STARTS} times in a row" in text and "stopping the server" in text


@pytest.mark.server
def test_a_worker_that_waits_for_the_database_is_retried_while_the_others_serve(tmp_path):
    """Finding 5 (the supervisor's side). A worker that could not start because the database was away stopped the
    whole server, healthy workers included (exit 1). Now it is retried, with growing pauses and no limit, while the
    others serve, and starts once the database is back."""
    marker = tmp_path / "database-is-back"
    marker.touch()
    port = free_port()
    proc, log = _supervise(
        "tests.failing_worker:waits_for_marker", port, tmp_path, {"FAILING_WORKER_MARKER": str(marker)}
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        assert _wait_for(lambda: len(worker_pids(proc.pid)) == 2 and _get(url), 60), log.read_text()
        marker.unlink()  # the database goes away, then a worker dies
        victim, survivor = worker_pids(proc.pid)
        os.kill(victim, signal.SIGKILL)
        assert _wait_for(lambda: log.read_text().count("stands for an outage") >= 3, 60), log.read_text()
        assert proc.poll() is None, log.read_text()  # the supervisor waits, it does not give up
        assert _get(url) and survivor in worker_pids(proc.pid)  # the healthy worker kept serving
        marker.touch()  # the database is back
        back = time.monotonic()
        assert _wait_for(lambda: len(worker_pids(proc.pid)) == 2, 60), log.read_text()
        assert time.monotonic() - back < 30 and victim not in worker_pids(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(predicate, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    return predicate()


@pytest.mark.postgres
def test_a_database_outage_and_a_worker_death_recover_by_themselves(tmp_path):
    """Finding 5. --workers 2: PostgreSQL stops, then a worker dies (as under the OOM killer). Its replacement could
    not start, so the supervisor stopped the healthy worker too and exited 1; once PostgreSQL was back nothing
    listened. Now the healthy worker answers (503 while the database is away), the replacement is retried, and
    within 30 s of the database's return both workers serve again."""
    from tests.postgres_server import MISSING, TempPostgres, binaries

    if binaries() is None:
        if os.environ.get("ADVISOR_REQUIRE_POSTGRES"):
            pytest.fail(f"{MISSING}; ADVISOR_REQUIRE_POSTGRES is set")
        pytest.skip(MISSING)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with TempPostgres() as own:
        db = own.create_database("advisor")
        args = ["--driver", "offline", "--port", str(port), "--workers", "2", "--db", db]
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), *args], stdout=open(log, "ab"), stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            assert _wait_for(lambda: len(worker_pids(proc.pid)) == 2 and _get(url + "/healthz"), 120), log.read_text()
            own.stop()
            victim, survivor = worker_pids(proc.pid)
            os.kill(victim, signal.SIGKILL)
            refused = "cannot use the conversation database"
            assert _wait_for(lambda: log.read_text().count(refused) >= 2, 90), log.read_text()[-3000:]  # twice
            assert proc.poll() is None, log.read_text()[-3000:]
            health = httpx.get(url + "/healthz", timeout=30)
            assert health.status_code == 503 and health.json()["status"] == "storage_error", (
                health.text,
                log.read_text()[-4000:],
            )
            assert survivor in worker_pids(proc.pid)
            own.start()
            back = time.monotonic()
            assert _wait_for(lambda: len(worker_pids(proc.pid)) == 2 and _get(url + "/healthz"), 60), log.read_text()
            assert time.monotonic() - back < 30, time.monotonic() - back
            body = {"messages": [{"role": "user", "content": "We have one RTX 4090; just recommend a coding model"}]}
            assert httpx.post(url + "/v1/chat/completions", json=body, timeout=60).status_code == 200
            assert own.password not in log.read_text()
        finally:
            proc.terminate()
            proc.wait(30)


# ---------------------------------------------------------------- 7. one redaction, libpq's reading of a URL

SECRET_PASSWORDS = ["pa#ss", "pa/ss", "pa?ss", "p@ss", "p%40ss%2F%23%3F", "pa#s/s?x@y", "plain-pw"]


@pytest.mark.parametrize("password", SECRET_PASSWORDS)
def test_passwords_with_url_delimiters_are_redacted(password):
    """Finding 7. A password containing '#' was printed in full on the --workers start-up line and in every error
    naming the database: the redaction stopped looking for the user part at '#' (and at '/' or '?'), where libpq
    does not. Now one function reads a URL's user part as libpq does, up to the last '@' of the authority."""
    from advisor.config import redact_url, redact_urls

    for url in (
        f"postgresql://advisor:{password}@db.internal:5432/advisor",
        f"postgres://advisor:{password}@db.internal/advisor?sslmode=require",
        f"http://svc:{password}@127.0.0.1:8000/v1",
    ):
        shown = redact_url(url)
        assert password not in shown and "advisor:" not in shown and "svc" not in shown, shown
        assert "***@" in shown and ("db.internal" in shown or "127.0.0.1:8000/v1" in shown), shown
        text = redact_urls(f"error: cannot use the conversation database {url} (connection refused); check --db")
        assert password not in text and text.endswith("(connection refused); check --db"), text
    query = redact_url(f"postgresql://db.internal/advisor?user=advisor&password={password}&sslmode=require")
    assert password not in query and "password=***" in query, query
    assert redact_url("postgresql://db.internal:5432/advisor") == "postgresql://db.internal:5432/advisor"


def test_the_workers_start_up_refusal_never_shows_the_password(capsys):
    """Finding 7 (where it showed). The database named in --workers' refusal and start-up line, with '#' in the
    password."""
    from advisor import server as app_server
    from advisor.config import Settings

    for password in ("pa#ss-word", "pa?ss/word"):
        db = f"postgresql://advisor:{password}@127.0.0.1:{free_port()}/advisor"
        assert app_server.serve(settings=Settings(driver="offline", db=db), workers=2) == 2
        err = capsys.readouterr().err
        assert "cannot use the conversation database postgresql://***@127.0.0.1" in err and password not in err, err


# ---------------------------------------------------------------- 8. the offline driver quotes users literally


@pytest.mark.parametrize(
    "message",
    [
        "Is qwen<h1>9b any good?",
        "How much memory for qwen*9b*?",
        "Is qwen<i>9b any good?",
        "Is gemma`<b>`9b any good?",
    ],
)
def test_the_offline_driver_quotes_user_text_literally(make_advisor, message):
    """Finding 8. The offline driver quoted an unknown name as typed: 'qwen<h1>9b' came back as
    '"qwen<h1>9b" is not in the catalog', and the browser rendered the <h1>. What it quotes is now a code span."""
    from advisor.ui import history_to_chat

    advisor = make_advisor()
    reply = advisor.ask(message, thread_id="quoted").reply
    assert "not in the catalog" in reply or "Which model do you mean" in reply, reply
    shown = COMMONMARK.render(reply)
    for tag in ("<h1", "<img", "<em", "<b>"):
        assert tag not in shown, (tag, shown)
    assert "<code>" in shown  # the user's words, shown as written
    bot = history_to_chat(advisor, "quoted")[-1].content
    assert not any(tag in COMMONMARK.render(bot) for tag in ("<h1", "<img", "<em", "<b>"))


def test_code_span_holds_any_text():
    from advisor.render import code_span

    for text in ("plain", "a`b", "``x``", "`", "<h1>*x*</h1>", "line\nbreak", ""):
        html = COMMONMARK.render(code_span(text))
        assert html.count("<code>") == 1 and "<h1" not in html and "<em" not in html, (text, html)


# ---------------------------------------------------------------- 9. MCP's bodies are checked like /api's

MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def test_mcp_refuses_deep_huge_and_undecodable_json_like_the_api(make_advisor):
    """Finding 9. /gradio_api/mcp/ answered 500, with a traceback in the log, to JSON nested 50,000 deep, a
    5,000-digit integer and a body that is not UTF-8, where /api answers 422. Its bodies now pass the same parse and
    limits (size, depth) before MCP sees them, and are refused with a JSON-RPC parse error (HTTP 400)."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server
    from advisor.http.errors import MAX_JSON_DEPTH

    advisor = make_advisor()
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    deep = "[" * 50_000 + "]" * 50_000
    bodies = {
        "deep": deep.encode(),
        "deep inside a request": json.dumps({**initialize, "params": {}})[:-2].encode()
        + b', "x": '
        + (b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5))
        + b"}}",
        "huge integer": b'{"jsonrpc": "2.0", "id": ' + b"9" * 5000 + b', "method": "ping"}',
        "not UTF-8": b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}',
        "too large": b'{"x": "' + b"a" * 300_000 + b'"}',
    }
    with TestClient(app_server.create_app(advisor.settings, advisor=advisor), raise_server_exceptions=False) as client:
        for what, body in bodies.items():
            r = client.post("/gradio_api/mcp/", content=body, headers=MCP_HEADERS)
            assert r.status_code in (400, 413), (what, r.status_code, r.text[:300])
            if r.status_code == 400:
                error = r.json()["error"]
                assert error["code"] == -32700 and "JSON" in error["message"], (what, error)
        for path in ("/api/tools/get_model", "/v1/chat/completions"):  # the API refuses the same bodies
            for what, body in bodies.items():
                r = client.post(path, content=body, headers={"content-type": "application/json"})
                assert r.status_code in (413, 422), (path, what, r.status_code)
        ok = client.post("/gradio_api/mcp/", json=initialize, headers=MCP_HEADERS)
        assert ok.status_code == 200 and "serverInfo" in ok.text, ok.text[:300]


# ---------------------------------------------------------------- 10. no upload route when nothing takes files


def test_upload_is_off_when_no_component_takes_files(make_advisor, tmp_path, monkeypatch):
    """Finding 10. /gradio_api/upload stored any file posted to it, never deleted, although no component of the app
    takes a file. It is refused (404) while none does, and nothing is written."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    advisor = make_advisor()
    with TestClient(app_server.create_app(advisor.settings, advisor=advisor), raise_server_exceptions=False) as client:
        for path in ("/gradio_api/upload", "/gradio_api/upload/", "/gradio_api/upload?upload_id=x"):
            r = client.post(path, files={"files": ("note.txt", b"x" * 1000, "text/plain")})
            assert r.status_code == 404, (path, r.status_code, r.text[:200])
            assert r.json()["error"]["type"] == "invalid_input"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], written


# ---------------------------------------------------------------- 11. a Host allow-list, no CORS for foreign pages


def test_foreign_origins_and_hosts_are_refused(make_advisor, monkeypatch):
    """Finding 11. Behind a proxy passing the public name (or under a DNS-rebinding name), the Host is not localhost,
    and Gradio's routes answered any Origin with ``Access-Control-Allow-Credentials: true``; any Host was answered.
    Now a page of another origin is refused (403, no CORS header) whatever the Host, a Host the server was not told
    to answer (400, naming the Host) unless it is /healthz, and `serve` allows the bind address and localhost by
    default, the operator's names with --allowed-hosts."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server
    from advisor.http.middleware import default_allowed_hosts, parse_allowed_hosts

    advisor = make_advisor()
    public = {"host": "advisor.example.com"}
    with TestClient(app_server.create_app(advisor.settings, advisor=advisor), raise_server_exceptions=False) as client:
        for path in ("/config", "/gradio_api/info", "/api/tools", "/gradio_api/mcp/schema"):
            for method in ("GET", "OPTIONS"):
                headers = public | {"origin": "https://evil.example", "access-control-request-method": "POST"}
                r = client.request(method, path, headers=headers)
                assert r.status_code == 403, (method, path, r.status_code)
                assert not any(k.lower().startswith("access-control-allow") for k in r.headers), (path, r.headers)
                assert r.json()["error"]["field"] == "Origin"
            assert client.get(path, headers=public | {"origin": "null"}).status_code == 403
            same = client.get(path, headers=public | {"origin": "https://advisor.example.com"})
            assert same.status_code == 200, (path, same.status_code)
        assert client.get("/config", headers=public).status_code == 200  # no Origin: not a page (curl, SDKs)

    hosts = parse_allowed_hosts(None, "127.0.0.1")
    assert hosts == default_allowed_hosts("127.0.0.1") and set(hosts) == {"127.0.0.1", "localhost", "::1"}
    assert "0.0.0.0" not in parse_allowed_hosts(None, "0.0.0.0")
    assert "advisor.example.com" in parse_allowed_hosts("Advisor.Example.com, other.example", "0.0.0.0")
    assert parse_allowed_hosts("*", "0.0.0.0") is None
    for bad in ("https://advisor.example.com", "advisor.example.com:443", "advisor.example.com/x"):
        with pytest.raises(ValueError, match="--allowed-hosts"):
            parse_allowed_hosts(bad, "0.0.0.0")
    with TestClient(
        app_server.create_app(advisor.settings, advisor=advisor, allowed_hosts=hosts), raise_server_exceptions=False
    ) as client:
        rebound = client.get("/config", headers={"host": "rebind.attacker.example"})
        assert rebound.status_code == 400 and rebound.json()["error"]["field"] == "Host"
        assert "--allowed-hosts" in rebound.json()["error"]["message"]
        assert client.get("/api/tools", headers={"host": "rebind.attacker.example:7860"}).status_code == 400
        assert client.get("/healthz", headers={"host": "10.0.0.7:7860"}).status_code == 200  # probes by address
        for host in ("localhost:7860", "127.0.0.1:7860", "[::1]:7860"):
            assert client.get("/config", headers={"host": host}).status_code == 200, host

    given: dict[str, Any] = {}  # what serve builds the app with
    monkeypatch.setattr(app_server, "create_app", lambda *a, **k: given.update(k) or _StubApp)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    monkeypatch.delenv("ADVISOR_ALLOWED_HOSTS", raising=False)
    assert app_server.serve(host="127.0.0.1", port=free_port()) == 0
    assert set(given["allowed_hosts"]) == {"127.0.0.1", "localhost", "::1"}
    monkeypatch.setenv("ADVISOR_ALLOWED_HOSTS", "advisor.example.com")
    assert app_server.serve(host="0.0.0.0", port=free_port(), insecure=True) == 0
    assert set(given["allowed_hosts"]) == {"advisor.example.com", "localhost", "127.0.0.1", "::1"}


class _StubApp:
    class state:  # noqa: N801
        class advisor:  # noqa: N801
            class info:  # noqa: N801
                @staticmethod
                def describe() -> str:
                    return "offline"
