"""The offline driver: no LLM. It reads requirements from the text, asks for missing essentials, calls
the same tools through the same graph, and writes the answer from their results with templates.

It is deterministic, so it is also what the tests and the benchmarks drive.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from advisor import render
from advisor.nlu import Reading, read
from advisor.nlu.arguments import arguments, fields_used
from advisor.requirements import TRANSIENT, context_of, describe, merge

OFFLINE_NOTE = (
    "_Offline driver (no LLM): this answer is laid out by templates from tool results. For answers written by a "
    "local LLM, run `advisor serve --driver hf` on a CUDA GPU, or `--driver openai --base-url URL` for any "
    "OpenAI-compatible server._"
)
NEEDS_MODEL = ("license", "memory", "speed", "deploy", "info")
DEFAULT_MONTHLY_TOKENS = 10_000_000


def _text(msg: BaseMessage) -> str:
    return msg.content if isinstance(msg.content, str) else json.dumps(msg.content)


def _is_user(msg: BaseMessage) -> bool:
    return isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note")


def conversation_readings(messages: list[BaseMessage]) -> tuple[dict, list[Reading]]:
    """The requirements state after each user message, and each message's reading (in its context)."""
    req: dict = {}
    readings: list[Reading] = []
    for i, msg in enumerate(messages):
        if _is_user(msg):
            reading = read(_text(msg), context_of(messages[:i], req))
            readings.append(reading)
            req = merge(req, reading.fields)
    return req, readings


def conversation_requirements(messages: list[BaseMessage]) -> dict:
    return conversation_readings(messages)[0]


def _turn(messages: list[BaseMessage]) -> tuple[HumanMessage | None, list[BaseMessage]]:
    last_human = None
    idx = 0
    for i, msg in enumerate(messages):
        if _is_user(msg):
            last_human, idx = cast(HumanMessage, msg), i
    return last_human, messages[idx + 1 :] if last_human else []


def _results(turn: list[BaseMessage]) -> list[tuple[str, dict]]:
    out = []
    for msg in turn:
        if isinstance(msg, ToolMessage):
            try:
                out.append((msg.name or "", json.loads(_text(msg))))
            except json.JSONDecodeError:
                out.append((msg.name or "", {"error": {"message": _text(msg), "suggestions": []}}))
    return out


def _previous_recommendations(messages: list[BaseMessage]) -> list[dict]:
    """The recommendations of the latest select_models result in the whole conversation."""
    for msg in reversed(messages):
        if isinstance(msg, ToolMessage) and msg.name == "select_models":
            try:
                return json.loads(_text(msg)).get("recommendations", [])
            except (json.JSONDecodeError, AttributeError):
                return []
    return []


def _previous_shortlist(messages: list[BaseMessage]) -> list[str]:
    """Model ids of the latest select_models result in the whole conversation."""
    return [r["model"] for r in _previous_recommendations(messages)]


def _lineage_models(families: list[str], text: str) -> list[str]:
    """One model per mentioned family (or per family of a mentioned lineage), of comparable size, oldest first."""
    from tools.common import catalog

    cat = catalog()
    fams = list(families)
    if len(fams) == 1:
        lineage = cat.families[fams[0]].lineage
        fams = [f.id for f in cat.families.values() if f.lineage == lineage]
    m = re.search(r"(\d+(?:\.\d+)?)\s*b\b", text)
    target = float(m.group(1)) if m else None
    picks = []
    for fid in fams:
        models = [x for x in cat.family_models(fid) if x.benchmarks]
        if not models:
            continue
        best = min(models, key=lambda x: abs(x.params_b - (target if target is not None else 70)))
        picks.append(best)
    picks.sort(key=lambda x: x.release_date)
    return [p.id for p in picks]


