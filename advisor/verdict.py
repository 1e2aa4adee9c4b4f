"""The verdict that opens an answer: the pick; whether it fits the device, as a bar in the device's own unit (GiB where
the vendor's "GB" means 2^30 bytes) with the headroom and the largest context that fits; a licence badge for the use
the user stated; the cost a month at the user's volume and the break-even in one sentence.

Built at the edge from the turn's tool results (``ToolReturned`` events, advisor/events.py), so every driver's answers
get it, and every figure in it is a field of one of those results. :func:`of` reads the results, :func:`markdown`
and :func:`html` lay the verdict out for a terminal or a report and for the browser.

    card = verdict.of(turn.tool_calls)
    if card: print(verdict.markdown(card))
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.events import ToolReturned

VERDICT_WORDS = {
    "allowed": "allowed",
    "allowed_with_conditions": "allowed with conditions",
    "unknown": "unconfirmed: licence terms not read",
    "not_allowed": "not allowed",
}
BADGE_CLASS = {"allowed": "ok", "allowed_with_conditions": "ok", "unknown": "unsure", "not_allowed": "no"}
_SELF_HOSTED = re.compile(r"^(?P<what>.+?) on (?P<count>\d+) x (?P<device>.+?), (?P<how>owned|rented.*)$")


@dataclass(frozen=True)
class Fit:
    """A fit in the device's unit, per device (a ``fit`` field of estimate_memory or of a select_models pick)."""

    quantization: str  # the format's name
    device: str
    stated: str  # the device's memory as its vendor states it ("24GB")
    count: int
    unit: str
    unit_note: str
    memory: float
    usable: float
    needed: float
    headroom: float
    fits: bool
    context: int
    max_context: int


@dataclass(frozen=True)
class Licence:
    name: str
    verdict: str  # allowed | allowed_with_conditions | unknown | not_allowed
    use: str  # the use it was judged for, in words ("commercial use with 2,000,000 monthly users")
    note: str | None  # the first condition, or the reason it is not allowed


@dataclass(frozen=True)
class Cost:
    monthly_tokens: int
    option: str  # the cheapest way to self-host the pick, in short
    monthly_usd: float
    cheapest: str
    cheapest_usd: float
    break_even: str | None


@dataclass(frozen=True)
class Verdict:
    model: str  # catalog id
    pick: str
    detail: str
    fits: tuple[Fit, ...] = ()  # one per format the turn estimated (a shortlist's pick: the format it fits in)
    licence: Licence | None = None
    cost: Cost | None = None

    @property
    def empty(self) -> bool:
        return not self.fits and self.licence is None and self.cost is None


# ---------------------------------------------------------------- reading the turn's tool results


def of(calls: Iterable[ToolReturned]) -> Verdict | None:
    """The verdict of a turn's tool results, or None when they hold none (a benchmark table, a model's facts) or
    lack a field it reads (a result from a tool of another version): a card never stands in the answer's way."""
    try:
        return _of([c for c in calls if not c.failed and isinstance(c.result, dict)])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _of(done: list[ToolReturned]) -> Verdict | None:
    pick = next((p for p in map(_pick, done) if p is not None), None)
    if pick is None:
        return None
    model, name, detail, fit, licence = pick
    # a memory estimate of the pick in this turn (at the context asked about) says more than a shortlist's fit
    estimated = tuple(
        _fit(c.result["fit"], c.result["quantization"]["name"])
        for c in done
        if c.name == "estimate_memory" and c.result["model"]["id"] == model and c.result.get("fit")
    )
    fits = estimated or ((fit,) if fit else ())
    for call in done:
        r = call.result
        if call.name == "check_license" and r["model"]["id"] == model:
            licence = Licence(r["license"]["name"], r["verdict"], _use(call.args), _licence_note(r))
    cost = next(
        (_cost(c.result) for c in done if c.name == "estimate_cost" and _cost_model(c.result) == model),
        None,
    )
    verdict = Verdict(model, name, detail, fits, licence, cost)
    return None if verdict.empty else verdict


