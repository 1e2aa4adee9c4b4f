"""Every `sh` and `python` example in the README runs, against a real server where it needs one, and prints what
the README implies: the verdict, the cheapest option, the fit, the model it names. Each example has a check in
SHELL_CHECKS or PYTHON_CHECKS (computed from the tools and the catalog, never a copied figure); a new example
without one fails test_every_readme_example_has_a_check."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tools
from tests.test_app import Server
from tools.common import catalog

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(sh|python|json)\n(.*?)```", README, re.S)
SH = [line for lang, body in BLOCKS if lang == "sh" for line in body.strip().splitlines() if line.strip()]
PY = [body for lang, body in BLOCKS if lang == "python"]


SERVER_FIXTURES = ("server",)  # fixtures that start the app in a subprocess: their tests are marked `server`


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
        cmd = f"{sys.executable} -m advisor.cli " + cmd[len("advisor ") :]
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip(), "an example should print something"
    assert "Traceback" not in out.stdout + out.stderr
    assert '"error"' not in out.stdout, out.stdout[:500]
    _check_for(line, SHELL_CHECKS)(out.stdout)


@pytest.mark.parametrize("index", range(len(PY)))
def test_python_example_runs(index, server, tmp_path):
    code = PY[index].replace("http://127.0.0.1:7860", server.url)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT, env=_env(tmp_path)
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()
    _check_for(PY[index], PYTHON_CHECKS)(out.stdout)


def _check_for(example: str, checks: dict):
    found = [check for key, check in checks.items() if re.search(key, example.strip())]
    assert len(found) == 1, f"no single output check for this README example: {example[:120]!r}"
    return found[0]


def test_every_readme_example_has_a_check():
    for line in SH:
        _check_for(line, SHELL_CHECKS)
    for body in PY:
        _check_for(body, PYTHON_CHECKS)


# ---------------------------------------------------------------- what each example must print

CAT = catalog()
RTX_4090_GB = CAT.gpu("RTX 4090").memory_bytes / 1e9


def _json(stdout: str) -> dict:
    return json.loads(stdout)


def _validate(stdout: str) -> None:
    assert stdout.startswith("catalog OK")
    assert f"{len(CAT.models)} models" in stdout and f"{len(CAT.licenses)} licences" in stdout


def _family_list(stdout: str) -> None:
    ids = [line.split()[0] for line in stdout.splitlines()[2:] if line.strip()]
    expected = {m.id for m in CAT.models.values() if m.family == "qwen3"}
    assert expected and expected <= set(ids), sorted(expected - set(ids))
    assert all(CAT.models[i].family.startswith("qwen3") for i in ids), ids


def _show(stdout: str) -> None:
    assert _json(stdout)["id"] == "llama-3.1-8b"  # the repo name resolves to the model, not another version


def _two_4090s(stdout: str) -> None:
    r = _json(stdout)
    assert r["fits"] is True and r["num_gpus"] == 2 and r["quantization"]["id"] == "q4_k_m"
    assert r["per_gpu_gb"] <= RTX_4090_GB and r["total_gb"] > RTX_4090_GB  # one card would not do, two do


def _one_48gb_card(stdout: str) -> None:
    r = _json(stdout)
    assert r["fits"] is True and r["gpu"]["memory_gb"] == pytest.approx(48 * 2**30 / 1e9, abs=0.01)  # "48GB" is 48 GiB
    assert r["total_gb"] <= r["gpu"]["memory_gb"] and r["max_context_that_fits"] >= r["context_length"]


def _deepseek_over_nodes(stdout: str) -> None:
    rec = _json(stdout)["recommended"]
    weights = tools.call("estimate_memory", {"model": "deepseek v3", "quantization": "fp8"})["weights_gb"]
    assert rec["quantization"] == "fp8" and rec["gpu"] == "h100-sxm"
    assert weights > 0.9 * 8 * rec["gpu_memory_gb"]  # more than vLLM's 90% share of a node of 8 ...
    assert rec["num_gpus"] > 8 and rec["nodes"] == -(-rec["num_gpus"] // 8)  # ... so the plan spans nodes
    assert rec["nodes"] >= 2 and rec["memory_per_gpu_gb"] <= rec["gpu_memory_gb"]
    assert f"--tensor-parallel-size 8 --pipeline-parallel-size {rec['num_gpus'] // 8}" in rec["command"]


def _qwen_on_a_mac(stdout: str) -> None:
    r = _json(stdout)
    assert r["gpu"]["id"] == "m4-max-128gb" and r["engine"] in ("llama.cpp", "mlx")  # no CUDA engine on a Mac
    assert 0 < r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"]


def _over_the_llama_cap(stdout: str) -> None:
    r = _json(stdout)
    assert r["verdict"] == "not_allowed"
    assert any("800,000,000 monthly active users exceed" in reason for reason in r["reasons"])


def _ask_coding_4090(stdout: str) -> None:
    picks = tools.call("select_models", {"use_case": "code", "gpu": "rtx-4090", "commercial": True})["recommendations"]
    assert picks[0]["name"] in stdout
    assert "not allowed" not in stdout and "commercial" in stdout.lower()


def _exercise_2(stdout: str) -> None:
    assert "$365.00" in stdout  # $0.5 a GPU-hour x 730 hours, always on
    assert "GPT-6 Luna" in stdout and "utilisation: 0.6" in stdout
    head = re.search(r"^\| Option \|(.+)\|$", stdout, re.M)
    volumes = [c.strip() for c in head.group(1).split("|")]
    mine = next(i for i, c in enumerate(volumes) if c.startswith("**"))  # the user's volume, in bold
    rows = re.findall(r"^\| (.+?) \|((?: \$[\d,.]+ \|)+)$", stdout, re.M)
    cost = lambda row: float(row[1].strip(" |").split("|")[mine].strip().lstrip("$").replace(",", ""))  # noqa: E731
    assert len(rows) >= 3
    assert f"Cheapest at this volume: **{min(rows, key=cost)[0]}**" in stdout


def _view_hardware(stdout: str) -> None:
    rows = [r for r in stdout.splitlines() if r.startswith("| ~") or re.match(r"\| \d", r)]
    assert len(rows) >= 3
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[2]) > float(cells[3]) > float(cells[4]), row  # 16-bit > 8-bit > 4-bit


def _health(stdout: str) -> None:
    r = _json(stdout)
    assert r["status"] == "ok" and r["driver"] == "offline"
    assert r["catalog"]["models"] == len(CAT.models) and r["catalog"]["gpus"] == len(CAT.gpus)


def _tool_list(stdout: str) -> None:
    assert [t["function"]["name"] for t in _json(stdout)["tools"]] == tools.names()


def _select_over_http(stdout: str) -> None:
    r = _json(stdout)
    assert r["use_case"] == "code" and r["recommendations"]
    for rec in r["recommendations"]:
        assert rec["memory_gb"] <= RTX_4090_GB and rec["license_verdict"] != "not_allowed"
    assert r == tools.call("select_models", {"use_case": "code", "gpu": "RTX 4090", "commercial": True})


def _licence_view(stdout: str) -> None:
    r = _json(stdout)
    assert "Llama 3.1 Community License Agreement" in json.dumps(r)


def _qwen_200m(stdout: str) -> None:
    r = _json(stdout)
    reply = r["choices"][0]["message"]["content"]
    assert "not allowed" in reply.lower(), reply[:500]
    assert any(
        step["name"] == "check_license" and step["result"]["verdict"] == "not_allowed"
        for step in r.get("advisor_tool_calls", [])
    ), "the verdict comes from check_license"


SHELL_CHECKS = {
    "advisor catalog validate": _validate,
    "advisor catalog list --family qwen3": _family_list,
    "advisor catalog show": _show,
    r'estimate_memory.*"num_gpus": 2': _two_4090s,
    r'estimate_memory.*"vram_gb": 48': _one_48gb_card,
    "advisor tool plan_deployment": _deepseek_over_nodes,
    "advisor tool estimate_throughput": _qwen_on_a_mac,
    "advisor tool check_license": _over_the_llama_cap,
    "advisor ask --driver offline": _ask_coding_4090,
    "advisor exercise 2": _exercise_2,
    "advisor view hardware": _view_hardware,
    "/healthz": _health,
    r"/api/tools$": _tool_list,
    "/api/tools/select_models": _select_over_http,
    "/api/views/licenses": _licence_view,
    "/v1/chat/completions": _qwen_200m,
}


def _cheapest(stdout: str) -> None:
    r = tools.call("estimate_cost", {"monthly_tokens": 10_000_000, "model": "llama 3.1 8b", "gpu": "RTX 4090"})
    cheapest = min(r["options"], key=lambda o: o["monthly_usd"])["name"]
    assert stdout.splitlines()[0] == cheapest
    gemma = tools.call("check_license", {"model": "gemma 3 27b", "use_outputs_to_train_other_models": True})["verdict"]
    assert stdout.splitlines()[1] == gemma != "allowed"  # the Gemma terms restrict training on its outputs
    top = tools.call(
        "select_models", {"use_case": "customer_service", "gpu": "l40s", "num_gpus": 2, "commercial": True}
    )
    assert top["recommendations"][0]["name"] in stdout


def _openai_memory(stdout: str) -> None:
    r = tools.call("estimate_memory", {"model": "qwen2.5 32b", "context_length": 32768})
    assert "Qwen2.5 32B" in stdout and f"{r['total_gb']} GB" in stdout, stdout[:600]


PYTHON_CHECKS = {r"OpenAI\(": _openai_memory, r"tools\.call": _cheapest}
