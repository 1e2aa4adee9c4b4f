"""Draft a catalog entry from a Hugging Face repo: config.json, parameter count and licence tag.

The draft is for a person to review: every fact in it is listed as unverified, the family
must be filled in, and benchmarks come from the model card, never from here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

HUB = "https://huggingface.co"


class ImportFailed(Exception):
    """The repo could not be read; the message says why and what to do."""


def _fetch_from_hub(repo_id: str, endpoint: str | None) -> tuple[dict, dict]:
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )
    from huggingface_hub.utils import build_hf_headers, get_session

    api = HfApi(endpoint=endpoint)
    try:
        info = api.model_info(repo_id, timeout=20)
        url = hf_hub_url(repo_id, "config.json", endpoint=endpoint or api.endpoint)
        resp = get_session().get(url, headers=build_hf_headers(), timeout=20, follow_redirects=True)
        if resp.status_code == 404:
            raise ImportFailed(f"{repo_id} has no config.json at the top of the repo; is it a transformers model?")
        if resp.status_code in (401, 403):
            raise ImportFailed(
                f"{repo_id} is gated: accept its licence on {HUB}/{repo_id} and log in with `hf auth login`, then retry"
            )
        resp.raise_for_status()
        config = resp.json()
    except RepositoryNotFoundError:
        raise ImportFailed(f"no model repo {repo_id!r} on {endpoint or HUB} (check the spelling: owner/name)") from None
    except GatedRepoError:
        raise ImportFailed(
            f"{repo_id} is gated: accept its licence on {HUB}/{repo_id} and log in with `hf auth login`, then retry"
        ) from None
    except OfflineModeIsEnabled:
        raise ImportFailed(
            "HF_HUB_OFFLINE is set, so the Hub cannot be read. Unset it, or download config.json yourself and "
            "run: advisor catalog import REPO_ID --from-dir FOLDER"
        ) from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        # Connection failures surface as OSError subclasses (httpx.ConnectError is one via HfHubHTTPError wrapping).
        raise ImportFailed(_network_message(repo_id, exc)) from None
    except Exception as exc:  # httpx transport errors are not OSError
        if type(exc).__module__.startswith(("httpx", "httpcore", "requests", "urllib3")):
            raise ImportFailed(_network_message(repo_id, exc)) from None
        raise
    return config, _info_dict(info)


def _network_message(repo_id: str, exc: Exception) -> str:
    return (
        f"could not reach the Hugging Face Hub to read {repo_id} ({type(exc).__name__}: {str(exc)[:160]}). "
        "This machine may be offline. Download the repo's config.json (and optionally save the API's "
        f"{HUB}/api/models/{repo_id} response as model_info.json) into a folder, then run: "
        f"advisor catalog import {repo_id} --from-dir FOLDER"
    )


def _info_dict(info: Any) -> dict:
    card = getattr(info, "card_data", None)
    st = getattr(info, "safetensors", None)
    return {
        "id": info.id,
        "license": (card.get("license") if card else None) or _license_from_tags(info.tags or []),
        "license_name": card.get("license_name") if card else None,
        "safetensors_total": getattr(st, "total", None) if st else None,
        "created_at": info.created_at.date().isoformat() if info.created_at else None,
        "pipeline_tag": getattr(info, "pipeline_tag", None),
        "tags": list(info.tags or []),
    }


def _license_from_tags(tags: list[str]) -> str | None:
    for tag in tags:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def _read_dir(folder: str | Path) -> tuple[dict, dict]:
    folder = Path(folder)
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise ImportFailed(f"{cfg} does not exist; --from-dir needs a folder holding the repo's config.json")
    config = json.loads(cfg.read_text(encoding="utf-8"))
    info_path = folder / "model_info.json"
    info: dict = {}
    if info_path.is_file():
        data = json.loads(info_path.read_text(encoding="utf-8"))
        card = data.get("cardData") or {}
        info = {
            "id": data.get("id"),
            "license": card.get("license") or _license_from_tags(data.get("tags", [])),
            "license_name": card.get("license_name"),
            "safetensors_total": (data.get("safetensors") or {}).get("total"),
            "created_at": (data.get("createdAt") or "")[:10] or None,
            "pipeline_tag": data.get("pipeline_tag"),
            "tags": data.get("tags", []),
        }
    return config, info


def architecture_from_config(config: dict) -> dict:
    """Map a transformers config.json onto the catalog's architecture fields (text part of multimodal configs)."""
    cfg = config.get("text_config") or config
    get = lambda *keys: next((cfg[k] for k in keys if cfg.get(k) is not None), None)  # noqa: E731
    arch: dict[str, Any] = {
        "layers": get("num_hidden_layers", "n_layer", "num_layers"),
        "hidden_size": get("hidden_size", "d_model", "n_embd"),
        "attention_heads": get("num_attention_heads", "n_head"),
        "kv_heads": get("num_key_value_heads", "num_kv_heads", "n_head_kv"),
        "head_dim": get("head_dim"),
        "intermediate_size": get("moe_intermediate_size", "intermediate_size", "ffn_hidden_size"),
        "vocab_size": get("vocab_size") or config.get("vocab_size"),
        "tied_embeddings": bool(config.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False))),
    }
    if arch["kv_heads"] is None:
        arch["kv_heads"] = 1 if cfg.get("multi_query") else arch["attention_heads"]
    if arch["head_dim"] and arch["hidden_size"] and arch["attention_heads"]:
        if arch["head_dim"] * arch["attention_heads"] == arch["hidden_size"]:
            arch["head_dim"] = None  # implied; keep the entry short

    attention: dict[str, Any] = {"kind": "full"}
    if cfg.get("kv_lora_rank"):
        attention = {"kind": "mla", "kv_lora_rank": cfg["kv_lora_rank"], "qk_rope_head_dim": cfg.get("qk_rope_head_dim")}
    elif cfg.get("attention_chunk_size"):
        attention = {"kind": "chunked", "window": cfg["attention_chunk_size"]}
        nope = cfg.get("no_rope_layers")
        if isinstance(nope, list) and nope and 0 in nope:
            attention["global_every"] = nope.index(0) + 1
    elif cfg.get("sliding_window") and cfg.get("use_sliding_window", True) is not False:
        attention = {"kind": "sliding", "window": cfg["sliding_window"]}
        layer_types = cfg.get("layer_types")
        pattern = cfg.get("sliding_window_pattern")
        if isinstance(layer_types, list) and "full_attention" in layer_types:
            attention["global_every"] = layer_types.index("full_attention") + 1
        elif isinstance(pattern, int) and pattern > 1:
            attention["global_every"] = pattern
    arch["attention"] = attention

    experts = get("num_experts", "n_routed_experts", "num_local_experts")
    if experts and experts > 1:
        arch["moe"] = {
            "experts": experts,
            "active_experts": get("num_experts_per_tok", "moe_topk", "num_experts_per_token") or 1,
        }
        if get("n_shared_experts"):
            arch["moe"]["shared_experts"] = get("n_shared_experts")
        if get("first_k_dense_replace"):
            arch["moe"]["dense_layers"] = get("first_k_dense_replace")
    return {k: v for k, v in arch.items() if v is not None}


