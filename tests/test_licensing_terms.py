"""Licence advice, term by term: for each licence term the catalog records, the use it governs gets the verdict,
the condition or refusal, the reason and the quoted clause the term calls for, and a use it does not govern gets
none of them. Expected facts come from the catalog's terms (catalog/data/licenses.yaml), not from today's output.

Terms no licence in the catalog has yet (a clause recorded but not read, a licence that forbids modification, an
output-training rule with no naming term) are checked on a catalog licence with that one term changed, as the schema
allows. Every answer is also checked for form: each citation quotes a term of the licence as the catalog has it, and
the advisor's own words (a reason or condition less the names, values and clauses it quotes) are lower-case prose
that never shows the catalog's placeholder 'not_reported' or a missing value.
"""

from __future__ import annotations

import re

import pytest

import tools
from catalog.schema import License, Model, Term, Threshold
from tools.common import catalog
from tools.licensing import VERDICT_ORDER, evaluate

CAT = catalog()
USES = ("commercial", "use_outputs_to_train_other_models", "redistribute", "modify", "hosted_service")
ACRONYMS = {"EU"}  # the only capitals the advisor's own words use


def first_model(license_id: str) -> Model:
    m = next((m for m in CAT.models.values() if m.license == license_id), None)
    if m is None:
        pytest.skip(f"no model under {license_id} in the catalog")
    return m


def a_model(license_id: str) -> Model:
    """A model under the licence, or, for a licence no catalog model carries yet, a text-only model to judge it on."""
    m = next((m for m in CAT.models.values() if m.license == license_id), None)
    return m or next(m for m in CAT.models.values() if m.modalities == ["text"])


def order(v) -> int:
    return VERDICT_ORDER[v["verdict"] if isinstance(v, dict) else v.level]


def licences_where(pred) -> list[str]:
    return sorted(lic.id for lic in CAT.licenses.values() if pred(lic.terms))


def with_terms(license_id: str, **terms: Term | None) -> License:
    """A catalog licence with some terms changed (a term the schema allows but no catalog licence has yet)."""
    lic = CAT.licenses[license_id]
    return lic.model_copy(update={"terms": lic.terms.model_copy(update=terms)})


def catalog_words(lic: License, m: Model) -> list[str]:
    """Text an answer quotes from the catalog: names, term values, notes, clauses, territory codes."""
    words = [lic.name, m.name]
    for _, term in lic.terms:
        if term is None:
            continue
        words += [str(term.value), *(x for x in (term.note, term.quote, term.clause) if x)]
        if isinstance(term.value, str):
            words += [c.strip() for c in term.value.split(",")]
    if m.derived_from and m.derived_from in CAT.models:
        base = CAT.models[m.derived_from]
        words += [base.name, CAT.licenses[base.license].name]
    return sorted({w for w in words if w}, key=len, reverse=True)


def assert_plain_words(texts: list[str], lic: License, m: Model) -> None:
    for text in texts:
        assert isinstance(text, str) and text.strip(), (lic.id, texts)
        own = text
        for quoted in catalog_words(lic, m):
            own = own.replace(quoted, " ")
        assert "not_reported" not in own and "None" not in own, (lic.id, text)
        odd = [w for w in re.findall(r"[A-Za-z]+", own) if not w.islower() and w not in ACRONYMS]
        assert not odd, (lic.id, text, odd)


def assert_well_formed(v, lic: License, m: Model) -> None:
    """A verdict (from evaluate or check_license) whose citations quote this licence's terms and whose words read."""
    level = v["verdict"] if isinstance(v, dict) else v.level
    reasons, conditions, citations = (
        (v["reasons"], v["conditions"], v["citations"])
        if isinstance(v, dict)
        else (v.reasons, v.conditions, v.citations)
    )
    for c in citations:
        term = getattr(lic.terms, c["term"])
        assert c == {"term": c["term"], "clause": term.quote, "url": term.url or lic.url}, (lic.id, c)
    assert len({c["term"] for c in citations}) == len(citations), citations  # each clause once
    assert len(set(conditions)) == len(conditions), conditions
    assert_plain_words(reasons + conditions, lic, m)
    if level == "allowed_with_conditions":
        assert conditions, lic.id
    if level in ("not_allowed", "unknown"):
        assert reasons, lic.id


def judge(lic: License, m: Model, **use):
    """evaluate() for a stated use (keywords as check_license takes them), checked for form."""
    v = evaluate(
        m,
        lic,
        use.get("commercial"),
        use.get("monthly_active_users"),
        use.get("use_outputs_to_train_other_models"),
        use.get("redistribute"),
        use.get("modify"),
        use.get("hosted_service"),
        use.get("eu_entity"),
        use.get("monthly_revenue_usd"),
        use.get("territories"),
    )
    assert_well_formed(v, lic, m)
    return v


def ask(m: Model, **use) -> dict:
    """check_license for a stated use, checked for form."""
    r = tools.call("check_license", {"model": m.id, **use})
    assert_well_formed(r, CAT.licenses[m.license], m)
    return r


