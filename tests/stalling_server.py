"""The app with the offline driver, except that the model call for a message containing "[stall]" hangs.
tests/test_reliability.py kills this server with SIGKILL while such a turn is running.

    python -m tests.stalling_server PORT DB
"""

from __future__ import annotations

import sys
import time
from typing import Any

from advisor.drivers.offline import OfflineChatModel


class StallingOfflineModel(OfflineChatModel):
    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any):
        last = next(
            (m for m in reversed(messages) if m.type == "human" and not m.additional_kwargs.get("advisor_note")), None
        )
        if last is not None and "[stall]" in str(last.content):
            print("STALL-BEGIN", flush=True)
            time.sleep(3600)
        return super()._generate(messages, stop, run_manager, **kwargs)


def main(port: int, db: str) -> None:
    import uvicorn

    from advisor.config import Settings
    from advisor.drivers import DriverInfo
    from advisor.service import Advisor
    from app import create_app

    settings = Settings(driver="offline", db=db)
    advisor = Advisor(StallingOfflineModel(), DriverInfo("offline", None, "test server: stalls on [stall]"), settings)
    app = create_app(settings, advisor=advisor)
    print(f"stalling server on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
