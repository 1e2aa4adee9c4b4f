"""Compare the catalog with what the Hub and LiteLLM say now, and write the differences back for review.

``advisor catalog refresh`` reads each model's config.json and Hub metadata (``catalog.hub_import.read_repo``)
and LiteLLM's price file, and lists every new or changed fact with its old value, its new value and
the URL it was read at. With ``--write`` the changes go into the YAML files in place
(``catalog.yaml_edit``): the sources backing them get today's date (or a new source where the
fact's source was another document), and the facts are listed under ``unverified`` until a person
confirms them. Licence differences and proposed new price rows are printed for review, never written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.config_facts import facts_from_config
from catalog.hub_import import ImportFailed, RepoRead, catalog_license_id, read_repo
from catalog.schema import ApiPrice, Architecture, License, Model
from catalog.yaml_edit import DELETE, Append, Replace, YamlText, render

LITELLM_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
PARAMS_TOLERANCE = 0.05  # safetensors totals include MTP heads and vision towers; vendors round
PACKED_FORMATS = {"mxfp4", "nvfp4", "fp4", "int4", "w4a16", "w4a4", "awq", "gptq"}  # two weights per stored value


class RefreshFailed(Exception):
    """A source could not be read at all; the message names it and how to work offline."""


@dataclass
class Change:
    """One fact that differs: ``new`` is DELETE for a key to remove; status review is never written."""

    file: str  # relative to the catalog folder
    entry: str  # model or price id
    path: tuple[str, ...]
    old: Any
    new: Any
    source: str  # URL read
    fact: str  # the citable fact (a model's top-level field) or "price"
    status: str  # changed | new | removed | review
    note: str | None = None
    via: str | None = None
    label: str = ""  # repo or LiteLLM key, for the report
    key: str | None = None  # prices: the LiteLLM key read

    @property
    def writable(self) -> bool:
        return self.status != "review"


@dataclass
class Proposal:
    """A LiteLLM price for a catalog model that has no price row yet."""

    model: str
    key: str
    provider: str
    usd_per_mtok_input: float
    usd_per_mtok_output: float
    context_length: int | None
    deprecation_date: str | None
    source: str


@dataclass
class Result:
    changes: list[Change] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    models_read: int = 0
    prices_checked: int = 0


# ---------------------------------------------------------------- models vs the Hub


def _explicit(obj: Any, key: str) -> bool:
    return obj is not None and key in getattr(obj, "model_fields_set", ())


def _diff_object(prefix: tuple[str, ...], mapped: dict, current: Any, make: Callable[..., Change]) -> list[Change]:
    """Every key the config states that the catalog lacks or gives differently (keys it does not state are kept)."""
    out: list[Change] = []
    for key, new in mapped.items():
        path = prefix + (key,)
        old = getattr(current, key, None)
        if isinstance(new, dict):
            if old is None:
                out.append(make(path, None, new, "new"))
            elif new.get("kind") is not None and new.get("kind") != getattr(old, "kind", None):
                # another kind of attention: its other fields no longer apply, so the object is replaced whole
                shown = {"kind": old.kind, **old.model_dump(exclude_defaults=True)}
                out.append(make(path, shown, Replace(new), "changed"))
            else:
                out.extend(_diff_object(path, new, old, make))
        elif old != new:
            out.append(
                make(
                    path, old if _explicit(current, key) else None, new, "changed" if _explicit(current, key) else "new"
                )
            )
    if prefix[-1:] == ("attention",) and current is not None:
        # global_every and global_layers exclude each other: the one the config gives wins
        for given, other in (("global_layers", "global_every"), ("global_every", "global_layers")):
            if given in mapped and getattr(current, other, None) is not None:
                out.append(make(prefix + (other,), getattr(current, other), DELETE, "removed"))
    return out


def _round_params(total: float) -> float:
    b = total / 1e9
    return round(b, 2) if b < 10 else round(b, 1) if b < 100 else float(round(b))


def compare_model(model: Model, file: str, read: RepoRead, licenses: dict[str, License]) -> list[Change]:
    """Changes for one model from its repo's config.json (architecture, context, formats, modalities) and metadata."""

    def make(path, old, new, status, *, fact=None, source=None, note=None):
        return Change(
            file,
            model.id,
            tuple(path),
            old,
            new,
            source or read.config_url,
            fact or path[0],
            status,
            note=note,
            via=read.via,
            label=read.repo_id,
        )

    out: list[Change] = []
    facts = facts_from_config(read.config) if read.config else {}
    arch = facts.get("architecture") or {}
    if arch.get("layers"):
        if model.architecture is None:
            missing = [f for f, info in Architecture.model_fields.items() if info.is_required() and f not in arch]
            out.append(
                make(
                    ("architecture",),
                    None,
                    arch,
                    "review" if missing else "new",
                    note=f"config.json does not state {', '.join(missing)}; complete it by hand" if missing else None,
                )
            )
        else:
            out.extend(_diff_object(("architecture",), arch, model.architecture, make))
    mpe = facts.get("max_position_embeddings")
    if mpe and mpe != model.max_position_embeddings:
        unexplained = mpe != model.context_length and not model.context_note
        out.append(
            make(
                ("max_position_embeddings",),
                model.max_position_embeddings,
                mpe,
                "review" if unexplained else "changed" if model.max_position_embeddings else "new",
                note=f"differs from context_length {model.context_length}: say why in context_note (a documented "
                "extension such as YaRN, or a vendor limit), then record it by hand"
                if unexplained
                else None,
            )
        )
    for fact in ("formats", "modalities"):
        missing = [x for x in facts.get(fact, []) if x not in getattr(model, fact)]
        if missing:
            old = list(getattr(model, fact))
            out.append(make((fact,), old, old + missing, "changed" if old else "new"))

    info = read.info
    total = info.get("safetensors_total")
    if total and not (set(facts.get("formats", [])) & PACKED_FORMATS):
        new = _round_params(total)
        if abs(new - model.params_b) > PARAMS_TOLERANCE * model.params_b:
            out.append(
                make(
                    ("params_b",),
                    model.params_b,
                    new,
                    "changed",
                    source=read.info_url,
                    note="safetensors total; the catalog may hold the vendor's rounded figure",
                )
            )
    tag, name = info.get("license"), info.get("license_name")
    lic = licenses.get(model.license)
    if tag and lic is not None:
        known = {x.lower() for x in (lic.hf_tag, lic.spdx, lic.id) if x}
        shown = name if tag == "other" and name else tag
        if shown != "other" and shown.lower() not in known:
            match = catalog_license_id(tag, name, licenses.values())
            out.append(
                make(
                    ("license",),
                    f"{lic.id} (Hub tag {lic.hf_tag or lic.spdx or 'unset'})",
                    f"Hub tag {tag}"
                    + (f" ({name})" if name else "")
                    + (f" = catalog licence {match}" if match else ""),
                    "review",
                    source=read.info_url,
                    note="a licence change needs a license_history entry and the clause quoted; edit by hand",
                )
            )
    return out


