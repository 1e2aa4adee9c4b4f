"""The three guided exercises, as scripted conversations with the advisor.

Each walkthrough sends its steps to the advisor in one thread (with whichever driver is active)
and then summarises what the tools returned. Nothing in a summary is computed here except
selections among tool results; every figure is a field of one.

1. model selection for a customer-service chatbot
2. cost at 1M / 10M / 100M tokens a month, self-hosted vs APIs, with break-even
3. benchmark research across versions of a family
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor import render
from advisor.service import Advisor, new_thread_id
from advisor.storage import claim_thread
from catalog.schema import ApiPrice
from tools.errors import InvalidInput, NotFound

FAMILY_VERSIONS = {
    "llama": (
        "Llama 2, Llama 3, Llama 3.1 and Llama 3.3",
        ["llama-2-70b", "llama-3-70b", "llama-3.1-70b", "llama-3.3-70b"],
    ),
    "qwen": ("Qwen, Qwen2.5 and Qwen3", ["qwen-72b", "qwen2.5-72b", "qwen3-32b", "qwen3-235b-a22b"]),
    "mistral": (
        "Mistral 7B, Mistral NeMo and Mistral Small 3",
        ["mistral-7b-v0.1", "mistral-nemo-12b", "mistral-small-3-24b", "mistral-small-3.1-24b"],
    ),
}


API_RULE = (
    "APIs compared unless you choose others, picked from the catalog's price file by a rule: take the proprietary "
    "models on sale on the catalog's date (not past the provider's retirement date, no successor named in the file) "
    "and keep the newest version of each model line (the name without its version number, e.g. Claude Opus); the "
    "frontier tier is the third of them with the highest price at 75% input tokens; compare with the cheapest and "
    "the median model of that tier, and with the cheapest model on sale."
)
FRONTIER_SHARE = 1 / 3  # the top third by price is the frontier tier
_SUPERSEDED = re.compile(r"names \S+ as the successor(?! of)")
_VERSION = re.compile(r"\d+(?:\.\d+)*")


def default_api_models(input_share: float = 0.75) -> list[str]:
    """Exercise 2's APIs by :data:`API_RULE` (never by name): the cheapest model on sale, and the cheapest and the
    median of the frontier tier, as price ids, cheapest first."""
    from tools.common import catalog
    from tools.cost import live_price

    newest: dict[tuple[str, str], ApiPrice] = {}
    for p in catalog().prices.values():
        if p.kind != "proprietary" or not live_price(p) or _SUPERSEDED.search(p.notes or ""):
            continue
        line = (p.provider, " ".join(_VERSION.sub(" ", p.model_name).replace("-", " ").lower().split()))
        if line not in newest or _version(p) > _version(newest[line]):
            newest[line] = p
    price = lambda p: input_share * p.usd_per_mtok_input + (1 - input_share) * p.usd_per_mtok_output  # noqa: E731
    on_sale = sorted(newest.values(), key=lambda p: (price(p), p.id))
    if not on_sale:
        return []
    frontier = on_sale[len(on_sale) - max(1, round(len(on_sale) * FRONTIER_SHARE)) :]
    return list(dict.fromkeys(p.id for p in (on_sale[0], frontier[0], frontier[(len(frontier) - 1) // 2])))


def _version(p: ApiPrice) -> tuple[int, ...]:
    found = _VERSION.search(p.model_name)
    return tuple(int(x) for x in found.group(0).split(".")) if found else ()


class CostAssumptions(BaseModel):
    """Exercise 2's editable assumptions, with the limits every edge (CLI, HTTP, browser) applies to them.
    :meth:`resolve` turns the names people type into catalog ids, or says which one is unknown."""

    model_config = ConfigDict(str_max_length=200, validate_assignment=True)
    model: str = Field(default="llama-3.1-8b", description="exercise 2: open model to self-host")
    gpu: str = Field(default="rtx-4090", description="exercise 2: GPU to run it on")
    gpu_usd_per_hour: float | None = Field(default=None, gt=0, le=1000, description="exercise 2: $ per GPU-hour")
    utilization: float = Field(default=0.5, gt=0, le=1, description="exercise 2: average busy share")
    input_share: float = Field(default=0.75, ge=0, le=1, description="exercise 2: share of tokens that are input")
    api_models: list[str] = Field(
        default_factory=default_api_models, max_length=10, description="exercise 2: APIs to compare (API_RULE)"
    )

    @classmethod
    def of(cls, **given) -> CostAssumptions:
        """The assumptions with what was given (None: the default), checked and resolved to catalog ids; raises
        InvalidInput naming the field (a value out of range, or a name the catalog does not know)."""
        from tools.registry import explain

        try:
            assumptions = cls(**{name: value for name, value in given.items() if value is not None})
        except ValidationError as exc:
            raise explain(exc, cls, "exercise 2") from None
        return assumptions.resolve()

    def resolve(self) -> CostAssumptions:
        from tools import common

        return self.model_copy(
            update={
                "model": common.model(self.model).id,
                "gpu": common.gpu(self.gpu).id,
                "api_models": [common.lookup("price", name, "api_models").id for name in self.api_models],
            }
        )


@dataclass
class Exercise:
    number: int
    title: str
    goal: str


EXERCISES = {
    1: Exercise(
        1,
        "Model selection for a customer-service chatbot",
        "Gather the requirements step by step, run the selection, and end with the top three models, each "
        "justified from the tool results (fit, licence verdict, benchmarks, cost).",
    ),
    2: Exercise(
        2,
        "Cost analysis at 1M, 10M and 100M tokens a month",
        "Cost of self-hosting an open model (own GPU and rented GPU) against proprietary APIs, the break-even "
        "volume, and a chart of cost vs volume; every assumption stated and editable.",
    ),
    3: Exercise(
        3,
        "Benchmark research across model versions",
        "Pick a family and compare its versions benchmark by benchmark, with the improvement, the source of "
        "each score, and what is not reported.",
    ),
}


def steps_for(number: int, *, family: str = "llama", cost: CostAssumptions | None = None) -> list[str]:
    if number == 1:
        return [
            "I want to choose an open model for a customer-service chatbot.",
            "It must answer in English, German and French, about 20M tokens a month, and reply fast. We have two L40S "
            "GPUs.",
            "It is commercial: about 200k monthly active users. Customer data must stay on our servers.",
            "Conversations get long, so we need 32k context for the history. Shortlist the top three.",
            "For each of them, check the licence for our use and the monthly cost on our two L40S GPUs.",
        ]
    if number == 2:
        c = cost or CostAssumptions()
        from tools.common import catalog

        cat = catalog()
        model_name = cat.model(c.model).name
        gpu_name = cat.gpu(c.gpu).name
        apis = " and ".join(cat.prices[p].model_name for p in c.api_models if p in cat.prices) or "the usual APIs"
        assumptions = [f"{int(round(c.utilization * 100))}% busy", f"{int(round(c.input_share * 100))}% input"]
        if c.gpu_usd_per_hour is not None:
            assumptions.insert(0, f"GPU at ${c.gpu_usd_per_hour} an hour")
        return [
            f"What does {model_name} cost at 10M tokens a month on {gpu_name}, compared with {apis}? "
            f"Assume {', '.join(assumptions)}.",
        ]
    if number == 3:
        label, _ = FAMILY_VERSIONS[_family(family)]
        return [f"Compare {label} on benchmarks."]
    raise ExerciseNotFound("exercise must be 1, 2 or 3", field="number")


class ExerciseNotFound(NotFound):
    """There is no exercise with that number."""


def _family(family: str) -> str:
    if family not in FAMILY_VERSIONS:
        raise InvalidInput(
            f"unknown family {family!r}; choose one of {', '.join(FAMILY_VERSIONS)}",
            field="family",
            suggestions=list(FAMILY_VERSIONS),
        )
    return family


@dataclass
class WalkthroughResult:
    number: int
    title: str
    thread_id: str
    turns: list[dict]
    summary: dict

    def as_dict(self) -> dict:
        return {
            "exercise": self.number,
            "title": self.title,
            "thread_id": self.thread_id,
            "turns": self.turns,
            "summary": self.summary,
        }


def run(
    advisor: Advisor,
    number: int,
    *,
    family: str = "llama",
    cost: CostAssumptions | None = None,
    thread_id: str | None = None,
    user: str | None = None,
) -> WalkthroughResult:
    """Play the exercise's steps through the advisor and summarise the tool results. ``user``: the conversation is
    made theirs (an edge's caller); ``thread_id`` must then be theirs too."""
    if number not in EXERCISES:
        raise ExerciseNotFound("exercise must be 1, 2 or 3", field="number")
    if number == 3:
        _family(family)
    if thread_id is None:  # the whole server-made id: 122 random bits (12 hex digits were 48)
        thread_id = f"exercise-{number}-{new_thread_id()}"
        if user is not None:
            claim_thread(advisor.checkpointer, thread_id, user)
    turns = []
    for text in steps_for(number, family=family, cost=cost):
        r = advisor.ask(text, thread_id=thread_id, user=user)
        turns.append({"user": text, "reply": r.reply, "tool_calls": [t.as_dict() for t in r.tool_calls]})
    if number == 2 and cost is not None:
        turns.extend(_cost_by_tool(advisor, cost, thread_id, turns))
    if number == 3:
        turns.extend(_ensure_versions(advisor, family, thread_id, turns))
    summary = {1: summarise_selection, 2: summarise_cost, 3: summarise_versions}[number](turns)
    return WalkthroughResult(number, EXERCISES[number].title, thread_id, turns, summary)


def _calls(turns: list[dict], name: str) -> list[dict]:
    return [c for t in turns for c in t["tool_calls"] if c["name"] == name and "error" not in c["result"]]


def _cost_by_tool(advisor: Advisor, cost: CostAssumptions, thread_id: str, turns: list[dict]) -> list[dict]:
    """If the driver did not pass every editable assumption, ask once more with all of them spelled out."""
    done = _calls(turns, "estimate_cost")
    if (
        done
        and done[-1]["args"].get("utilization", 0.5) == cost.utilization
        and done[-1]["args"].get("input_share", 0.75) == cost.input_share
        and (cost.gpu_usd_per_hour is None or done[-1]["args"].get("gpu_usd_per_hour") == cost.gpu_usd_per_hour)
    ):
        return []
    text = (
        f"Use exactly: utilisation {int(round(cost.utilization * 100))}%, {int(round(cost.input_share * 100))}% input"
        + (f", GPU at ${cost.gpu_usd_per_hour} an hour" if cost.gpu_usd_per_hour is not None else "")
        + "."
    )
    r = advisor.ask(text, thread_id=thread_id)
    return [{"user": text, "reply": r.reply, "tool_calls": [t.as_dict() for t in r.tool_calls]}]


def _ensure_versions(advisor: Advisor, family: str, thread_id: str, turns: list[dict]) -> list[dict]:
    if _calls(turns, "compare_benchmarks"):
        return []
    _, ids = FAMILY_VERSIONS[family]
    text = "Compare " + ", ".join(ids) + " on benchmarks."
    r = advisor.ask(text, thread_id=thread_id)
    return [{"user": text, "reply": r.reply, "tool_calls": [t.as_dict() for t in r.tool_calls]}]


def summarise_selection(turns: list[dict]) -> dict:
    selections = _calls(turns, "select_models")
    if not selections:
        return {"top3": [], "note": "the advisor did not run a selection"}
    sel = selections[-1]
    recs = sel["result"]["recommendations"][:3]
    licences = {c["args"].get("model"): c["result"] for c in _calls(turns, "check_license")}
    costs = {c["args"].get("model"): c["result"] for c in _calls(turns, "estimate_cost")}
    top = []
    for rec in recs:
        lic = licences.get(rec["model"])
        cost = costs.get(rec["model"])
        entry = {
            "model": rec["model"],
            "name": rec["name"],
            "score": rec["score"],
            "fit": {"quantization": rec["quantization"], "memory_gb": rec["memory_gb"]},
            "benchmarks": rec["benchmarks_used"],
            "estimated": rec.get("estimated", False),
            "unconfirmed": rec.get("unconfirmed", []),
            "license": {
                "verdict": (lic or {}).get("verdict", rec["license_verdict"]),
                "conditions": (lic or {}).get("conditions", rec["license_conditions"]),
                "name": rec["license"]["name"],
            },
            "reasons": rec["reasons"],
        }
        if cost:
            own = [o for o in cost["options"] if o["kind"] != "api"]
            entry["cost"] = {
                "monthly_tokens": cost["monthly_tokens"],
                "self_hosted": [{"name": o["name"], "monthly_usd": o["monthly_usd"]} for o in own],
                "cheapest": cost["cheapest"],
            }
        top.append(entry)
    return {
        "requirements_used": sel["args"],
        "top3": top,
        "excluded": sel["result"]["excluded"][:5],
        "assumptions": sel["result"]["assumptions"],
    }


def summarise_cost(turns: list[dict]) -> dict:
    runs = _calls(turns, "estimate_cost")
    if not runs:
        return {"note": "the advisor did not run a cost estimate"}
    r = runs[-1]["result"]
    return {
        "arguments": runs[-1]["args"],
        "volumes": r["table"],
        "break_even": r["break_even"],
        "cheapest_at_volume": r["cheapest"],
        "assumptions": r["assumptions"],
        "option_assumptions": {o["name"]: o["assumptions"] for o in r["options"]},
        "curve": r["curve"],
        "monthly_tokens": r["monthly_tokens"],
        "options": r["options"],
    }


def summarise_versions(turns: list[dict]) -> dict:
    runs = _calls(turns, "compare_benchmarks")
    if not runs:
        return {"note": "the advisor did not compare benchmarks"}
    r = runs[-1]["result"]
    table = r["table"]
    changes = r.get("changes", [])
    return {
        "models": [row["model"] for row in table],
        "benchmarks": [b["id"] for b in r["benchmarks"]],
        "table": table,
        "changes": changes,
        "missing": r["missing"],
        "sources": r["sources"],
    }


def summary_markdown(result: WalkthroughResult) -> str:
    """The walkthrough's conclusion, laid out from the tool results it collected."""
    summary = result.summary
    if result.number == 1:
        return _top_three_markdown(summary)
    if result.number == 2:
        if "volumes" not in summary:
            return summary.get("note", "")
        return render.estimate_cost(
            {k: summary[k] for k in ("monthly_tokens", "options", "break_even", "assumptions")}
            | {"table": summary["volumes"], "cheapest": summary["cheapest_at_volume"]}
        )
    if "table" not in summary:
        return summary.get("note", "")
    return render.compare_benchmarks(
        {
            "benchmarks": [{"id": b, "name": b} for b in summary["benchmarks"]],
            "table": summary["table"],
            "changes": summary["changes"],
            "missing": summary["missing"],
            "sources": summary["sources"],
        }
    )


def _top_three_markdown(summary: dict) -> str:
    if not summary.get("top3"):
        return "The walkthrough did not reach a shortlist; see the conversation."
    parts = ["### Top three"]
    for rank, pick in enumerate(summary["top3"], 1):
        licence = pick["license"]
        conditions = f" ({'; '.join(licence['conditions'][:2])})" if licence["conditions"] else ""
        lines = [
            f"**{rank}. {pick['name']}** (score {pick['score']})",
            f"- fit: {pick['fit']['quantization']}, about {pick['fit']['memory_gb']} GB",
            f"- licence: {licence['name']}, {licence['verdict'].replace('_', ' ')}{conditions}",
            "- benchmarks: " + ", ".join(f"{name} {score}" for name, score in pick["benchmarks"].items()),
        ]
        if pick.get("cost"):
            lines.append(
                "- cost a month: "
                + "; ".join(f"{option['name']}: ${option['monthly_usd']:,}" for option in pick["cost"]["self_hosted"])
            )
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
