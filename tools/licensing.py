"""Licence verdicts for a stated use, from the catalog's structured licence terms, with clause citations."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from catalog.schema import License, Model, Term, Threshold
from tools import common

VERDICT_ORDER = {"allowed": 0, "allowed_with_conditions": 1, "unknown": 2, "not_allowed": 3}
EU_MEMBERS = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
}


class _Verdict:
    def __init__(self, lic: License):
        self.lic = lic
        self.level = "allowed"
        self.conditions: list[str] = []
        self.reasons: list[str] = []
        self.citations: list[dict] = []

    def cite(self, term_name: str, term: Term) -> None:
        if term.quote:
            entry = {"term": term_name, "clause": term.quote, "url": term.url or self.lic.url}
            if entry not in self.citations:
                self.citations.append(entry)

    def raise_to(self, level: str) -> None:
        if VERDICT_ORDER[level] > VERDICT_ORDER[self.level]:
            self.level = level

    def condition(self, text: str, term_name: str, term: Term) -> None:
        if text not in self.conditions:
            self.conditions.append(text)
        self.raise_to("allowed_with_conditions")
        self.cite(term_name, term)

    def block(self, reason: str, term_name: str, term: Term) -> None:
        self.reasons.append(reason)
        self.raise_to("not_allowed")
        self.cite(term_name, term)

    def unknown(self, reason: str, term_name: str | None = None, term: Term | None = None) -> None:
        self.reasons.append(reason)
        self.raise_to("unknown")
        if term is not None and term_name:
            self.cite(term_name, term)


def evaluate(
    m: Model,
    lic: License,
    commercial: bool | None,
    monthly_active_users: int | None,
    use_outputs_to_train_other_models: bool | None,
    redistribute: bool | None,
    modify: bool | None,
    hosted_service: bool | None,
    eu_entity: bool | None,
    monthly_revenue_usd: int | None = None,
    territories: list[str] | None = None,
) -> _Verdict:
    v = _Verdict(lic)
    t = lic.terms

    cu = t.commercial_use
    if commercial:
        if cu.value == "no":
            v.block(f"{lic.name} does not allow commercial use", "commercial_use", cu)
        elif cu.value == "conditional" and (
            t.revenue_threshold_usd_per_month
            or t.revenue_threshold_usd_per_year
            or t.excluded_territories
            or _thresholded(t.hosted_service)
        ):
            v.cite(
                "commercial_use", cu
            )  # the condition is a revenue limit, a territory or a hosting threshold, judged below
        elif cu.value == "conditional":
            v.condition(
                f"commercial use only under the licence's conditions: {cu.note or cu.quote}", "commercial_use", cu
            )
        else:
            v.reasons.append(f"{lic.name} allows commercial use")
            v.cite("commercial_use", cu)
    elif commercial is False:
        v.reasons.append("non-commercial use")
        if cu.value == "no":
            v.cite("commercial_use", cu)

    np_ = t.non_production_only
    if np_ is not None and np_.value is True and (commercial or hosted_service):
        v.block(
            f"{lic.name} allows only non-production use (testing, research, evaluation)", "non_production_only", np_
        )
    elif np_ is not None and np_.value is True:
        v.condition("only in non-production environments (testing, research, evaluation)", "non_production_only", np_)

    mau = t.mau_threshold
    if mau is not None:
        if mau.value == "not_reported":
            v.unknown(
                f"{lic.name} may limit monthly active users; the clause is not recorded in the catalog: "
                f"{_read_where(mau)}"
            )
        elif monthly_active_users is None:
            if commercial or hosted_service:
                v.condition(
                    f"your products must have at most {mau.value:,} monthly active users; above that you need a "
                    f"separate licence from the vendor",
                    "mau_threshold",
                    mau,
                )
        elif monthly_active_users > int(mau.value):
            v.block(
                f"{monthly_active_users:,} monthly active users exceed the licence's {mau.value:,}; you must request a "
                f"licence from the vendor",
                "mau_threshold",
                mau,
            )
        else:
            v.reasons.append(f"{monthly_active_users:,} monthly active users is within the {mau.value:,} limit")
            v.cite("mau_threshold", mau)

    for rev, months, per in (
        (t.revenue_threshold_usd_per_month, 1, "month"),
        (t.revenue_threshold_usd_per_year, 12, "year"),
    ):
        if rev is None or not (commercial or hosted_service or monthly_revenue_usd is not None):
            continue
        name = f"revenue_threshold_usd_per_{per}"
        if rev.value == "not_reported":
            v.unknown(
                f"{lic.name} may limit use by revenue; the clause is not recorded in the catalog: {_read_where(rev)}"
            )
        elif monthly_revenue_usd is None:
            v.condition(
                f"your revenue must be at most ${rev.value:,} a {per}; above that you need a separate licence "
                "or the vendor's authorisation",
                name,
                rev,
            )
        elif monthly_revenue_usd * months > int(rev.value):
            v.block(
                f"a monthly revenue of ${monthly_revenue_usd:,} exceeds the licence's ${rev.value:,} a {per}; you need "
                "a separate licence or the vendor's authorisation",
                name,
                rev,
            )
        else:
            v.reasons.append(
                f"a monthly revenue of ${monthly_revenue_usd:,} is within the licence's ${rev.value:,} a {per}"
            )
            v.cite(name, rev)

    terr = t.excluded_territories
    if terr is not None and terr.value != "not_reported":
        excluded = {c.strip() for c in str(terr.value).split(",")}
        where = {c.upper() for c in (territories or [])} | ({"EU"} if eu_entity else set())
        if where & excluded or (where & EU_MEMBERS and "EU" in excluded):
            v.block(
                f"the licence grants no rights in {', '.join(sorted(excluded))}, where you are",
                "excluded_territories",
                terr,
            )
        elif not where:
            v.condition(f"the licence grants no rights in {', '.join(sorted(excluded))}", "excluded_territories", terr)
        else:
            v.reasons.append(f"the licence's excluded territories ({', '.join(sorted(excluded))}) do not include yours")
            v.cite("excluded_territories", terr)

    hs = t.hosted_service
    bound = False  # a thresholded term binds or may bind: the licence's exemptions are said beside it
    if hosted_service and hs is not None and hs.above is not None:
        bound = _hosting_above(v, hs, monthly_active_users, monthly_revenue_usd)
    elif hosted_service and hs is not None:
        if hs.value == "forbidden":
            v.block(
                "the licence does not allow offering the model as a hosted or managed service", "hosted_service", hs
            )
        elif hs.value == "requires_license":
            v.block(
                "offering the model as a hosted service needs a separate licence from the vendor", "hosted_service", hs
            )
        elif hs.value == "not_reported":
            v.unknown(
                f"the catalog does not record whether the licence allows hosted services: {_read_where(hs)}",
                "hosted_service",
                hs,
            )

    out = t.outputs_to_train_other_models
    if use_outputs_to_train_other_models:
        if out is None:
            v.reasons.append("the licence states no restriction on using outputs to train other models")
        elif out.value == "forbidden":
            v.block(
                "the licence forbids using the model's outputs to improve other models",
                "outputs_to_train_other_models",
                out,
            )
        elif out.value == "allowed_with_naming":
            name_to_carry = t.derivative_naming.value if t.derivative_naming else "the vendor's name"
            v.condition(
                f"a model trained on its outputs that you distribute must carry '{name_to_carry}' in its name or "
                f"documentation",
                "outputs_to_train_other_models",
                out,
            )
        elif out.value == "restrictions_carry_over":
            v.condition(
                "a model trained on its outputs counts as a derivative: the licence's use restrictions apply to it",
                "outputs_to_train_other_models",
                out,
            )
        elif out.value == "not_reported":
            v.unknown(f"the catalog does not record the licence's rule on training with outputs: {_read_where(out)}")
        else:
            v.reasons.append("using outputs to train other models is allowed")
            v.cite("outputs_to_train_other_models", out)

    eu = t.eu_multimodal_carve_out
    if eu is not None and eu.value is True:
        multimodal = any(x != "text" for x in m.modalities)
        if eu_entity and multimodal:
            v.block(
                "the licence grants no rights for multimodal models to individuals domiciled or companies based in the "
                "EU "
                "(end users of a product built on it are exempt)",
                "eu_multimodal_carve_out",
                eu,
            )
        elif eu_entity:
            v.reasons.append("the EU restriction covers multimodal models only; this model is text-only")
            v.cite("eu_multimodal_carve_out", eu)
        elif eu_entity is None and multimodal:
            v.condition(
                "not available to EU-domiciled licensees (multimodal model); EU end users of your product are fine",
                "eu_multimodal_carve_out",
                eu,
            )

    offering = bool(commercial or hosted_service or redistribute)
    attr = t.attribution
    if attr is not None and attr.above is not None and offering:
        bound = _attribution_above(v, attr, monthly_active_users, monthly_revenue_usd) or bound
    elif attr is not None and attr.value != "not_reported" and offering:
        v.condition(f"attribution: {attr.value}", "attribution", attr)
    red = t.redistribution
    if redistribute and red is not None and red.value != "not_reported":
        v.condition(f"when redistributing: {red.value}", "redistribution", red)
    naming = t.derivative_naming
    if (modify or redistribute) and naming is not None and naming.value != "not_reported":
        v.condition(f"a distributed derivative model must be named with '{naming.value}'", "derivative_naming", naming)
    mod = t.modification
    if modify and mod is not None and isinstance(mod.value, str) and mod.value.lower().startswith(("no", "forbidden")):
        v.block("the licence does not allow modification", "modification", mod)
    aup = t.acceptable_use_policy
    if aup is not None and aup.value != "not_reported":
        v.condition(f"comply with the acceptable-use policy ({aup.value})", "acceptable_use_policy", aup)
    elif aup is not None and aup.clause:  # the licence restricts uses in a clause the catalog has not read
        v.condition(
            f"comply with the licence's use restrictions ({aup.clause}), which the catalog has not read",
            "acceptable_use_policy",
            aup,  # not quoted, so not cited
        )
    if bound:
        _exemptions(v, t.threshold_exemptions)
    return v


def _thresholded(term: Term | None) -> bool:
    return term is not None and term.above is not None


def _read_where(term: Term) -> str:
    """Where to read a term the catalog has not: its clause if known, else the licence text."""
    return f"read {term.clause} of the licence" if term.clause else "read the licence text"


def _exceeds(th: Threshold, mau: int | None, monthly_revenue: int | None) -> bool | None:
    """True when a stated figure is above one of the threshold's; False when every figure it names is stated and
    within; None when one it names is not stated (and none stated is above)."""
    checks = []
    if th.monthly_active_users is not None:
        checks.append(None if mau is None else mau > th.monthly_active_users)
    if th.revenue_usd_per_month is not None:
        checks.append(None if monthly_revenue is None else monthly_revenue > th.revenue_usd_per_month)
    if th.revenue_usd_per_year is not None:
        checks.append(None if monthly_revenue is None else monthly_revenue * 12 > th.revenue_usd_per_year)
    if any(c is True for c in checks):
        return True
    return False if all(c is False for c in checks) else None


def _figures(th: Threshold) -> str:
    """'more than 100,000,000 monthly active users or more than $20,000,000 of revenue a month'."""
    parts = []
    if th.monthly_active_users is not None:
        parts.append(f"more than {th.monthly_active_users:,} monthly active users")
    if th.revenue_usd_per_month is not None:
        parts.append(f"more than ${th.revenue_usd_per_month:,} of revenue a month")
    if th.revenue_usd_per_year is not None:
        parts.append(f"more than ${th.revenue_usd_per_year:,} of revenue a year")
    return " or ".join(parts)


def _stated(mau: int | None, monthly_revenue: int | None) -> str:
    said = [f"{mau:,} monthly active users"] if mau is not None else []
    said += [f"a monthly revenue of ${monthly_revenue:,}"] if monthly_revenue is not None else []
    return " and ".join(said)


def _hosting_above(v: _Verdict, hs: Term, mau: int | None, monthly_revenue: int | None) -> bool:
    """A hosted service the licence allows up to a threshold and licenses apart (or forbids) above it; True where the
    term binds or may bind."""
    assert hs.above is not None
    over = _exceeds(hs.above, mau, monthly_revenue)
    limit = _figures(hs.above)
    if over:
        v.block(
            f"with {_stated(mau, monthly_revenue)}, offering the model as a hosted service "
            + (
                "is not allowed: the licence forbids it above "
                if hs.value == "forbidden"
                else "needs the vendor's separate agreement or approval: the licence requires it above "
            )
            + limit,
            "hosted_service",
            hs,
        )
    elif over is False:
        v.reasons.append(
            f"with {_stated(mau, monthly_revenue)}, a hosted service is within the licence's threshold ({limit})"
        )
        v.cite("hosted_service", hs)
    else:
        v.condition(
            f"a hosted service with {limit} "
            + ("is not allowed" if hs.value == "forbidden" else "needs the vendor's separate agreement or approval"),
            "hosted_service",
            hs,
        )
    return over is not False


def _attribution_above(v: _Verdict, attr: Term, mau: int | None, monthly_revenue: int | None) -> bool:
    """A display or attribution duty that binds only above the licence's figures; True where it binds or may bind."""
    assert attr.above is not None
    over = _exceeds(attr.above, mau, monthly_revenue)
    if over is False:
        v.reasons.append(
            f"with {_stated(mau, monthly_revenue)}, the licence's attribution duty does not apply (it binds above "
            f"{_figures(attr.above)})"
        )
        v.cite("attribution", attr)
        return False
    # above the threshold, or not known to be below it: the duty, whose value names its own threshold
    v.condition(f"attribution: {attr.value}", "attribution", attr)
    return True