def cited(v) -> set[str]:
    return {c["term"] for c in (v["citations"] if isinstance(v, dict) else v.citations)}


# ---------------------------------------------------------------- the answer as a whole


@pytest.mark.parametrize("license_id", sorted({m.license for m in CAT.models.values()}))
def test_the_answer_names_the_model_and_licence_and_states_the_verdict_in_words(license_id):
    m = first_model(license_id)
    lic = CAT.licenses[license_id]
    # the summary opens with the verdict in words: a refusal is never worded as "allowed", nor a condition left out
    opening = {
        "allowed": "allowed",
        "allowed_with_conditions": "allowed",
        "not_allowed": "not allowed",
        "unknown": "unknown",
    }
    seen = set()
    for use in ({}, {"commercial": False}, *({u: True} for u in USES)):
        r = ask(m, **use)
        seen.add(r["verdict"])
        assert set(r) - {"catalog_as_of"} == {  # the registry adds the catalog's date
            "model",
            "verdict",
            "summary",
            "license",
            "conditions",
            "reasons",
            "citations",
            "license_history",
            "assumptions",
            "sources",
        }
        assert r["model"] == {"id": m.id, "name": m.name}
        assert r["license"] == {
            "id": lic.id,
            "name": lic.name,
            "url": lic.url,
            "category": lic.category,
            "as_of": lic.as_of.isoformat(),
        }
        prefix = f"{m.name} under {lic.name}: "
        assert r["summary"].startswith(prefix), r["summary"]
        said = r["summary"][len(prefix) :]
        assert said.startswith(opening[r["verdict"]]), (r["verdict"], said)
        assert ("conditions" in said) == (r["verdict"] == "allowed_with_conditions"), said
        assert ("read the licence" in said) == (r["verdict"] == "unknown"), said
        assert_plain_words([said], lic, m)
        disclaimer = r["assumptions"][0]  # the registry adds the catalog's date after it
        assert "not legal advice" in disclaimer and "citations" in disclaimer
        assert disclaimer.startswith("a licence verdict") and disclaimer.endswith("governs")
        assert_plain_words([disclaimer], lic, m)
        # the licence first, then each quoted clause's page, once each
        assert r["sources"] == list(dict.fromkeys([lic.url] + [c["url"] for c in r["citations"]]))
    assert seen, license_id


def test_the_licence_history_says_which_licence_older_copies_came_under_and_until_when():
    models = [m for m in CAT.models.values() if m.license_history]
    assert any(h.note for m in models for h in m.license_history)
    assert any(not h.note for m in models for h in m.license_history)
    for m in models:
        r = ask(m, commercial=True)
        assert len(r["license_history"]) == len(m.license_history)
        for entry, change in zip(r["license_history"], m.license_history):
            old = CAT.licenses[change.license]
            assert set(entry) == {"license", "until", "note"}
            assert entry["license"] == {"id": old.id, "name": old.name, "url": old.url}
            assert entry["until"] == change.until.isoformat()
            if change.note:
                assert entry["note"] == change.note, m.id
            else:  # no note in the catalog: the entry still says what the date and the old licence mean
                assert old.name in entry["note"] and change.until.isoformat() in entry["note"], m.id
    for m in CAT.models.values():
        if not m.license_history:
            assert ask(m)["license_history"] == []


def test_a_model_derived_from_one_under_another_licence_says_that_licence_may_bind_it():
    derived = [m for m in CAT.models.values() if m.derived_from in CAT.models]
    other = [m for m in derived if CAT.models[m.derived_from].license != m.license]
    same = [m for m in derived if CAT.models[m.derived_from].license == m.license]
    assert other and same
    for m in derived:
        base = CAT.models[m.derived_from]
        mention = [x for x in ask(m)["reasons"] if base.name in x and "derived" in x]
        if base.license != m.license:
            assert len(mention) == 1 and CAT.licenses[base.license].name in mention[0], m.id
        else:
            assert mention == [], m.id


