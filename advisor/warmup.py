"""The one-off per-catalog work (throughput calibration, rankings, name patterns, the message reader's linker,
classifier and patterns), done once the server answers rather than before (issue #25, Build 9: cold start).

:func:`start` runs a warm-up in a daemon thread (advisor/server.py starts it from the server's lifespan, so /healthz
answers while it runs); :func:`wait` holds a turn until it is over, so that turns arriving together at start do not
each build the same caches (issue 29, finding 2), and returns at once where no warm-up was started (tests, scripts)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("advisor.warmup")
_done = threading.Event()
_started = threading.Event()
_lock = threading.Lock()


def start(work: Callable[[], None]) -> bool:
    """Run ``work`` once in a daemon thread; False where a warm-up was already started in this process."""
    with _lock:
        if _started.is_set():
            return False
        _started.set()

    def run() -> None:
        began = time.perf_counter()
        try:
            work()
        except Exception:  # a failed warm-up only costs the first turns their speed
            log.exception("warm-up failed; the first turns build what it would have")
        finally:
            _done.set()
            log.debug("warm-up done in %.2f s", time.perf_counter() - began)

    threading.Thread(target=run, name="advisor-warm-up", daemon=True).start()
    return True


def wait(timeout_s: float | None = 120) -> bool:
    """Wait for a started warm-up to end (at most ``timeout_s``); True when none is running."""
    return _done.wait(timeout_s) if _started.is_set() else True
