"""`advisor serve --workers N`: N worker processes on one port, each with a listening socket of its own
(``SO_REUSEPORT``), so that the kernel spreads connections evenly over them; a worker that dies is replaced.

Why not uvicorn's own ``workers``: its workers share one listening socket, and asyncio accepts every connection
waiting at once, so a burst of new connections, and every request they then carry (HTTP keep-alive), lands mostly
on one worker. Measured with bench/concurrency.py on 2 workers: one did 88 % of the work. With a socket each, the
kernel hashes each new connection to one of them.

The parent only supervises: it starts the workers (``python -m advisor.workers FACTORY HOST PORT GRACE_S READY_FD``,
each of which builds its app by calling FACTORY, an import string such as ``advisor.server:worker_app``, and says so
on the READY_FD pipe before it serves), starts another when one ends, and on SIGTERM or SIGINT stops them all (each
finishes its open requests within GRACE_S seconds). A worker that ends after it was ready is replaced at once. One that
could not start because the database was unreachable (STORAGE_UNAVAILABLE) is tried again with growing pauses for as
long as it takes, while the others serve (503 until the database is back). One that could not start for any other
reason (STARTUP_FAILURE: a bad setting; a traceback: a catalog that fails validation) is tried again
MAX_FAILED_STARTS times in a row, with growing pauses, and then the whole server stops with a message and status 1.
Linux (``SO_REUSEPORT`` balancing) is required.
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
STARTUP_FAILURE = 3  # as uvicorn's: the worker could not build its app with these settings
STORAGE_UNAVAILABLE = 4  # the worker could not reach the conversation database: an outage, which passes
RESTART_DELAY_S = 1.0  # before replacing a worker that ended; the first pause after a failed start
MAX_BACKOFF_S = 15.0  # the longest pause between two tries of a worker that cannot start
MAX_FAILED_STARTS = 5  # failed starts in a row (not counting an unreachable database) before the server stops
# secrets the workers need, kept out of their environment: handed over on their stdin with the rest of their config
SECRET_ENV = ("ADVISOR_AUTH", "ADVISOR_OPENAI_API_KEY", "OPENAI_API_KEY", "ADVISOR_SECRET", "PGPASSWORD", "HF_TOKEN")
_config: bytes = b""  # what this worker was handed on its stdin (worker_config)


def worker_config() -> bytes:
    """The configuration the supervisor handed this worker on its stdin (empty when none)."""
    return _config


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


class _Slot:
    """One worker's place: its process (None between tries), whether it said it was ready, its failed starts in a row
    and when to try next."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.ready_pipe = -1
        self.ready = False
        self.failures = 0  # failed starts in a row, not counting an unreachable database
        self.waits = 0  # starts in a row that found the database unreachable
        self.next_start = 0.0

    def poll_ready(self) -> None:
        if not self.ready and self.ready_pipe >= 0:
            try:
                self.ready = bool(os.read(self.ready_pipe, 1))
            except BlockingIOError:
                return
            os.close(self.ready_pipe)
            self.ready_pipe = -1

    def ended(self) -> None:
        if self.ready_pipe >= 0:
            os.close(self.ready_pipe)
        self.proc, self.ready_pipe = None, -1

    def pause(self, tries: int) -> float:
        return min(MAX_BACKOFF_S, RESTART_DELAY_S * 2 ** max(0, tries - 1))


