"""Hardening (issue 17): one regression test per finding of the hostile-user pass, each of which failed before its
fix. Slow upstream models are tests/slow_openai.py, a local fake OpenAI-compatible server; nothing reaches the
network. Timings are not asserted here beyond "answers at all within a bound": bench/dropped_stream.py and
bench/storage_growth.py measure the figures (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from langchain_core.messages import AIMessage
from markdown_it import MarkdownIt

from tests.conftest import ScriptedModel
from tests.reliability_counts import record
from tests.slow_openai import SlowOpenAI
from tests.test_app import Server, _chromium

TOKEN = "TOPSECRET-upstream-token-1234"
AUTH = ("alice", "s3cret")
COMMONMARK = MarkdownIt("commonmark").enable("table")


SERVER_FIXTURES = ("server", "openai_server")  # fixtures that start the app in a subprocess: tests marked `server`


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("hardening")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def upstream():
    with SlowOpenAI(delay_s=0.2, words=25) as slow:  # each answer streams for about 5 s
        yield slow


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory, upstream):
    """The app behind --auth, driven by the slow upstream through a base URL that carries a credential."""
    base_url = upstream.url.replace("http://", f"http://svc:{TOKEN}@")
    srv = Server(
        tmp_path_factory.mktemp("openai"),
        "--driver",
        "openai",
        "--base-url",
        base_url,
        "--model",
        "slow",
        env={"ADVISOR_AUTH": ":".join(AUTH)},
    ).start()
    yield srv
    srv.stop()


def _wait_for(predicate, timeout: float = 30, every: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def _messages(url: str, thread_id: str, auth=None) -> list[dict]:
    r = httpx.get(f"{url}/api/threads/{thread_id}", auth=auth, timeout=10)
    return r.json()["messages"] if r.status_code == 200 else []


# ---------------------------------------------------------------- 1. a dropped stream must not freeze the server


def test_a_dropped_stream_leaves_the_server_answering(openai_server, upstream):
    """Row 1. Closing a streamed /v1/chat/completions mid-answer used to block the event loop until the model call
    ended: /healthz and every other request waited. Now the turn runs on, detached, and is stored."""
    tid = "dropped-" + uuid.uuid4().hex[:8]
    body = {
        "model": "open-llm-advisor",
        "stream": True,
        "thread_id": tid,
        "messages": [{"role": "user", "content": "Tell me about serving models, please"}],
    }
    with httpx.Client(auth=AUTH, timeout=30) as client:
        with client.stream("POST", openai_server.url + "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if "slowly" in line:  # the model is mid-answer
                    break
    # the socket is closed now, the upstream still streams
    assert upstream.finished < upstream.started
    answered = 0
    for _ in range(12):
        health = httpx.get(openai_server.url + "/healthz", timeout=3)  # before the fix: a ReadTimeout here
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(openai_server.url + "/api/tools", auth=AUTH, timeout=3).status_code == 200
        answered += 2
        time.sleep(0.1)
    assert upstream.finished < upstream.started, "the model call ended before the checks: lengthen the upstream answer"
    # the turn ran to its end without its client: the message and the whole answer are stored
    stored = _wait_for(lambda: [m for m in _messages(openai_server.url, tid, AUTH) if m["role"] == "assistant"], 30)
    users = [m["content"] for m in _messages(openai_server.url, tid, AUTH) if m["role"] == "user"]
    assert users == ["Tell me about serving models, please"]
    assert stored and stored[-1]["content"].count("slowly") == upstream.words
    record("hardening.dropped_stream", requests_served_while_detached=answered, messages_lost=0)


# ---------------------------------------------------------------- 2. no credential leaks


def test_upstream_credentials_are_never_shown_or_logged(openai_server):
    """Row 2. /healthz needs no credentials, and it showed --base-url with the token in it; so did the start-up
    line, and httpx logs every upstream request's URL."""
    health = httpx.get(openai_server.url + "/healthz", timeout=10)
    assert health.status_code == 200
    assert TOKEN not in health.text and "svc" not in health.text and "***@127.0.0.1" in health.text
    reply = httpx.post(
        openai_server.url + "/v1/chat/completions",
        auth=AUTH,
        timeout=60,
        json={"messages": [{"role": "user", "content": "Say something slowly"}]},
    )
    assert reply.status_code == 200 and "slowly" in reply.json()["choices"][0]["message"]["content"]
    log = openai_server.log.read_text()
    assert "Open LLM Advisor on" in log and "HTTP Request: POST http://***@127.0.0.1" in log
    assert TOKEN not in log


