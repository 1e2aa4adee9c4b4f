"""Licence verdicts at their thresholds: for every licence the catalog records with a user, revenue or hosting
threshold, each use the threshold governs is judged just under it, at it and just over it.

The cases are generated from the catalog's own figures (catalog/data), so a licence added with a threshold is covered
without a new test. A licence's limit binds above its figure ('more than 700 million monthly active users', 'exceeds
20 million US dollars'), so the figure itself is still within. Revenue is given to the advisor per month: a yearly
figure is judged as twelve times the monthly one, and its 'at' case is the highest whole-dollar monthly revenue whose
twelve months do not pass it (equal to the figure when it divides by twelve).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import tools
from catalog.schema import License, Model, Term, Threshold
from tools.common import catalog
from tools.licensing import VERDICT_ORDER, evaluate

CAT = catalog()
OFFERS = ("commercial", "hosted_service")  # uses a limit on the whole grant governs
DUTY_USES = ("commercial", "hosted_service", "redistribute")  # uses an attribution duty comes with


@dataclass(frozen=True)
class Case:
    license_id: str
    term: str  # the licence term that carries the figure
    figure: str  # "mau" | "revenue_month" | "revenue_year"
    limit: int
    use: str

    def __str__(self) -> str:
        return f"{self.license_id}-{self.term}-{self.figure}-{self.use}"


def _figures(th: Threshold) -> list[tuple[str, int]]:
    out = []
    if th.monthly_active_users:
        out.append(("mau", th.monthly_active_users))
    if th.revenue_usd_per_month:
        out.append(("revenue_month", th.revenue_usd_per_month))
    if th.revenue_usd_per_year:
        out.append(("revenue_year", th.revenue_usd_per_year))
    return out


def cases() -> list[Case]:
    out: list[Case] = []
    for lic in sorted(CAT.licenses.values(), key=lambda x: x.id):
        t = lic.terms
        whole = [
            ("mau_threshold", "mau", t.mau_threshold),
            ("revenue_threshold_usd_per_month", "revenue_month", t.revenue_threshold_usd_per_month),
            ("revenue_threshold_usd_per_year", "revenue_year", t.revenue_threshold_usd_per_year),
        ]
        for term, figure, value in whole:
            if value is not None and value.value != "not_reported":
                out += [Case(lic.id, term, figure, int(value.value), use) for use in OFFERS]
        for term, uses in (("hosted_service", ("hosted_service",)), ("attribution", DUTY_USES)):
            th = getattr(t, term).above if getattr(t, term) is not None else None
            if th is not None:
                out += [Case(lic.id, term, figure, limit, use) for figure, limit in _figures(th) for use in uses]
    return out


CASES = cases()


def a_model(license_id: str) -> Model:
    """A model under the licence, or a text-only model to judge a licence no catalog model carries."""
    m = next((m for m in CAT.models.values() if m.license == license_id), None)
    return m or next(m for m in CAT.models.values() if m.modalities == ["text"])


def judge(lic: License, m: Model, **use):
    v = evaluate(
        m,
        lic,
        use.get("commercial"),
        use.get("monthly_active_users"),
        None,
        use.get("redistribute"),
        None,
        use.get("hosted_service"),
        None,
        use.get("monthly_revenue_usd"),
        None,
    )
    for c in v.citations:  # each citation quotes the licence's own term
        term: Term = getattr(lic.terms, c["term"])
        assert c == {"term": c["term"], "clause": term.quote, "url": term.url or lic.url}, c
    if v.level in ("not_allowed", "unknown"):
        assert v.reasons, lic.id
    if v.level == "allowed_with_conditions":
        assert v.conditions, lic.id
    return v


def cited(v) -> set[str]:
    return {c["term"] for c in v.citations}


def points(case: Case) -> dict[str, dict]:
    """The stated figures just under, at and just over the limit (the other figures of the threshold at zero)."""
    if case.figure == "mau":
        key, under, at, over = "monthly_active_users", case.limit - 1, case.limit, case.limit + 1
    elif case.figure == "revenue_month":
        key, under, at, over = "monthly_revenue_usd", case.limit - 1, case.limit, case.limit + 1
    else:  # the highest monthly revenue whose twelve months stay within the yearly figure, and one dollar either side
        at = case.limit // 12
        key, under, over = "monthly_revenue_usd", at - 1, at + 1
    other = "monthly_revenue_usd" if key == "monthly_active_users" else "monthly_active_users"
    return {
        name: {key: value, other: 0, case.use: True} for name, value in (("under", under), ("at", at), ("over", over))
    }


def test_every_threshold_in_the_catalog_is_covered():
    """Each licence term with a figure gives cases, and the catalog has thresholds of each kind the schema allows."""
    covered = {(c.license_id, c.term) for c in CASES}
    for lic in CAT.licenses.values():
        for name, term in lic.terms:
            if term is None:
                continue
            figure = name in ("mau_threshold", "revenue_threshold_usd_per_month", "revenue_threshold_usd_per_year")
            if (figure and term.value != "not_reported") or term.above is not None:
                assert (lic.id, name) in covered, (lic.id, name)
    assert {c.figure for c in CASES} >= {"mau", "revenue_month", "revenue_year"}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_just_under_at_and_just_over_the_threshold(case: Case):
    lic, m = CAT.licenses[case.license_id], a_model(case.license_id)
    p = points(case)
    under, at, over = (judge(lic, m, **p[k]) for k in ("under", "at", "over"))
    stated = {k: p["over"].get(k) for k in ("monthly_active_users", "monthly_revenue_usd")}
    if case.term == "attribution":  # a duty, not a refusal: it comes with the use above the figure only
        duty = f"attribution: {lic.terms.attribution.value}"
        for v in (under, at):
            assert duty not in v.conditions and "attribution" in cited(v), case
            assert any("attribution duty does not apply" in r for r in v.reasons), (case, v.reasons)
        assert duty in over.conditions and "attribution" in cited(over), case
        assert VERDICT_ORDER[over.level] >= VERDICT_ORDER["allowed_with_conditions"], case
        return
    # a limit that refuses: within at and under it, refused just over it, with the term quoted each time
    for name, v in (("under", under), ("at", at)):
        assert v.level != "not_allowed" or not _refused_by(v, case), (case, name, v.reasons)
        assert case.term in cited(v), (case, name)
    assert over.level == "not_allowed" and case.term in cited(over), (case, over.reasons)
    assert _refused_by(over, case), (case, over.reasons, stated)
    assert VERDICT_ORDER[under.level] <= VERDICT_ORDER[at.level] < VERDICT_ORDER[over.level], case


def _refused_by(v, case: Case) -> bool:
    """The refusal names the figure the case crossed."""
    words = {
        "mau": "monthly active users",
        "revenue_month": "revenue",
        "revenue_year": "revenue",
    }[case.figure]
    return any(words in r and ("exceed" in r or "requires it above" in r or "forbids it above" in r) for r in v.reasons)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.use == "hosted_service" and c.term == "hosted_service"], ids=str
)
def test_a_hosting_threshold_binds_hosting_only(case: Case):
    """Far above a hosting threshold, a use that is not a hosted service is not refused for it."""
    lic, m = CAT.licenses[case.license_id], a_model(case.license_id)
    far = {"monthly_active_users": 10**10, "monthly_revenue_usd": 10**12}
    for use in ({"commercial": True}, {"redistribute": True}, {}):
        v = judge(lic, m, **use, **far)
        assert "hosted_service" not in cited(v), (case, use)
        assert not any("hosted service" in r for r in v.reasons), (case, use)


@pytest.mark.parametrize("case", [c for c in CASES if c.term != "attribution"], ids=str)
def test_a_threshold_not_stated_is_a_condition_not_a_refusal(case: Case):
    """With no users or revenue stated, the use is not refused for the limit: the limit is a condition."""
    lic, m = CAT.licenses[case.license_id], a_model(case.license_id)
    v = judge(lic, m, **{case.use: True})
    assert not _refused_by(v, case) and case.term in cited(v), (case, v.reasons)
    assert any(f"{case.limit:,}" in c for c in v.conditions), (case, v.conditions)


# ---------------------------------------------------------------- the cases issue 26 reported, through the tool


def test_a_small_glm_5_3_host_is_not_refused_and_a_host_above_ten_billion_needs_the_review():
    small = tools.call("check_license", {"model": "glm-5.3", "hosted_service": True, "monthly_revenue_usd": 100_000})
    assert small["verdict"] != "not_allowed", small["reasons"]
    big = tools.call(
        "check_license", {"model": "glm-5.3", "hosted_service": True, "monthly_revenue_usd": 10_000_000_000 // 12 + 1}
    )
    assert big["verdict"] == "not_allowed" and "$10,000,000,000" in " ".join(big["reasons"])


def test_kimi_k3_hosting_display_duty_and_exemptions():
    """A host earning $1.2M a year is not refused; a product with 200M users is told to display 'Kimi K3'."""
    host = tools.call("check_license", {"model": "kimi-k3", "hosted_service": True, "monthly_revenue_usd": 100_000})
    assert host["verdict"] != "not_allowed", host["reasons"]
    big = tools.call("check_license", {"model": "kimi-k3", "commercial": True, "monthly_active_users": 200_000_000})
    assert any('"Kimi K3"' in c for c in big["conditions"]), big["conditions"]
    assert any("internal use" in r for r in big["reasons"]), big["reasons"]  # section 4, said beside the duty
    small = tools.call(
        "check_license",
        {"model": "kimi-k3", "commercial": True, "monthly_active_users": 5_000, "monthly_revenue_usd": 10_000},
    )
    assert not any('"Kimi K3"' in c for c in small["conditions"]) and not any("exempts" in r for r in small["reasons"])


def test_minimax_m3_hosting_is_judged_and_its_prohibited_uses_are_a_condition():
    r = tools.call("check_license", {"model": "minimax-m3.1-flash", "hosted_service": True})
    assert r["verdict"] == "allowed_with_conditions", r
    assert not any("does not record whether the licence allows hosted" in x for x in r["reasons"])
    assert any("prohibited uses" in c for c in r["conditions"]), r["conditions"]