def _exemptions(v: _Verdict, exempt: Term | None) -> None:
    """The uses a licence exempts from its thresholded terms, said beside what those terms ask."""
    if exempt is not None and exempt.value != "not_reported":
        v.reasons.append(f"the licence exempts from its thresholds: {exempt.value}")
        v.cite("threshold_exemptions", exempt)


def check_license(
    model: str,
    commercial: bool | None = None,
    monthly_active_users: Annotated[int | None, Field(ge=0, le=10**11)] = None,
    use_outputs_to_train_other_models: bool | None = None,
    redistribute: bool | None = None,
    modify: bool | None = None,
    hosted_service: bool | None = None,
    eu_entity: bool | None = None,
    monthly_revenue_usd: Annotated[int | None, Field(ge=0, le=10**13)] = None,
    territories: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=3)]] | None,
        Field(max_length=30),
    ] = None,
) -> dict:
    """Check whether a model's licence allows a stated use, and list the conditions to meet, with the licence
    clauses quoted.

    Args:
        model: Model id, name or alias from the catalog.
        commercial: The use is commercial (a product, a service, internal business use).
        monthly_active_users: Monthly active users of your products or services.
        use_outputs_to_train_other_models: You will train, fine-tune or distil other models on its outputs.
        redistribute: You will share the weights or a derivative with others.
        modify: You will fine-tune or otherwise change the weights.
        hosted_service: You will offer the model to others as a hosted or managed service (SaaS, API).
        eu_entity: You are an individual domiciled, or a company based, in the European Union.
        monthly_revenue_usd: Your company's monthly revenue in US dollars (licences with revenue limits).
        territories: Where you are established or will use the model: ISO 3166 country codes such as "GB", "KR",
            "DE", or "EU".
    """
    m = common.model(model)
    lic = common.catalog().licenses[m.license]
    v = evaluate(
        m,
        lic,
        commercial,
        monthly_active_users,
        use_outputs_to_train_other_models,
        redistribute,
        modify,
        hosted_service,
        eu_entity,
        monthly_revenue_usd,
        territories,
    )
    history = []
    for change in m.license_history:
        old = common.catalog().licenses[change.license]
        history.append(
            {
                "license": {"id": old.id, "name": old.name, "url": old.url},
                "until": change.until.isoformat(),
                "note": change.note or f"copies obtained before {change.until.isoformat()} came under {old.name}",
            }
        )
    if m.derived_from:
        base = common.catalog().models.get(m.derived_from)
        if base and base.license != m.license:
            v.reasons.append(
                f"derived from {base.name}, whose licence ({common.catalog().licenses[base.license].name}) may also "
                f"bind it"
            )
    summary = {
        "allowed": "allowed",
        "allowed_with_conditions": "allowed if you meet the conditions",
        "not_allowed": "not allowed",
        "unknown": "unknown: a relevant term is not recorded; read the licence",
    }[v.level]
    return {
        "model": {"id": m.id, "name": m.name},
        "verdict": v.level,
        "summary": f"{m.name} under {lic.name}: {summary}",
        "license": {
            "id": lic.id,
            "name": lic.name,
            "url": lic.url,
            "category": lic.category,
            "as_of": lic.as_of.isoformat(),
        },
        "conditions": v.conditions,
        "reasons": v.reasons,
        "citations": v.citations,
        "license_history": history,
        "assumptions": [
            "a licence verdict from structured terms is guidance, not legal advice; the citations point to the text "
            "that governs"
        ],
        "sources": list(dict.fromkeys([lic.url] + [c["url"] for c in v.citations])),
    }