def test_urls_are_redacted():
    from advisor.config import redact_url, redact_urls

    assert redact_url("http://svc:TOKEN@host:8000/v1") == "http://***@host:8000/v1"
    assert redact_url("https://TOKEN@host/v1") == "https://***@host/v1"
    assert redact_url("https://host/v1?api_key=abc&model=x") == "https://host/v1?api_key=***&model=x"
    assert redact_url("http://localhost:8000/v1") == "http://localhost:8000/v1"
    assert (
        redact_urls("server http://a:b@h/v1 and https://h2/x?token=t")
        == "server http://***@h/v1 and https://h2/x?token=***"
    )


# ---------------------------------------------------------------- 3. MCP behind --auth


async def _mcp_call(url: str, headers: dict, tool: str, arguments: dict):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(url + "/gradio_api/mcp/", http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                return names, await session.call_tool(tool, arguments)


def test_mcp_works_behind_auth(openai_server):
    """Row 3. Behind --auth every MCP tool call returned isError "credentials were not provided": Gradio called back
    into the app over HTTP without the caller's credentials. Tools now run in-process."""
    basic = "Basic " + base64.b64encode(":".join(AUTH).encode()).decode()
    for headers in ({"Authorization": "Bearer " + AUTH[1]}, {"Authorization": basic}):
        names, result = asyncio.run(
            _mcp_call(
                openai_server.url,
                headers,
                "check_license",
                {"model": "llama 3.1 8b", "commercial": True, "monthly_active_users": 800_000_000},
            )
        )
        assert {"list_licenses", "check_license", "estimate_memory"} <= names
        assert not result.isError, result.content
        assert "not_allowed" in result.content[0].text and "700" in result.content[0].text
        _, listed = asyncio.run(_mcp_call(openai_server.url, headers, "list_licenses", {}))
        assert not listed.isError and "llama-3.1" in listed.content[0].text
    with pytest.raises(Exception) as refused:  # no credentials: refused before any tool runs
        asyncio.run(_mcp_call(openai_server.url, {}, "list_licenses", {}))
    assert "401" in repr(refused.value) or "Unauthorized" in repr(refused.value)


# ---------------------------------------------------------------- 4. credentials compared as bytes


def test_non_ascii_credentials():
    """Row 4. hmac.compare_digest on str raises TypeError for non-ASCII: a 500 on every route, and a password with
    an accent could never log in."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from advisor.server import LimitsAndAuth

    api = FastAPI()

    @api.get("/private")
    def private() -> dict:
        return {"ok": True}

    api.add_middleware(LimitsAndAuth, credentials=("alice", "pässwort"))
    client = TestClient(api, raise_server_exceptions=False)
    assert client.get("/private", auth=("alice", "pässwort")).status_code == 200
    assert client.get("/private", headers={"Authorization": "Bearer pässwort".encode()}).status_code == 200
    for auth in (("alicé", "x"), ("alice", "passwort"), ("alice", "pässwort ")):
        assert client.get("/private", auth=auth).status_code == 401
    for header in (
        b"Bearer wrong",
        "Bearer pässwörter".encode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ):
        r = client.get("/private", headers={"Authorization": header})
        assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
    assert 'charset="UTF-8"' in client.get("/private").headers["www-authenticate"]


# ---------------------------------------------------------------- 5. storage that grows linearly


def _stored(db, thread_id: str) -> dict:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoints = conn.execute("SELECT checkpoint FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchall()
        writes = conn.execute("SELECT value FROM writes WHERE thread_id = ?", (thread_id,)).fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        contents = conn.execute("SELECT data FROM advisor_contents").fetchall() if "advisor_contents" in tables else []
    finally:
        conn.close()
    blobs = [bytes(r[0]) for r in checkpoints + writes]
    return {
        "checkpoints": len(checkpoints),
        "blobs": blobs,
        "contents": len(contents),
        "bytes": sum(map(len, blobs)) + sum(len(r[0]) for r in contents),
    }


CONVERSATION = [
    "We have one RTX 4090 and need a commercially usable coding model. Just recommend.",
    "Can I use Qwen2.5 72B commercially with 200M monthly users?",
    "How much memory does Qwen2.5 32B need at 32k context?",
    "What would 10M tokens a month cost with llama 3.1 8b on an RTX 4090 compared with APIs?",
]


def test_a_conversation_is_stored_in_linear_space(tmp_path, make_advisor):
    """Row 5. Every checkpoint stored every message and tool result again: 5.6 MB after 10 turns, 20 MB after 20.
    Now large contents are stored once and only the newest checkpoints are kept; what is read back is unchanged."""
    from advisor.config import Settings
    from advisor.service import Advisor

    db = tmp_path / "conversations.sqlite"
    advisor = Advisor.create(Settings(driver="offline", db=str(db)))
    reference = make_advisor()  # the same conversation in memory, stored the plain LangGraph way
    tid = "linear"
    sizes = {}
    for turn in range(1, 9):
        text = CONVERSATION[(turn - 1) % len(CONVERSATION)] + ("" if turn <= 4 else " Again, please.")
        advisor.ask(text, thread_id=tid)
        reference.ask(text, thread_id=tid)
        if turn in (4, 8):
            sizes[turn] = _stored(db, tid)
    assert sizes[8]["bytes"] < 2.5 * sizes[4]["bytes"], {k: v["bytes"] for k, v in sizes.items()}  # was about 3.5x
    assert sizes[8]["checkpoints"] <= 2
    # a large tool result is in the contents table once, and in no checkpoint or pending write
    result = next(m for m in advisor.history(tid) if m["role"] == "tool" and m["name"] == "select_models")["result"]
    needle = json.dumps(result, ensure_ascii=False)[:400].encode()
    assert not any(needle in blob for blob in sizes[8]["blobs"])

    # read back, in this process and after a restart, it is the conversation as LangGraph kept it in memory
    def history(a):  # tool durations differ between two runs, nothing else may
        return [{k: v for k, v in m.items() if k != "duration_s"} for m in a.history(tid)]

    assert history(advisor) == history(reference)
    assert advisor.state(tid)["requirements"] == reference.state(tid)["requirements"]
    advisor.checkpointer.conn.close()
    reopened = Advisor.create(Settings(driver="offline", db=str(db)))
    assert history(reopened) == history(reference)
    assert reopened.ask("Actually we have two 4090s", thread_id=tid).requirements["num_gpus"] == 2
    record(
        "hardening.storage",
        turns=8,
        bytes_4_turns=sizes[4]["bytes"],
        bytes_8_turns=sizes[8]["bytes"],
        checkpoints_kept=sizes[8]["checkpoints"],
    )


# ---------------------------------------------------------------- 6. a database that cannot be written


def test_an_unusable_database_is_refused_at_start(tmp_path, monkeypatch, capsys):
    """Row 6 (start). A corrupt or read-only file used to start a server that then lost every message."""
    from advisor import server as app_server
    from advisor.config import Settings

    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database " * 50)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the server must not start"))
    assert app_server.serve(settings=Settings(driver="offline", db=str(corrupt))) == 2
    assert "cannot open the conversation database" in capsys.readouterr().err

    readonly = tmp_path / "readonly.sqlite"
    sqlite3.connect(readonly).execute("CREATE TABLE x (y)").connection.commit()
    monkeypatch.setattr(
        "advisor.storage._connect",
        lambda path: sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False),
    )
    assert app_server.serve(settings=Settings(driver="offline", db=str(readonly))) == 2
    assert "readonly database" in capsys.readouterr().err


def test_a_database_that_stops_taking_writes_is_reported(tmp_path):
    """Row 6 (running). With the database read-only, a turn answered "your message is saved, please try again"
    while nothing was saved, and /healthz said ok. Now the turn is refused before it is acknowledged (503), the
    user is told the message was not saved, and /healthz reports the storage trouble."""
    from fastapi.testclient import TestClient

    from advisor import server as app_server
    from advisor.config import Settings
    from advisor.service import Advisor, StorageUnavailable

    advisor = Advisor.create(Settings(driver="offline", db=str(tmp_path / "c.sqlite")))
    client = TestClient(app_server.create_app(advisor.settings, advisor=advisor))
    assert client.get("/healthz").json()["storage"] == {"ok": True}
    advisor.checkpointer.conn.execute("PRAGMA query_only = ON")  # what a read-only file or mount does to writes
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "storage_error"
    assert "readonly" in health.json()["storage"]["error"] and str(tmp_path) not in health.text
    for stream in (False, True):
        r = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hello"}], "thread_id": "ro", "stream": stream},
        )
        assert r.status_code == 503 and r.json()["error"]["type"] == "storage_unavailable"
        assert "not saved" in r.json()["error"]["message"]
    with pytest.raises(StorageUnavailable):
        advisor.ask("hello", thread_id="ro")
    advisor.checkpointer.conn.execute("PRAGMA query_only = OFF")
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/threads/ro").status_code == 404  # nothing was stored meanwhile
    assert (
        client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hello"}]}).status_code
        == 200
    )


def test_a_failed_save_is_reported_truthfully(tmp_path, monkeypatch):
    """Row 6 (mid-turn). When the write of the user's message fails, the user is told it was not saved; when it
    succeeded and something later failed, that it was."""
    from advisor.config import Settings
    from advisor.drivers import DriverInfo
    from advisor.events import Failed
    from advisor.service import Advisor

    settings = Settings(driver="offline", db=str(tmp_path / "c.sqlite"))
    model = ScriptedModel(script=[AIMessage(content="First answer."), AIMessage(content="Third answer.")])
    advisor = Advisor(model, DriverInfo("scripted", None, "test"), settings)
    assert advisor.ask("first", thread_id="t").reply == "First answer."
    real_put = advisor.checkpointer.put

    def failing_put(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(advisor.checkpointer, "put", failing_put)
    events = list(advisor.stream("second", thread_id="t"))
    error = next(e for e in events if isinstance(e, Failed)).message
    assert "could not be saved" in error and "disk is full" in error and "is saved" not in error
    monkeypatch.setattr(advisor.checkpointer, "put", real_put)
    assert [m["content"] for m in advisor.history("t") if m["role"] == "user"] == ["first"]

    calls = {"n": 0}

    def fail_after_the_message(*args, **kwargs):  # the message is saved; the model's step is not
        calls["n"] += 1
        if calls["n"] > 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real_put(*args, **kwargs)

    monkeypatch.setattr(advisor.checkpointer, "put", fail_after_the_message)
    error = next(e for e in advisor.stream("third", thread_id="t") if isinstance(e, Failed)).message
    assert "your message is saved" in error
    monkeypatch.setattr(advisor.checkpointer, "put", real_put)
    assert [m["content"] for m in advisor.history("t") if m["role"] == "user"] == ["first", "third"]


# ---------------------------------------------------------------- 7. exports use no temporary disk


def _ui_function(demo, name: str):
    return next(f.fn for f in demo.fns.values() if f.name == name)


def test_report_export_writes_no_files(tmp_path, monkeypatch, make_advisor):
    """Row 7. Each press of Export wrote about 10 MB (the HTML inlines plotly.js) into temporary folders that were
    never removed. Now the button links to the report route, which builds the report in memory."""
    import tempfile

    from advisor.ui import build_ui

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp))
    advisor = make_advisor()
    advisor.ask(
        "What would 10M tokens a month cost with llama 3.1 8b on an RTX 4090 compared with APIs?", thread_id="t1"
    )
    from advisor.signing import sign
    from advisor.ui.tabs.advisor import PAGE_THREAD

    export = _ui_function(build_ui(advisor), "make_reports")
    for _ in range(5):
        out = export(sign(advisor.secret, PAGE_THREAD + "\x00", "t1"))  # its id as the server signed it (no user)
    written = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
    assert written == 0, f"{written:,} bytes written by five exports"
    assert "api/threads/t1/report?format=md" in out and "api/threads/t1/report?format=html" in out
    assert "Nothing to export" in export("no-such-thread") and "Nothing to export" in export("../etc")
    assert "Nothing to export" in export("t1")  # an id the server did not sign


# ---------------------------------------------------------------- 8. literal user text, no remote images

HOSTILE_MARKDOWN = (
    "# Forged heading\n\n| verdict | allowed |\n|---|---|\n| licence | **allowed** |\n\n"
    "![t](http://127.0.0.1:9/p.png) <img src=http://127.0.0.1:9/q.png>\n\n```\nunclosed fence"
)


def test_user_text_in_reports_is_literal_and_loads_nothing(make_advisor):
    """Row 8 (reports). A message could forge a heading, verdict or table in a report; an unclosed code fence
    swallowed what followed; ![x](http://...) became a remote image that loaded when the report was opened."""
    from advisor import report

    advisor = make_advisor()
    advisor.ask("We have one RTX 4090 and need a commercially usable coding model. Just recommend.", thread_id="r")
    advisor.ask(HOSTILE_MARKDOWN, thread_id="r")
    page = report.to_html(advisor, "r")
    body = page.split("<h2>Conversation</h2>", 1)[1].split("<h2>Charts</h2>", 1)[0]
    assert "<img" not in page and "<h1>Forged" not in page and "Forged heading</h" not in page
    assert "<td>licence</td>" not in page and "<strong>allowed</strong>" not in body
    assert "# Forged heading" in body and "![t](http://127.0.0.1:9/p.png)" in body  # shown, as text
    assert "<em>Licence verdicts are guidance" in page  # what follows the unclosed fence is still rendered
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    markdown = report.to_markdown(advisor, "r")
    html = COMMONMARK.render(markdown)
    assert "<img" not in html and "<h1>Forged" not in html and "<em>Licence verdicts are guidance" in html


def test_chat_shows_user_text_literally_and_answers_without_remote_images(make_advisor):
    """Row 8 (chat). User text is literal (no Markdown structure); a model's answer keeps its Markdown but never
    loads an image from elsewhere, as Markdown or as HTML."""
    from advisor.ui import history_to_chat

    answer = (
        "**Bold** stays, and a [link](https://example.org) too. ![pixel](http://127.0.0.1:9/a.png) "
        "<img src='http://127.0.0.1:9/b.png'> <IMG SRC=http://127.0.0.1:9/c.png> <video src=http://127.0.0.1:9/v>"
    )
    model = ScriptedModel(script=[AIMessage(content=answer)])
    advisor = make_advisor(model, offline=False)
    advisor.ask(HOSTILE_MARKDOWN + "\n    indented\n1. first\n- item\n> quote\n<b>bold</b> &amp;", thread_id="c")
    user, bot = [m.content for m in history_to_chat(advisor, "c")]
    rendered = COMMONMARK.render(user)
    for tag in ("<h1", "<table", "<img", "<pre", "<code", "<ol", "<ul", "<blockquote", "<b>", "<strong"):
        assert tag not in rendered, (tag, rendered)
    assert "# Forged heading" in rendered and "&lt;b&gt;bold&lt;/b&gt; &amp;amp;" in rendered
    shown = COMMONMARK.render(bot)
    assert "<img" not in shown.lower() and "<video" not in shown.lower()
    assert "<strong>Bold</strong>" in shown and '<a href="https://example.org">link</a>' in shown


def test_pages_refuse_remote_images(server):
    """Row 8 (browser policy). Whatever slips through the text, pages from the server load images only from it."""
    for path in ("/", "/healthz"):
        policy = httpx.get(server.url + path, timeout=30).headers["content-security-policy"]
        assert "img-src 'self' data: blob:" in policy


@pytest.mark.browser
def test_no_remote_request_from_chat_or_report(server):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from tests.test_app import LAUNCH_ARGS

    remote: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda req: remote.append(req.url) if "127.0.0.9" in req.url else None)
            page.goto(server.url + "/", wait_until="domcontentloaded")
            page.wait_for_selector("#message textarea", timeout=60_000)
            page.fill(
                "#message textarea",
                "Look ![t](http://127.0.0.9:9/pixel.png) and <img src=http://127.0.0.9:9/i.png> end-of-message",
            )
            page.click("#send")
            page.wait_for_function("document.querySelectorAll('[data-testid=\"bot\"]').length >= 1", timeout=60_000)
            page.wait_for_timeout(1000)
            assert "![t](http://127.0.0.9:9/pixel.png)" in page.locator('[data-testid="user"]').last.inner_text()
            page.wait_for_function("/[0-9a-f]{32}/.test(document.querySelector('#thread').innerText)", timeout=30_000)
            tid = re.search(r"[0-9a-f]{32}", page.inner_text("#thread")).group(0)
            page.click("#report-export")
            page.wait_for_selector("#report-links a", timeout=30_000)
            href = page.locator("#report-links a").last.get_attribute("href")
            assert f"api/threads/{tid}/report?format=html" in href
            html = httpx.get(f"{server.url}/api/threads/{tid}/report", params={"format": "html"}, timeout=60).text
            page.set_content(html, wait_until="load")
            page.wait_for_timeout(1000)
            assert "![t](http://127.0.0.9:9/pixel.png)" in page.inner_text("body")
        finally:
            browser.close()
    assert remote == []


# ---------------------------------------------------------------- 9. malformed bodies are 422


def test_deep_and_huge_json_bodies_are_422(server):
    """Row 9. /api/tools/* returned 500 for JSON nested 50,000 deep (RecursionError) and for a 5,000-digit integer
    (Python refuses to parse integers over 4,300 digits)."""
    deep = "[" * 50_000 + "]" * 50_000
    huge = '{"model": ' + "9" * 5000 + "}"
    deep_object = '{"model": ' + "[" * 50_000 + "]" * 50_000 + "}"
    for path in ("/api/tools/get_model", "/api/tools/estimate_cost", "/v1/chat/completions", "/api/exercises/2"):
        for body in (deep, huge, deep_object):
            r = httpx.post(server.url + path, content=body, headers={"content-type": "application/json"}, timeout=60)
            assert r.status_code == 422, (path, body[:20], r.status_code, r.text[:200])
            assert r.json()["error"]["type"] == "invalid_input"
    for depth in (500, 900, 990):  # deep, but within what the parser takes: the tool refuses it cleanly too
        body = '{"model": ' + "[" * depth + "]" * depth + "}"
        r = httpx.post(server.url + "/api/tools/get_model", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (depth, r.text[:200])


# ---------------------------------------------------------------- 10. a disconnect never loses the message

STREAMS = 100  # more at once than the server's default thread pool (40): the case that lost messages


def test_a_stream_closed_after_its_first_chunk_still_stores_the_turn(server):
    """Row 10. When a client disconnected right after the first streamed chunk, its turn sometimes never ran and
    the message was lost (30 to 50 of 100 here). The turn now starts before the first chunk is sent."""
    barrier = threading.Barrier(STREAMS)

    def drop(k: int) -> str:
        tid = f"drop-{k:03d}-{uuid.uuid4().hex[:6]}"
        body = {
            "stream": True,
            "thread_id": tid,
            "messages": [{"role": "user", "content": f"Can I use Qwen2.5 3B commercially? #{k}"}],
        }
        barrier.wait(timeout=60)
        with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=120) as r:
            assert r.status_code == 200
            next(r.iter_lines())  # the first chunk, then close
        return tid

    with ThreadPoolExecutor(STREAMS) as pool:
        threads = list(pool.map(drop, range(STREAMS), timeout=180))
    pending = dict(enumerate(threads))
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        for k, tid in list(pending.items()):
            messages = _messages(server.url, tid)
            if any(m["role"] == "assistant" for m in messages):
                assert [m["content"] for m in messages if m["role"] == "user"] == [
                    f"Can I use Qwen2.5 3B commercially? #{k}"
                ]
                del pending[k]
        time.sleep(0.5)
    assert not pending, f"{len(pending)} of {STREAMS} turns lost"
    record("hardening.dropped_after_first_chunk", streams=STREAMS, messages_lost=0, answers_lost=0)


# ---------------------------------------------------------------- 11. SIGTERM stops the server


@pytest.mark.server
def test_sigterm_stops_the_server_after_an_mcp_call(tmp_path):
    """Row 11. After one MCP call the process ignored SIGTERM: Gradio's MCP client kept a connection to the server
    itself open. Tools now run in-process, and open connections get a few seconds on shutdown."""
    srv = Server(tmp_path).start()
    try:
        _, result = asyncio.run(_mcp_call(srv.url, {}, "list_gpus", {"segment": "datacenter"}))
        assert not result.isError
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=15) is not None  # before the fix: still running 30 s later
    finally:
        srv.stop(kill=True)


