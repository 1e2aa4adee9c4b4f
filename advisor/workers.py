"""`advisor serve --workers N`: N worker processes on one port, each with a listening socket of its own
(``SO_REUSEPORT``), so that the kernel spreads connections evenly over them; a worker that dies is replaced.

Why not uvicorn's own ``workers``: its workers share one listening socket, and asyncio accepts every connection
waiting at once, so a burst of new connections, and every request they then carry (HTTP keep-alive), lands mostly
on one worker. Measured with bench/concurrency.py on 2 workers: one did 88 % of the work. With a socket each, the
kernel hashes each new connection to one of them.

The parent only supervises: it starts the workers (``python -m advisor.workers FACTORY HOST PORT GRACE_S``, each of
which builds its app by calling FACTORY, an import string such as ``app:worker_app``), starts another when one ends
unexpectedly, and on SIGTERM or SIGINT stops them all (each finishes its open requests within GRACE_S seconds).
A worker that exits with STARTUP_FAILURE (its app cannot be built: the database went away, a bad setting) stops the
whole server instead of being restarted in a loop. Linux (``SO_REUSEPORT`` balancing) is required.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

log = logging.getLogger("advisor.workers")
STARTUP_FAILURE = 3  # as uvicorn's: the worker could not build its app
RESTART_DELAY_S = 1.0


def reuseport_available() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other processes of this user may bind too; the kernel gives each new
    connection to one of them."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


class Supervisor:
    """Starts ``count`` workers and keeps that many running until told to stop."""

    def __init__(self, factory: str, host: str, port: int, count: int, grace_s: float) -> None:
        self.command = [sys.executable, "-m", "advisor.workers", factory, host, str(port), str(grace_s)]
        # the workers import this package and the factory's module from where they are, installed or not
        root = str(Path(__file__).resolve().parent.parent)
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.count, self.grace_s = count, grace_s
        self.workers: list[subprocess.Popen] = []
        self.stopping = False

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Until SIGTERM or SIGINT: 0 then, 1 when a worker could not start."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        self.workers = [subprocess.Popen(self.command, env=self.env) for _ in range(self.count)]
        failed = False
        while not self.stopping:
            time.sleep(0.2)
            for i, worker in enumerate(self.workers):
                code = worker.poll()
                if code is None or self.stopping:
                    continue
                if code == STARTUP_FAILURE:
                    log.error("worker %d could not start; stopping the server", worker.pid)
                    self.stopping = failed = True
                    break
                log.warning("worker %d ended (exit status %s); starting another", worker.pid, code)
                time.sleep(RESTART_DELAY_S)
                self.workers[i] = subprocess.Popen(self.command, env=self.env)
        self._stop_all()
        return 1 if failed else 0

    def _stop_all(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s + 10
        for worker in self.workers:
            try:
                worker.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)


def _worker(factory: str, host: str, port: int, grace_s: float) -> None:
    """One worker: its own socket on the shared port, its app from the factory, uvicorn serving it."""
    import uvicorn
    from uvicorn.importer import import_from_string

    _end_with_parent()
    sock = listening_socket(host, port)  # not listening until uvicorn starts: no connection is routed here before
    app = import_from_string(factory)()
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=int(grace_s))
    uvicorn.Server(config).run(sockets=[sock])


def _end_with_parent() -> None:
    """Linux: SIGTERM when the supervisor ends, even by SIGKILL, so that no orphan worker keeps the port."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor ended before the call above
        os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
