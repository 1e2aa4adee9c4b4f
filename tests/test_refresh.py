"""`advisor catalog import` and `advisor catalog refresh` against recorded Hub and LiteLLM responses.

A local HTTP server stands in for the Hub (``/api/models/{repo}`` and ``/{repo}/resolve/main/config.json``)
and serves LiteLLM's price file; nothing here reaches the network. Refresh tests run on a temp copy
of the catalog, so ``--write`` never touches the shipped files.
"""

from __future__ import annotations

import copy
import datetime as dt
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from advisor.cli import main
from catalog.hub_import import ImportFailed, architecture_from_config, draft_entry

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
LITELLM = Path(__file__).parent / "fixtures" / "litellm" / "model_prices_and_context_window.json"
CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "data"


def _handler(root: Path, files: dict[str, bytes]):
    class Hub(http.server.BaseHTTPRequestHandler):
        """Answers the importer's two requests from recorded fixtures (a GATED file makes config.json 403)."""

        def do_GET(self):  # noqa: N802
            path = self.path.split("?", 1)[0]
            body, status = files.get(path), 200
            if body is None and path.startswith("/api/models/"):
                f = root / path[len("/api/models/") :].replace("/", "__") / "model_info.json"
                body = f.read_bytes() if f.is_file() else None
            elif body is None and "/resolve/main/config.json" in path:
                folder = root / path.strip("/").split("/resolve/")[0].replace("/", "__")
                if (folder / "GATED").exists():
                    body, status = b'{"error":"Access to model is restricted"}', 403
                elif (folder / "config.json").is_file():
                    body = (folder / "config.json").read_bytes()
            if body is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "RepoNotFound")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error":"Repository not found"}')
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output quiet
            pass

    return Hub


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """The suite runs with HF_HUB_OFFLINE=1; these tests talk to a local stand-in for the Hub."""
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture()
def serve():
    servers = []

    def start(root: Path = FIXTURES, files: dict[str, bytes] | None = None) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, files or {}))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture()
def hub(serve):
    return serve()


@pytest.fixture()
def catalog_copy(tmp_path):
    """A writable copy of the shipped catalog."""
    return Path(shutil.copytree(CATALOG, tmp_path / "catalog"))


def _config(name: str) -> dict:
    return json.loads((FIXTURES / name / "config.json").read_text())


# ---------------------------------------------------------------- import


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
    assert arch["attention"] == {"kind": "mla", "kv_lora_rank": 512, "qk_rope_head_dim": 64, "q_lora_rank": 1536}
    assert arch["moe"] == {
        "experts": 256,
        "active_experts": 8,
        "shared_experts": 1,
        "dense_layers": 3,
        "expert_intermediate_size": 2048,
    }
    assert arch["intermediate_size"] == 18432  # the three dense layers' width; experts have their own
    assert arch["head_dim"] == 128  # MLA: v_head_dim, not hidden_size / heads (56)
    assert entry["params_b"] == 684.53


def test_draft_of_a_multimodal_quantized_repo_lists_formats_and_modalities(hub):
    entry = draft_entry("openai/gpt-oss-20b", endpoint=hub)
    assert entry["formats"] == ["mxfp4"] and entry["cite"]["formats"] == "config"
    assert draft_entry("google/gemma-3-27b-it", endpoint=hub)["modalities"] == ["text", "image"]


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


# ---------------------------------------------------------------- config.json -> architecture


def test_gated_deltanet_qwen3_next():
    arch = architecture_from_config(_config("Qwen__Qwen3-Next-80B-A3B-Instruct"))
    assert arch == {
        "layers": 48,
        "hidden_size": 2048,
        "attention_heads": 16,
        "kv_heads": 2,
        "head_dim": 256,
        "vocab_size": 151936,
        "tied_embeddings": False,
        "attention": {"kind": "full"},
        "linear_attention": {
            "kind": "gated_deltanet",
            "layers": 36,
            "heads": 32,
            "key_heads": 16,
            "key_head_dim": 128,
            "value_head_dim": 128,
            "conv_kernel": 4,
        },
        "moe": {"experts": 512, "active_experts": 10, "shared_experts": 1, "expert_intermediate_size": 512},
    }  # every layer is MoE, so the unused dense intermediate_size (5120) is left out


def test_gated_deltanet_from_layer_types_with_fp32_state_and_vision():
    cfg = {
        "text_config": {
            **_config("Qwen__Qwen3-Next-80B-A3B-Instruct"),
            "mamba_ssm_dtype": "float32",
            "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 10,
            "num_hidden_layers": 40,
        },
        "vision_config": {"depth": 27},
    }
    del cfg["text_config"]["full_attention_interval"]
    arch = architecture_from_config(cfg)
    assert arch["linear_attention"]["layers"] == 30 and arch["linear_attention"]["recurrent_dtype_bytes"] == 4
    assert "attention_layers" not in arch  # 10 = 40 - 30: the default
    from catalog.config_facts import facts_from_config

    assert facts_from_config(cfg)["modalities"] == ["text", "image"]