# ---------------------------------------------------------------- 12. the smaller items


def test_insecure_prints_a_warning(monkeypatch, capsys):
    from advisor import server as app_server

    class Stub:
        class state:  # noqa: N801
            class advisor:  # noqa: N801
                class info:  # noqa: N801
                    @staticmethod
                    def describe() -> str:
                        return "offline"

    monkeypatch.setattr(app_server, "create_app", lambda *a, **k: Stub)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    assert app_server.serve(host="0.0.0.0", insecure=True) == 0
    assert "WARNING: --insecure" in capsys.readouterr().err
    assert app_server.serve(host="127.0.0.1") == 0
    assert "WARNING" not in capsys.readouterr().err


def test_unknown_thread_is_404(server):
    r = httpx.get(server.url + "/api/threads/no-such-thread-" + uuid.uuid4().hex[:8])
    assert r.status_code == 404 and r.json()["error"]["field"] == "thread_id"


def test_catalog_import_refuses_path_segments(capsys):
    from advisor.cli import main
    from tests.test_refresh import FIXTURES

    for repo in ("a/..", "../Qwen3-8B", "Qwen/.", "Qwen/..x"):
        assert main(["catalog", "import", repo, "--from-dir", str(FIXTURES / "Qwen__Qwen3-8B")]) == 2, repo
        out = capsys.readouterr()
        assert "is not a Hugging Face repo id" in out.err and "id:" not in out.out


