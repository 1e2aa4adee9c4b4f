"""The shipped catalog is valid and large enough, and the validator catches each kind of defect."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from catalog.loader import DATA_DIR, load_raw
from catalog.query import Catalog, LookupFailed, NameIndex, get_catalog, normalize, versions


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return get_catalog()


def test_shipped_catalog_has_no_problems():
    _, problems = load_raw(DATA_DIR)
    assert problems == [], "\n".join(map(str, problems))


def test_counts_meet_the_issue(cat: Catalog):
    lineages = {f.lineage for f in cat.families.values() if cat.family_models(f.id)}
    assert len(cat.models) >= 60
    assert len(lineages) >= 12
    assert len(cat.licenses) >= 15
    assert len(cat.gpus) >= 25
    assert sum(p.kind == "proprietary" for p in cat.prices.values()) >= 8
    assert sum(p.kind == "hosted_open" for p in cat.prices.values()) >= 12
    assert {p.provider for p in cat.prices.values() if p.kind == "proprietary"} >= {"OpenAI", "Anthropic", "Google"}


def test_every_family_has_a_model(cat: Catalog):
    empty = [f.id for f in cat.families.values() if not cat.family_models(f.id)]
    assert empty == []


def test_tutorial_corrections_hold(cat: Catalog):
    # Llama 3 kept the 700M MAU clause.
    assert cat.licenses[cat.model("llama 3 8b").license].terms.mau_threshold.value == 700_000_000
    # DeepSeek LLM 67B weights are not MIT.
    assert cat.model("deepseek llm 67b").license != "mit"
    # Phi-3 Medium is 4K or 128K, never 8K.
    assert cat.model("phi-3 medium").context_length in (4096, 131072)
    # Qwen2.5-3B is non-commercial; Qwen2.5-72B has its own licence.
    assert cat.licenses[cat.model("qwen2.5 3b").license].terms.commercial_use.value == "no"
    assert cat.model("qwen2.5 72b").license not in ("apache-2.0", cat.model("qwen2.5 3b").license)


def test_licence_history_is_kept(cat: Catalog):
    for name in ("phi-2", "yi 34b", "falcon 40b"):
        model = cat.model(name)
        assert model.license_history, f"{name} should record its earlier licence"
        earlier = model.license_history[0].license
        assert cat.licenses[earlier].superseded_by == model.license


# ---------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    "query, expected",
    [
        ("llama-3.1-8b", "llama-3.1-8b"),
        ("Llama 3.1 8B", "llama-3.1-8b"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("META-LLAMA-3.1-8B-INSTRUCT", "llama-3.1-8b"),
        ("llama3.1_8b", "llama-3.1-8b"),
        ("llama 3.1 8b instruct", "llama-3.1-8b"),
    ],
)
def test_model_lookup_is_case_and_punctuation_insensitive(cat: Catalog, query: str, expected: str):
    assert cat.model(query).id == expected


def test_unknown_model_lists_closest_matches(cat: Catalog):
    with pytest.raises(LookupFailed) as err:
        cat.model("lama 3.1 8")
    assert err.value.reason == "unknown"
    assert "llama-3.1-8b" in err.value.suggestions
    assert "closest matches" in str(err.value)


def test_ambiguous_model_lists_candidates(cat: Catalog):
    with pytest.raises(LookupFailed) as err:
        cat.model("llama 70b")
    assert err.value.reason == "ambiguous"
    assert len(err.value.suggestions) >= 2
    assert all("70b" in s for s in err.value.suggestions)


@pytest.mark.parametrize(
    "query",
    [
        "Gemma 4",
        "gemma-4",
        "Qwen3.9",
        "Qwen 3.9 27B",
        "Llama 5",
        "Llama 3.4 70B",
        "Qwen3 30B A3B 2508",
        "Mistral Small 3.9",
    ],
)
def test_a_version_the_index_lacks_is_never_swapped_for_another(query: str):
    index = NameIndex(
        "model",
        [
            ("gemma-3-4b", "g34", ["Gemma 3 4B", "google/gemma-3-4b-it"]),
            ("qwen3-8b", "q8", ["Qwen3 8B"]),
            ("qwen3-30b-a3b-2507", "q30", ["Qwen3 30B A3B 2507", "Qwen3-30B-A3B-Instruct-2507"]),
            ("llama-3.3-70b", "l70", ["Llama 3.3 70B"]),
            ("mistral-small-3.1", "ms", ["Mistral Small 3.1 24B"]),
        ],
    )
    with pytest.raises(LookupFailed) as err:
        index.resolve(query)
    assert err.value.reason == "unknown"


def test_versions_tell_sizes_from_versions():
    assert versions(normalize("Gemma 3 4B")) == {"3"}
    assert versions(normalize("Qwen3-30B-A3B-Instruct-2507")) == {"3", "2507"}
    assert versions(normalize("gemma 4")) == {"4"}


def test_the_same_names_still_resolve_through_the_index():
    index = NameIndex("model", [("gemma-3-4b", "g34", ["Gemma 3 4B"]), ("gemma-3-27b", "g27", ["Gemma 3 27B"])])
    assert index.resolve("gemma 3 4b") == "g34"
    assert index.resolve("Gemma-3-27B-it") == "g27"
    with pytest.raises(LookupFailed) as err:
        index.resolve("gemma 3")
    assert err.value.reason == "ambiguous"


def test_gpu_lookup(cat: Catalog):
    assert cat.gpu("4090").id == "rtx-4090"
    assert cat.gpu("NVIDIA GeForce RTX 4090").id == "rtx-4090"


def test_normalize():
    assert normalize("Meta-Llama-3.1-8B") == normalize("meta llama 3.1 8b")
    assert normalize("Qwen2.5-7B") != normalize("Qwen2-5.7B")  # dots inside numbers are kept
    assert normalize("Qwen2.5-7B") == "qwen 2.5 7 b"


def test_models_dataframe(cat: Catalog):
    df = cat.models_df()
    assert len(df) == len(cat.models)
    assert {"params_b", "context_length", "license", "MMLU"} <= set(df.columns)
    assert (df["active_params_b"] <= df["params_b"]).all()


# ---------------------------------------------------------------- the validator catches defects


@pytest.fixture()
def catalog_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA_DIR, dest)
    return dest


def _edit_model(root: Path, model_id: str, edit) -> None:
    for path in (root / "models").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for m in data["models"]:
            if m["id"] == model_id:
                edit(m)
                path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
                return
    raise AssertionError(f"{model_id} not found")


def _messages(root: Path) -> str:
    _, problems = load_raw(root)
    return "\n".join(map(str, problems))


def test_missing_source_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m["cite"].pop("context_length"))
    assert "fact 'context_length' has no source" in _messages(catalog_copy)


def test_source_key_must_exist(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m["cite"].update(params_b="nowhere"))
    assert "names source 'nowhere'" in _messages(catalog_copy)


def test_benchmark_without_known_source_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m["benchmarks"][0].update(source="blog"))
    assert "benchmark MMLU names source 'blog'" in _messages(catalog_copy)


def test_unknown_license_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(license="llama-9"))
    assert "unknown licence id 'llama-9'" in _messages(catalog_copy)


def test_active_above_total_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(active_params_b=9.5))
    assert "active_params_b 9.5 exceeds params_b" in _messages(catalog_copy)


def test_head_dim_inconsistent_without_explicit_value_is_caught(catalog_copy: Path):
    def edit(m):
        m["architecture"]["attention_heads"] = 30  # 4096 / 30 is not whole
        m["architecture"]["kv_heads"] = 6
        m["architecture"].pop("head_dim", None)

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    assert "not a multiple of attention_heads 30; give head_dim explicitly" in _messages(catalog_copy)


def test_duplicate_id_is_caught(catalog_copy: Path):
    path = catalog_copy / "models" / "llama.yaml"
    data = yaml.safe_load(path.read_text())
    first = data["models"][0]
    data["models"].append(dict(first))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert f"models[{first['id']}]: duplicate id" in _messages(catalog_copy)


def test_duplicate_alias_is_caught(catalog_copy: Path):
    other = next(m for m in get_catalog().models.values() if m.id != "llama-3.1-8b")
    _edit_model(catalog_copy, other.id, lambda m: m.setdefault("aliases", []).append("LLAMA 3.1 8B"))
    assert "is also used by model" in _messages(catalog_copy)


def test_licence_term_without_quote_is_caught(catalog_copy: Path):
    path = catalog_copy / "licenses.yaml"
    data = yaml.safe_load(path.read_text())
    data["licenses"][0]["terms"]["commercial_use"].pop("quote")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert "needs a clause quote" in _messages(catalog_copy)


def test_problem_names_file_and_entry(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m["architecture"].update(kv_heads="eight"))
    msg = _messages(catalog_copy)
    assert "models/llama.yaml: models[llama-3.1-8b].architecture.kv_heads" in msg


# ---------------------------------------------------------------- sources anyone can open


def _edit_licence(root: Path, license_id: str, edit) -> None:
    for path in [root / "licenses.yaml", *(root / "models").glob("*.yaml")]:
        data = yaml.safe_load(path.read_text())
        for lic in data.get("licenses", []):
            if lic["id"] == license_id:
                edit(lic)
                path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
                return
    raise AssertionError(f"{license_id} not found")


@pytest.mark.parametrize(
    "url",
    [
        "/work/shared/reference/open-model-facts.md",
        "file:///home/me/config.json",
        "http://localhost:8000/config.json",
        "http://127.0.0.1/card",
        "https://10.1.2.3/card",
        "https://intranet/card",
        "ftp://example.org/card",
    ],
)
def test_a_source_that_is_not_a_public_url_is_caught(catalog_copy: Path, url: str):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: next(iter(m["sources"].values())).update(url=url))
    msg = _messages(catalog_copy)
    assert "models[llama-3.1-8b].sources." in msg and repr(url) in msg, msg
    assert "public" in msg or "http(s) URL" in msg, msg


def test_a_licence_or_term_url_that_is_not_public_is_caught(catalog_copy: Path):
    _edit_licence(catalog_copy, "llama-3.1", lambda lic: lic.update(url="http://localhost/LICENSE"))
    assert "licenses[llama-3.1].url" in _messages(catalog_copy)


@pytest.mark.parametrize(
    ("via", "named"),
    [
        ("/work/shared/reference/open-model-facts.md (not re-read here)", "/work/"),
        ("verbatim copy of the card (public-code index file 61362528927)", "index file 6"),
        ("a notes file found with the code index (file id 69173086209)", "file id 6"),
        ("notes in shared/reference/releases.md", "shared/reference"),
    ],
)
def test_a_copy_named_by_a_local_path_or_an_index_number_is_caught(catalog_copy: Path, via: str, named: str):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: next(iter(m["sources"].values())).update(via=via))
    msg = _messages(catalog_copy)
    assert "via" in msg and f"names a copy no reader can open ({named!r}" in msg, msg


def _read_through_a_copy(m: dict, key: str, via: str, mark: bool) -> None:
    """Give source ``key`` a copy it was read through; with ``mark``, list what it backs as unverified."""
    m["sources"][key]["via"] = via
    if mark:
        backed = [fact for fact, k in m["cite"].items() if k == key]
        if any(s["source"] == key for s in m.get("benchmarks", [])):
            backed.append("benchmarks")
        m["unverified"] = list(dict.fromkeys([*m.get("unverified", []), *backed]))


def test_a_copy_named_by_its_public_url_or_described_passes(catalog_copy: Path):
    via = "https://github.com/org/repo/blob/0123abc/config.json (a verbatim copy in a public GitHub repository)"
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: _read_through_a_copy(m, "card", via, mark=True))
    assert _messages(catalog_copy) == ""


def test_a_fact_read_through_a_copy_but_not_listed_unverified_is_caught(catalog_copy: Path):
    # The 2026-12-07 audit found Qwen3.5-122B-A10B's scores read in a copy of its card yet shown as verified.
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: _read_through_a_copy(m, "license", "a copy", mark=False))
    msg = _messages(catalog_copy)
    assert "models[llama-3.1-8b]" in msg and "not listed under unverified: license." in msg, msg


def test_benchmarks_read_through_a_copy_but_not_listed_unverified_are_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: _read_through_a_copy(m, "card", "a copy", mark=False))
    msg = _messages(catalog_copy)
    assert "release_date; context_length; languages; benchmarks (ARC-C, BBH, BFCL, GPQA" in msg, msg


def test_a_benchmark_named_in_an_unverified_note_counts_as_listed(catalog_copy: Path):
    def edit(m):
        _read_through_a_copy(m, "card", "a copy", mark=True)
        m["unverified"].remove("benchmarks")
        names = sorted({s["name"] for s in m["benchmarks"] if s["source"] == "card"})
        m["unverified"].append(f"{', '.join(names)}: read in a copy of the card")

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    assert _messages(catalog_copy) == ""


# ---------------------------------------------------------------- dates


def test_a_release_date_after_its_source_was_read_is_caught(catalog_copy: Path):
    def edit(m):
        source = m["sources"][m["cite"]["release_date"]]
        m["release_date"] = source["as_of"] + dt.timedelta(days=1)

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    assert "release_date" in _messages(catalog_copy) and "is after the date its source was read" in _messages(
        catalog_copy
    )


def test_a_source_published_after_it_was_read_is_caught(catalog_copy: Path):
    def edit(m):
        source = next(iter(m["sources"].values()))
        source["published"] = source["as_of"] + dt.timedelta(days=3)

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    assert "is after as_of" in _messages(catalog_copy)


# ---------------------------------------------------------------- context length against the config


def test_a_context_length_differing_from_the_config_without_a_note_is_caught(catalog_copy: Path):
    def edit(m):
        m["max_position_embeddings"] = m["context_length"] * 2
        m.pop("context_note", None)

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    msg = _messages(catalog_copy)
    assert "models[llama-3.1-8b]" in msg and "differs from max_position_embeddings" in msg, msg
    assert "context_note" in msg


def test_a_context_note_explains_the_difference(catalog_copy: Path):
    def edit(m):
        m["max_position_embeddings"] = m["context_length"] * 2
        m["context_note"] = "config.json allows twice the documented context; the vendor gives 131,072."

    _edit_model(catalog_copy, "llama-3.1-8b", edit)
    assert _messages(catalog_copy) == ""


def test_every_differing_context_in_the_catalog_has_its_note(cat: Catalog):
    differing = [m for m in cat.models.values() if m.max_position_embeddings not in (None, m.context_length)]
    assert differing and all(m.context_note for m in differing)


# ---------------------------------------------------------------- languages


def test_a_language_count_below_the_languages_listed_is_caught(catalog_copy: Path):
    _edit_model(
        catalog_copy, "llama-3.1-8b", lambda m: m.update(language_count=3) or m["cite"].update(language_count="card")
    )
    msg = _messages(catalog_copy)
    assert "models[llama-3.1-8b]" in msg and "language_count 3 is below the 8 languages listed" in msg, msg


def test_a_language_count_needs_a_source(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(language_count=30))
    assert "fact 'language_count' has no source" in _messages(catalog_copy)


def test_a_cited_language_count_above_the_list_passes(catalog_copy: Path):
    _edit_model(
        catalog_copy, "llama-3.1-8b", lambda m: m.update(language_count=30) or m["cite"].update(language_count="card")
    )
    assert _messages(catalog_copy) == ""


@pytest.mark.parametrize(("codes", "named"), [(["en", "English"], "English"), (["en", "deu"], "deu"), (["EN"], "EN")])
def test_a_language_that_is_not_an_iso_639_1_code_is_caught(catalog_copy: Path, codes: list[str], named: str):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(languages=codes))
    assert f"languages: {named} is not an ISO 639-1 code" in _messages(catalog_copy)


def test_a_language_listed_twice_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(languages=["en", "de", "en"]))
    assert "languages lists a code twice" in _messages(catalog_copy)


# ---------------------------------------------------------------- mixture of experts


def test_an_moe_architecture_without_active_parameters_is_caught(catalog_copy: Path):
    moe = next(m for m in get_catalog().models.values() if m.architecture and m.architecture.moe)
    _edit_model(catalog_copy, moe.id, lambda m: m.pop("active_params_b"))
    msg = _messages(catalog_copy)
    assert f"models[{moe.id}]" in msg and "an MoE model (architecture.moe) needs active_params_b" in msg, msg


def test_a_model_stated_moe_without_active_parameters_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "llama-3.1-8b", lambda m: m.update(moe=True))
    assert "an MoE model (moe: true) needs active_params_b" in _messages(catalog_copy)


def test_a_dense_statement_contradicting_the_experts_is_caught(catalog_copy: Path):
    moe = next(m for m in get_catalog().models.values() if m.architecture and m.architecture.moe)
    _edit_model(catalog_copy, moe.id, lambda m: m.update(moe=False))
    assert "moe: false contradicts architecture.moe" in _messages(catalog_copy)


# ---------------------------------------------------------------- licence thresholds


def test_a_threshold_on_a_term_that_takes_none_is_caught(catalog_copy: Path):
    _edit_licence(
        catalog_copy,
        "llama-3.1",
        lambda lic: lic["terms"]["commercial_use"].update(above={"revenue_usd_per_year": 20_000_000}),
    )
    assert "terms.commercial_use.above: only hosted_service and attribution take a threshold" in _messages(catalog_copy)


def test_a_hosting_threshold_on_a_hosting_licence_that_allows_it_is_caught(catalog_copy: Path):
    _edit_licence(
        catalog_copy,
        "llama-3.1",
        lambda lic: lic["terms"]["hosted_service"].update(above={"revenue_usd_per_year": 20_000_000}),
    )
    assert "terms.hosted_service.above" in _messages(catalog_copy) and "not 'allowed'" in _messages(catalog_copy)


def test_a_threshold_without_a_figure_is_caught(catalog_copy: Path):
    _edit_licence(
        catalog_copy,
        "llama-3.1",
        lambda lic: lic["terms"]["attribution"].update(above={"whose": "the licensee"}),
    )
    assert "a threshold needs a figure" in _messages(catalog_copy)


def test_a_threshold_on_a_term_not_read_is_caught(catalog_copy: Path):
    _edit_licence(
        catalog_copy,
        "llama-3.1",
        lambda lic: lic["terms"].update(attribution={"value": "not_reported", "above": {"monthly_active_users": 5}}),
    )
    assert "a term not read ('not_reported') cannot state a threshold" in _messages(catalog_copy)


def test_a_model_without_architecture_that_does_not_say_whether_it_is_moe_is_caught(catalog_copy: Path):
    """Kimi K3 as it was: no architecture block, no active parameters, nothing saying it is dense."""

    def edit(m):
        m.pop("active_params_b")
        m.pop("moe", None)
        m["cite"].pop("active_params_b", None)
        m["unverified"] = [f for f in m.get("unverified", []) if f != "active_params_b"]

    _edit_model(catalog_copy, "kimi-k3", edit)
    msg = _messages(catalog_copy)
    assert "models[kimi-k3]" in msg and "say whether the model is a mixture of experts" in msg, msg


def test_every_model_says_whether_it_is_moe(cat: Catalog):
    for m in cat.models.values():
        assert m.active_params_b is not None or m.moe is False or m.architecture is not None, m.id
        if m.architecture is not None and m.architecture.moe is not None:
            assert m.active_params_b is not None, m.id


# ---------------------------------------------------------------- snapshots of one architecture


def test_snapshots_that_disagree_on_size_are_caught(catalog_copy: Path):
    """DeepSeek-V4.1-Flash as it was: 552B (backbone) beside its 1017 snapshot at 763B (the upload)."""
    _edit_model(catalog_copy, "deepseek-v4.1-flash-1017", lambda m: m.update(params_b=763))
    msg = _messages(catalog_copy)
    assert "models[deepseek-v4.1-flash-1017].params_b: 763.0 disagrees with 552.0 for deepseek-v4.1-flash" in msg, msg


def test_a_snapshot_found_by_its_id_must_agree_too(catalog_copy: Path):
    """No snapshot_of: a model derived from another whose id it extends is a checkpoint of the same architecture."""
    _edit_model(catalog_copy, "deepseek-v4-flash-0731", lambda m: m.update(active_params_b=37))
    assert "models[deepseek-v4-flash-0731].active_params_b: 37" in _messages(catalog_copy)


def test_snapshots_that_disagree_on_layout_are_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "phi-4-reasoning", lambda m: m["architecture"].update(layers=41))
    msg = _messages(catalog_copy)
    assert "models[phi-4-reasoning].architecture: differs from phi-4's" in msg and "in layers" in msg, msg


def test_a_snapshot_of_an_unknown_model_is_caught(catalog_copy: Path):
    _edit_model(catalog_copy, "deepseek-v4.1-flash-1017", lambda m: m.update(snapshot_of="deepseek-v9"))
    assert "models[deepseek-v4.1-flash-1017].snapshot_of: unknown model id 'deepseek-v9'" in _messages(catalog_copy)


# ---------------------------------------------------------------- a threshold stated but not recorded


@pytest.mark.parametrize(
    ("license_id", "term", "figure"),
    [
        ("glm-5.3", "hosted_service", "10 billion"),  # GLM-5.3 as it was: any host refused
        ("kimi-k3", "hosted_service", "20 million"),
        ("kimi-modified-mit", "attribution", "100 million"),
    ],
)
def test_a_term_that_refuses_or_binds_above_a_stated_figure_without_it_is_caught(
    catalog_copy: Path, license_id: str, term: str, figure: str
):
    _edit_licence(catalog_copy, license_id, lambda lic: lic["terms"][term].pop("above"))
    msg = _messages(catalog_copy)
    assert f"licenses[{license_id}].terms" in msg and f"terms.{term} grants or refuses above a figure" in msg, msg
    assert figure in msg and "records no threshold" in msg, msg


def test_a_conditional_grant_naming_a_figure_with_no_threshold_anywhere_is_caught(catalog_copy: Path):
    def edit(lic):
        lic["terms"]["hosted_service"] = {"value": "not_reported"}
        lic["terms"]["commercial_use"]["note"] = "Only groups above US$10B revenue over 12 months need the review."

    _edit_licence(catalog_copy, "glm-5.3", edit)
    assert "terms.commercial_use grants or refuses above a figure its clause states ('US$10B'" in _messages(
        catalog_copy
    )