def test_mamba2_nemotron_h_pattern():
    arch = architecture_from_config(_config("nvidia__NVIDIA-Nemotron-Nano-9B-v2"))
    assert arch["linear_attention"] == {
        "kind": "mamba2",
        "layers": 27,
        "heads": 128,
        "key_heads": 8,
        "key_head_dim": 128,
        "value_head_dim": 80,
        "conv_kernel": 4,
    }
    assert arch["attention_layers"] == 4  # the other 25 layers are MLP-only ('-')
    assert arch["intermediate_size"] == 15680 and arch["head_dim"] == 128 and "moe" not in arch


def test_mamba2_nemotron_h_moe_layers():
    pattern = "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME"
    assert (len(pattern), pattern.count("E"), pattern.count("M"), pattern.count("*")) == (52, 23, 23, 6)
    cfg = {
        **_config("nvidia__NVIDIA-Nemotron-Nano-9B-v2"),
        "hybrid_override_pattern": pattern,
        "num_hidden_layers": 52,
        "hidden_size": 2688,
        "num_attention_heads": 32,
        "num_key_value_heads": 2,
        "mamba_num_heads": 64,
        "mamba_head_dim": 64,
        "n_routed_experts": 128,
        "num_experts_per_tok": 6,
        "n_shared_experts": 1,
        "moe_intermediate_size": 1856,
        "intermediate_size": 1856,
    }
    arch = architecture_from_config(cfg)
    assert arch["moe"] == {
        "experts": 128,
        "active_experts": 6,
        "shared_experts": 1,
        "expert_intermediate_size": 1856,
        "layers": 23,
        "expert_matrices": 2,
    }  # squared-ReLU experts: no gate matrix
    assert arch["attention_layers"] == 6 and arch["linear_attention"]["layers"] == 23
    assert "intermediate_size" not in arch  # no dense MLP layer in the pattern


def test_mamba2_granite_4_h_layer_types():
    arch = architecture_from_config(_config("ibm-granite__granite-4.0-h-small"))
    assert arch["linear_attention"] == {
        "kind": "mamba2",
        "layers": 36,
        "heads": 128,
        "key_heads": 1,
        "key_head_dim": 128,
        "value_head_dim": 64,
        "conv_kernel": 4,
    }
    assert "attention_layers" not in arch  # 4 = 40 - 36
    assert arch["moe"] == {"experts": 72, "active_experts": 10, "shared_experts": 1, "expert_intermediate_size": 768}
    assert arch["tied_embeddings"] is True and "intermediate_size" not in arch


def test_mamba2_parallel_hybrid_without_pattern():
    # Falcon-H1: every layer runs attention and Mamba-2 side by side.
    cfg = {
        "num_hidden_layers": 44,
        "hidden_size": 3072,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "head_dim": 128,
        "intermediate_size": 12288,
        "vocab_size": 130048,
        "tie_word_embeddings": False,
        "mamba_n_heads": 24,
        "mamba_d_head": 128,
        "mamba_n_groups": 1,
        "mamba_d_state": 256,
        "mamba_d_conv": 4,
    }
    arch = architecture_from_config(cfg)
    assert arch["linear_attention"]["layers"] == 44 and arch["attention_layers"] == 44


def test_gpt_oss_sliding_moe_and_mxfp4():
    from catalog.config_facts import facts_from_config

    facts = facts_from_config(_config("openai__gpt-oss-20b"))
    arch = facts["architecture"]
    assert arch["attention"] == {"kind": "sliding", "window": 128, "global_every": 2}
    assert arch["moe"] == {"experts": 32, "active_experts": 4, "expert_intermediate_size": 2880}
    assert arch["head_dim"] == 64 and facts["formats"] == ["mxfp4"] and facts["max_position_embeddings"] == 131072


def test_deepseek_v32_sparse_attention_indexer_and_fp8():
    from catalog.config_facts import facts_from_config

    facts = facts_from_config(_config("deepseek-ai__DeepSeek-V3.2-Exp"))
    assert facts["architecture"]["attention"] == {
        "kind": "mla",
        "kv_lora_rank": 512,
        "qk_rope_head_dim": 64,
        "q_lora_rank": 1536,
        "index_head_dim": 128,
    }
    assert facts["architecture"]["moe"]["dense_layers"] == 3 and facts["formats"] == ["fp8"]


