"""The app with the offline driver, except that the model call for a message containing "[stall]" hangs.
tests/test_reliability.py kills this server with SIGKILL while such a turn is running; tests/test_postgres.py kills
one worker of a --workers server (the real supervisor of advisor/workers.py, these workers) the same way.

    python -m tests.stalling_server PORT DB
    python -m tests.stalling_server PORT postgresql://... WORKERS
"""

from __future__ import annotations

import json
import os
import sys
import time

from advisor.drivers.offline import OfflineChatModel


class StallingOfflineModel(OfflineChatModel):
    def plan(self, state: dict) -> dict:
        messages = state.get("messages") or []
        last = next(
            (m for m in reversed(messages) if m.type == "human" and not m.additional_kwargs.get("advisor_note")), None
        )
        if last is not None and "[stall]" in str(last.content):
            print(f"STALL-BEGIN {os.getpid()}", flush=True)
            time.sleep(3600)
        return super().plan(state)


def _advisor(settings):
    from advisor.drivers import DriverInfo
    from advisor.service import Advisor

    return Advisor(StallingOfflineModel(), DriverInfo("offline", None, "test server: stalls on [stall]"), settings)


def worker_app():
    """A worker of the --workers server: the app as advisor.server.worker_app builds it, with the stalling model."""
    from advisor.config import Settings
    from advisor.server import WORKER_CONFIG_ENV, create_app

    settings = Settings(**json.loads(os.environ[WORKER_CONFIG_ENV])["settings"])
    return create_app(settings, advisor=_advisor(settings), stateless_ui=True)


def main(port: int, db: str) -> None:
    import uvicorn

    from advisor.config import Settings
    from advisor.server import create_app

    settings = Settings(driver="offline", db=db)
    app = create_app(settings, advisor=_advisor(settings))
    print(f"stalling server on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main_workers(port: int, db: str, workers: int) -> int:
    from dataclasses import asdict

    from advisor.config import Settings
    from advisor.server import GRACEFUL_SHUTDOWN_S, WORKER_CONFIG_ENV
    from advisor.workers import Supervisor

    os.environ[WORKER_CONFIG_ENV] = json.dumps({"settings": asdict(Settings(driver="offline", db=db))})
    print(f"stalling server on http://127.0.0.1:{port}, {workers} workers", flush=True)
    return Supervisor("tests.stalling_server:worker_app", "127.0.0.1", port, workers, GRACEFUL_SHUTDOWN_S).run()


if __name__ == "__main__":
    if len(sys.argv) > 3:
        sys.exit(main_workers(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
    main(int(sys.argv[1]), sys.argv[2])
