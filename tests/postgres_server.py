"""A throwaway PostgreSQL server for the tests and benchmarks: ``initdb`` into a temporary folder, ``postgres`` on a
free port of 127.0.0.1 with a password, stopped and removed at the end. Nothing is mocked.

    with TempPostgres() as pg:
        url = pg.create_database("t1")  # postgresql://advisor:PASSWORD@127.0.0.1:PORT/t1

    python -m tests.postgres_server  # start one, print its URL, stop it on Ctrl-C (for bench/concurrency.py --db)

The binaries come from Debian's ``postgresql`` package (``apt-get install postgresql``, which ``.ci/run`` does; they
live in /usr/lib/postgresql/VERSION/bin) or from PATH. PostgreSQL refuses to run as root, so under root (CI) the
server runs as the ``postgres`` user that the package creates (or ``nobody``).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER = "advisor"
MISSING = "PostgreSQL is not installed (apt-get install postgresql, as .ci/run does)"


def binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: Debian's newest, else PATH's; None when there is none."""
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name), reverse=True
    )
    found = debian[0] if debian else shutil.which("pg_ctl")
    if not found:
        return None
    folder = Path(os.path.realpath(found)).parent
    return folder if (folder / "initdb").exists() and (folder / "postgres").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> str | None:
    """The user the server runs as: this one, or under root one that PostgreSQL accepts."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class TempPostgres:
    """One PostgreSQL server in a temporary folder. ``url`` is its default database, ``create_database`` makes more;
    ``stop()`` and ``start()`` again keep the data (to test an outage)."""

    def __init__(self) -> None:
        folder = binaries()
        if folder is None:
            raise FileNotFoundError(MISSING)
        self.bin = folder
        self.user = _run_as()
        self.tmp = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "postgres.log"
        self.password = "pw-" + secrets.token_hex(8)
        self.port = 0
        if self.user:
            os.chmod(self.tmp, 0o700)
            shutil.chown(self.tmp, self.user)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]], user=self.user, capture_output=True, text=True, check=check, cwd="/"
        )

    def url_of(self, database: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def init(self) -> TempPostgres:
        pwfile = self.tmp / "pw"
        pwfile.write_text(self.password + "\n")
        if self.user:
            shutil.chown(pwfile, self.user)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8"
        )
        pwfile.unlink()
        return self

    def start(self, wait_s: float = 60) -> TempPostgres:
        """Start the server on a free port (the same one again after a stop); retried on a port taken meanwhile."""
        for attempt in range(3):
            self.port = self.port or _free_port()
            options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.tmp}"
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", str(int(wait_s)),
                "start", check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return self
            if attempt < 2 and "could not bind" in self.log.read_text(errors="replace"):
                self.port = 0
                continue
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{self.log.read_text(errors='replace')}")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def __enter__(self) -> TempPostgres:
        try:
            return self.init().start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


if __name__ == "__main__":
    with TempPostgres() as pg:
        print(pg.create_database("advisor"), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sys.exit(0)