def _queue_call(url: str, deps: dict, name: str, data: list) -> dict:
    """Call a Gradio event handler the way the page does (queue/join, then the event stream)."""
    dep = deps[name]
    session = uuid.uuid4().hex[:12]
    with httpx.Client(base_url=url, timeout=60) as client:
        r = client.post(
            "/gradio_api/queue/join",
            json={
                "data": data,
                "fn_index": dep["id"],
                "session_hash": session,
                "event_data": None,
                "trigger_id": dep["targets"][0][0] if dep["targets"] else None,
            },
        )
        assert r.status_code == 200, r.text[:200]
        with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}") as events:
            for line in events.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return message
    raise AssertionError(f"{name}: no result")


def test_gradio_private_functions_validate_their_inputs(server):
    """Row 12. The UI's private functions are callable through /gradio_api/queue/join with any data: each must
    refuse or repair bad input like the public routes, never fail inside the advisor's code."""
    deps = {d.get("api_name"): d for d in httpx.get(server.url + "/config", timeout=30).json()["dependencies"]}
    before = server.log.read_text()
    for stored in (123, {"a": 1}, "../../etc", "x" * 300, None):
        done = _queue_call(server.url, deps, "load_thread", [stored])
        assert done["success"], done
        tid = done["output"]["data"][1]  # the thread the page continues: a fresh, valid id, signed by the server
        assert isinstance(tid, str) and re.fullmatch(r"[0-9a-f]{32}\.[\w-]{22}", tid), (stored, tid)
    for name, data in (
        ("show_view", [None]),
        ("respond", [None, [], None]),
        ("respond", ["x" * 9000, [], None]),
        ("make_reports", [None]),
        # query, device, memory per device, licence allows, family, licence, largest size, least context, order, chart
        ("browse", ["x" * 300, "(any)", None, "any use", "(any)", "(any)", 1000, "any", "newest", "MMLU"]),
        ("browse", ["", "(any)", 24, "commercial use", "(any)", "(any)", 0.1, "262144", "context", "MMLU"]),
        ("open", ["qwen3.5-27b", "(any)", 24]),
        ("open", ["../../etc/passwd", None, None]),
    ):
        done = _queue_call(server.url, deps, name, data)
        assert done["success"], (name, done)
    for name, data in (
        ("show_view", ["../../etc/passwd"]),
        ("browse", ["", "(any)", None, "any use", "(any)", "(any)", "abc", "any", "newest", "MMLU"]),
        ("browse", ["", "(any)", -5, "any use", "(any)", "(any)", 1000, "any", "newest", "MMLU"]),
        ("respond", ["hi", "not a history", None]),
    ):
        done = _queue_call(server.url, deps, name, data)  # refused by Gradio's own checks of the component value
        assert not done["success"], (name, done)
    new_log = server.log.read_text()[len(before) :]
    assert not re.search(r'File "[^"]*/(advisor|app\.py|tools)/?', new_log), new_log[-3000:]