def _pick(call: ToolReturned) -> tuple | None:
    """(model id, name, detail, fit, licence) of the result that names the pick, or None."""
    r = call.result
    match call.name:
        case "select_models" if r.get("recommendations"):
            top = r["recommendations"][0]
            count = len(r["recommendations"])
            detail = f"{_quant_name(top['quantization'])} · first of {count} for {r['use_case'].replace('_', ' ')}"
            licence = Licence(
                top["license"]["name"],
                top["license_verdict"],
                _use(call.args),
                (top.get("license_conditions") or [None])[0],
            )
            fit = _fit(top["fit"], _quant_name(top["quantization"])) if top.get("fit") else None
            return top["model"], top["name"], detail, fit, licence
        case "estimate_memory":
            detail = f"memory at {r['context_length']:,} tokens of context"
            return r["model"]["id"], r["model"]["name"], detail, None, None
        case "check_license":
            return r["model"]["id"], r["model"]["name"], "licence", None, None
        case "plan_deployment":
            rec = r["recommended"]
            detail = f"{rec['engine']} · {rec['quantization_name']} · {rec['num_gpus']} x {rec['gpu_name']}"
            return r["model"]["id"], r["model"]["name"], detail, None, None
        case "estimate_cost" if _cost_model(r):
            from tools.common import catalog

            own = r["self_hosted"]
            model = catalog().models.get(own["model"])
            gpu = catalog().gpus.get(own.get("gpu") or "")
            detail = f"{_quant_name(own.get('quantization') or '')} on {own.get('num_gpus', 1)} x " + (
                short_device(gpu.name) if gpu else "GPU"
            )
            return own["model"], model.name if model else own["model"], detail, None, None
    return None


def _fit(f: dict, quantization: str) -> Fit:
    return Fit(
        quantization,
        f["device"],
        f["memory_stated"],
        f["count"],
        f["unit"],
        f["unit_note"],
        f["memory"],
        f["usable"],
        f["needed"],
        f["headroom"],
        f["fits"],
        f["context"],
        f["max_context"],
    )


def _use(args: dict) -> str:
    """The use a licence was judged for, from the tool's arguments."""
    commercial = args.get("commercial")
    use = "commercial use" if commercial is True else "non-commercial use" if commercial is False else "any use"
    users = args.get("monthly_active_users")
    return use + (f" with {users:,} monthly users" if isinstance(users, int) else "")


def _licence_note(r: dict) -> str | None:
    if r["verdict"] == "not_allowed":
        return (r.get("reasons") or [None])[0]
    return (r.get("conditions") or [None])[0]


def _quant_name(quant_id: str) -> str:
    from tools.common import catalog

    q = catalog().quantizations.get(quant_id)
    return q.name if q else quant_id


def _cost_model(r: dict) -> str | None:
    self_hosted = r.get("self_hosted")
    return self_hosted.get("model") if isinstance(self_hosted, dict) else None


def option_label(name: str) -> str:
    """An option of estimate_cost in short: "owned (1 x RTX 4090)", or an API's name without "(API)"."""
    match = _SELF_HOSTED.match(name)
    if match:
        return f"{_capital(match.group('how'))} ({match.group('count')} x {short_device(match.group('device'))})"
    return name.removesuffix(" (API)")


def short_device(name: str) -> str:
    return re.sub(r"^(NVIDIA GeForce |NVIDIA |AMD Radeon |AMD Instinct |AMD |Intel )", "", name)


def _cost(r: dict) -> Cost | None:
    options = r["options"]
    own = [o for o in options if o["kind"] != "api"]
    if not own or not options:
        return None
    best_own = min(own, key=lambda o: o["monthly_usd"])
    cheapest = min(options, key=lambda o: o["monthly_usd"])
    return Cost(
        r["monthly_tokens"],
        option_label(best_own["name"]),
        best_own["monthly_usd"],
        option_label(cheapest["name"]),
        cheapest["monthly_usd"],
        _break_even(r, own),
    )


def _break_even(r: dict, own: list[dict]) -> str | None:
    """One sentence: the lowest volume above which a fixed-price way of self-hosting (owned, or rented always on)
    costs less than an API, and the API that stays cheaper throughout, if one does."""
    fixed = {o["name"] for o in own if "busy hour" not in o["name"]}
    crossings = [b for b in r["break_even"] if b["self_hosted"] in fixed and b.get("monthly_tokens")]
    never = [b for b in r["break_even"] if b["self_hosted"] in fixed and not b.get("monthly_tokens")]
    if crossings:
        first = min(crossings, key=lambda b: b["monthly_tokens"])
        sentence = (
            f"{option_label(first['self_hosted'])} costs less than {option_label(first['api'])} above "
            f"{compact(first['monthly_tokens'])} tokens a month"
        )
        cheaper = [b["api"] for b in never if "cheaper throughout" in b["note"] and b["api"] in b["note"]]
        if cheaper:
            sentence += f"; {option_label(cheaper[0])} stays cheaper at any volume"
        return sentence + "."
    if never:
        return never[0]["note"][:1].upper() + never[0]["note"][1:].replace(" (API)", "") + "."
    return None


