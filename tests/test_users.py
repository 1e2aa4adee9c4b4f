"""Users (issue 29, design gaps): several users from a users file of Argon2 hashes or a trusted proxy's header; each
conversation belongs to the user who started it, and another user's thread id answers 404 on every route (HTTP,
OpenAI, MCP, reports, exercises, the UI); ids are made by the server; failed sign-ins are limited per client
address; secrets are never taken on the command line. Each test failed on the code before (one shared credential,
the thread id the only capability, client-chosen ids accepted)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path

import pytest

from tests.test_hardening2 import MCP_HEADERS, _ui_fn

QUESTION = "We have one RTX 4090 and need a commercially usable coding model. Just recommend."
ALICE, BOB = ("alice", "alice-password-1"), ("bob", "bob-password-2")


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    from advisor.users import add_user

    path = tmp_path_factory.mktemp("users") / "users.txt"
    for name, password in (ALICE, BOB):
        assert add_user(path, name, password)
    return path


def _client(make_advisor, **credentials):
    from fastapi.testclient import TestClient

    from advisor import server as app_server

    advisor = make_advisor()
    return advisor, TestClient(
        app_server.create_app(advisor.settings, advisor=advisor, auth=app_server.load_credentials(**credentials)),
        raise_server_exceptions=False,
    )


def _ask(client, auth, thread_id: str | None = None, text: str = QUESTION):
    body: dict = {"messages": [{"role": "user", "content": text}]}
    if thread_id is not None:
        body["thread_id"] = thread_id
    return client.post("/v1/chat/completions", json=body, auth=auth)


def _mcp_chat(client, auth, thread_id: str) -> str:
    """The chat tool called over MCP (Gradio's MCP server runs the same function as /chat)."""
    tools = client.post(
        "/gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=MCP_HEADERS, auth=auth
    )
    name = next(t["name"] for t in _rpc(tools)["tools"] if t["name"].startswith("chat"))
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": name, "arguments": {"message": "And its licence?", "thread_id": thread_id}},
    }
    return json.dumps(_rpc(client.post("/gradio_api/mcp/", json=call, headers=MCP_HEADERS, auth=auth)))


