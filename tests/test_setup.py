"""Setting the project up and starting it as the README says: the package installs without setuptools warnings and
with its data, `make run PORT=N` picks the port, and a busy port is one clear line (issue #25, Build 8)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def busy_port():
    """A port something else listens on (as a second `make run` would find it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_the_wheel_builds_without_warnings_and_carries_its_data(tmp_path):
    # built from a copy of the tracked files, so that setuptools' build/ folder is not left in the checkout
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, tracked.split("\0")):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    log = out.stdout + out.stderr
    assert "would be ignored" not in log and "SetuptoolsDeprecationWarning" not in log, log[-3000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ROOT.glob("catalog/data/**/*.yaml"):
        assert str(data.relative_to(ROOT)) in names
    assert {"advisor/nlu/data/intent_model.json", "prompts/system.md"} <= names


@pytest.mark.server
def test_a_busy_port_is_one_line_naming_the_fix(busy_port):
    out = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--driver", "offline", "--db", ":memory:", "--port", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    from advisor import server as app_server

    assert out.returncode == app_server.PORT_IN_USE
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr and "Errno" not in out.stderr, out.stderr
    assert f"port {busy_port} is in use" in lines[0] and "make run PORT=" in lines[0] and "--port" in lines[0]
    assert "http://" not in out.stdout  # no URL line for a server that never started


@pytest.mark.server
def test_make_run_takes_the_port_and_adds_no_error_of_its_own(busy_port):
    # only when the app's install is current: otherwise make would install it first, which is no test's business
    if subprocess.run(["make", "-q", ".venv/.installed-app"], cwd=ROOT).returncode != 0:
        pytest.skip("the app's .venv is not current (make would install it)")
    out = subprocess.run(
        ["make", "-s", "run", f"PORT={busy_port}"], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert lines and f"port {busy_port} is in use" in lines[-1], lines
    assert not any(line.startswith("make") for line in lines) and out.returncode == 0, lines