def _catalog_license_id(tag: str | None, name: str | None) -> str | None:
    if not tag:
        return None
    try:
        from catalog.query import get_catalog

        cat = get_catalog()
    except Exception:
        return None
    for candidate in (name, tag):
        if not candidate or candidate == "other":
            continue
        for lic in cat.licenses.values():
            if candidate.lower() in {(lic.hf_tag or "").lower(), (lic.spdx or "").lower(), lic.id}:
                return lic.id
    return None


def draft_entry(repo_id: str, offline_dir: str | Path | None = None, endpoint: str | None = None) -> dict:
    """A draft model entry (a dict ready for YAML) built from the repo's config and metadata."""
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", repo_id or ""):
        raise ImportFailed(f"{repo_id!r} is not a Hugging Face repo id; expected OWNER/NAME, e.g. Qwen/Qwen3-8B")
    config, info = _read_dir(offline_dir) if offline_dir else _fetch_from_hub(repo_id, endpoint)
    today = dt.date.today()
    name = repo_id.split("/", 1)[1]
    base_name = re.sub(r"(?i)[-_](instruct|chat|it)$", "", name)
    arch = architecture_from_config(config)
    total = info.get("safetensors_total")
    variant = "instruct" if base_name != name else "base"
    ctx = (config.get("text_config") or config).get("max_position_embeddings")

    entry: dict[str, Any] = {
        "id": re.sub(r"[^a-z0-9.-]+", "-", base_name.lower()).strip("-"),
        "name": base_name.replace("-", " "),
        "family": "FILL-IN",
        "vendor": repo_id.split("/", 1)[0],
        "repos": {variant: repo_id},
        "aliases": [],
    }
    if info.get("created_at"):
        entry["release_date"] = info["created_at"]
    if total:
        entry["params_b"] = round(total / 1e9, 2)
    if ctx:
        entry["context_length"] = ctx
        entry["max_position_embeddings"] = ctx
    if arch.get("layers"):
        entry["architecture"] = arch
    lic = _catalog_license_id(info.get("license"), info.get("license_name"))
    entry["license"] = lic or f"FILL-IN (Hub tag: {info.get('license') or 'none'})"
    sources = {
        "config": {"url": f"{HUB}/{repo_id}/blob/main/config.json", "as_of": today.isoformat(), "title": "config.json"},
        "hub": {"url": f"{HUB}/{repo_id}", "as_of": today.isoformat(), "title": "Hub metadata (safetensors count, licence tag, creation date)"},
    }
    entry["sources"] = sources
    cite = {}
    for fact, key in (
        ("release_date", "hub"),
        ("params_b", "hub"),
        ("context_length", "config"),
        ("max_position_embeddings", "config"),
        ("architecture", "config"),
        ("license", "hub"),
    ):
        if fact in entry:
            cite[fact] = key
    entry["cite"] = cite
    entry["unverified"] = list(cite)
    entry["notes"] = (
        f"Drafted by `advisor catalog import` on {today.isoformat()}. Review against the model card: "
        "release_date is the repo creation date, context_length is the config value (the official figure "
        "may differ), and benchmarks must be added from the card."
    )
    return entry
