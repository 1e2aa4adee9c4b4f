"""`advisor chat` in a terminal (issue #25, Build 8): answers rendered for the terminal with rich (tables drawn, no
Markdown pipes or fold markers), the verdict first, reasons on /more; an empty line does nothing, /exit and Ctrl-D
quit. `advisor ask` prints Markdown with the verdict first and no fold markers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADVISOR = [sys.executable, "-m", "advisor.cli"]


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "110", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [*ADVISOR, *args], input=stdin, capture_output=True, text=True, timeout=240, cwd=ROOT, env=env
    )


def test_chat_renders_for_the_terminal_and_quits_on_exit_not_on_an_empty_line():
    out = _run(
        ["chat", "--driver", "offline", "--db", ":memory:"],
        "We have one RTX 4090 and need a commercially usable coding model\n\n"
        "What would 50M tokens a month cost?\n/more\n/exit\nCan I use Qwen2.5 3B commercially?\n",
    )
    text = out.stdout
    assert out.returncode == 0, out.stderr[-2000:]
    assert text.count("[tool] select_models") == 1 and text.count("[tool] estimate_cost") == 1  # past the empty line
    assert "check_license" not in text  # /exit quit before the last message
    assert "Fits 1 x RTX 4090" in text and "Licence: Apache License 2.0" in text  # the verdict, first
    assert "─" in text and "|---|" not in text and "<!--" not in text and "**" not in text  # drawn by rich
    assert "Break-even" in text and "Assumptions" in text  # /more showed the cost's folded part
    assert text.count("Offline driver (no LLM)") == 1
    assert "Conversation saved as thread" in text


def test_chat_quits_on_ctrl_d():
    out = _run(["chat", "--driver", "offline", "--db", ":memory:"], "")
    assert out.returncode == 0 and "Conversation saved as thread" in out.stdout and "Traceback" not in out.stderr


def test_ask_prints_the_verdict_first_and_no_fold_markers():
    out = _run(["ask", "--driver", "offline", "--db", ":memory:", "How much memory does Qwen3 8B need on an RTX 4090?"])
    assert out.returncode == 0, out.stderr[-2000:]
    first = out.stdout.lstrip().splitlines()[0]
    assert first.startswith("**Qwen3 8B**") and "<!--" not in out.stdout and "Assumptions" in out.stdout