def test_every_stated_fact_reaches_the_verdict_through_check_license():
    """Each parameter of check_license is passed on: each one alone changes the answer where its term governs."""
    cases = [
        ("commercial_use", lambda t: t.commercial_use.value == "no", {"commercial": True}, "not_allowed"),
        ("mau_threshold", lambda t: t.mau_threshold is not None, {"monthly_active_users": 10**11}, "not_allowed"),
        (
            "outputs_to_train_other_models",
            lambda t: t.outputs_to_train_other_models and t.outputs_to_train_other_models.value == "forbidden",
            {"use_outputs_to_train_other_models": True},
            "not_allowed",
        ),
        ("redistribution", lambda t: t.redistribution and t.redistribution.quote, {"redistribute": True}, None),
        ("derivative_naming", lambda t: t.derivative_naming is not None, {"modify": True}, None),
        (
            "hosted_service",
            lambda t: t.hosted_service and t.hosted_service.value == "requires_license" and not t.hosted_service.above,
            {"hosted_service": True},
            "not_allowed",
        ),
        (
            "eu_multimodal_carve_out",
            lambda t: t.eu_multimodal_carve_out and t.eu_multimodal_carve_out.value is True,
            {"eu_entity": True},
            None,
        ),
        (
            "revenue_threshold_usd_per_month",
            lambda t: t.revenue_threshold_usd_per_month is not None,
            {"monthly_revenue_usd": 10**13},
            "not_allowed",
        ),
        (
            "excluded_territories",
            lambda t: t.excluded_territories is not None,
            {"territories": ["GB"]},
            "not_allowed",
        ),
    ]
    for term, pred, use, verdict in cases:
        ids = licences_where(pred)
        models = [m for m in CAT.models.values() if m.license in ids]
        assert models, term
        for m in models:
            r = ask(m, **use)
            plain = ask(m, eu_entity=False) if "eu_entity" in use else ask(m)
            if term == "eu_multimodal_carve_out":  # only a multimodal model is refused to an EU licensee
                verdict = "not_allowed" if any(x != "text" for x in m.modalities) else None
            assert term in cited(r), (m.id, term)
            if verdict:
                assert r["verdict"] == verdict != plain["verdict"], (m.id, term)
            else:
                assert term not in cited(plain), (m.id, term)


# ---------------------------------------------------------------- commercial use


@pytest.mark.parametrize("license_id", sorted(CAT.licenses))
def test_commercial_use_is_judged_by_the_commercial_clause(license_id):
    lic, m = CAT.licenses[license_id], a_model(license_id)
    cu = lic.terms.commercial_use
    limited = bool(
        lic.terms.revenue_threshold_usd_per_month
        or lic.terms.revenue_threshold_usd_per_year
        or lic.terms.excluded_territories
        or (lic.terms.hosted_service and lic.terms.hosted_service.above)
    )
    v = judge(lic, m, commercial=True)
    own = [c for c in v.conditions if c.startswith("commercial use only")]
    if cu.value == "no":
        assert v.level == "not_allowed" and "commercial_use" in cited(v)
        assert any(lic.name in r and "commercial" in r for r in v.reasons)
    elif cu.value == "conditional" and not limited:  # the conditions are the licence's own, quoted or noted
        assert own == [f"commercial use only under the licence's conditions: {cu.note or cu.quote}"], own
        assert "commercial_use" in cited(v)
    elif cu.value == "conditional":  # the condition is the revenue cap, the territories or the hosting threshold
        assert own == [] and "commercial_use" in cited(v)
    else:
        assert own == [] and "commercial_use" in cited(v)
        assert f"{lic.name} allows commercial use" in v.reasons
    # non-commercial use is said to be so; only a licence that forbids commerce cites its commercial clause for it
    nc, unsaid = judge(lic, m, commercial=False), judge(lic, m)
    assert "non-commercial use" in nc.reasons, license_id
    assert "non-commercial use" not in unsaid.reasons and "non-commercial use" not in v.reasons
    assert ("commercial_use" in cited(nc)) == (cu.value == "no") and "commercial_use" not in cited(unsaid), license_id
    assert order(nc) <= order(v)


def test_a_conditional_licence_without_a_note_quotes_its_clause_as_the_condition():
    ids = licences_where(
        lambda t: (
            t.commercial_use.value == "conditional"
            and not (t.revenue_threshold_usd_per_month or t.revenue_threshold_usd_per_year or t.excluded_territories)
            and not (t.hosted_service and t.hosted_service.above)
        )
    )
    assert ids
    lic = CAT.licenses[ids[0]]
    cu = lic.terms.commercial_use
    bare = with_terms(lic.id, commercial_use=Term(value="conditional", quote=cu.quote, url=cu.url))
    m = a_model(lic.id)
    v = judge(bare, m, commercial=True)
    assert f"commercial use only under the licence's conditions: {cu.quote}" in v.conditions
    if cu.note:
        assert any(cu.note in c for c in judge(lic, m, commercial=True).conditions)


def test_a_licence_allowing_commerce_says_so_even_where_it_also_excludes_territories():
    lic = CAT.licenses[licences_where(lambda t: t.excluded_territories is not None)[0]]
    yes = with_terms(lic.id, commercial_use=Term(value="yes", quote=lic.terms.commercial_use.quote))
    m = first_model(lic.id)
    v = judge(yes, m, commercial=True, territories=["US"])
    assert f"{lic.name} allows commercial use" in v.reasons and "commercial_use" in cited(v)
    assert not any(c.startswith("commercial use only") for c in v.conditions)


# ---------------------------------------------------------------- non-production licences