class Planner:
    """Decides the next step of a turn from the messages so far."""

    def __init__(self, messages: list[BaseMessage]):
        self.messages = [m for m in messages if not isinstance(m, SystemMessage)]
        self.human, self.turn = _turn(self.messages)
        self.req, readings = conversation_readings(self.messages)
        self.reading: Reading | None = readings[-1] if readings and self.human is not None else None
        self.readings = readings
        self.text = self.reading.prepared if self.reading else ""
        self.latest = self.reading.fields if self.reading else {}
        self.done = _results(self.turn)
        self.called = {name for name, _ in self.done}
        self.counter = sum(1 for m in self.messages if isinstance(m, ToolMessage))

    @property
    def current(self) -> Reading:
        """The reading of the turn's message (the planner plans only turns that have one)."""
        assert self.reading is not None
        return self.reading

    # ------------------------------------------------------------ what the turn asks

    def previous_calls(self) -> list[Any]:
        """Tool calls of the previous turn (for follow-ups such as "and at 32k context?")."""
        humans = [i for i, m in enumerate(self.messages) if _is_user(m)]
        if len(humans) < 2:
            return []
        window = self.messages[humans[-2] + 1 : humans[-1]]
        return [c for m in window if isinstance(m, AIMessage) for c in m.tool_calls]

    def intents(self) -> list[str]:
        from advisor.nlu.intents import INTENT_OF

        r = self.reading
        asked = r.asked() if r else []
        if "help" in asked and len(asked) > 1:
            asked.remove("help")
        changes = {k for k in self.latest if k not in TRANSIENT}
        previous = list(dict.fromkeys(INTENT_OF[c["name"]] for c in self.previous_calls() if c["name"] in INTENT_OF))
        answering = not previous and len(self.readings) > 1 and self._previous_answer_asked()
        if answering:
            previous = [a for a in self.readings[-2].asked() if a != "help"]  # my last question is being answered
        followup = (
            answering
            or re.match(
                r"\s*(and|what about|how about|same (for|with)|now|ok|okay|also|then|and what about|try|what if|"
                r"instead|actually|sorry|hmm|but|assume|make (it|that)|with|at|for)\b",
                self.text,
            )
            or len(self.text.split()) <= 4
        )
        news = changes or (r and (r.models or r.reference))
        own_strong = any(self._own(a) for a in asked if a not in ("help", "info"))
        pointed = r is not None and (r.models or (r.reference and r.reference[0] != "last"))  # "the second one"
        if previous and news and changes and not pointed and not own_strong:
            followup = True  # "scrap that, it's a non-profit service": the facts changed, the question stands
        if previous and followup and news:
            own = [a for a in asked if a not in ("help", "info")]
            if not any(self._own(a) for a in own):
                asked = previous  # "and at 100M?", "what about qwen3 8b": the last question again
            else:
                asked = own  # a question of its own ("for these three, check the licence and the cost")
        elif not asked and previous and news:
            asked = previous
        return self._settled(asked, changes)

    def _settled(self, asked: list[str], changes: set[str]) -> list[str]:
        """What the message asks, once the rules for named models, devices, licences and comparisons have spoken."""
        r = self.reading
        if not asked and r and r.models and ({"gpu", "vram_gb", "num_gpus"} & changes):
            asked = ["recommend"]  # settled just below: a named model on a named device is a fit question
        if (
            asked == ["recommend"]
            and r
            and r.models
            and not re.search(
                r"\b(recommend\w*|suggest\w*|which (model|llm|one)|what (model|llm)|best|options?|alternatives?|"
                r"shortlist|pick|choose)\b",
                self.text,
            )
        ):
            asked = [
                "memory"
            ]  # "will gemma 4 e4b run on a device with 8 gigs?": a named model and a device is a fit question
        if (
            not asked
            and r
            and len(r.models) >= 2
            and re.search(r"\b(vs\.?|versus|or|compare\w*|better|against|than)\b", self.text)
        ):
            asked = ["compare"]  # "phi 4 versus llama 3.1 8b versus qwen3 8b"
        asked = self._licence_or_licences(asked)
        if not asked and changes & {
            "use_case",
            "gpu",
            "vram_gb",
            "commercial",
            "licenses",
            "min_context",
            "hardware",
            "proceed",
            "monthly_active_users",
            "languages",
            "needs_vision",
            "max_params_b",
        }:
            asked = ["recommend"]
        if "compare" in asked and len(self.focus()) < 2 and not (r and r.families) and not self._adds_to_comparison():
            asked.remove("compare")  # "compare the costs", "compare with GPT-4o": not a benchmark comparison
            if "cost" not in asked and (
                self.latest.get("api_models") or {"gpu_usd_per_hour", "utilization", "input_share"} & changes
            ):
                asked.append("cost")
        return asked

    def _licence_or_licences(self, asked: list[str]) -> list[str]:
        """One model's licence, or the list of licences: which the message asks for."""
        r = self.reading
        if "licenses" in asked and "license" in asked and not (r and r.models):
            asked.remove("license")  # "which licences allow commercial use": the list, not one model's licence
        if (
            asked == ["license"]
            and r
            and not r.models
            and not r.families
            and not r.reference
            and self.latest.get("licenses")
            and not self.focus()
        ):
            asked = ["licenses"]  # "is Apache 2.0 ok for commercial use?": about a licence, not a model
        if (
            asked == ["licenses"]
            and not self.latest.get("licenses")
            and re.search(r"\blicen[cs]e\b", self.text)
            and not re.search(r"\b(list|all|every|which|other)\b|licen[cs]es", self.text)
            and self.focus()
        ):
            asked = ["license"]  # "and the licence?" after a shortlist: the licence of the models in focus
        return asked

    def _own(self, intent: str) -> bool:
        """The message asks this itself: the classifier is sure, or the message names it ("what about its licence?")."""
        from advisor.nlu import OWN_CUES

        r = self.reading
        return r is not None and (
            r.scores.get(intent, 0) >= 0.85
            or bool(intent in OWN_CUES and r.scores.get(intent, 0) >= 0.2 and re.search(OWN_CUES[intent], self.text))
        )

    def _previous_answer_asked(self) -> bool:
        humans = [i for i, m in enumerate(self.messages) if _is_user(m)]
        if len(humans) < 2:
            return False
        window = self.messages[humans[-2] + 1 : humans[-1]]
        return any(isinstance(m, AIMessage) and m.additional_kwargs.get("advisor_question") for m in window)

    def _adds_to_comparison(self) -> bool:
        return bool(
            self.reading
            and self.reading.models
            and re.search(r"\b(add|also|include|plus|as well|too)\b", self.text)
            and any(c["name"] == "compare_benchmarks" for c in self.previous_calls())
        )

    def focus(self) -> list[str]:
        """The models the turn is about: named, referred to ("the second one", "it"), or the previous turn's."""
        r = self.reading
        if r and r.models:
            return r.models
        versioned = [m.id for m in r.mentions if m.kind == "family" and m.id and re.search(r"\d", m.text)] if r else []
        if versioned and not re.search(
            r"\b(compare|vs\.?|versus|improv\w*|progress\w*|evolution|versions?)\b", self.text
        ):
            return _family_representatives(
                versioned
            )  # "may we use Llama 3.3 outputs ...": one model stands for its family
        shortlist = _previous_shortlist(self.messages)
        ref = r.reference if r else None
        if ref and ref[0] == "ordinal" and shortlist:
            idx = ref[1]
            if -len(shortlist) <= idx < len(shortlist):
                return [shortlist[idx]]
        if ref and ref[0] == "top" and shortlist:
            return shortlist[: ref[1]]
        last = self.last_focus()
        if last:
            return last
        return shortlist[:1]

    def last_focus(self) -> list[str]:
        """Models of the most recent turn that had one (tool arguments, else names in the user's messages)."""
        for msg in reversed(self.messages[:-1] if self.done == [] else self.messages):
            if isinstance(msg, AIMessage):
                models: list[Any] = [c["args"].get("model") for c in msg.tool_calls if c["args"].get("model")]
                models += [m for c in msg.tool_calls for m in (c["args"].get("models") or [])]
                if models:
                    return list(dict.fromkeys(models))
        for reading in reversed(self.readings[:-1]):
            if reading.models:
                return reading.models
        return []

    # ------------------------------------------------------------ questions instead of answers

    def clarification(self, intents: list[str]) -> str | None:
        """One short question when the message names something unknown or ambiguous, contradicts itself, or
        asks about a model without naming one."""
        from tools.common import catalog

        cat = catalog()
        r = self.current
        for m in r.unclear:
            if m.kind == "model" and m.candidates:
                names = [cat.models[c].name for c in m.candidates[:5] if c in cat.models]
                return f'Which model do you mean by "{m.text}": {_or(names)}?'
            if m.kind == "model":
                close = [cat.models[c].name for c in m.suggestions[:4] if c in cat.models]
                hint = f" The closest I have: {', '.join(close)}." if close else ""
                return (
                    f'"{m.text}" is not in the catalog, so I cannot answer for it.{hint} '
                    "Which of these, or which other model, should I use?"
                )
            if m.kind == "gpu" and "vram_gb" not in self.req and not self.req.get("gpu"):
                close = [cat.gpus[c].name for c in m.suggestions[:4] if c in cat.gpus]
                hint = f" (close ones I know: {', '.join(close)})" if close else ""
                return f'The {m.text.upper()} is not in the catalog{hint}. How much memory does it have, e.g. "8 GB"?'
        if r.conflicts:
            return f"Your message says two things about {r.conflicts[0]}. Which one holds?"
        if intents and all(i in NEEDS_MODEL for i in intents) and not self.focus():
            what = {
                "license": "licence",
                "memory": "memory",
                "speed": "speed",
                "deploy": "deployment plan",
                "info": "details",
            }
            wanted = what[intents[0]]
            if r.families:  # "can I use gemma commercially?": which Gemma?
                lineage = cat.families[r.families[0]].lineage
                fams = sorted(
                    (f for f in cat.families.values() if f.lineage == lineage), key=lambda f: f.generation, reverse=True
                )
                return (
                    f"Which {lineage.title()} do you mean: {_or([f.name for f in fams[:5]])}? The {wanted} can "
                    "differ between versions."
                )
            return f'Which model should I check the {wanted} for? For example "Llama 3.1 8B" or "Qwen3 32B".'
        if "speed" in intents and not (self.req.get("gpu") or self.req.get("vram_gb")) and len(intents) == 1:
            return 'On which GPU (and how many)? Speed depends on the hardware, e.g. "one RTX 4090" or "2x H100".'
        return None

    # ------------------------------------------------------------ tool calls

    def call(self, name: str, args: dict) -> dict:
        self.counter += 1
        return {
            "name": name,
            "args": {k: v for k, v in args.items() if v is not None},
            "id": f"call_{self.counter}_{name}",
            "type": "tool_call",
        }

    def state(self, model: str | None = None) -> dict:
        """The requirement state for one call; the context clipped to the model's."""
        state = {k: v for k, v in self.req.items() if k not in TRANSIENT}
        if model and state.get("min_context"):
            from tools.common import catalog

            m = catalog().models.get(model)
            if m is not None:
                state["min_context"] = min(state["min_context"], m.context_length)
        return state

    def first_step(self) -> AIMessage:
        intents = self.intents()
        if not self.focus() and any(i not in NEEDS_MODEL for i in intents):
            intents = [i for i in intents if i not in NEEDS_MODEL]  # "list models that allow commercial use"
        question = self.clarification(intents)
        if question:
            return _question(question)
        calls = self.model_calls(intents)
        if not calls and (call := self.catalog_call(intents)) is not None:
            calls.append(call)
        r = self.req
        if "recommend" in intents and not calls:
            missing = [q for q in _essentials(r) if q[0] != "commercial"]
            if missing and not r.get("proceed"):
                return _question(self.questions(missing))
            calls.append(self.select_call())
        if calls:
            return AIMessage(content="", tool_calls=calls)
        return self.without_tools(intents)

    def model_calls(self, intents: list[str]) -> list[dict]:
        """The calls about the models in focus: comparison, licence, memory, speed, deployment, cost."""
        calls: list[dict] = []
        models = self.focus()
        r = self.req
        if "compare" in intents:
            ids = self.current.models or models
            if self.current.models and re.search(r"\b(add|also|include|plus|as well|too)\b", self.text):
                ids = list(dict.fromkeys(self.last_focus() + self.current.models))  # "now add gemma 2 9b"
            if len(ids) < 2 and self.current.families:
                ids = _lineage_models(self.current.families, self.text)
            if len(ids) >= 2:
                calls.append(
                    self.call("compare_benchmarks", arguments("compare_benchmarks", self.state(), models=ids[:8]))
                )
        if "license" in intents and models:
            for mid in models[:3]:
                calls.append(self.call("check_license", arguments("check_license", self.state(), model=mid)))
        if "memory" in intents and models:
            for mid in models[:2]:
                args = arguments("estimate_memory", self.state(mid), model=mid)
                if "quantization" not in args:
                    calls.append(self.call("estimate_memory", {**args, "quantization": "bf16"}))
                    calls.append(self.call("estimate_memory", {**args, "quantization": _low_bit(r)}))
                else:
                    calls.append(self.call("estimate_memory", args))
        if "speed" in intents and models and (r.get("gpu") or r.get("vram_gb")):
            calls.append(self.speed_call(models[0]))
        if "deploy" in intents and models:
            calls.append(
                self.call("plan_deployment", arguments("plan_deployment", self.state(models[0]), model=models[0]))
            )
        if "cost" in intents and "recommend" in intents and not self.current.models:
            pass  # the shortlist first; its top model is costed in the next round
        elif "cost" in intents and (not calls or len(models) > 1 or set(intents) - set(NEEDS_MODEL)):
            targets: list[str | None] = [*models[:3]] or [None]
            for target in targets:
                calls.append(self.cost_call(target))
        return calls

    def catalog_call(self, intents: list[str]) -> dict | None:
        """A call about the catalog (a model's facts, a search, the devices, the licences), when nothing else asks."""
        models = self.focus()
        if "info" in intents and models:
            return self.call("get_model", {"model": models[0]})
        if "search" in intents:
            return self.search_call()
        if "gpus" in intents:
            return self.call("list_gpus", arguments("list_gpus", self.state()))
        if "licenses" in intents:
            return self.call("list_licenses", {})
        return None

    def without_tools(self, intents: list[str]) -> AIMessage:
        """A turn that calls no tool: the shortlist when the message only gave requirements, a question for the
        essentials, or the greeting."""
        r = self.req
        if not intents and any(k in self.latest for k in ("use_case", "gpu", "vram_gb", "commercial")):
            missing = _essentials(r)
            if missing and not r.get("proceed"):
                return _question(self.questions(missing))
            return AIMessage(content="", tool_calls=[self.select_call()])
        if "help" in intents or not intents:
            if (
                not self.req
                and len(self.text) < 40
                and re.search(r"model|llm|need|help|recommend|which|best", self.text)
            ):
                return _question(self.questions(_essentials(r)))
            return self.static(self.greeting())
        return self.static(self.greeting())

    @staticmethod
    def static(text: str) -> AIMessage:
        """Fixed help text (its example prompts hold numbers that are not figures)."""
        return AIMessage(content=text, additional_kwargs={"advisor_static": True})

    def speed_call(self, model: str) -> dict:
        from tools.common import catalog

        r = self.req
        args = arguments("estimate_throughput", self.state(model), model=model)
        g = catalog().gpus.get(r.get("gpu") or "")
        datacenter = g is not None and g.segment in ("datacenter", "workstation")
        args.setdefault("quantization", "bf16" if datacenter else _low_bit(r))
        if "engine" not in args and datacenter and args["quantization"] in ("bf16", "fp16", "fp8", "awq", "gptq"):
            args["engine"] = "vllm"
        return self.call("estimate_throughput", args)

    def search_call(self) -> dict:
        r = self.current
        fixed = {}
        if r.families:
            fixed["family"] = r.families[0]
        if self.req.get("licenses") and self.req["licenses"] != ["permissive"]:
            fixed["license"] = self.req["licenses"][0]
        if self.req.get("use_case") in (
            "code",
            "math",
            "reasoning",
            "multilingual",
            "long_context",
            "edge",
            "tool_use",
            "chat",
        ):
            fixed["specialty"] = self.req["use_case"]
        elif self.req.get("needs_vision"):
            fixed["specialty"] = "vision"
        return self.call("find_models", arguments("find_models", self.state(), **fixed))

    def select_call(self) -> dict:
        r = self.req
        fixed = {"top_k": self.latest.get("top_k") or (3 if r.get("use_case") == "customer_service" else 5)}
        if r.get("hardware") == "apple" and r.get("vram_gb"):
            fixed["unified_memory"] = True
        return self.call("select_models", arguments("select_models", self.state(), **fixed))

    def cost_call(self, model: str | None) -> dict:
        r = self.req
        state = self.state()
        state.setdefault("monthly_tokens", DEFAULT_MONTHLY_TOKENS)
        args = arguments("estimate_cost", state, model=model)
        if "quantization" not in args:
            quant = "q4_k_m" if r.get("gpu") else "bf16"
            if model and r.get("gpu"):
                # the format the shortlist chose for this model on the user's GPU, if there is one
                for rec in _previous_recommendations(self.messages):
                    if rec.get("model") == model:
                        quant = rec.get("quantization", quant)
            args["quantization"] = quant
        return self.call("estimate_cost", args)

    def follow_up(self) -> AIMessage | None:
        """One more round of calls after the first results, where the question needs it."""
        results = dict(self.done)
        if "select_models" in results and "estimate_cost" not in self.called:
            recs = results["select_models"].get("recommendations") or []
            if recs and ("cost" in self.intents() or "monthly_tokens" in self.latest):
                call = self.cost_call(recs[0]["model"])
                if "quantization" not in self.req:
                    call["args"]["quantization"] = recs[0]["quantization"] if self.req.get("gpu") else "bf16"
                return AIMessage(content="", tool_calls=[call])
        return None

    # ------------------------------------------------------------ the answer

    def understood(self) -> str:
        """One line: the constraints the tool calls used, as the user gave them."""
        from tools.common import catalog

        cat = catalog()
        calls = [c for m in self.turn if isinstance(m, AIMessage) for c in m.tool_calls]
        # a model this turn's shortlist chose (and a cost call then priced) is an answer, not something understood
        named = set(self.reading.models) if self.reading and self.reading.models else set()
        chosen = {
            r.get("model")
            for name, result in _results(self.turn)
            if name == "select_models"
            for r in result.get("recommendations") or []
        } - named
        models: list[str] = []
        fields: list[str] = []
        for c in calls:
            args = c.get("args") or {}
            for mid in [args.get("model"), *(args.get("models") or [])]:
                if mid and mid not in models and mid not in chosen:
                    models.append(mid)
            for f in fields_used(c["name"], args):
                if f not in fields and f in self.req:
                    fields.append(f)
        parts = [cat.models[m].name if m in cat.models else str(m) for m in models]
        state = {k: self.req[k] for k in fields if k not in ("unified_memory",)}
        if "num_gpus" in state and "gpu" in state:
            gpu = cat.gpus[state.pop("gpu")].name if state.get("gpu") in cat.gpus else state.pop("gpu")
            parts.append(f"{state.pop('num_gpus')} x {gpu}")
        parts += describe(state)
        if any(c["name"] == "estimate_cost" for c in calls) and "monthly_tokens" not in self.req:
            parts.append("volume assumed: 10M tokens a month (tell me yours)")
        return "Understood: " + "; ".join(parts) + "." if parts else ""

    def answer(self) -> AIMessage:
        parts = []
        line = self.understood()
        if line:
            parts.append(line)
        for name, result in self.done:
            text = render.render(name, result)
            if text:
                parts.append(text)
        missing = _essentials(self.req)
        if "select_models" in self.called and missing and not self.req.get("proceed"):
            parts.append(self.questions(missing, after_shortlist=True))
        parts.append(OFFLINE_NOTE)
        return AIMessage(content="\n\n".join(parts))

    def questions(self, missing: list[tuple[str, str]], after_shortlist: bool = False) -> str:
        known = describe({k: v for k, v in self.req.items() if k not in TRANSIENT})
        head = (
            "To sharpen this shortlist, tell me:"
            if after_shortlist
            else "Before I recommend models, two quick questions:"
            if len(missing) > 1
            else "One quick question first:"
        )
        qs = "\n".join(f"- {q}" for _, q in missing[:2])
        so_far = f"\n\nSo far I have: {'; '.join(known)}." if known and not after_shortlist else ""
        tail = "" if after_shortlist else '\n\nOr say "just recommend" and I will assume what is missing.'
        return f"{head}\n{qs}{so_far}{tail}"

    def greeting(self) -> str:
        return (
            "I help you choose an open-weight LLM and plan its deployment. Tell me what you need, for example:\n"
            '- "We have one RTX 4090 and need a commercially usable coding model"\n'
            '- "Can I use Llama 3.1 70B commercially with 2M monthly users?"\n'
            '- "How much memory does Qwen2.5 32B need at 32k context?"\n'
            '- "What would 10M tokens a month cost on an API versus self-hosting?"\n'
            '- "Compare Llama 2, 3 and 3.1 on benchmarks"\n\n' + OFFLINE_NOTE
        )

    def step(self) -> AIMessage:
        if self.human is None:
            return self.static(self.greeting())
        if not self.done:
            return self.first_step()
        more = self.follow_up()
        return more if more is not None else self.answer()


