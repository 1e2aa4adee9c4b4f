"""`advisor catalog coverage` (catalog/gaps.py): recent models lacking a use case's benchmarks, and the facts
each model lacks. Each test removes or adds one fact in a copy of the shipped catalog and checks that the
report moves with it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

from advisor.cli import main
from catalog import gaps
from catalog.freshness import catalog_as_of
from catalog.loader import DATA_DIR, RawCatalog, load, load_raw
from catalog.schema import Model, Term

USE_CASES = {"code": ["SWE-bench-Verified", "LiveCodeBench", "Aider-Polyglot"], "chat": ["IFEval", "ArenaElo"]}


@pytest.fixture(scope="module")
def raw() -> RawCatalog:
    return load()


def _replace(raw: RawCatalog, model: Model) -> RawCatalog:
    return dataclasses.replace(raw, models=[model if m.id == model.id else m for m in raw.models])


def _model(raw: RawCatalog, ident: str) -> Model:
    return next(m for m in raw.models if m.id == ident)


def _recent_with(raw: RawCatalog, benchmark: str) -> Model:
    return next(m for m in gaps.recent_models(raw) if any(s.name == benchmark for s in m.benchmarks))


def test_recent_means_the_year_before_the_as_of_date(raw):
    as_of = catalog_as_of(raw)
    assert as_of is not None
    recent = gaps.recent_models(raw)
    assert recent and all(as_of - dt.timedelta(days=365) < m.release_date <= as_of for m in recent)
    older = [m for m in raw.models if m.release_date <= as_of - dt.timedelta(days=365)]
    assert older and not {m.id for m in older} & {m.id for m in recent}
    assert [m.release_date for m in recent] == sorted((m.release_date for m in recent), reverse=True)


def test_a_removed_score_shows_as_lacking(raw):
    model = _recent_with(raw, "SWE-bench-Verified")
    before = {g.use_case: g for g in gaps.benchmark_gaps(raw, USE_CASES)}["code"]
    assert "SWE-bench-Verified" not in before.lacking.get(model.id, ())
    stripped = model.model_copy(update={"benchmarks": [s for s in model.benchmarks if s.name != "SWE-bench-Verified"]})
    after = {g.use_case: g for g in gaps.benchmark_gaps(_replace(raw, stripped), USE_CASES)}["code"]
    assert "SWE-bench-Verified" in after.lacking[model.id]
    assert after.scored["SWE-bench-Verified"] == before.scored["SWE-bench-Verified"] - 1


def test_a_model_with_no_score_is_listed_under_none(raw):
    model = _recent_with(raw, "SWE-bench-Verified")
    bare = model.model_copy(update={"benchmarks": []})
    code = {g.use_case: g for g in gaps.benchmark_gaps(_replace(raw, bare), USE_CASES)}["code"]
    assert model.id in code.with_none and model.id not in code.with_all
    assert code.lacking[model.id] == tuple(USE_CASES["code"])


def test_an_independent_evaluation_counts_for_the_benchmark_it_names(raw):
    arena = next(ev for ev in raw.evaluations if ev.benchmark == "ArenaElo")
    scored = next(s.model for s in arena.scores if s.model in {m.id for m in gaps.recent_models(raw)})
    assert "ArenaElo" not in {s.name for s in _model(raw, scored).benchmarks}
    assert "ArenaElo" in gaps.scored_benchmarks(raw)[scored]
    unnamed = dataclasses.replace(
        raw, evaluations=[ev.model_copy(update={"benchmark": None}) if ev is arena else ev for ev in raw.evaluations]
    )
    assert "ArenaElo" not in gaps.scored_benchmarks(unnamed)[scored]


def test_an_evaluation_naming_an_unknown_benchmark_is_caught(tmp_path: Path):
    dest = tmp_path / "data"
    shutil.copytree(DATA_DIR, dest)
    path = dest / "evaluations.yaml"
    data = yaml.safe_load(path.read_text())
    data["evaluations"][0]["benchmark"] = "Arena-Nonsense"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    _, problems = load_raw(dest)
    assert "unknown benchmark 'Arena-Nonsense'" in "\n".join(map(str, problems))


def _facts(raw: RawCatalog, model: Model) -> gaps.ModelFacts:
    return gaps.model_facts(model, {lic.id: lic for lic in raw.licenses})


def test_a_missing_architecture_changes_an_answer_and_comes_first(raw):
    model = next(m for m in raw.models if m.architecture is not None and "architecture" not in m.unverified)
    assert _facts(raw, model).status("architecture") == "verified"
    bare = model.model_copy(update={"architecture": None})
    facts = _facts(raw, bare)
    assert facts.status("architecture") == "missing"
    assert "architecture" in [f.name for f in facts.answer_changing]
    assert facts.ordered[0].changes_answer
    report = gaps.fact_report(_replace(raw, bare))
    position = [r.model for r in report].index(model.id)
    assert all(len(r.answer_changing) >= len(facts.answer_changing) for r in report[:position])


def test_an_unverified_fact_is_told_apart(raw):
    model = next(m for m in raw.models if m.architecture is not None and "architecture" not in m.unverified)
    marked = model.model_copy(update={"unverified": [*model.unverified, "architecture"]})
    assert _facts(raw, marked).status("architecture") == "unverified"


def test_a_moe_name_without_active_parameters_is_missing(raw):
    dense = next(m for m in raw.models if m.active_params_b is None and not gaps.looks_moe(m))
    assert _facts(raw, dense).status("active_params_b") == "not_applicable"
    renamed = dense.model_copy(update={"name": dense.name + " 30B-A3B", "moe": None})
    facts = _facts(raw, renamed)
    assert facts.status("active_params_b") == "missing"
    assert "active_params_b" in [f.name for f in facts.answer_changing]
    said_dense = renamed.model_copy(update={"moe": False})  # the entry's word beats the name
    assert _facts(raw, said_dense).status("active_params_b") == "not_applicable"
    moe = next(m for m in raw.models if m.active_params_b is not None and "active_params_b" not in m.unverified)
    assert _facts(raw, moe).status("active_params_b") == "verified"


def test_an_entry_that_says_neither_dense_nor_moe_changes_an_answer(raw):
    model = next(m for m in raw.models if m.architecture is not None and m.active_params_b is None)
    assert _facts(raw, model).status("moe") != "missing"
    bare = model.model_copy(update={"architecture": None, "moe": None})
    assert "moe" in [f.name for f in _facts(raw, bare).answer_changing]
    dense = bare.model_copy(update={"moe": False})
    assert _facts(raw, dense).status("moe") == "verified"
    assert "moe" not in [f.name for f in _facts(raw, dense).answer_changing]


def test_an_unread_licence_term_names_the_term(raw):
    model = next(m for m in raw.models if m.license == "apache-2.0")
    assert _facts(raw, model).status("license.terms") != "missing"
    apache = next(lic for lic in raw.licenses if lic.id == "apache-2.0")
    unread = apache.terms.model_copy(update={"hosted_service": Term(value="not_reported")})
    licences = {lic.id: lic for lic in raw.licenses} | {"apache-2.0": apache.model_copy(update={"terms": unread})}
    terms = next(f for f in gaps.model_facts(model, licences).facts if f.name == "license.terms")
    assert terms.status == "missing" and terms.changes is not None and "hosted_service" in terms.changes


def test_empty_languages_change_an_answer(raw):
    model = next(m for m in raw.models if m.languages)
    bare = model.model_copy(update={"languages": [], "language_count": None})
    assert "languages" in [f.name for f in _facts(raw, bare).answer_changing]


def test_a_stated_language_count_counts_as_languages_known(raw):
    model = next(m for m in raw.models if m.languages)
    counted = model.model_copy(update={"languages": [], "language_count": 201, "unverified": ["language_count"]})
    assert _facts(raw, counted).status("languages") == "unverified"
    assert "languages" not in [f.name for f in _facts(raw, counted).answer_changing]


def test_counts_add_up_to_the_models(raw):
    report = gaps.fact_report(raw)
    for name, counts in gaps.fact_counts(report).items():
        assert sum(counts.values()) == len(raw.models), name


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["catalog", "coverage", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_prints_every_use_case_and_the_fact_table(capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    assert out.startswith("catalog as of ")
    for use_case in ("code:", "tool_use:", "multilingual:", "chat:"):
        assert f"\n{use_case} " in out
    assert "facts the estimators and licence verdicts read" in out and "architecture" in out


def test_cli_json_matches_the_report(capsys, raw):
    code, out, _ = _run(capsys, "--json", "--use-case", "code")
    assert code == 0
    data = json.loads(out)
    assert [g["use_case"] for g in data["benchmarks"]] == ["code"]
    assert data["recent_models"] == len(gaps.recent_models(raw))
    assert data["facts"]["models"] == len(raw.models)


def test_cli_one_model_lists_every_fact(capsys):
    code, out, _ = _run(capsys, "--model", "Qwen3-8B")
    assert code == 0
    assert "every fact:" in out and "  params_b: " in out and "  license.terms: " in out


def test_cli_bad_input_names_the_option(capsys):
    code, _, err = _run(capsys, "--use-case", "juggling")
    assert code == 2 and "--use-case" in err and "code" in err
    code, _, err = _run(capsys, "--model", "no-such-model-xyz")
    assert code == 2 and "no-such-model-xyz" in err


# ---------------------------------------------------------------- adoption (practice signals)


def _adoption_problems(tmp_path: Path, edit) -> str:
    dest = tmp_path / "data"
    shutil.copytree(DATA_DIR, dest)
    path = dest / "adoption.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data["adoption"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    _, problems = load_raw(dest)
    return "\n".join(map(str, problems))


def _reading(**changes) -> dict:
    row = {
        "id": "qwen3-8b.hf_likes",
        "model": "qwen3-8b",
        "kind": "hf_likes",
        "value": 10,
        "entry": "Qwen/Qwen3-8B",
        "source": {"url": "https://huggingface.co/api/models/Qwen/Qwen3-8B", "as_of": dt.date(2026, 12, 1)},
    }
    return {**row, **changes}


def test_a_valid_reading_loads(tmp_path: Path):
    assert _adoption_problems(tmp_path, lambda rows: rows.append(_reading())) == ""


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"model": "no-such-model"}, "unknown model id 'no-such-model'"),
        ({"entry": "qwen3-8b"}, "must be a Hugging Face repo id"),
        ({"value": 10.5}, "a whole count"),
        ({"value": -1}, "greater than or equal to 0"),
        ({"kind": "github_stars"}, "kind"),
        ({"source": {"url": "file:///tmp/x", "as_of": dt.date(2026, 12, 1)}}, "url"),
    ],
)
def test_a_bad_reading_is_caught_naming_the_field(tmp_path: Path, changes: dict, message: str):
    assert message in _adoption_problems(tmp_path, lambda rows: rows.append(_reading(**changes)))


def test_the_same_reading_twice_is_caught(tmp_path: Path):
    def edit(rows):
        rows.append(_reading())
        rows.append(_reading(id="qwen3-8b.hf_likes.2"))

    assert "given twice" in _adoption_problems(tmp_path, edit)


def test_coverage_counts_recent_models_with_a_signal(raw):
    recent = gaps.recent_models(raw)
    before = gaps.adoption_coverage(raw, recent)
    target = next(m for m in recent if m.id in before["without"])
    row = _reading(id=f"{target.id}.hf_likes", model=target.id, entry="Org/Repo")
    from catalog.schema import Adoption

    after = gaps.adoption_coverage(dataclasses.replace(raw, adoption=[*raw.adoption, Adoption(**row)]), recent)
    assert after["with_signal"] == before["with_signal"] + 1 and target.id not in after["without"]
    assert after["by_kind"]["hf_likes"] == before["by_kind"].get("hf_likes", 0) + 1