def _rpc(response) -> dict:
    assert response.status_code == 200, response.text[:300]
    text = response.text
    if text.startswith("event:") or "\ndata:" in text or text.startswith("data:"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


def test_two_users_each_see_only_their_own_conversations(make_advisor, users_file):
    advisor, client = _client(make_advisor, users_file=str(users_file))
    with client:
        assert client.get("/api/tools").status_code == 401
        assert client.get("/api/tools", auth=("alice", "wrong")).status_code == 401
        mine = _ask(client, ALICE)
        assert mine.status_code == 200, mine.text[:300]
        tid = mine.json()["thread_id"]
        assert re.fullmatch(r"[0-9a-f]{32}", tid) and uuid.UUID(tid).version == 4  # 122 random bits
        assert advisor.history(tid)[0]["content"] == QUESTION

        # bob, with alice's id, on every route: 404, the same answer as for an id that does not exist
        assert client.get(f"/api/threads/{tid}", auth=BOB).status_code == 404
        for fmt in ("md", "html"):
            assert client.get(f"/api/threads/{tid}/report?format={fmt}", auth=BOB).status_code == 404
        taken = _ask(client, BOB, tid, "Forget that; what did I ask?")
        assert taken.status_code == 404 and taken.json()["error"]["field"] == "thread_id"
        assert "error" in _mcp_chat(client, BOB, tid) and "no conversation" in _mcp_chat(client, BOB, tid)
        # a spoofed user header changes nothing: the middleware replaces it
        spoofed = client.get(f"/api/threads/{tid}", auth=BOB, headers={"x-advisor-user": "alice"})
        assert spoofed.status_code == 404
        assert [m["content"] for m in advisor.history(tid) if m["role"] == "user"] == [QUESTION]

        # alice continues her own, on each route
        assert client.get(f"/api/threads/{tid}", auth=ALICE).json()["thread_id"] == tid
        assert client.get(f"/api/threads/{tid}/report", auth=ALICE).status_code == 200
        assert _ask(client, ALICE, tid, "And the licence?").json()["thread_id"] == tid
        assert "no conversation" not in _mcp_chat(client, ALICE, tid)

        # ids are the server's: a client-chosen id for a conversation that does not exist is refused
        for auth in (ALICE, BOB):
            assert _ask(client, auth, "demo").status_code == 404
        assert not advisor.exists("demo")

        # exercises: the conversation is the runner's, its id the server's whole one
        run = client.post("/api/exercises/1", json={}, auth=BOB)
        assert run.status_code == 200, run.text[:300]
        exercise = run.json()["thread_id"]
        assert re.fullmatch(r"exercise-1-[0-9a-f]{32}", exercise)
        assert client.get(f"/api/threads/{exercise}", auth=ALICE).status_code == 404
        assert client.get(f"/api/threads/{exercise}", auth=BOB).status_code == 200

        # conversations nobody owns (the Python API's, or stored before owners) are closed with several users
        advisor.ask(QUESTION, thread_id="legacy-thread")
        assert client.get("/api/threads/legacy-thread", auth=ALICE).status_code == 404


def test_the_ui_gives_each_user_only_their_own_conversation(make_advisor, users_file):
    """The page's token is signed for its user: bob's page given alice's token starts a conversation of its own."""
    import gradio as gr

    from advisor.ui import build_ui

    advisor = make_advisor()
    advisor.unowned_open = False
    demo = build_ui(advisor)
    load, respond, export = (_ui_fn(demo, n) for n in ("load_thread", "respond", "make_reports"))

    def request(user: str) -> gr.Request:
        return gr.Request(headers={"x-advisor-user": user})

    token = load("", request("alice"))[1]
    *_, sent, _ = list(respond(QUESTION, [], token, request("alice")))[-1]
    tid = sent.rsplit(".", 1)[0]  # the token is the id and its signature
    assert advisor.owns(tid, "alice") and not advisor.owns(tid, "bob")
    assert load(sent, request("alice"))[2] != []  # alice's page reads her conversation back
    thread, stored, chat, *_ = load(sent, request("bob"))
    assert chat == [] and tid not in f"{thread}{stored}"
    *_, bob_token, _ = list(respond("What did alice ask?", [], sent, request("bob")))[-1]
    assert [m["content"] for m in advisor.history(tid) if m["role"] == "user"] == [QUESTION]
    assert bob_token != sent
    assert "Download" not in export(sent, request("bob")) and "Download" in export(sent, request("alice"))


def test_a_trusted_proxy_header_names_the_user(make_advisor):
    advisor, client = _client(make_advisor, user_header="X-Remote-User")
    with client:
        assert client.get("/api/tools").status_code == 401  # the proxy names every user; no name, no answer
        mine = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": QUESTION}]},
            headers={"X-Remote-User": "carol"},
        )
        tid = mine.json()["thread_id"]
        assert client.get(f"/api/threads/{tid}", headers={"X-Remote-User": "carol"}).status_code == 200
        assert client.get(f"/api/threads/{tid}", headers={"X-Remote-User": "dave"}).status_code == 404


def test_failed_sign_ins_are_limited_per_client_address(make_advisor, users_file):
    from advisor.users import MAX_FAILURES, FailedSignIns

    _, client = _client(make_advisor, users_file=str(users_file))
    with client:
        for _ in range(MAX_FAILURES):
            assert client.get("/api/tools", auth=("alice", "guess")).status_code == 401
        limited = client.get("/api/tools", auth=ALICE)  # even the right password waits: guessing stops
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert limited.json()["error"]["type"] == "too_many_attempts"
        assert client.get("/healthz").status_code == 200
    failures = FailedSignIns(limit=3, window_s=60)
    for t in range(3):
        failures.failed("10.0.0.1", now=100.0 + t)
    assert failures.wait_s("10.0.0.1", now=103.0) == pytest.approx(57.0)
    assert failures.wait_s("10.0.0.2", now=103.0) == 0  # per address
    assert failures.wait_s("10.0.0.1", now=161.0) == 0  # the window passes


