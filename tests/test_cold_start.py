"""Cold start (issue #25, Build 9): what a server start does not need waits until it serves. The offline driver and
the graph (LangChain, LangGraph) are built on first use, the auto driver asks for an NVIDIA driver before importing
the hf driver's module, and the caches are warmed in a thread that turns wait for. The time itself is measured by
bench/cold_start.py, not here."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
import time

from advisor import warmup

HEAVY_AT_START = (
    "langgraph.graph",
    "langgraph.types",
    "langchain_core.language_models.chat_models",
    "langsmith.run_trees",
    "advisor.graph",
    "advisor.drivers.offline",
    "advisor.drivers.hf",
)


def test_create_app_builds_neither_the_graph_nor_the_driver(tmp_path):
    script = f"""
import json, sys
from advisor import server
from advisor.config import Settings
from advisor.drivers import probe
drivers = ["offline"] + ([] if probe.cuda_possible() else ["auto"])  # auto is offline without an NVIDIA driver
for driver in drivers:
    api = server.create_app(Settings(driver=driver, db={str(tmp_path)!r} + "/" + driver + ".sqlite"))
    assert api.state.advisor.info.name == "offline"
print(json.dumps({{"drivers": drivers, "loaded": [m for m in {HEAVY_AT_START!r} if m in sys.modules]}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["loaded"] == [], seen


def test_an_offline_advisor_builds_its_graph_on_the_first_turn():
    from advisor.config import Settings
    from advisor.service import Advisor

    adv = Advisor.create(Settings(driver="offline", db=":memory:"))
    assert adv._graph is None and adv._model is None and adv.info.name == "offline"
    result = adv.ask("Can we use Llama 3.1 8B commercially?")
    assert adv._graph is not None and type(adv.model).__name__ == "OfflineChatModel"
    assert "Llama 3.1 8B" in result.reply
    assert adv.history(result.thread_id)


def test_turns_wait_for_the_warm_up_and_it_runs_once():
    module = importlib.reload(warmup)  # a fresh process's state: nothing started
    try:
        assert module.wait(0) is True  # none started (tests, scripts): no wait
        gate, runs = threading.Event(), []

        def work():
            runs.append(1)
            gate.wait(10)

        assert module.start(work) is True and module.start(work) is False
        assert module.wait(0.2) is False  # still running: a turn would wait
        gate.set()
        assert module.wait(10) is True and runs == [1]
        failing = importlib.reload(module)
        failing.start(lambda: 1 / 0)  # a failed warm-up ends the wait too (the first turns build what it would have)
        began = time.perf_counter()
        assert failing.wait(10) is True and time.perf_counter() - began < 10
    finally:
        importlib.reload(warmup)