# ---------------------------------------------------------------- numbers as people read them


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def compact(n: float) -> str:
    """1,000,000 -> "1M", 262,144 -> "262k", 50,000,000 -> "50M" (three significant digits at most)."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{float(f'{n / scale:.3g}'):g}{suffix}"
    return f"{n:g}"


def usd(x: float) -> str:
    return f"${x:,.2f}" if x < 1000 else f"${x:,.0f}"


def _num(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------- layouts


def fit_sentence(f: Fit) -> str:
    per = " each" if f.count > 1 else ""
    usable = f", {_num(f.usable)} usable" if f.usable < f.memory else ""
    stated = f" ({f.stated}{per}: {_num(f.memory)} {f.unit}{usable})" if f.stated else ""
    where = f"{f.count} x {short_device(f.device)}{stated}"
    if f.fits:
        head = f"Fits {where}: needs {_num(f.needed)} of {_num(f.usable)} {f.unit}{per}"
        room = f", {_num(f.headroom)} {f.unit} to spare"
    else:
        head = f"Does not fit {where}: needs {_num(f.needed)} {f.unit}{per}, more than the {_num(f.usable)} {f.unit}"
        room = ""
    context = (
        f"; up to {compact(f.max_context)} tokens of context fit"
        if f.max_context
        else "; no context fits at this format"
    )
    return f"{head}{room} at {f.context:,} tokens{context}."


def licence_sentence(lic: Licence) -> str:
    return f"{lic.name}: {VERDICT_WORDS.get(lic.verdict, lic.verdict)} for {lic.use}."


def cost_sentence(c: Cost) -> str:
    own = f"{c.option}: {usd(c.monthly_usd)} a month at {compact(c.monthly_tokens)} tokens"
    cheapest = "" if c.cheapest == c.option else f"; cheapest: {c.cheapest}, {usd(c.cheapest_usd)}"
    return f"{own}{cheapest}." + (f" {c.break_even}" if c.break_even else "")


def markdown(v: Verdict) -> str:
    """The verdict as Markdown (terminal, report, API text)."""
    lines = [f"**{v.pick}** · {v.detail}"]
    for fit in v.fits:
        lines.append(f"- **Memory, {fit.quantization}:** {fit_sentence(fit)}")
    if v.licence:
        lines.append(f"- **Licence:** {licence_sentence(v.licence)}")
    if v.cost:
        lines.append(f"- **Cost:** {cost_sentence(v.cost)}")
    return "\n".join(lines)


def html(v: Verdict) -> str:
    """The verdict as the browser shows it: a card with a fit bar and a licence badge (styled by advisor/ui/style.py;
    sizes and colours that carry meaning are inline, so the card reads without the style sheet too)."""
    e = _html.escape
    rows = [
        f'<div class="verdict-pick"><strong>{e(v.pick)}</strong> <span class="verdict-detail">{e(v.detail)}</span>'
        "</div>"
    ]
    for fit in v.fits:
        rows.append(_fit_html(fit))
    if v.licence:
        badge = BADGE_CLASS.get(v.licence.verdict, "unsure")
        note = f'<span class="verdict-note">{e(v.licence.note)}</span>' if v.licence.note else ""
        rows.append(
            f'<div class="verdict-row"><span class="verdict-label">Licence</span><span class="badge badge-{badge}">'
            f"{e(VERDICT_WORDS.get(v.licence.verdict, v.licence.verdict))}</span> "
            f"<span>{e(v.licence.name)}, for {e(v.licence.use)}</span>{note}</div>"
        )
    if v.cost:
        rows.append(
            f'<div class="verdict-row"><span class="verdict-label">Cost</span><span>{e(cost_sentence(v.cost))}'
            "</span></div>"
        )
    return f'<div class="verdict">{"".join(rows)}</div>'


def _fit_html(f: Fit) -> str:
    e = _html.escape
    share = max(0.0, min(1.0, f.needed / f.usable)) if f.usable else 1.0
    colour = "#2e7d32" if f.fits and share <= 0.9 else "#b26a00" if f.fits else "#c62828"
    label = f.quantization
    return (
        f'<div class="verdict-row"><span class="verdict-label">{label}</span>'
        f'<span class="fit-bar" title="{e(f.unit_note)}" role="meter" aria-valuemin="0" '
        f'aria-valuemax="{_num(f.usable)}" aria-valuenow="{_num(f.needed)}" aria-label="memory needed">'
        f'<span class="fit-fill" style="width:{share * 100:.0f}%;background:{colour}"></span></span>'
        f"<span>{e(fit_sentence(f))}</span></div>"
    )
