"""Read a Hugging Face repo (config.json and the Hub's metadata) and draft a catalog entry from it.

``read_repo`` is the one way the catalog reads the Hub: ``advisor catalog import`` drafts an entry
from it and ``advisor catalog refresh`` (``catalog.refresh``) compares the catalog with it. A draft
is for a person to review: every fact in it is listed as unverified, the family must be filled in,
the licence is a guess from the Hub's tag, and benchmarks come from the model card, never from here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.config_facts import (  # noqa: F401  (architecture_from_config is part of this module's API)
    architecture_from_config,
    facts_from_config,
)
from catalog.schema import public_url

HUB = "https://huggingface.co"
REPO_ID = r"[A-Za-z0-9][\w.-]*/[\w.-]+"


class ImportFailed(Exception):
    """The repo could not be read; the message says why and what to do.

    ``reason``: network (the Hub could not be reached), offline (HF_HUB_OFFLINE is set), not_found,
    gated, no_config, bad_id or no_file (--from-dir lacks the file).
    """

    def __init__(self, message: str, reason: str = "error"):
        super().__init__(message)
        self.reason = reason


@dataclass
class RepoRead:
    """What was read for one repo, and where (URLs in the form the catalog cites them)."""

    repo_id: str
    config: dict | None
    info: dict
    config_url: str
    info_url: str
    via: str | None = None  # set when the files were read from a local copy (--from-dir)
    note: str | None = None  # why config is missing (a gated repo) while the metadata was read


def _gated(repo_id: str) -> str:
    return f"{repo_id} is gated: accept its licence on {HUB}/{repo_id} and log in with `hf auth login`, then retry"


def _hub_error(repo_id: str, endpoint: str | None, exc: Exception) -> ImportFailed | None:
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    if isinstance(exc, ImportFailed):
        return exc
    if isinstance(exc, RepositoryNotFoundError):
        return ImportFailed(
            f"no model repo {repo_id!r} on {endpoint or HUB} (check the spelling: owner/name)", "not_found"
        )
    if isinstance(exc, GatedRepoError):
        return ImportFailed(_gated(repo_id), "gated")
    if isinstance(exc, OfflineModeIsEnabled):
        return ImportFailed(
            "HF_HUB_OFFLINE is set, so the Hub cannot be read. Unset it, or download config.json yourself and "
            "run: advisor catalog import REPO_ID --from-dir FOLDER",
            "offline",
        )
    # Connection failures surface as OSError subclasses or as httpx/requests transport errors.
    if isinstance(exc, (HfHubHTTPError, OSError, ValueError)) or type(exc).__module__.startswith(
        ("httpx", "httpcore", "requests", "urllib3")
    ):
        return ImportFailed(_network_message(repo_id, exc), "network")
    return None


def _fetch_from_hub(repo_id: str, endpoint: str | None, need_config: bool = True) -> RepoRead:
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session

    api = HfApi(endpoint=endpoint)
    base = (endpoint or api.endpoint).rstrip("/")
    # The catalog cites the Hub's own address; a mirror the files were read through is named as the copy.
    read = RepoRead(
        repo_id, None, {}, f"{HUB}/{repo_id}/blob/main/config.json", f"{HUB}/api/models/{repo_id}", via=_mirror(base)
    )
    try:
        read.info = _info_dict(api.model_info(repo_id, timeout=20))
        url = hf_hub_url(repo_id, "config.json", endpoint=base)
        resp = get_session().get(url, headers=build_hf_headers(), timeout=20, follow_redirects=True)
        if resp.status_code == 404:
            raise ImportFailed(
                f"{repo_id} has no config.json at the top of the repo; is it a transformers model?", "no_config"
            )
        if resp.status_code in (401, 403):
            raise ImportFailed(_gated(repo_id), "gated")
        resp.raise_for_status()
        read.config = resp.json()
    except Exception as exc:  # noqa: BLE001 (translated below; anything unknown is re-raised)
        failed = _hub_error(repo_id, endpoint, exc)
        if failed is None:
            raise
        if need_config or not read.info or failed.reason not in ("gated", "no_config"):
            raise failed from None
        read.note = str(failed)
    return read


def _mirror(base: str) -> str | None:
    """How a source read through an endpoint other than the Hub names that copy (None for the Hub itself)."""
    if base == HUB:
        return None
    try:
        return f"the Hub mirror at {public_url(base)}, read by advisor catalog refresh"
    except ValueError:
        return "a Hub mirror on a local or private address, read by advisor catalog refresh --endpoint"


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
        "downloads": getattr(info, "downloads", None),  # the Hub's count over the last 30 days
        "likes": getattr(info, "likes", None),
    }


def _license_from_tags(tags: list[str]) -> str | None:
    for tag in tags:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def _read_dir(folder: str | Path, repo_id: str | None = None) -> RepoRead:
    """config.json (and model_info.json, the API's response) from a folder, or its OWNER__NAME subfolder."""
    folder = Path(folder)
    if repo_id and (folder / repo_id.replace("/", "__")).is_dir():
        folder = folder / repo_id.replace("/", "__")
    cfg = folder / "config.json"
    if not cfg.is_file():
        sub = f" (or {folder / repo_id.replace('/', '__') / 'config.json'})" if repo_id else ""
        raise ImportFailed(
            f"{cfg}{sub} does not exist; --from-dir needs a folder holding the repo's config.json", "no_file"
        )
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
            "downloads": data.get("downloads"),
            "likes": data.get("likes"),
        }
    repo = repo_id or info.get("id") or folder.name.replace("__", "/")
    return RepoRead(
        repo,
        config,
        info,
        f"{HUB}/{repo}/blob/main/config.json",
        f"{HUB}/api/models/{repo}",
        via="a local copy of the repository's files read by advisor catalog refresh --from-dir",
    )