def test_users_file_holds_argon2_hashes_and_bad_files_are_refused(tmp_path, users_file):
    from advisor.users import Credentials, UsersFileError, read_users_file

    text = users_file.read_text()
    assert ALICE[1] not in text and all(h.startswith("$argon2id$") for h in read_users_file(users_file).values())
    assert users_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    credentials = Credentials(users=read_users_file(users_file))
    basic = "Basic " + base64.b64encode(b"alice:alice-password-1").decode()
    assert credentials.user({"authorization": basic}) == "alice"
    assert credentials.user({"authorization": "Bearer bob:bob-password-2"}) == "bob"
    assert credentials.user({"authorization": "Bearer bob:alice-password-1"}) is None
    assert credentials.user({"authorization": "Bearer mallory:x"}) is None
    for bad, why in (
        ("alice:plaintext\n", "not an Argon2 hash"),
        ("al ice:$argon2id$x\n", "NAME:HASH"),
        ("# nobody\n", "lists no user"),
    ):
        path = tmp_path / "bad.txt"
        path.write_text(bad)
        with pytest.raises(UsersFileError, match=why):
            read_users_file(path)


def test_secrets_are_not_taken_on_the_command_line(tmp_path, monkeypatch, capsys):
    from advisor import server as app_server

    for argv in (["--auth", "alice:s3cret"], ["--api-key", "sk-secret"]):
        with pytest.raises(SystemExit) as stop:
            app_server.main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "not taken on the command line" in err and "s3cret" not in err and "sk-secret" not in err
    secret = tmp_path / "auth"
    secret.write_text("alice:from-a-file\n")
    monkeypatch.delenv("ADVISOR_AUTH", raising=False)
    monkeypatch.setenv("ADVISOR_AUTH_FILE", str(secret))
    assert app_server.load_credentials().shared == ("alice", "from-a-file")
    monkeypatch.setenv("ADVISOR_USER_HEADER", "X-Remote-User")
    with pytest.raises(ValueError, match="choose one"):
        app_server.load_credentials()


def test_workers_get_their_secrets_on_stdin_not_in_their_environment(monkeypatch):
    """`--workers`: the settings (an upstream API key among them) and the credentials went to every worker in an
    environment variable, in clear, with the secrets the supervisor was started with. Now the supervisor removes
    the secrets from the workers' environment and hands them, with the settings, over each worker's stdin."""
    import subprocess
    import sys

    from advisor import workers

    monkeypatch.setenv("ADVISOR_AUTH", "alice:s3cret")
    monkeypatch.setenv("PGPASSWORD", "pg-secret")
    config = json.dumps({"settings": {"openai_api_key": "sk-upstream"}}).encode()
    supervisor = workers.Supervisor("advisor.server:worker_app", "127.0.0.1", 1, 1, 1.0, config)
    environment = json.dumps(supervisor.env)
    assert not any(s in environment for s in ("s3cret", "pg-secret", "sk-upstream"))
    probe = (  # a worker runs advisor/workers.py as __main__, a copy of the module app_server.worker_app reads
        "import json, os, runpy; from advisor import workers; "
        "runpy.run_path(workers.__file__, run_name='worker')['_read_config'](); "
        "print(json.dumps([workers.worker_config().decode(), os.environ.get('PGPASSWORD'), "
        "os.environ.get('ADVISOR_AUTH')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], input=supervisor.config, env=supervisor.env, capture_output=True, timeout=60
    )
    assert out.returncode == 0, out.stderr.decode()[-500:]
    handed, password, auth = json.loads(out.stdout)
    assert json.loads(handed)["settings"]["openai_api_key"] == "sk-upstream"
    assert (password, auth) == ("pg-secret", "alice:s3cret")