def _question(text: str) -> AIMessage:
    """A question back to the user. Its figures are the user's own and catalog names, so it is not a figure check's
    business (like the greeting); the flag also tells the next turn that it answers a question."""
    return AIMessage(content=text, additional_kwargs={"advisor_question": True, "advisor_static": True})


def _family_representatives(families: list[str]) -> list[str]:
    """The largest model of each named family (a family shares its licence; sizes differ only in figures)."""
    from tools.common import catalog

    cat = catalog()
    out = []
    for fid in families:
        models = cat.family_models(fid)
        if models:
            out.append(max(models, key=lambda m: (m.params_b, m.id)).id)
    return out


def _essentials(req: dict) -> list[tuple[str, str]]:
    from advisor.requirements import missing_essentials

    missing = missing_essentials(req)
    if req.get("needs_vision") or req.get("languages"):
        missing = [m for m in missing if m[0] != "use_case"]  # "screenshots", "Japanese and Korean" say what it is for
    return missing


def _low_bit(req: dict) -> str:
    """The usual 4-bit format for the hardware and engine in use."""
    from tools.common import catalog

    ids = catalog().quantizations
    if req.get("engine") == "mlx" or req.get("hardware") == "apple":
        return "mlx_4bit" if "mlx_4bit" in ids and req.get("engine") == "mlx" else "q4_k_m"
    if req.get("engine") in ("vllm", "sglang", "tensorrt-llm"):
        return "awq"
    return "q4_k_m"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class OfflineChatModel(BaseChatModel):
    """A LangChain chat model with no LLM behind it: the Planner above decides each step."""

    @property
    def _llm_type(self) -> str:
        return "advisor-offline"

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=Planner(messages).step())])