def test_a_non_production_licence_refuses_production_use_and_conditions_the_rest():
    ids = licences_where(lambda t: t.non_production_only is not None and t.non_production_only.value is True)
    assert ids
    for lic_id in ids:
        lic, m = CAT.licenses[lic_id], first_model(lic_id)
        for use in ({"commercial": True}, {"hosted_service": True}):
            v = judge(lic, m, **use)
            assert v.level == "not_allowed" and "non_production_only" in cited(v), use
            assert any(lic.name in r and "non-production" in r for r in v.reasons), use
            assert not any("non-production" in c for c in v.conditions), use
        for use in ({}, {"commercial": False}, {"modify": True}):
            v = judge(lic, m, **use)
            assert "non_production_only" in cited(v) and v.level != "allowed", use
            assert any(c.startswith("only in non-production") for c in v.conditions), use
            assert not any("non-production" in r for r in v.reasons), use
    for lic_id in licences_where(lambda t: t.non_production_only is None):
        m = a_model(lic_id)
        v = judge(CAT.licenses[lic_id], m, commercial=True, hosted_service=True)
        assert "non_production_only" not in cited(v)
    lifted = with_terms(ids[0], non_production_only=Term(value=False, quote="(lifted)"))
    v = judge(lifted, first_model(ids[0]))
    assert "non_production_only" not in cited(v) and not any("non-production" in c for c in v.conditions)


# ---------------------------------------------------------------- monthly active users


@pytest.mark.parametrize("license_id", licences_where(lambda t: t.mau_threshold is not None))
def test_a_user_cap_is_a_condition_of_a_product_until_the_users_are_known(license_id):
    lic, m = CAT.licenses[license_id], first_model(license_id)
    cap = int(lic.terms.mau_threshold.value)
    for use in ({"commercial": True}, {"hosted_service": True}):
        v = judge(lic, m, **use)
        (cond,) = [c for c in v.conditions if f"{cap:,}" in c]
        assert "monthly active users" in cond and "mau_threshold" in cited(v)
        within = judge(lic, m, **use, monthly_active_users=cap)
        assert not any(f"{cap:,}" in c for c in within.conditions) and "mau_threshold" in cited(within)
        assert any(f"{cap:,}" in r and "within" in r for r in within.reasons)
        over = judge(lic, m, **use, monthly_active_users=cap + 1)
        assert over.level == "not_allowed" and "mau_threshold" in cited(over)
        assert any(f"{cap + 1:,}" in r and f"{cap:,}" in r for r in over.reasons)
    # a private, non-commercial use has no user cap to meet
    for use in ({}, {"commercial": False}, {"modify": True}):
        v = judge(lic, m, **use)
        assert not any(f"{cap:,}" in c for c in v.conditions) and "mau_threshold" not in cited(v), use


def test_a_user_cap_recorded_but_not_read_makes_the_verdict_unknown():
    lic_id = licences_where(lambda t: t.mau_threshold is not None)[0]
    lic = with_terms(lic_id, mau_threshold=Term(value="not_reported"))
    m = first_model(lic_id)
    for use in ({}, {"commercial": True}, {"monthly_active_users": 5}):
        v = judge(lic, m, **use)
        assert v.level == "unknown", use
        assert any(lic.name in r and "monthly active users" in r for r in v.reasons), use


# ---------------------------------------------------------------- revenue caps


