"""Every `sh` and `python` example in the README runs, against a real server where it needs one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_app import Server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(sh|python|json)\n(.*?)```", README, re.S)
SH = [line for lang, body in BLOCKS if lang == "sh" for line in body.strip().splitlines() if line.strip()]
PY = [body for lang, body in BLOCKS if lang == "python"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("readme")).start()
    yield srv
    srv.stop()


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "ADVISOR_DB": str(tmp_path / "readme.sqlite"), "ADVISOR_DRIVER": "offline"}


def test_readme_has_examples_for_every_entry_point():
    text = "\n".join(SH)
    for needle in ("advisor catalog", "advisor tool", "advisor ask", "/api/tools", "/v1/chat/completions", "/healthz"):
        assert needle in text
    assert any("OpenAI(" in b for b in PY) and any("tools.call" in b for b in PY)
    assert "/gradio_api/mcp/" in README


@pytest.mark.parametrize("line", SH, ids=[line[:60] for line in SH])
def test_shell_example_runs(line, server, tmp_path):
    cmd = line.replace("http://127.0.0.1:7860", server.url)
    if cmd.startswith("advisor "):
        cmd = f"{sys.executable} -m advisor.cli " + cmd[len("advisor "):]
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip(), "an example should print something"
    assert "Traceback" not in out.stdout + out.stderr
    assert '"error"' not in out.stdout, out.stdout[:500]


@pytest.mark.parametrize("index", range(len(PY)))
def test_python_example_runs(index, server, tmp_path):
    code = PY[index].replace("http://127.0.0.1:7860", server.url)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()
