"""Helpers shared by the benchmarks: the machine, percentiles, and a server started from app.py.

Benchmarks print figures and ratios against a baseline measured in the same run; they are never
timed unit tests.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The server and the client never reach the network.
QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "PYTHONUNBUFFERED": "1",
}


def machine() -> str:
    """One line: CPU model, cores, memory, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{platform.machine()} {cpu}, {cores} cores{mem}, {system}"


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank on the sorted samples."""
    s = sorted(samples)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def p50(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py --driver offline`` on a free port with a temporary --db (as tests/test_app.py does)."""

    def __init__(
        self,
        *extra: str,
        driver: str | None = "offline",
        env: dict | None = None,
        python: str | None = None,
        db: str | None = None,
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.tmp / "server.log"
        self.workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1
        args = [
            python or sys.executable,
            str(ROOT / "app.py"),
            "--port",
            str(self.port),
            "--db",
            db or str(self.tmp / "conversations.sqlite"),
        ]
        if driver:
            args += ["--driver", driver]
        self.args = [*args, *extra]
        self.env = {**os.environ, **QUIET_ENV, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None
        self.stderr_path = self.tmp / "stderr.log"

    def start(self, wait_s: float = 60, poll_s: float = 0.02) -> Server:
        import httpx

        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.args, stdout=open(self.log, "ab"), stderr=open(self.stderr_path, "ab"), env=self.env, cwd=ROOT
        )
        deadline = started + wait_s
        with httpx.Client(timeout=2) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.output()[-2000:]}")
                try:
                    if client.get(self.url + "/healthz").status_code == 200:
                        self.ready_s = time.perf_counter() - started
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(poll_s)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {wait_s} s: {self.output()[-2000:]}")

    def output(self) -> str:
        text = ""
        for p in (self.log, self.stderr_path):
            if p.exists():
                text += p.read_text(errors="replace")
        return text

    def pids(self) -> list[int]:
        """The server process and its descendants (the worker processes of --workers N)."""
        if self.proc is None:
            return []
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def rss_mb(self) -> float | None:
        """Resident set size of the server's processes together, in MB (10^6 bytes)."""
        if self.proc is None:
            return None
        total = 0.0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024 / 1e6
            except OSError:
                continue
        return total or None

    def cpu_s(self) -> float | None:
        """User + system CPU seconds the server's processes have used so far (all their threads)."""
        if self.proc is None:
            return None
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# Questions that exercise each kind of turn of the offline driver (each calls at least one tool).
QUESTIONS = [
    "We have one RTX 4090 and need a commercially usable coding model. Just recommend.",
    "Can I use Qwen2.5 72B commercially with 200M monthly users?",
    "How much memory does Qwen2.5 32B need at 32k context?",
    "What would 10M tokens a month cost with llama 3.1 8b on an RTX 4090 compared with APIs?",
    "Compare llama 2 7b, llama 3 8b and llama 3.1 8b on benchmarks",
    "How fast is qwen3-30b-a3b on an H100 SXM with vllm?",
]


# A conversation every load bench plays: requirements, licence, memory, cost, benchmarks, speed.
CONVERSATION = [
    "We are a startup with one RTX 4090, commercial use, for a coding assistant. Just recommend.",
    "And the licence of the first one, with 5M monthly users?",
    "How much memory does it need at 32k context in 4-bit?",
    "What would 50M tokens a month cost on that GPU compared with APIs?",
    "Compare the first two on benchmarks",
    "How fast is it on an H100 SXM?",
]