class Supervisor:
    """Starts ``count`` workers and keeps that many running until told to stop (module docstring)."""

    def __init__(self, factory: str, host: str, port: int, count: int, grace_s: float, config: bytes = b"") -> None:
        self.command = [sys.executable, "-m", "advisor.workers", factory, host, str(port), str(grace_s)]
        # the workers import this package and the factory's module from where they are, installed or not
        root = str(Path(__file__).resolve().parent.parent)
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # secrets go to each worker on its stdin (read once, at its start), not in its environment, which every
        # process it starts would inherit and which stays readable in /proc for its life
        secrets = {name: self.env.pop(name) for name in SECRET_ENV if name in self.env}
        self.config = len(config).to_bytes(8, "big") + config + _encode_env(secrets)
        self.count, self.grace_s = count, grace_s
        self.slots = [_Slot() for _ in range(count)]
        self.stopping = False
        self.failed = False

    @property
    def workers(self) -> list[subprocess.Popen]:
        return [slot.proc for slot in self.slots if slot.proc is not None]

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Until SIGTERM or SIGINT: 0 then; 1 when a worker could not start MAX_FAILED_STARTS times in a row."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        while not self.stopping:
            for slot in self.slots:
                if not self.stopping:
                    self._tend(slot)
            time.sleep(0.2)
        self._stop_all()
        return 1 if self.failed else 0

    def _tend(self, slot: _Slot) -> None:
        """Start the slot's worker when it is time, note when it is ready, and deal with its end."""
        now = time.monotonic()
        if slot.proc is None:
            if now >= slot.next_start:
                self._start(slot)
            return
        slot.poll_ready()
        code = slot.proc.poll()
        if code is None:
            return
        pid, ready = slot.proc.pid, slot.ready
        slot.ended()
        if ready:  # it served, then ended (killed, crashed): replace it
            log.warning("worker %d ended (exit status %s); starting another", pid, code)
            slot.failures = slot.waits = 0
            slot.next_start = now + RESTART_DELAY_S
        elif code == STORAGE_UNAVAILABLE:  # an outage: wait for it to pass, however long
            slot.waits += 1
            pause = slot.pause(slot.waits)
            log.warning("worker %d found the database unreachable; trying again in %.0f s", pid, pause)
            slot.next_start = now + pause
        else:
            slot.failures += 1
            if slot.failures >= MAX_FAILED_STARTS:
                log.error(
                    "a worker could not start %d times in a row (last exit status %s; its error is above); "
                    "stopping the server",
                    slot.failures,
                    code,
                )
                self.stopping = self.failed = True
                return
            pause = slot.pause(slot.failures)
            log.warning("worker %d could not start (exit status %s); trying again in %.0f s", pid, code, pause)
            slot.next_start = now + pause

    def _start(self, slot: _Slot) -> None:
        read, write = os.pipe()
        os.set_blocking(read, False)
        try:
            slot.proc = subprocess.Popen(
                [*self.command, str(write)], env=self.env, pass_fds=(write,), stdin=subprocess.PIPE
            )
            assert slot.proc.stdin is not None
            try:
                slot.proc.stdin.write(self.config)
                slot.proc.stdin.close()
            except BrokenPipeError:  # it ended already; its end is dealt with like any other
                pass
        finally:
            os.close(write)
        slot.ready_pipe, slot.ready = read, False

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
        for slot in self.slots:
            slot.ended()


def _worker(factory: str, host: str, port: int, grace_s: float, ready_fd: int) -> None:
    """One worker: its own socket on the shared port, its app from the factory, uvicorn serving it. Once the app is
    built it says so on ``ready_fd`` (the supervisor tells a failed start from a worker that served and ended)."""
    import uvicorn
    from uvicorn.importer import import_from_string

    _end_with_parent()
    _read_config()
    sock = listening_socket(host, port)  # not listening until uvicorn starts: no connection is routed here before
    app = import_from_string(factory)()
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=int(grace_s))
    uvicorn.Server(config).run(sockets=[sock])


def _encode_env(values: dict[str, str]) -> bytes:
    import json

    return json.dumps(values).encode()


def _read_config() -> None:
    """Read what the supervisor wrote on stdin: the app's configuration, then the secrets, which go into this
    process's own environment (where libpq and the settings read them), never into the one it was started with."""
    import json

    import advisor.workers as shared  # what advisor.server.worker_app reads: this file runs as __main__, a copy of it

    data = sys.stdin.buffer.read()
    if len(data) < 8:
        return
    size = int.from_bytes(data[:8], "big")
    shared._config = data[8 : 8 + size]
    os.environ.update(json.loads(data[8 + size :] or b"{}"))


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
    _worker(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