@pytest.mark.parametrize(
    "license_id",
    licences_where(lambda t: t.revenue_threshold_usd_per_month or t.revenue_threshold_usd_per_year),
)
def test_a_revenue_cap_holds_to_the_dollar_per_month_or_per_year(license_id):
    lic, m = CAT.licenses[license_id], first_model(license_id)
    t = lic.terms
    term, months, per = (
        ("revenue_threshold_usd_per_month", 1, "month")
        if t.revenue_threshold_usd_per_month
        else ("revenue_threshold_usd_per_year", 12, "year")
    )
    cap = int(getattr(t, term).value)
    top = cap // months  # the highest monthly revenue within the cap
    for use in ({"commercial": True}, {"hosted_service": True}, {}):
        at = judge(lic, m, **use, monthly_revenue_usd=top)
        assert not any(r.startswith("a monthly revenue") and "exceeds" in r for r in at.reasons), use
        assert any(f"${top:,}" in r and f"${cap:,} a {per}" in r and "within" in r for r in at.reasons), use
        assert term in cited(at), use
        over = judge(lic, m, **use, monthly_revenue_usd=top + 1)
        assert over.level == "not_allowed" and term in cited(over), use
        assert any(f"${top + 1:,}" in r and f"${cap:,} a {per}" in r and "exceeds" in r for r in over.reasons), use
        half = judge(lic, m, **use, monthly_revenue_usd=top // 2 + 1)
        assert not any("exceeds" in r for r in half.reasons), use
        assert judge(lic, m, **use, monthly_revenue_usd=top * 2).level == "not_allowed", use
    # an offering with the revenue not stated: the cap is a condition; nothing stated, nor non-commercial: no cap
    for use in ({"commercial": True}, {"hosted_service": True}):
        v = judge(lic, m, **use)
        (cond,) = [c for c in v.conditions if f"${cap:,} a {per}" in c]
        assert cond.startswith("your revenue must be at most") and cond.endswith("the vendor's authorisation")
        assert term in cited(v)
    for use in ({}, {"commercial": False}, {"modify": True}):
        v = judge(lic, m, **use)
        assert term not in cited(v) and not any("revenue" in x for x in v.conditions + v.reasons), use
    over = judge(lic, m, monthly_revenue_usd=top + 1)
    assert any(r.endswith("the vendor's authorisation") for r in over.reasons)


def test_a_revenue_cap_recorded_but_not_read_makes_the_verdict_unknown():
    for term in ("revenue_threshold_usd_per_month", "revenue_threshold_usd_per_year"):
        lic = with_terms("apache-2.0", **{term: Term(value="not_reported")})
        m = first_model("apache-2.0")
        for use in ({"commercial": True}, {"monthly_revenue_usd": 10}):
            v = judge(lic, m, **use)
            assert v.level == "unknown" and any(lic.name in r and "revenue" in r for r in v.reasons), (term, use)
        assert judge(lic, m, commercial=False).level != "unknown", term


# ---------------------------------------------------------------- excluded territories


@pytest.mark.parametrize("license_id", licences_where(lambda t: t.excluded_territories is not None))
def test_excluded_territories_are_refused_and_the_eu_covers_its_members(license_id):
    lic, m = CAT.licenses[license_id], first_model(license_id)
    terr = lic.terms.excluded_territories
    excluded = sorted(c.strip() for c in str(terr.value).split(","))
    listed = ", ".join(excluded)
    assert len(excluded) > 1
    for code in excluded:
        for given in ([code], [code.lower()], ["US", code]):
            v = judge(lic, m, territories=given)
            assert v.level == "not_allowed" and "excluded_territories" in cited(v), given
            assert any(listed in r and "where you are" in r for r in v.reasons), given
    if "EU" in excluded:
        for member in ("DE", "fr", "IE"):
            v = judge(lic, m, territories=[member])
            assert v.level == "not_allowed" and "excluded_territories" in cited(v), member
        assert judge(lic, m, eu_entity=True).level == "not_allowed"
        assert judge(lic, m, eu_entity=True, territories=["US"]).level == "not_allowed"
    elsewhere = [c for c in ("US", "JP", "BR", "CH") if c not in excluded]
    for given in ([elsewhere[0]], elsewhere):
        for eu in (None, False):
            v = judge(lic, m, territories=given, eu_entity=eu)
            assert v.level != "not_allowed" and "excluded_territories" in cited(v), given
            assert any(listed in r and "do not include yours" in r for r in v.reasons), given
            assert not any(listed in c for c in v.conditions), given
    v = judge(lic, m)  # where the user is not said: a condition naming the territories
    assert f"the licence grants no rights in {listed}" in v.conditions and "excluded_territories" in cited(v)
    assert not any(listed in r for r in v.reasons)


def test_territories_the_catalog_has_not_read_exclude_nothing():
    lic = with_terms("apache-2.0", excluded_territories=Term(value="not_reported"))
    m = first_model("apache-2.0")
    for use in ({}, {"territories": ["GB"]}, {"eu_entity": True}):
        v = judge(lic, m, **use)
        assert "excluded_territories" not in cited(v) and v.level == "allowed", use


# ---------------------------------------------------------------- hosted services


def test_a_hosted_service_is_refused_where_forbidden_or_licensed_apart_and_unknown_where_not_read():
    for lic_id in licences_where(lambda t: t.hosted_service is not None):
        lic, hs = CAT.licenses[lic_id], CAT.licenses[lic_id].terms.hosted_service
        m = a_model(lic_id)
        hosted = judge(lic, m, hosted_service=True)
        local = judge(lic, m, commercial=False)
        assert "hosted_service" not in cited(local) and not any("hosted" in r for r in local.reasons), lic_id
        about = [r for r in hosted.reasons if "hosted" in r]
        if hs.value == "forbidden":
            assert hosted.level == "not_allowed" and "hosted_service" in cited(hosted), lic_id
            assert len(about) == 1 and "does not allow" in about[0] and "licence from" not in about[0], lic_id
        elif hs.above is not None:  # refused above its threshold only: judged in tests/test_licensing_thresholds.py
            assert hosted.level != "not_allowed" and "hosted_service" in cited(hosted), lic_id
            assert [c for c in hosted.conditions if "hosted service" in c], lic_id
        elif hs.value == "requires_license":
            assert hosted.level == "not_allowed" and "hosted_service" in cited(hosted), lic_id
            assert len(about) == 1 and "separate licence from the vendor" in about[0], lic_id
        elif hs.value == "not_reported":
            assert hosted.level in ("unknown", "not_allowed") and len(about) == 1, lic_id
            assert about[0].startswith("the catalog does not record"), lic_id
        else:
            assert about == [] and "hosted_service" not in cited(hosted), lic_id
    # the hosting clause, where the catalog quotes it without reading it, is quoted with the unknown verdict
    lic = with_terms("apache-2.0", hosted_service=Term(value="not_reported", quote="may be offered as a service"))
    v = judge(lic, first_model("apache-2.0"), hosted_service=True)
    assert v.level == "unknown" and "hosted_service" in cited(v)


# ---------------------------------------------------------------- training other models on the outputs


def test_training_on_outputs_follows_the_licences_rule():
    for lic_id in sorted(CAT.licenses):
        lic = CAT.licenses[lic_id]
        m = a_model(lic_id)
        out = lic.terms.outputs_to_train_other_models
        v = judge(lic, m, use_outputs_to_train_other_models=True)
        plain = judge(lic, m)
        assert "outputs_to_train_other_models" not in cited(plain), lic_id
        about = [x for x in v.reasons + v.conditions if "outputs" in x]
        assert len(about) == 1, (lic_id, about)
        if out is None:
            assert about[0].startswith("the licence states no restriction") and about[0] in v.reasons, lic_id
            assert order(v) == order(plain), lic_id
        elif out.value == "forbidden":
            assert v.level == "not_allowed" and "forbids" in about[0] and about[0] in v.reasons, lic_id
        elif out.value == "allowed_with_naming":
            naming = lic.terms.derivative_naming
            assert naming is not None and f"'{naming.value}'" in about[0] and about[0] in v.conditions, lic_id
            assert order(v) >= order(plain) and v.level != "not_allowed", lic_id
        elif out.value == "restrictions_carry_over":
            assert "derivative" in about[0] and about[0] in v.conditions and v.level != "not_allowed", lic_id
        elif out.value == "not_reported":
            assert v.level == "unknown" and about[0].startswith("the catalog does not record"), lic_id
        else:
            assert about[0].startswith("using outputs to train other models is allowed") and about[0] in v.reasons
            assert order(v) == order(plain), lic_id
        assert (out is not None and bool(out.quote)) == ("outputs_to_train_other_models" in cited(v)), lic_id


def test_training_on_outputs_with_a_naming_rule_but_no_name_recorded_asks_for_the_vendors_name():
    lic_id = licences_where(
        lambda t: t.outputs_to_train_other_models and t.outputs_to_train_other_models.value == "allowed_with_naming"
    )[0]
    lic = with_terms(lic_id, derivative_naming=None)
    v = judge(lic, first_model(lic_id), use_outputs_to_train_other_models=True)
    assert any("'the vendor's name'" in c for c in v.conditions) and "outputs_to_train_other_models" in cited(v)


# ---------------------------------------------------------------- the EU carve-out for multimodal models


def test_the_eu_carve_out_refuses_multimodal_models_to_eu_licensees_only():
    carved = licences_where(lambda t: t.eu_multimodal_carve_out and t.eu_multimodal_carve_out.value is True)
    models = [m for m in CAT.models.values() if m.license in carved]
    assert any(any(x != "text" for x in m.modalities) for m in models)
    assert any(all(x == "text" for x in m.modalities) for m in models)
    for m in models:
        lic = CAT.licenses[m.license]
        multimodal = any(x != "text" for x in m.modalities)
        eu = judge(lic, m, eu_entity=True)
        unsaid = judge(lic, m)
        outside = judge(lic, m, eu_entity=False)
        assert "eu_multimodal_carve_out" in cited(eu) and "eu_multimodal_carve_out" not in cited(outside), m.id
        assert outside.level != "not_allowed" and not any("EU" in x for x in outside.reasons + outside.conditions)
        if multimodal:
            assert eu.level == "not_allowed", m.id
            assert any("EU" in r and "multimodal" in r and "exempt" in r for r in eu.reasons), m.id
            assert unsaid.level != "not_allowed" and "eu_multimodal_carve_out" in cited(unsaid), m.id
            assert any("EU" in c and "multimodal" in c for c in unsaid.conditions), m.id
        else:
            assert eu.level != "not_allowed", m.id
            assert any("EU" in r and "text-only" in r for r in eu.reasons), m.id
            assert "eu_multimodal_carve_out" not in cited(unsaid), m.id
            assert not any("EU" in x for x in unsaid.conditions + unsaid.reasons), m.id
    for lic_id in licences_where(lambda t: t.eu_multimodal_carve_out and t.eu_multimodal_carve_out.value is False):
        m = first_model(lic_id)
        v = judge(CAT.licenses[lic_id], m, eu_entity=True)
        assert "eu_multimodal_carve_out" not in cited(v) and not any("EU" in r for r in v.reasons), lic_id


# ---------------------------------------------------------------- attribution, redistribution, naming, modification


def reported(term: Term | None) -> bool:
    return term is not None and term.value != "not_reported"


@pytest.mark.parametrize("license_id", sorted({m.license for m in CAT.models.values()}))
def test_duties_come_with_the_uses_that_trigger_them_and_with_no_other(license_id):
    lic, m = CAT.licenses[license_id], first_model(license_id)
    t = lic.terms
    private = judge(lic, m, commercial=False)
    for term in ("attribution", "redistribution", "derivative_naming", "modification"):
        assert term not in cited(private), (license_id, term)
    assert not any(
        c.startswith(("attribution:", "when redistributing:", "a distributed derivative")) for c in private.conditions
    )
    commercial_only = judge(lic, m, commercial=True)
    assert "derivative_naming" not in cited(commercial_only) and "redistribution" not in cited(commercial_only)
    for use in ("commercial", "hosted_service", "redistribute"):
        v = judge(lic, m, **{use: True})
        has = [c for c in v.conditions if c.startswith("attribution:")]
        assert has == ([f"attribution: {t.attribution.value}"] if reported(t.attribution) else []), (license_id, use)
        assert ("attribution" in cited(v)) == reported(t.attribution), (license_id, use)
    red = judge(lic, m, redistribute=True)
    has = [c for c in red.conditions if c.startswith("when redistributing:")]
    assert has == ([f"when redistributing: {t.redistribution.value}"] if reported(t.redistribution) else [])
    assert ("redistribution" in cited(red)) == reported(t.redistribution)
    for use in ("modify", "redistribute"):
        v = judge(lic, m, **{use: True})
        has = [c for c in v.conditions if c.startswith("a distributed derivative")]
        naming = t.derivative_naming
        assert has == (
            [f"a distributed derivative model must be named with '{naming.value}'"] if reported(naming) else []
        )
        assert ("derivative_naming" in cited(v)) == reported(naming), (license_id, use)
    aup = [c for c in private.conditions if c.startswith("comply with the acceptable-use policy")]
    assert aup == (
        [f"comply with the acceptable-use policy ({t.acceptable_use_policy.value})"]
        if reported(t.acceptable_use_policy)
        else []
    )
    assert ("acceptable_use_policy" in cited(private)) == reported(t.acceptable_use_policy)


def test_terms_recorded_as_not_read_add_no_duty():
    lic = with_terms(
        "llama-3.1",
        attribution=Term(value="not_reported"),
        redistribution=Term(value="not_reported"),
        derivative_naming=Term(value="not_reported"),
        acceptable_use_policy=Term(value="not_reported"),
    )
    m = first_model("llama-3.1")
    v = judge(lic, m, commercial=True, redistribute=True, modify=True, hosted_service=True)
    assert not cited(v) & {"attribution", "redistribution", "derivative_naming", "acceptable_use_policy"}
    assert not any(
        c.startswith(("attribution:", "when redistributing:", "a distributed", "comply")) for c in v.conditions
    )


@pytest.mark.parametrize("value", ["no modification is permitted", "Forbidden", "not allowed: weights must not change"])
def test_a_licence_that_forbids_modification_refuses_modifying_only(value):
    lic = with_terms("microsoft-research", modification=Term(value=value, quote="You may not modify the model"))
    m = first_model("llama-3.1")
    v = judge(lic, m, modify=True)
    assert v.level == "not_allowed" and "modification" in cited(v)
    assert "the licence does not allow modification" in v.reasons
    for use in ({}, {"commercial": False}, {"redistribute": True}):
        w = judge(lic, m, **use)
        assert "modification" not in cited(w) and "the licence does not allow modification" not in w.reasons, use
    for allowing in ("allowed", "allowed (non-commercial)", "conditional (same revenue condition)"):
        ok = with_terms("microsoft-research", modification=Term(value=allowing, quote="you may modify"))
        assert "modification" not in cited(judge(ok, m, modify=True)), allowing


# ---------------------------------------------------------------- terms that bind above a threshold


HOSTING_ABOVE = Term(
    value="requires_license",
    quote="if the licensee operates a model as a service business above 20 million US dollars a year",
    above=Threshold(revenue_usd_per_year=24_000_000, whose="the licensee and its affiliates"),
)
DISPLAY_ABOVE = Term(
    value="show the model's name in the interface above 100M monthly active users or USD 2M monthly revenue",
    quote="more than 100 million monthly active users, or more than 2 million US dollars in monthly revenue",
    above=Threshold(monthly_active_users=100_000_000, revenue_usd_per_month=2_000_000),
)


def test_a_hosting_threshold_refuses_hosting_only_above_it():
    lic = with_terms("apache-2.0", hosted_service=HOSTING_ABOVE)
    m = first_model("apache-2.0")
    top = 24_000_000 // 12
    for revenue in (top - 1, top):
        v = judge(lic, m, hosted_service=True, monthly_revenue_usd=revenue)
        assert v.level != "not_allowed" and "hosted_service" in cited(v), revenue
        assert not any("hosted service" in c for c in v.conditions), revenue
        assert any(f"${revenue:,}" in r and "within the licence's threshold" in r for r in v.reasons), v.reasons
    over = judge(lic, m, hosted_service=True, monthly_revenue_usd=top + 1)
    assert over.level == "not_allowed" and "hosted_service" in cited(over)
    (why,) = [r for r in over.reasons if "hosted service" in r]
    assert f"${top + 1:,}" in why and "$24,000,000 of revenue a year" in why and "separate agreement" in why
    unsaid = judge(lic, m, hosted_service=True)
    assert unsaid.level == "allowed_with_conditions" and "hosted_service" in cited(unsaid)
    limit = "more than $24,000,000 of revenue a year"
    assert [c for c in unsaid.conditions if "hosted service" in c] == [
        f"a hosted service with {limit} needs the vendor's separate agreement or approval"
    ]
    for use in ({"commercial": True}, {"redistribute": True}, {}):  # far above it, but not hosting
        v = judge(lic, m, **use, monthly_revenue_usd=10**9)
        assert "hosted_service" not in cited(v) and v.level != "not_allowed", use
    forbids = with_terms("apache-2.0", hosted_service=HOSTING_ABOVE.model_copy(update={"value": "forbidden"}))
    v = judge(forbids, m, hosted_service=True, monthly_revenue_usd=top + 1)
    assert v.level == "not_allowed" and any("forbids it above" in r for r in v.reasons)
    assert "is not allowed" in judge(forbids, m, hosted_service=True).conditions[0]


def test_a_display_duty_above_either_figure_comes_with_the_offer_above_it_only():
    lic = with_terms("apache-2.0", attribution=DISPLAY_ABOVE)
    m = first_model("apache-2.0")
    duty = f"attribution: {DISPLAY_ABOVE.value}"
    for use in ("commercial", "hosted_service", "redistribute"):
        below = judge(lic, m, **{use: True}, monthly_active_users=100_000_000, monthly_revenue_usd=2_000_000)
        assert duty not in below.conditions and below.level != "not_allowed" and "attribution" in cited(below), use
        assert any("attribution duty does not apply" in r for r in below.reasons), use
        for stated in ({"monthly_active_users": 100_000_001}, {"monthly_revenue_usd": 2_000_001}):
            above = judge(lic, m, **{use: True}, **stated)
            assert duty in above.conditions and "attribution" in cited(above), (use, stated)
        # one figure within and the other not stated: the duty may bind, so it is a condition
        assert duty in judge(lic, m, **{use: True}, monthly_active_users=5).conditions, use
    private = judge(lic, m, commercial=False, monthly_active_users=10**9)
    assert "attribution" not in cited(private) and duty not in private.conditions


def test_the_licences_exemptions_are_said_where_a_thresholded_term_binds():
    exempt = Term(value="internal use and use through the vendor's certified partners", quote="do not apply to")
    lic = with_terms("apache-2.0", hosted_service=HOSTING_ABOVE, threshold_exemptions=exempt)
    m = first_model("apache-2.0")
    said = f"the licence exempts from its thresholds: {exempt.value}"
    over = judge(lic, m, hosted_service=True, monthly_revenue_usd=10**8)
    assert said in over.reasons and "threshold_exemptions" in cited(over)
    assert said in judge(lic, m, hosted_service=True).reasons
    for use in ({"hosted_service": True, "monthly_revenue_usd": 5}, {"commercial": True}, {}):
        v = judge(lic, m, **use)
        assert said not in v.reasons and "threshold_exemptions" not in cited(v), use


def test_a_term_not_read_says_where_to_read_it_and_never_refuses():
    m = first_model("apache-2.0")
    for term, use, about in (
        ("hosted_service", {"hosted_service": True}, "hosted services"),
        ("mau_threshold", {"commercial": True}, "monthly active users"),
        ("revenue_threshold_usd_per_year", {"commercial": True}, "revenue"),
        ("outputs_to_train_other_models", {"use_outputs_to_train_other_models": True}, "training with outputs"),
    ):
        for clause, where in (("section 2", "read section 2 of the licence"), (None, "read the licence text")):
            lic = with_terms("apache-2.0", **{term: Term(value="not_reported", clause=clause)})
            v = judge(lic, m, **use)
            assert v.level == "unknown", (term, clause)
            (said,) = [r for r in v.reasons if about in r]
            assert said.endswith(where), (term, said)


def test_use_restrictions_known_to_exist_but_not_read_are_a_condition():
    restricted = Term(value="not_reported", clause="the appendix of prohibited uses")
    lic = with_terms("apache-2.0", acceptable_use_policy=restricted)
    m = first_model("apache-2.0")
    for use in ({}, {"commercial": True}, {"commercial": False}):
        v = judge(lic, m, **use)
        assert v.level == "allowed_with_conditions", use
        assert (
            "comply with the licence's use restrictions (the appendix of prohibited uses), which the catalog has not "
            "read" in v.conditions
        )
        assert "acceptable_use_policy" not in cited(v)
    assert judge(CAT.licenses["apache-2.0"], m).level == "allowed"  # the same licence without the clause
