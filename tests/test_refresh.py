"""`advisor catalog import` drafts entries from the Hub's responses, served here by a local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from advisor.cli import main
from catalog.refresh import ImportFailed, architecture_from_config, draft_entry

FIXTURES = Path(__file__).parent / "fixtures" / "hub"


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers the two requests the importer makes, from the recorded fixtures."""

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        body = None
        if path.startswith("/api/models/"):
            repo = path[len("/api/models/"):]
            f = FIXTURES / repo.replace("/", "__") / "model_info.json"
            body = f.read_bytes() if f.is_file() else None
        elif "/resolve/main/config.json" in path:
            repo = path.strip("/").split("/resolve/")[0]
            f = FIXTURES / repo.replace("/", "__") / "config.json"
            body = f.read_bytes() if f.is_file() else None
        if body is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":"Repository not found"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """The suite runs with HF_HUB_OFFLINE=1; these tests talk to a local stand-in for the Hub."""
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture()
def hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_draft_from_hub_reads_config_count_and_licence(hub):
    entry = draft_entry("Qwen/Qwen3-8B", endpoint=hub)
    assert entry["id"] == "qwen3-8b"
    assert entry["params_b"] == 8.19
    assert entry["license"] == "apache-2.0"
    assert entry["release_date"] == "2025-04-27"
    arch = entry["architecture"]
    assert (arch["layers"], arch["hidden_size"], arch["attention_heads"], arch["kv_heads"]) == (36, 4096, 32, 8)
    assert arch["attention"] == {"kind": "full"}
    assert entry["context_length"] == 40960
    assert set(entry["unverified"]) == set(entry["cite"])  # a draft claims nothing is checked
    assert "FILL-IN" in entry["family"]


def test_draft_maps_mla_and_moe(hub):
    entry = draft_entry("deepseek-ai/DeepSeek-V3", endpoint=hub)
    arch = entry["architecture"]
    assert arch["attention"] == {"kind": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64}
    assert arch["moe"] == {"experts": 256, "active_experts": 8, "shared_experts": 1, "dense_layers": 3}
    assert arch["intermediate_size"] == 2048  # the per-expert width
    assert entry["params_b"] == 684.53


def test_unknown_repo_names_it(hub):
    with pytest.raises(ImportFailed, match="no model repo 'nobody/nothing'"):
        draft_entry("nobody/nothing", endpoint=hub)


def test_no_network_says_so_clearly():
    # Port 9 on localhost refuses connections: the same failure as having no network.
    with pytest.raises(ImportFailed, match="could not reach the Hugging Face Hub.*--from-dir"):
        draft_entry("Qwen/Qwen3-8B", endpoint="http://127.0.0.1:9")


def test_bad_repo_id_is_refused():
    with pytest.raises(ImportFailed, match="OWNER/NAME"):
        draft_entry("not a repo")


def test_cli_import_from_dir_prints_yaml(capsys):
    rc = main(["catalog", "import", "Qwen/Qwen3-8B", "--from-dir", str(FIXTURES / "Qwen__Qwen3-8B")])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("# DRAFT")
    assert "num_hidden_layers" not in out and "layers: 36" in out


def test_cli_import_offline_exit_code(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    rc = main(["catalog", "import", "Qwen/Qwen3-8B"])
    assert rc == 1
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_sliding_window_patterns():
    gemma3 = {"text_config": {"num_hidden_layers": 34, "hidden_size": 2560, "num_attention_heads": 8,
                              "num_key_value_heads": 4, "head_dim": 256, "vocab_size": 262208,
                              "sliding_window": 1024, "sliding_window_pattern": 6}}
    assert architecture_from_config(gemma3)["attention"] == {"kind": "sliding", "window": 1024, "global_every": 6}
    oss = {"num_hidden_layers": 24, "hidden_size": 2880, "num_attention_heads": 64, "num_key_value_heads": 8,
           "head_dim": 64, "vocab_size": 201088, "sliding_window": 128,
           "layer_types": ["sliding_attention", "full_attention"] * 12, "num_local_experts": 32,
           "num_experts_per_tok": 4}
    arch = architecture_from_config(oss)
    assert arch["attention"] == {"kind": "sliding", "window": 128, "global_every": 2}
    assert arch["moe"] == {"experts": 32, "active_experts": 4}
    qwen_off = json.loads((FIXTURES / "Qwen__Qwen3-8B" / "config.json").read_text())
    assert architecture_from_config(qwen_off)["attention"] == {"kind": "full"}