def test_gemma3_sparse_multimodal_config():
    from catalog.config_facts import facts_from_config

    facts = facts_from_config(_config("google__gemma-3-27b-it"))
    arch = facts["architecture"]
    assert arch["attention"] == {"kind": "sliding", "window": 1024}  # the pattern is a class default, not in the file
    assert arch["head_dim"] == 128 and "vocab_size" not in arch and "tied_embeddings" not in arch  # never guessed
    assert facts["modalities"] == ["text", "image"] and "formats" not in facts


def test_sliding_window_patterns():
    gemma3 = {
        "text_config": {
            "num_hidden_layers": 34,
            "hidden_size": 2560,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 262208,
            "sliding_window": 1024,
            "sliding_window_pattern": 6,
        }
    }
    assert architecture_from_config(gemma3)["attention"] == {"kind": "sliding", "window": 1024, "global_every": 6}
    layer_types = (["sliding_attention"] * 5 + ["full_attention"]) * 10 + ["sliding_attention"] * 2
    gemma3["text_config"] |= {"layer_types": layer_types, "num_hidden_layers": 62}
    assert architecture_from_config(gemma3)["attention"] == {"kind": "sliding", "window": 1024, "global_every": 6}
    irregular = ["full_attention"] + (["sliding_attention"] * 5 + ["full_attention"]) * 7 + ["sliding_attention"] * 5
    mimo = {
        "num_hidden_layers": 48,
        "hidden_size": 4096,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "head_dim": 192,
        "sliding_window": 128,
        "layer_types": irregular,
    }
    assert architecture_from_config(mimo)["attention"] == {"kind": "sliding", "window": 128, "global_layers": 8}
    qwen_off = _config("Qwen__Qwen3-8B")
    assert architecture_from_config(qwen_off)["attention"] == {"kind": "full"}


def test_global_layers_with_their_own_heads():
    gemma4 = {
        "num_hidden_layers": 30,
        "hidden_size": 2816,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 256,
        "sliding_window": 1024,
        "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 5,
        "num_global_key_value_heads": 2,
        "global_head_dim": 512,
        "attention_k_eq_v": True,
    }
    assert architecture_from_config(gemma4)["attention"] == {
        "kind": "sliding",
        "window": 1024,
        "global_every": 6,
        "global_kv_heads": 2,
        "global_head_dim": 512,
        "global_values_are_keys": True,
    }


def test_llama4_interleaved_moe():
    cfg = {
        "text_config": {
            "model_type": "llama4_text",
            "num_hidden_layers": 48,
            "hidden_size": 5120,
            "num_attention_heads": 40,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "intermediate_size": 8192,
            "intermediate_size_mlp": 16384,
            "num_local_experts": 128,
            "num_experts_per_tok": 1,
            "interleave_moe_layer_step": 2,
            "attention_chunk_size": 8192,
            "no_rope_layers": [1, 1, 1, 0] * 12,
            "vocab_size": 202048,
        }
    }
    arch = architecture_from_config(cfg)
    assert arch["moe"] == {
        "experts": 128,
        "active_experts": 1,
        "shared_experts": 1,
        "every": 2,
        "expert_intermediate_size": 8192,
    }
    assert arch["intermediate_size"] == 16384 and arch["attention"] == {
        "kind": "chunked",
        "window": 8192,
        "global_every": 4,
    }


@pytest.mark.parametrize(
    "repo,model_id",
    [
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3-next-80b-a3b-instruct"),
        ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "nemotron-nano-9b-v2"),
        ("ibm-granite/granite-4.0-h-small", "granite-4.0-h-small"),
        ("openai/gpt-oss-20b", "gpt-oss-20b"),
        ("deepseek-ai/DeepSeek-V3.2-Exp", "deepseek-v3.2-exp"),
        ("google/gemma-3-27b-it", "gemma-3-27b"),
    ],
)
def test_mapping_agrees_with_the_catalog_entry(repo, model_id):
    """The fixtures carry the catalog's values, so mapping them must change nothing the catalog states."""
    from catalog.hub_import import read_repo
    from catalog.loader import load_raw
    from catalog.refresh import compare_model

    raw, _ = load_raw(CATALOG)
    model = next(m for m in raw.models if m.id == model_id)
    changes = compare_model(model, "x", read_repo(repo, offline_dir=FIXTURES), {x.id: x for x in raw.licenses})
    # a fact the catalog does not state yet may be new, or for review (a config limit the entry must explain first)
    assert [c for c in changes if c.status != "new" and not (c.status == "review" and c.old is None)] == []