def resolve_models(models: list[Model], wanted: Iterable[str]) -> list[Model]:
    from catalog.loader import model_names
    from catalog.query import normalize

    by_name = {normalize(n): m for m in models for n in model_names(m)}
    out = []
    for name in wanted:
        model = by_name.get(normalize(name))
        if model is None:
            raise RefreshFailed(f"no catalog model is called {name!r} (use an id from `advisor catalog list`)")
        out.append(model)
    return out


def refresh_models(
    raw: Any,
    models: list[Model],
    endpoint: str | None,
    from_dir: str | None,
    result: Result,
    progress: Callable[[str], None] | None = None,
    workers: int = 8,
) -> None:
    """Read each model's repo (instruct, else base) and add its changes to ``result``; stop when the Hub is
    unreachable."""
    licenses = {lic.id: lic for lic in raw.licenses}
    repos = [(m, m.repos.get("instruct") or m.repos.get("base")) for m in models]
    unreachable = threading.Event()

    def read(item: tuple[Model, str | None]) -> RepoRead | ImportFailed | None:
        if unreachable.is_set():
            return None
        if progress:
            progress(f"reading {item[1]}")
        try:
            return read_repo(item[1], endpoint=endpoint, offline_dir=from_dir, need_config=False)
        except ImportFailed as exc:
            if exc.reason in ("network", "offline"):
                unreachable.set()
            return exc

    # The first read alone: with no network, one clear failure instead of one per model.
    reads = [read(repos[0])] if repos else []
    if repos and not unreachable.is_set():
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(repos)))) as pool:
            reads += list(pool.map(read, repos[1:]))
    for (model, _repo), got in zip(repos, reads):
        if isinstance(got, ImportFailed) and got.reason in ("network", "offline"):
            result.errors.append(_hub_offline_message(got, endpoint))
            return
        if got is None:
            continue
        if isinstance(got, ImportFailed):
            result.skipped.append(f"{model.id}: {got}")
            continue
        if got.note:
            result.skipped.append(f"{model.id}: config.json not read ({got.note}); metadata compared only")
        result.models_read += 1
        result.changes.extend(compare_model(model, raw.model_files.get(model.id, "models/"), got, licenses))
        result.changes.extend(compare_adoption(model, got, getattr(raw, "adoption", [])))


