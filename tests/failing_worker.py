"""Worker factories for the supervisor's tests (advisor/workers.py): apps that cannot be built, for good or until a
marker file appears. tests/test_hardening2.py runs them under a Supervisor."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def broken():
    """An app that can never be built, as with a catalog that fails validation: an exception, not a known status."""
    raise RuntimeError(
        "catalog/data/models/example.yaml: params_b: Input should be greater than 0 (stands for a bad catalog)"
    )


def waits_for_marker():
    """An app whose database is away until the file named by FAILING_WORKER_MARKER exists: until then the worker
    exits as advisor.server.worker_app does when the database cannot be reached."""
    from advisor.workers import STORAGE_UNAVAILABLE

    if not Path(os.environ["FAILING_WORKER_MARKER"]).exists():
        print("error: the conversation database cannot be reached (stands for an outage)", file=sys.stderr)
        sys.exit(STORAGE_UNAVAILABLE)
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "pid": os.getpid()}

    return app
