"""The app over real HTTP: a server process started by the tests, its API, OpenAI-compatible chat,
MCP schema, gradio_client, and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: Path, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tmp / "conversations.sqlite"
        self.log = tmp / f"server-{self.port}.log"
        self.args = [
            sys.executable,
            str(ROOT / "app.py"),
            "--driver",
            "offline",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
            *extra,
        ]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self, wait_s: float = 90) -> Server:
        self.proc = subprocess.Popen(
            self.args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=self.env, cwd=ROOT
        )
        deadline = time.time() + wait_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            self.proc.wait(timeout=30)


SERVER_FIXTURES = ("server",)  # fixtures that start the app in a subprocess: their tests are marked `server`


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("app")).start()
    yield srv
    srv.stop()


# ---------------------------------------------------------------- HTTP API


def test_health(server):
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["driver"] == "offline" and body["catalog"]["models"] >= 60


def test_tools_listed_in_openai_format(server):
    tools = httpx.get(server.url + "/api/tools").json()["tools"]
    names = {t["function"]["name"] for t in tools}
    assert {"select_models", "check_license", "estimate_memory", "estimate_cost"} <= names


def test_tool_call_and_structured_errors(server):
    ok = httpx.post(
        server.url + "/api/tools/estimate_memory",
        json={"model": "llama 3.1 8b", "quantization": "int4", "gpu": "RTX 4090"},
    )
    assert ok.status_code == 200 and ok.json()["fits"] is True
    bad = httpx.post(server.url + "/api/tools/estimate_memory", json={"model": "llama 3.1 8b", "quantization": "int3"})
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert err["type"] == "invalid_input" and err["field"] == "quantization" and "allowed" in err["message"]
    junk = httpx.post(server.url + "/api/tools/get_model", content=b"{not json")
    assert junk.status_code == 422 and "not valid JSON" in junk.json()["error"]["message"]
    unknown = httpx.post(server.url + "/api/tools/no_such_tool", json={})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "invalid_input"


def test_oversize_body_is_refused(server):
    r = httpx.post(
        server.url + "/api/tools/get_model",
        content=b'{"model": "' + b"x" * 400_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["type"] == "too_large"


def test_chat_completions_non_streaming_continues_a_thread(server):
    first = httpx.post(
        server.url + "/v1/chat/completions",
        timeout=60,
        json={
            "model": "open-llm-advisor",
            "messages": [
                {"role": "user", "content": "We have one RTX 4090 and need a commercially usable coding model"}
            ],
        },
    )
    assert first.status_code == 200
    body = first.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert "Shortlist" in body["choices"][0]["message"]["content"]
    tid = body["thread_id"]
    assert first.headers["x-advisor-thread"] == tid
    second = httpx.post(
        server.url + "/v1/chat/completions",
        timeout=60,
        json={"messages": [{"role": "user", "content": "Actually we have two 4090s"}], "thread_id": tid},
    ).json()
    assert second["advisor_tool_calls"][0]["arguments"]["num_gpus"] == 2
    thread = httpx.get(server.url + f"/api/threads/{tid}").json()
    assert thread["requirements"]["num_gpus"] == 2 and len([m for m in thread["messages"] if m["role"] == "user"]) == 2


def test_chat_completions_streaming_with_the_openai_client(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="open-llm-advisor",
        stream=True,
        messages=[{"role": "user", "content": "Can I use Qwen2.5 3B commercially?"}],
    )
    text, finish = "", None
    for chunk in stream:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    assert "not allowed" in text and finish == "stop"


def test_chat_completions_rejects_bad_input(server):
    empty = httpx.post(server.url + "/v1/chat/completions", json={"messages": []})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "messages"
    too_long = httpx.post(
        server.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 9000}]}
    )
    assert too_long.status_code == 422 and "limit" in too_long.json()["error"]["message"]
    bad_thread = httpx.post(
        server.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "thread_id": "../../etc"},
    )
    assert bad_thread.status_code == 422 and bad_thread.json()["error"]["field"] == "thread_id"


def test_mcp_schema_lists_the_tools(server):
    schema = httpx.get(server.url + "/gradio_api/mcp/schema", timeout=30).json()
    names = {t["name"] for t in schema}
    assert {"select_models", "check_license", "estimate_memory", "estimate_cost", "plan_deployment"} <= names
    sel = next(t for t in schema if t["name"] == "select_models")
    assert "use_case" in sel["inputSchema"]["properties"] and len(sel["description"]) > 40


def test_openapi_docs(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    assert "/api/tools/{name}" in spec["paths"] and "/v1/chat/completions" in spec["paths"]
    assert httpx.get(server.url + "/docs").status_code == 200


def test_gradio_client_chat_endpoint(server):
    from gradio_client import Client

    client = Client(server.url + "/", verbose=False)
    reply, thread = client.predict("How much memory does Llama 3.1 8B need in 4-bit?", "", api_name="/chat")
    assert "GB" in reply and thread
    again, same = client.predict("and at 32k context?", thread, api_name="/chat")
    assert same == thread and "32,768" in again


# ---------------------------------------------------------------- security defaults


@pytest.mark.server
def test_binding_beyond_localhost_needs_auth(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--driver", "offline", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2 and "ADVISOR_AUTH" in out.stderr


@pytest.mark.server
def test_auth_is_enforced_when_configured(tmp_path):
    srv = Server(tmp_path, env={"ADVISOR_AUTH": "alice:s3cret"}).start()
    try:
        assert httpx.get(srv.url + "/healthz").status_code == 200  # liveness stays open
        denied = httpx.post(srv.url + "/api/tools/list_gpus", json={})
        assert denied.status_code == 401 and "WWW-Authenticate" in denied.headers
        assert httpx.get(srv.url + "/", follow_redirects=True).status_code == 401
        assert httpx.post(srv.url + "/api/tools/list_gpus", json={}, auth=("alice", "s3cret")).status_code == 200
        assert (
            httpx.post(
                srv.url + "/api/tools/list_gpus", json={}, headers={"Authorization": "Bearer s3cret"}
            ).status_code
            == 200
        )
        assert httpx.post(srv.url + "/api/tools/list_gpus", json={}, auth=("alice", "wrong")).status_code == 401
    finally:
        srv.stop()


# ---------------------------------------------------------------- real browser


# Debian's chromium, headless, talking to nothing but the page under test
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str | None:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and os.environ.get("ADVISOR_REQUIRE_BROWSER"):
        pytest.fail("chromium is required (ADVISOR_REQUIRE_BROWSER is set) but not installed: apt-get install chromium")
    return path


@pytest.mark.browser
def test_browser_conversation(server):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server.url + "/", wait_until="domcontentloaded")
        page.wait_for_selector("#message textarea", timeout=60_000)
        page.fill("#message textarea", "We have one RTX 4090 and need a commercially usable coding model")
        page.click("#send")
        page.wait_for_function("document.querySelectorAll('[data-testid=\"bot\"]').length >= 2", timeout=60_000)
        page.wait_for_selector("text=Tool: select_models", timeout=30_000)
        page.wait_for_function("document.querySelector('#shortlist').innerText.includes('allowed')", timeout=30_000)
        bots = page.locator('[data-testid="bot"]')
        assert "Shortlist" in bots.last.inner_text()
        assert "RTX 4090" in page.inner_text("#requirements")
        page.screenshot(path=str(OUT / "browser-conversation.png"), full_page=True)

        # The conversation survives a reload (thread id kept in the browser).
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector("text=Tool: select_models", timeout=60_000)
        assert "commercially usable coding model" in page.inner_text("#chat")
        browser.close()


@pytest.mark.browser
def test_four_turn_session_ends_with_the_shortlist_rerun_at_32k(server):
    """Issue #24's browser session: needs -> cost at 50M tokens -> "and the licence?" -> "what if we need 32k
    context?". The last turn re-runs the shortlist (not the licence check before it) with the 32k context and says
    what changed."""
    from tests.test_ui_layout import TURNS

    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(server.url + "/", wait_until="domcontentloaded")
            page.wait_for_selector("#message textarea", timeout=90_000)
            tools_after: list[list[str]] = []
            for n, message in enumerate(TURNS, 1):
                page.fill("#message textarea", message)
                page.click("#send")
                page.wait_for_function(f"document.querySelectorAll('#chat .verdict').length >= {n}", timeout=90_000)
                page.wait_for_timeout(500)
                tools_after.append(page.locator("#chat").get_by_text("Tool: ", exact=False).all_inner_texts())
            last = page.locator('#chat [data-testid="bot"]').last.inner_text()
            page.screenshot(path=str(OUT / "browser-four-turns-32k.png"), full_page=True)
        finally:
            browser.close()
    new_steps = tools_after[3][len(tools_after[2]) :]  # the tool steps of the last turn
    assert any("select_models" in s for s in new_steps), new_steps  # the shortlist re-run, not the licence check
    assert not any("check_license" in s for s in new_steps), new_steps
    assert "What changed" in last and "32,768" in last, last[:600]
    assert "Shortlist for code" in last and "Licence: " not in last, last[:600]


@pytest.mark.browser
def test_enter_sends_and_shift_enter_starts_a_new_line(server):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server.url + "/", wait_until="domcontentloaded")
        page.wait_for_selector("#message textarea", timeout=60_000)
        page.click("#new")
        page.wait_for_function("!document.querySelector('#chat').innerText.includes('RTX 4090')", timeout=30_000)
        box = page.locator("#message textarea")
        box.click()
        page.keyboard.type("Can I use Qwen2.5 3B commercially?")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("We have 2M monthly users.")
        assert box.input_value() == "Can I use Qwen2.5 3B commercially?\nWe have 2M monthly users."
        page.wait_for_timeout(500)
        assert page.locator('[data-testid="user"]').count() == 0  # Shift+Enter sent nothing
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Tool: check_license", timeout=60_000)
        page.wait_for_function("document.querySelector('#message textarea').value === ''", timeout=30_000)
        assert "We have 2M monthly users." in page.locator('[data-testid="user"]').last.inner_text()
        assert "2,000,000" in page.inner_text("#requirements")
        browser.close()


def test_exercise_report_and_view_endpoints(server):
    ex = httpx.post(server.url + "/api/exercises/2", timeout=120, json={"gpu_usd_per_hour": 0.8, "utilization": 0.4})
    assert ex.status_code == 200
    body = ex.json()
    assert body["summary"]["arguments"]["gpu_usd_per_hour"] == 0.8
    rep = httpx.get(server.url + f"/api/threads/{body['thread_id']}/report", params={"format": "html"}, timeout=60)
    assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html") and "Cost" in rep.text
    md = httpx.get(server.url + f"/api/threads/{body['thread_id']}/report", timeout=60)
    assert md.status_code == 200 and md.text.startswith("# Open LLM Advisor report")
    assert httpx.get(server.url + "/api/threads/unknown-thread/report").status_code == 404
    assert httpx.post(server.url + "/api/exercises/4", json={}).status_code == 404
    bad = httpx.post(server.url + "/api/exercises/2", json={"utilization": 3})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "utilization"
    view = httpx.get(server.url + "/api/views/hardware", timeout=60).json()
    assert view["data"] and "Hardware" in view["title"]