def compare_catalog(
    raw: Any,
    models: list[Model],
    *,
    hub: bool = True,
    endpoint: str | None = None,
    from_dir: str | None = None,
    prices_from: str | None = None,
    only_named: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """What `advisor catalog refresh` reports: each of ``models`` against its Hub repo (``hub``), and the catalog's
    API prices against LiteLLM's price file at ``prices_from`` (None: prices not compared); with ``only_named``, only
    the prices of ``models``, and proposed new price rows only for them."""
    result = Result()
    if hub:
        refresh_models(raw, models, endpoint, from_dir, result, progress=progress)
    if prices_from:
        _compare_price_file(raw, models, prices_from, only_named, result)
    return result


def _compare_price_file(raw: Any, models: list[Model], origin: str, only_named: bool, result: Result) -> None:
    try:
        litellm = read_price_file(origin)
    except RefreshFailed as exc:
        result.errors.append(f"prices: {exc}")
        return
    wanted = {m.id for m in models} if only_named else None
    prices = [p for p in raw.prices if wanted is None or p.open_model in wanted]
    result.prices_checked = sum(litellm_key(p) is not None for p in prices)
    result.changes.extend(compare_prices(prices, litellm, origin))
    result.proposals = propose_prices(models if only_named else raw.models, raw.prices, litellm, origin)


ADOPTION_FILE = "adoption.yaml"
HUB_COUNTS = (("hf_downloads_30d", "downloads"), ("hf_likes", "likes"))


def compare_adoption(model: Model, read: RepoRead, rows: Sequence[Any]) -> list[Change]:
    """The Hub's download and like counts of the repo read, against the catalog's readings of that repo: a
    reading that differs is changed (value and date), one the catalog lacks is new. Counts move every day, so a
    refresh that reaches the Hub always has something to write."""
    out = []
    for kind, key in HUB_COUNTS:
        value = read.info.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        row = next((r for r in rows if r.model == model.id and r.kind == kind and r.entry == read.repo_id), None)
        if row is not None and row.value == value and row.source.url == read.info_url and row.source.via == read.via:
            continue
        out.append(
            Change(
                ADOPTION_FILE,
                row.id if row is not None else f"{model.id}.{kind}",
                ("value",),
                row.value if row is not None else None,
                value,
                read.info_url,
                "adoption",
                "changed" if row is not None else "new",
                via=read.via,
                label=read.repo_id,
                key=f"{model.id}|{kind}|{read.repo_id}",
            )
        )
    return out


def _adoption_source(change: Change, today: dt.date) -> dict:
    kind = change.key.split("|")[1] if change.key else ""
    what = "downloads in the last 30 days" if kind == "hf_downloads_30d" else "likes"
    source = {
        "url": change.source,
        "as_of": today,
        "title": f"Hub API model info ({what}), read by advisor catalog refresh",
    }
    if change.via:
        source["via"] = change.via
    return source


def apply_adoption(changes: list[Change], directory: Path, today: dt.date) -> list[str]:
    """Write Hub readings into adoption.yaml: a changed reading gets its new value, URL and date in place; a new
    one is appended. The file is created when the catalog has none."""
    mine = [c for c in changes if c.file == ADOPTION_FILE and c.writable]
    if not mine:
        return []
    path = directory / ADOPTION_FILE
    if not path.exists():
        path.write_text(
            "# Practice signals: dated counts of use, each with its source.\nadoption: []\n", encoding="utf-8"
        )
    doc = YamlText(path.read_text(encoding="utf-8"))
    new_rows = []
    for change in mine:
        node = doc.item("adoption", change.entry) if change.status == "changed" else None
        if node is not None:
            doc.patch(node, {"value": change.new, "source": Replace(_adoption_source(change, today))})
            continue
        model, kind, repo = (change.key or "||").split("|")
        new_rows.append(
            {
                "id": change.entry,
                "model": model,
                "kind": kind,
                "value": change.new,
                "entry": repo,
                "source": _adoption_source(change, today),
            }
        )
    text = doc.result()
    if new_rows:
        text = _append_rows(text, new_rows)
    path.write_text(text, encoding="utf-8")
    return [ADOPTION_FILE]


def _append_rows(text: str, rows: list[dict]) -> str:
    """New adoption rows at the end of the list, one key a line with the source in flow style."""
    lines = "".join("- " + "\n  ".join(f"{k}: {render(v)}" for k, v in row.items()) + "\n" for row in rows)
    if re.search(r"^adoption:\s*\[\]\s*$", text, flags=re.M):
        return re.sub(r"^adoption:\s*\[\]\s*$", "adoption:\n" + lines.rstrip("\n"), text, count=1, flags=re.M) + (
            "" if text.endswith("\n") else "\n"
        )
    return text.rstrip("\n") + "\n" + lines


def _hub_offline_message(exc: ImportFailed, endpoint: str | None) -> str:
    first = str(exc).split(". This machine")[0]
    return (
        f"Hub: {first}. Nothing from the Hub was compared. To work offline: `--skip-hub --prices-file FILE` "
        "refreshes prices from a saved LiteLLM file; `--from-dir FOLDER` compares saved copies "
        "(FOLDER/OWNER__NAME/config.json and model_info.json, the API's /api/models/OWNER/NAME response)"
        + ("; `--endpoint URL` reads a Hub mirror" if endpoint is None else "")
        + "."
    )


# ---------------------------------------------------------------- prices vs LiteLLM


def read_price_file(where: str) -> dict:
    """LiteLLM's price JSON from a URL or a local path; RefreshFailed says what failed and how to work offline."""
    hint = (
        "To work offline: download model_prices_and_context_window.json where there is internet and pass "
        "--prices-file PATH, or leave prices out with --skip-prices."
    )
    try:
        if re.match(r"^https?://", where):
            import httpx

            resp = httpx.get(where, timeout=30, follow_redirects=True)
            resp.raise_for_status()
            text = resp.text
        else:
            text = Path(where).read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefreshFailed(f"the LiteLLM price file {where} is not JSON ({exc.msg} at line {exc.lineno})") from None
    except OSError as exc:
        raise RefreshFailed(f"could not read the LiteLLM price file {where} ({exc}). {hint}") from None
    except Exception as exc:  # noqa: BLE001 (httpx's transport and status errors)
        raise RefreshFailed(
            f"could not download the LiteLLM price file {where} ({type(exc).__name__}: {str(exc)[:160]}). {hint}"
        ) from None
    if not isinstance(data, dict):
        raise RefreshFailed(f"the LiteLLM price file {where} is not a JSON object of model keys")
    return {k: v for k, v in data.items() if isinstance(v, dict) and k != "sample_spec"}


def litellm_key(price: ApiPrice) -> str | None:
    """The LiteLLM key a price row was read from: its source.via ends with 'key KEY'."""
    via = price.source.via or ""
    match = re.search(r"\bkey\s+(\S+)\s*$", via)
    return match.group(1) if match and "litellm" in via.lower() else None


def _per_mtok(entry: dict, key: str) -> float | None:
    value = entry.get(key)
    return round(float(value) * 1e6, 6) if isinstance(value, (int, float)) else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def compare_prices(prices: list[ApiPrice], litellm: dict, origin: str) -> list[Change]:
    """Changed input/output prices and context, and new or changed deprecation dates, per LiteLLM-backed row."""
    out: list[Change] = []
    for price in prices:
        key = litellm_key(price)
        if key is None:
            continue
        source = f"{origin} (key {key})"

        def make(path, old, new, status, note=None, _p=price, _s=source, _k=key):
            return Change(
                "prices.yaml",
                _p.id,
                (path,),
                old,
                new,
                _s,
                "price",
                status,
                note=note,
                label=f"LiteLLM key {_k}",
                key=_k,
            )

        entry = litellm.get(key)
        if entry is None:
            out.append(
                make("source", key, "(key not in the file)", "review", "renamed or retired; find its new key by hand")
            )
            continue
        for field_name, lkey in (
            ("usd_per_mtok_input", "input_cost_per_token"),
            ("usd_per_mtok_output", "output_cost_per_token"),
        ):
            new = _per_mtok(entry, lkey)
            if new is not None and abs(new - getattr(price, field_name)) > 1e-9:
                out.append(make(field_name, getattr(price, field_name), new, "changed"))
        ctx = entry.get("max_input_tokens")
        if price.context_length and isinstance(ctx, int) and ctx != price.context_length:
            out.append(make("context_length", price.context_length, ctx, "changed"))
        dep = _date(entry.get("deprecation_date"))
        if dep and dep != price.deprecation_date:
            out.append(
                make("deprecation_date", price.deprecation_date, dep, "changed" if price.deprecation_date else "new")
            )
    return out


_SUFFIXES = re.compile(r"(-maas|-turbo|-tput|-fp8|-fp4|-free|:free|-instruct-turbo)$")


def propose_prices(models: list[Model], prices: list[ApiPrice], litellm: dict, origin: str) -> list[Proposal]:
    """LiteLLM chat prices for catalog models that have no price row yet, matched on the Hugging Face repo name."""
    priced = {p.open_model for p in prices if p.open_model}
    names: dict[str, str] = {}
    for m in models:
        if m.id in priced:
            continue
        for repo in m.repos.values():
            names.setdefault(repo.lower(), m.id)
            names.setdefault(repo.split("/", 1)[1].lower(), m.id)
    providers: dict[str, str] = {}
    for p in prices:  # LiteLLM's provider ids -> the names the catalog uses for them
        key = litellm_key(p)
        if key and isinstance(litellm.get(key), dict) and litellm[key].get("litellm_provider"):
            providers.setdefault(litellm[key]["litellm_provider"], p.provider)
    out = []
    for key, entry in litellm.items():
        if entry.get("mode", "chat") != "chat":
            continue
        cost_in, cost_out = _per_mtok(entry, "input_cost_per_token"), _per_mtok(entry, "output_cost_per_token")
        if not cost_in or not cost_out:
            continue
        parts = key.lower().split("/")
        model = names.get("/".join(parts[-2:])) or names.get(_SUFFIXES.sub("", parts[-1]))
        if model is None:
            continue
        provider = entry.get("litellm_provider") or parts[0]
        out.append(
            Proposal(
                model,
                key,
                providers.get(provider, provider),
                cost_in,
                cost_out,
                entry.get("max_input_tokens") if isinstance(entry.get("max_input_tokens"), int) else None,
                str(entry["deprecation_date"]) if entry.get("deprecation_date") else None,
                f"{origin} (key {key})",
            )
        )
    return sorted(out, key=lambda p: (p.model, p.key))


# ---------------------------------------------------------------- writing


@dataclass
class _EntryPatch:
    patch: dict = field(default_factory=dict)
    sources: dict[tuple[str, str | None], str] = field(default_factory=dict)  # (url, via) -> source key


def _put(patch: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        patch = patch.setdefault(key, {})
    patch[path[-1]] = value


def _source_key(model: Model, entry: _EntryPatch, change: Change, today: dt.date) -> str:
    """The source a written fact cites: the same URL read directly (dated today), else a new one."""
    wanted = (change.source, change.via)
    if wanted in entry.sources:
        return entry.sources[wanted]
    key = next((k for k, s in model.sources.items() if s.url == change.source and s.via == change.via), None)
    if key is not None:
        _put(entry.patch, ("sources", key, "as_of"), today)
    else:
        base = "hub_config" if change.source.endswith("config.json") else "hub_api"
        key, n = base, 2
        while key in model.sources or key in entry.sources.values():
            key, n = f"{base}_{n}", n + 1
        title = "config.json" if base == "hub_config" else "Hub API metadata (safetensors parameter count, licence tag)"
        source = {"url": change.source, "as_of": today, "title": f"{title}, read by advisor catalog refresh"}
        if change.via:
            source["via"] = change.via
        _put(entry.patch, ("sources", key), source)
    entry.sources[wanted] = key
    return key


_AFTER = {  # where a key the entry lacks goes
    "max_position_embeddings": ["context_length"],
    "architecture": ["max_position_embeddings", "context_length"],
    "modalities": ["architecture", "context_length"],
    "formats": ["modalities", "architecture", "context_length"],
    "unverified": ["cite"],
    "deprecation_date": ["context_length", "usd_per_mtok_output"],
}


def _price_via(origin: str, key: str) -> str:
    name = origin if re.match(r"^https?://", origin) else Path(origin).name
    return f"LiteLLM {name}, key {key}"


def apply_changes(changes: list[Change], directory: Path, raw: Any, origin: str | None, today: dt.date) -> list[str]:
    """Write the writable changes into the catalog's YAML files; return the files written (relative paths)."""
    models = {m.id: m for m in raw.models}
    by_file: dict[str, dict[str, _EntryPatch]] = {}
    adoption = apply_adoption(changes, directory, today)
    for change in changes:
        if not change.writable or change.file == ADOPTION_FILE:
            continue
        entry = by_file.setdefault(change.file, {}).setdefault(change.entry, _EntryPatch())
        _put(entry.patch, change.path, change.new)
        if change.fact == "price":
            via = _price_via(origin or "LiteLLM", change.key or "")
            _put(entry.patch, ("source", "as_of"), today)
            _put(entry.patch, ("source", "via"), via)
            continue
        model = models[change.entry]
        _put(entry.patch, ("cite", change.fact), _source_key(model, entry, change, today))
        unverified = entry.patch.setdefault("unverified", Append([]))
        if change.fact not in model.unverified and change.fact not in unverified.items:
            unverified.items.append(change.fact)
    written = []
    for file, entries in by_file.items():
        path = directory / file
        doc = YamlText(path.read_text(encoding="utf-8"))
        list_key = "prices" if file == "prices.yaml" else "models"
        for ident, entry in entries.items():
            node = doc.item(list_key, ident)
            if node is None:
                raise RefreshFailed(f"{file}: no entry {ident!r} to write to")
            patch = {k: v for k, v in entry.patch.items() if not (isinstance(v, Append) and not v.items)}
            doc.patch(node, patch, _AFTER)
        path.write_text(doc.result(), encoding="utf-8")
        written.append(file)
    return written + adoption


def write_and_validate(
    changes: list[Change], directory: Path, raw: Any, origin: str | None, today: dt.date | None = None
) -> list[str]:
    """Apply the changes; if the catalog no longer validates, restore every file and raise RefreshFailed."""
    from catalog.loader import load_raw

    files = sorted({c.file for c in changes if c.writable})
    saved = {f: (directory / f).read_bytes() if (directory / f).exists() else None for f in files}
    problems: Sequence[object]
    try:
        written = apply_changes(changes, directory, raw, origin, today or dt.date.today())
        _, problems = load_raw(directory)
    except Exception as exc:  # noqa: BLE001 (any failure leaves the files as they were)
        problems, written = [f"{type(exc).__name__}: {exc}"], []
    if problems:
        for f, data in saved.items():
            if data is None:
                (directory / f).unlink(missing_ok=True)
            else:
                (directory / f).write_bytes(data)
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        raise RefreshFailed(f"the written catalog did not validate, so nothing was written:\n{shown}")
    return written


# ---------------------------------------------------------------- report


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if value is DELETE:
        return "(removed)"
    return value if isinstance(value, str) else render(value)


def format_result(result: Result, write: bool) -> list[str]:
    """The diff as text: '~' changed, '+' new, '-' removed, '!' for review (never written)."""
    lines: list[str] = []
    mark = {"changed": "~", "new": "+", "removed": "-", "review": "!"}
    last_file = last_entry = None
    for c in sorted(result.changes, key=lambda c: (c.file == "prices.yaml", c.file, c.entry)):
        if c.file != last_file:
            lines.append(c.file)
            last_file, last_entry = c.file, None
        if c.entry != last_entry:
            lines.append(f"  {c.entry}  ({c.label})")
            last_entry = c.entry
        note = f"  ({c.note})" if c.note else ""
        lines.append(f"    {mark[c.status]} {'.'.join(c.path)}: {_show(c.old)} -> {_show(c.new)}  [{c.source}]{note}")
    if result.proposals:
        lines.append(
            "proposed price rows (LiteLLM prices for catalog models with no price row; add them by hand after review):"
        )
        for p in result.proposals:
            extra = (f", context {p.context_length}" if p.context_length else "") + (
                f", deprecation {p.deprecation_date}" if p.deprecation_date else ""
            )
            lines.append(
                f"    + {p.model}: {p.provider} {p.key}: {render(p.usd_per_mtok_input)} in / "
                f"{render(p.usd_per_mtok_output)} out USD per Mtok{extra}  [{p.source}]"
            )
    for s in result.skipped:
        lines.append(f"skipped: {s}")
    counts = {s: sum(c.status == s for c in result.changes) for s in mark}
    summary = (
        f"{counts['changed']} changed, {counts['new']} new, {counts['removed']} removed, "
        f"{counts['review']} to review, {len(result.proposals)} proposed price rows "
        f"({result.models_read} models read, {result.prices_checked} price rows checked)"
    )
    writable = sum(c.writable for c in result.changes)
    if not (writable or counts["review"] or result.proposals):
        lines.append(f"no changes: {summary}")
    elif write:
        lines.append(f"{summary}; {writable} written" if writable else f"{summary}; nothing to write")
    else:
        lines.append(f"{summary}; nothing written (--write applies the changed, new and removed facts)")
    return lines