def read_repo(
    repo_id: str | None, endpoint: str | None = None, offline_dir: str | Path | None = None, need_config: bool = True
) -> RepoRead:
    """Read a repo's config.json and metadata from the Hub (or a local copy); raise ImportFailed saying why not."""
    if not re.fullmatch(REPO_ID, repo_id or ""):
        raise ImportFailed(
            f"{repo_id!r} is not a Hugging Face repo id; expected OWNER/NAME, e.g. Qwen/Qwen3-8B", "bad_id"
        )
    assert repo_id is not None  # it matched REPO_ID
    if offline_dir:
        return _read_dir(offline_dir, repo_id)
    return _fetch_from_hub(repo_id, endpoint, need_config)


def catalog_license_id(tag: str | None, name: str | None, licenses: Any = None) -> str | None:
    """The catalog licence whose Hub tag, SPDX id or id is the Hub's licence tag (or license_name for 'other')."""
    if not tag:
        return None
    if licenses is None:
        try:
            from catalog.query import get_catalog

            licenses = list(get_catalog().licenses.values())
        except Exception:  # noqa: BLE001 (a draft without a licence match is still a draft)
            return None
    for candidate in (name, tag):
        if not candidate or candidate == "other":
            continue
        for lic in licenses:
            if candidate.lower() in {(lic.hf_tag or "").lower(), (lic.spdx or "").lower(), lic.id}:
                return lic.id
    return None


def draft_entry(repo_id: str, offline_dir: str | Path | None = None, endpoint: str | None = None) -> dict:
    """A draft model entry (a dict ready for YAML) built from the repo's config and metadata."""
    read = read_repo(repo_id, endpoint=endpoint, offline_dir=offline_dir)
    config, info = read.config or {}, read.info
    today = dt.date.today()
    name = repo_id.split("/", 1)[1]
    base_name = re.sub(r"(?i)[-_](instruct|chat|it)$", "", name)
    facts = facts_from_config(config)
    arch = facts["architecture"]
    total = info.get("safetensors_total")
    variant = "instruct" if base_name != name else "base"
    ctx = facts.get("max_position_embeddings")

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
    for fact in ("modalities", "formats"):
        if facts.get(fact):
            entry[fact] = facts[fact]
    lic = catalog_license_id(info.get("license"), info.get("license_name"))
    entry["license"] = lic or f"FILL-IN (Hub tag: {info.get('license') or 'none'})"
    config_source = {
        "url": f"{HUB}/{repo_id}/blob/main/config.json",
        "as_of": today.isoformat(),
        "title": "config.json",
    }
    hub_source = {
        "url": f"{HUB}/{repo_id}",
        "as_of": today.isoformat(),
        "title": "Hub metadata (safetensors count, licence tag, creation date)",
    }
    if read.via:
        config_source["via"] = hub_source["via"] = read.via
    entry["sources"] = {"config": config_source, "hub": hub_source}
    cite = {}
    for fact, key in (
        ("release_date", "hub"),
        ("params_b", "hub"),
        ("context_length", "config"),
        ("max_position_embeddings", "config"),
        ("architecture", "config"),
        ("formats", "config"),
        ("modalities", "config"),
        ("license", "hub"),
    ):
        if fact in entry:
            cite[fact] = key
    entry["cite"] = cite
    entry["unverified"] = list(cite)
    entry["notes"] = (
        f"Drafted by `advisor catalog import` on {today.isoformat()}. Review against the model card: "
        "release_date is the repo creation date, context_length is the config value (the official figure "
        "may differ), the licence is a guess from the Hub's licence tag, and benchmarks must be added from the card."
    )
    return entry
