"""Hardening, second pass (issue 29): one regression test per finding of the second review, each of which failed on
the code before its fix. Figures (time per hostile message, /healthz under load, UI users at once) are measured by
scripts under bench/, never asserted as timings here; these tests assert what bounds them (comparisons made, pools
used, turns run at once)."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

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

    import app

    model = HeldModel(release=threading.Event())
    advisor = make_advisor(model, offline=False)
    calls = {
        "chat": lambda c, k: c.post("/gradio_api/run/chat", json={"data": [f"Question {k}", ""]}),
        "v1": lambda c, k: c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": f"Q{k}"}]}),
        "exercise": lambda c, k: c.post("/api/exercises/1"),
    }
    with TestClient(app.create_app(advisor.settings, advisor=advisor)) as client:
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

    import app

    users = min(concurrency + 2, 6)  # more users than a limit of 4: the limit holds as well as allows
    model = HeldModel(release=threading.Event())
    advisor = make_advisor(model, offline=False, concurrency=concurrency)
    with TestClient(app.create_app(advisor.settings, advisor=advisor)) as client:
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
    import app
    from advisor.config import Settings
    from advisor.signing import configured_secret

    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the server must not start"))
    monkeypatch.setenv("ADVISOR_SECRET", "short")
    assert app.serve(settings=Settings(driver="offline", db=":memory:")) == 2
    assert "ADVISOR_SECRET must be at least 16 characters" in capsys.readouterr().err
    monkeypatch.setenv("ADVISOR_SECRET_FILE", str(tmp_path / "missing"))
    assert app.serve(settings=Settings(driver="offline", db=":memory:")) == 2
    assert "ADVISOR_SECRET_FILE" in capsys.readouterr().err
    (tmp_path / "secret").write_text("a secret read from a file\n")
    monkeypatch.setenv("ADVISOR_SECRET_FILE", str(tmp_path / "secret"))
    from_file = configured_secret()
    monkeypatch.delenv("ADVISOR_SECRET_FILE")
    monkeypatch.setenv("ADVISOR_SECRET", "a secret read from a file")
    assert from_file == configured_secret() is not None