# ---------------------------------------------------------------- refresh: models


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["catalog", "refresh", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _modified_hub(tmp_path: Path, repo_dir: str, **changes) -> Path:
    root = Path(shutil.copytree(FIXTURES, tmp_path / "hub"))
    cfg = json.loads((root / repo_dir / "config.json").read_text())
    cfg.update(changes)
    (root / repo_dir / "config.json").write_text(json.dumps(cfg))
    return root


def test_refresh_with_nothing_new_exits_0(capsys, hub, catalog_copy):
    rc, out, err = _run(capsys, "--model", "qwen3-8b", "--endpoint", hub, "--skip-prices", "--dir", str(catalog_copy))
    assert rc == 0, out + err
    assert "no changes" in out and "1 models read" in out


def test_refresh_shows_a_changed_config_value_and_writes_nothing(capsys, serve, tmp_path, catalog_copy):
    endpoint = serve(_modified_hub(tmp_path, "Qwen__Qwen3-8B", num_hidden_layers=40, max_position_embeddings=32768))
    before = (catalog_copy / "models" / "qwen.yaml").read_bytes()
    rc, out, _ = _run(
        capsys, "--model", "qwen3-8b", "--endpoint", endpoint, "--skip-prices", "--dir", str(catalog_copy)
    )
    assert rc == 1
    url = "https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json"  # the Hub's address, read through the mirror
    assert f"~ architecture.layers: 36 -> 40  [{url}]" in out
    assert f"~ max_position_embeddings: 40960 -> 32768  [{url}]" in out
    assert "nothing written" in out
    assert (catalog_copy / "models" / "qwen.yaml").read_bytes() == before


def test_refresh_write_edits_in_place_keeps_comments_and_validates(capsys, serve, tmp_path, catalog_copy):
    endpoint = serve(
        _modified_hub(tmp_path, "Qwen__Qwen3-8B", num_hidden_layers=40, sliding_window=4096, use_sliding_window=True)
    )
    path = catalog_copy / "models" / "qwen.yaml"
    before = path.read_text()
    rc, out, err = _run(
        capsys, "--model", "qwen3-8b", "--endpoint", endpoint, "--skip-prices", "--write", "--dir", str(catalog_copy)
    )
    assert rc == 1, err
    assert "written: models/qwen.yaml" in out
    after = path.read_text()
    comments = lambda text: [line for line in text.splitlines() if line.lstrip().startswith("#")]  # noqa: E731
    assert comments(after) == comments(before) and comments(before)
    entry = next(m for m in yaml.safe_load(after)["models"] if m["id"] == "qwen3-8b")
    assert entry["architecture"]["layers"] == 40
    assert entry["architecture"]["attention"] == {"kind": "sliding", "window": 4096}
    key = entry["cite"]["architecture"]
    # the source is the Hub's public address; the local mirror it was read through is named, without its address
    assert entry["sources"][key]["url"] == "https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json"
    assert entry["sources"][key]["as_of"] == dt.date.today()
    assert entry["sources"][key]["via"].startswith("a Hub mirror on a local or private address")
    assert "architecture" in entry["unverified"]
    # Only the refreshed entry changed: every other model in the file is byte-for-byte the same.
    others = lambda text: [m for m in yaml.safe_load(text)["models"] if m["id"] != "qwen3-8b"]  # noqa: E731
    assert others(after) == others(before)
    assert len(after.splitlines()) - len(before.splitlines()) <= 3  # attention line, a source line, nothing reflowed
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0
    capsys.readouterr()
    rc, out, _ = _run(
        capsys, "--model", "qwen3-8b", "--endpoint", endpoint, "--skip-prices", "--dir", str(catalog_copy)
    )
    assert rc == 0, out  # the catalog now says what the config says


def test_refresh_write_that_would_break_the_catalog_is_undone(capsys, serve, tmp_path, catalog_copy):
    endpoint = serve(
        _modified_hub(tmp_path, "Qwen__Qwen3-8B", num_key_value_heads=7)
    )  # 32 heads are not a multiple of 7
    before = (catalog_copy / "models" / "qwen.yaml").read_bytes()
    rc, out, err = _run(
        capsys, "--model", "qwen3-8b", "--endpoint", endpoint, "--skip-prices", "--write", "--dir", str(catalog_copy)
    )
    assert rc == 2
    assert "~ architecture.kv_heads: 8 -> 7" in out
    assert "did not validate, so nothing was written" in err and "kv_heads" in err
    assert (catalog_copy / "models" / "qwen.yaml").read_bytes() == before


def test_refresh_new_facts_get_a_hub_source(capsys, hub, catalog_copy):
    rc, out, _ = _run(
        capsys,
        "--model",
        "granite-4.0-h-small",
        "deepseek-v3.2-exp",
        "--endpoint",
        hub,
        "--skip-prices",
        "--write",
        "--dir",
        str(catalog_copy),
    )
    assert rc == 1
    assert "+ max_position_embeddings: (none) -> 131072" in out  # Granite's entry has no config value yet
    data = yaml.safe_load((catalog_copy / "models" / "granite-4.yaml").read_text())
    entry = next(m for m in data["models"] if m["id"] == "granite-4.0-h-small")
    assert entry["max_position_embeddings"] == 131072 and "max_position_embeddings" in entry["unverified"]
    assert entry["sources"][entry["cite"]["max_position_embeddings"]]["as_of"] == dt.date.today()
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0


def test_licence_tag_differences_are_for_review_and_never_written(capsys, tmp_path, serve, catalog_copy):
    root = Path(shutil.copytree(FIXTURES, tmp_path / "hub"))
    info = json.loads((root / "Qwen__Qwen3-8B" / "model_info.json").read_text())
    info["cardData"] = {"license": "other", "license_name": "qwen-research"}
    (root / "Qwen__Qwen3-8B" / "model_info.json").write_text(json.dumps(info))
    before = (catalog_copy / "models" / "qwen.yaml").read_bytes()
    rc, out, _ = _run(
        capsys, "--model", "qwen3-8b", "--endpoint", serve(root), "--skip-prices", "--write", "--dir", str(catalog_copy)
    )
    assert rc == 1
    assert "! license: apache-2.0 (Hub tag apache-2.0) -> " in out and "= catalog licence qwen-research" in out
    assert (catalog_copy / "models" / "qwen.yaml").read_bytes() == before


def _hub_with_counts(tmp_path: Path, downloads: int, likes: int) -> Path:
    root = Path(shutil.copytree(FIXTURES, tmp_path / f"hub-{downloads}"))
    info = json.loads((root / "Qwen__Qwen3-8B" / "model_info.json").read_text())
    info.update(downloads=downloads, likes=likes)
    (root / "Qwen__Qwen3-8B" / "model_info.json").write_text(json.dumps(info))
    return root


def _adoption_rows(catalog: Path, model: str) -> dict:
    data = yaml.safe_load((catalog / "adoption.yaml").read_text())
    return {r["kind"]: r for r in data["adoption"] if r["model"] == model}


def test_hub_download_and_like_counts_are_written_as_dated_readings(capsys, tmp_path, serve, catalog_copy):
    before = yaml.safe_load((catalog_copy / "adoption.yaml").read_text())["adoption"]
    hub = serve(_hub_with_counts(tmp_path, 123456, 789))
    args = ("--model", "qwen3-8b", "--endpoint", hub, "--skip-prices", "--dir", str(catalog_copy))
    rc, out, _ = _run(capsys, *args)
    assert rc == 1
    assert "adoption.yaml" in out and "+ value: (none) -> 123456" in out and "+ value: (none) -> 789" in out
    assert yaml.safe_load((catalog_copy / "adoption.yaml").read_text())["adoption"] == before  # not without --write
    rc, out, _ = _run(capsys, *args, "--write")
    assert rc == 1
    rows = _adoption_rows(catalog_copy, "qwen3-8b")
    assert rows["hf_downloads_30d"]["value"] == 123456 and rows["hf_likes"]["value"] == 789
    assert rows["hf_downloads_30d"]["entry"] == "Qwen/Qwen3-8B"
    assert rows["hf_likes"]["source"]["url"].endswith("/api/models/Qwen/Qwen3-8B")
    assert rows["hf_likes"]["source"]["as_of"] == dt.date.today()
    assert all(r in yaml.safe_load((catalog_copy / "adoption.yaml").read_text())["adoption"] for r in before)
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0
    capsys.readouterr()
    rc, out, _ = _run(capsys, *args)
    assert rc == 0, out  # the same counts again: nothing to write


def test_a_changed_count_replaces_the_reading_in_place(capsys, tmp_path, serve, catalog_copy):
    root = _hub_with_counts(tmp_path, 1000, 5)
    args = ("--model", "qwen3-8b", "--endpoint", serve(root), "--skip-prices", "--write", "--dir", str(catalog_copy))
    _run(capsys, *args)
    info_path = root / "Qwen__Qwen3-8B" / "model_info.json"
    info_path.write_text(json.dumps({**json.loads(info_path.read_text()), "downloads": 2500}))
    rc, out, _ = _run(capsys, *args)
    assert rc == 1 and "~ value: 1000 -> 2500" in out and "-> 5" not in out  # the like count did not move
    rows = _adoption_rows(catalog_copy, "qwen3-8b")
    assert rows["hf_downloads_30d"]["value"] == 2500 and rows["hf_likes"]["value"] == 5
    data = yaml.safe_load((catalog_copy / "adoption.yaml").read_text())["adoption"]
    assert sum(r["model"] == "qwen3-8b" for r in data) == 2


def test_counts_are_written_when_the_catalog_has_no_adoption_file(capsys, tmp_path, serve, catalog_copy):
    (catalog_copy / "adoption.yaml").unlink()
    rc, _, _ = _run(
        capsys,
        "--model",
        "qwen3-8b",
        "--endpoint",
        serve(_hub_with_counts(tmp_path, 42, 3)),
        "--skip-prices",
        "--write",
        "--dir",
        str(catalog_copy),
    )
    assert rc == 1
    assert _adoption_rows(catalog_copy, "qwen3-8b")["hf_downloads_30d"]["value"] == 42
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0


def test_gated_repo_is_compared_on_its_metadata(capsys, tmp_path, serve, catalog_copy):
    root = Path(shutil.copytree(FIXTURES, tmp_path / "hub"))
    (root / "google__gemma-3-27b-it" / "GATED").touch()
    rc, out, _ = _run(
        capsys, "--model", "gemma-3-27b", "--endpoint", serve(root), "--skip-prices", "--dir", str(catalog_copy)
    )
    assert rc == 0, out
    assert "skipped: gemma-3-27b: config.json not read (google/gemma-3-27b-it is gated" in out


def test_refresh_from_saved_copies(capsys, catalog_copy):
    rc, out, _ = _run(
        capsys, "--model", "Qwen/Qwen3-8B", "--from-dir", str(FIXTURES), "--skip-prices", "--dir", str(catalog_copy)
    )
    assert rc == 0, out


def test_unreachable_hub_names_it_and_the_offline_options(capsys, catalog_copy):
    rc, out, err = _run(
        capsys,
        "--model",
        "qwen3-8b",
        "--endpoint",
        "http://127.0.0.1:9",
        "--skip-prices",
        "--write",
        "--dir",
        str(catalog_copy),
    )
    assert rc == 2
    assert "could not reach the Hugging Face Hub" in err and "--skip-hub --prices-file" in err and "--from-dir" in err
    assert "nothing written" in err and "Traceback" not in out + err


def test_hf_hub_offline_is_reported(capsys, monkeypatch, catalog_copy):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    rc, _, err = _run(capsys, "--model", "qwen3-8b", "--skip-prices", "--dir", str(catalog_copy))
    assert rc == 2 and "HF_HUB_OFFLINE" in err


def test_unknown_model_is_refused(capsys, catalog_copy):
    rc, _, err = _run(capsys, "--model", "no-such-model", "--skip-prices", "--dir", str(catalog_copy))
    assert rc == 2 and "no-such-model" in err


# ---------------------------------------------------------------- refresh: prices


def _price_file(tmp_path: Path, catalog_dir: Path, edits: dict[str, dict]) -> Path:
    """LiteLLM's file for every LiteLLM-backed row of the catalog copy, in the recorded entries' shape, then
    ``edits``."""
    from catalog.loader import load_raw
    from catalog.refresh import litellm_key

    recorded = json.loads(LITELLM.read_text())
    raw, _ = load_raw(catalog_dir)
    data = {"sample_spec": recorded["sample_spec"]}
    for price in raw.prices:
        key = litellm_key(price)
        if key is None:
            continue
        entry = copy.deepcopy(recorded.get(key) or recorded["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"])
        entry.pop("deprecation_date", None)
        entry.update(
            input_cost_per_token=price.usd_per_mtok_input / 1e6,
            output_cost_per_token=price.usd_per_mtok_output / 1e6,
            max_input_tokens=price.context_length or 128000,
        )
        if price.deprecation_date:
            entry["deprecation_date"] = price.deprecation_date.isoformat()
        data[key] = entry
    for key, change in edits.items():
        data.setdefault(key, copy.deepcopy(recorded[key])).update(change)
    path = tmp_path / "model_prices_and_context_window.json"
    path.write_text(json.dumps(data, indent=4))
    return path


def test_prices_unchanged_exit_0(capsys, tmp_path, catalog_copy):
    prices = _price_file(tmp_path, catalog_copy, {})
    rc, out, _ = _run(
        capsys, "--skip-hub", "--prices-file", str(prices), "--model", "llama-3.3-70b", "--dir", str(catalog_copy)
    )
    assert rc == 0, out


def test_prices_diff_write_and_proposals(capsys, tmp_path, catalog_copy):
    from catalog.loader import load_raw

    raw, _ = load_raw(catalog_copy)
    gpt4o = next(p for p in raw.prices if p.id == "openai/gpt-4o")
    llama = next(
        p
        for p in raw.prices
        if p.source.via and p.source.via.endswith("key together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    )
    assert "deepseek-v3.2-exp" not in {p.open_model for p in raw.prices}  # the proposal below needs an unpriced model
    prices = _price_file(
        tmp_path,
        catalog_copy,
        {
            "gpt-4o": {"output_cost_per_token": (gpt4o.usd_per_mtok_output + 2) / 1e6},
            "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": {
                "deprecation_date": "2031-01-31",
                "max_input_tokens": (llama.context_length or 0) + 1,
            },
            "deepinfra/deepseek-ai/DeepSeek-V3.2-Exp": {},
        },
    )
    before = (catalog_copy / "prices.yaml").read_text()
    rc, out, _ = _run(capsys, "--skip-hub", "--prices-file", str(prices), "--dir", str(catalog_copy))
    assert rc == 1
    assert (
        f"~ usd_per_mtok_output: {gpt4o.usd_per_mtok_output:g} -> {gpt4o.usd_per_mtok_output + 2:g}  [{prices} (key "
        f"gpt-4o)]" in out
    )
    assert "deprecation_date: " in out and "-> 2031-01-31" in out
    assert "+ deepseek-v3.2-exp: deepinfra deepinfra/deepseek-ai/DeepSeek-V3.2-Exp: 0.27 in / 0.4 out" in out
    assert (catalog_copy / "prices.yaml").read_text() == before

    rc, out, _ = _run(capsys, "--skip-hub", "--prices-file", str(prices), "--write", "--dir", str(catalog_copy))
    assert rc == 1 and "written: prices.yaml" in out
    after = (catalog_copy / "prices.yaml").read_text()
    assert after.splitlines()[:14] == before.splitlines()[:14]  # the header comment
    rows = {p["id"]: p for p in yaml.safe_load(after)["prices"]}
    assert rows["openai/gpt-4o"]["usd_per_mtok_output"] == gpt4o.usd_per_mtok_output + 2
    assert rows["openai/gpt-4o"]["source"]["as_of"] == dt.date.today()
    assert rows["openai/gpt-4o"]["source"]["via"] == "LiteLLM model_prices_and_context_window.json, key gpt-4o"
    assert rows[llama.id]["deprecation_date"] == dt.date(2031, 1, 31)
    assert rows[llama.id]["context_length"] == (llama.context_length or 0) + 1 or not llama.context_length
    assert not any(r.get("open_model") == "deepseek-v3.2-exp" for r in rows.values())  # proposals are never written
    assert len(after.splitlines()) == len(before.splitlines()) + (0 if llama.deprecation_date else 1)
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0


def test_prices_read_over_http(capsys, tmp_path, serve, catalog_copy):
    prices = _price_file(tmp_path, catalog_copy, {"gpt-4o": {"input_cost_per_token": 9e-06}})
    url = serve(files={"/litellm.json": prices.read_bytes()}) + "/litellm.json"
    rc, out, _ = _run(capsys, "--skip-hub", "--prices-file", url, "--dir", str(catalog_copy))
    assert rc == 1 and "-> 9  [" + url + " (key gpt-4o)]" in out


def test_unreachable_price_file_says_how_to_work_offline(capsys, catalog_copy):
    rc, out, err = _run(
        capsys, "--skip-hub", "--prices-file", "http://127.0.0.1:9/prices.json", "--dir", str(catalog_copy)
    )
    assert rc == 2
    assert "could not download the LiteLLM price file http://127.0.0.1:9/prices.json" in err
    assert "--prices-file PATH" in err and "--skip-prices" in err and "Traceback" not in out + err


def test_price_key_missing_from_litellm_is_for_review(capsys, tmp_path, catalog_copy):
    prices = _price_file(tmp_path, catalog_copy, {})
    data = json.loads(prices.read_text())
    del data["gpt-4o"]
    prices.write_text(json.dumps(data))
    rc, out, _ = _run(capsys, "--skip-hub", "--prices-file", str(prices), "--dir", str(catalog_copy))
    assert rc == 1 and "! source: gpt-4o -> (key not in the file)" in out


# ---------------------------------------------------------------- validate: as-of date and ages


def test_validate_states_the_as_of_date_and_warns_on_old_facts(capsys, catalog_copy):
    path = catalog_copy / "models" / "qwen.yaml"
    text = path.read_text()
    anchor = 'report: {url: "https://github.com/QwenLM/Qwen3/blob/7a2f61f/Qwen3_Technical_Report.pdf", as_of: '
    assert anchor in text
    i = text.index(anchor) + len(anchor)
    path.write_text(text[:i] + "2025-06-02" + text[i + 10 :])  # read after publication and release, > 365 days ago
    prices = catalog_copy / "prices.yaml"
    text = prices.read_text()
    i = text.index("as_of: ", text.index("id: openai/gpt-4o\n")) + len("as_of: ")
    prices.write_text(text[:i] + "2020-03-04" + text[i + 10 :])
    assert main(["catalog", "validate", "--dir", str(catalog_copy), "--max-age-days", "3000"]) == 0
    out = capsys.readouterr().out
    assert "catalog as of " in out
    assert "qwen3-8b sources.report 2025-06-02" not in out and "2020-03-04" not in out  # within 3000 days
    assert main(["catalog", "validate", "--dir", str(catalog_copy)]) == 0  # warnings never fail validation
    out = capsys.readouterr().out
    assert "warning:" in out and "more than 365 days" in out and "more than 180 days" in out
    qwen_line = next(line for line in out.splitlines() if line.strip().startswith("models/qwen.yaml:"))
    assert "1 facts" in qwen_line and "2025-06-02" in qwen_line
    assert "openai/gpt-4o source 2020-03-04" in next(
        line for line in out.splitlines() if line.strip().startswith("prices.yaml:")
    )


def test_catalog_as_of_matches_the_tools():
    from catalog.freshness import catalog_as_of
    from catalog.loader import load_raw
    from tools.common import catalog_as_of as tools_as_of

    raw, _ = load_raw()
    assert catalog_as_of(raw) == tools_as_of()


# ---------------------------------------------------------------- in-place YAML edits


def test_yaml_edits_keep_everything_else():
    from catalog.yaml_edit import DELETE, Append, YamlText

    text = (
        '# head\nitems:\n- id: a   # keep me\n  m: {x: 1, y: "two"}\n  tags:\n    - p\n  notes: >-\n    folded\n\n'
        "- id: b\n  n: 1\n  drop: 2\n"
    )
    doc = YamlText(text)
    doc.patch(doc.item("items", "a"), {"m": {"y": 3, "z": dt.date(2026, 1, 2)}, "tags": Append(["q"]), "new": "yes"})
    doc.patch(doc.item("items", "b"), {"drop": DELETE, "n": 2.5})
    out = doc.result()
    assert out == (
        "# head\nitems:\n- id: a   # keep me\n  m: {x: 1, y: 3, z: 2026-01-02}\n  tags:\n    - p\n    - q\n"
        '  notes: >-\n    folded\n  new: "yes"\n\n- id: b\n  n: 2.5\n'
    )
    assert yaml.safe_load(out)["items"][0]["new"] == "yes"


def test_a_key_added_after_an_alias_lands_in_its_own_mapping():
    from catalog.yaml_edit import YamlText

    text = (
        "items:\n- id: a\n  sources:\n    lic: &l1 {url: x}\n    doc: {url: d}\n  cite: {p: doc}\n"
        "- id: b\n  sources:\n    doc: {url: e}\n    lic: *l1\n  cite: {p: doc}\n"
    )
    doc = YamlText(text)
    doc.patch(doc.item("items", "b"), {"sources": {"card": {"url": "c"}}, "cite": {"languages": "card"}})
    out = yaml.safe_load(doc.result())["items"]
    assert list(out[0]["sources"]) == ["lic", "doc"]
    assert out[1]["sources"] == {"doc": {"url": "e"}, "lic": {"url": "x"}, "card": {"url": "c"}}
    assert out[1]["cite"] == {"p": "doc", "languages": "card"}


# ---------------------------------------------------------------- sources the catalog can cite


def test_a_mirror_is_named_as_the_copy_and_the_hub_stays_the_source():
    from catalog.hub_import import _mirror

    assert _mirror("https://huggingface.co") is None
    assert (
        _mirror("https://hf-mirror.com") == "the Hub mirror at https://hf-mirror.com, read by advisor catalog refresh"
    )
    for local in ("http://127.0.0.1:8080", "http://localhost:9", "http://10.0.0.2"):
        said = _mirror(local)
        assert said is not None and said.startswith("a Hub mirror on a local or private address") and local not in said


def test_a_config_limit_that_differs_from_the_context_is_for_review_until_explained():
    from catalog.hub_import import read_repo
    from catalog.loader import load_raw
    from catalog.refresh import compare_model

    raw, _ = load_raw(CATALOG)
    model = next(m for m in raw.models if m.id == "deepseek-v3.2-exp")
    assert model.max_position_embeddings is None and model.context_length != 163840
    read = read_repo("deepseek-ai/DeepSeek-V3.2-Exp", offline_dir=FIXTURES)
    licences = {x.id: x for x in raw.licenses}
    (mpe,) = [c for c in compare_model(model, "x", read, licences) if c.path == ("max_position_embeddings",)]
    assert mpe.status == "review" and mpe.new == 163840 and "context_note" in (mpe.note or "")
    explained = model.model_copy(update={"context_note": "YaRN factor 40 over 4,096 in config.json"})
    (mpe,) = [c for c in compare_model(explained, "x", read, licences) if c.path == ("max_position_embeddings",)]
    assert mpe.status == "new"
