"""One message read against the conversation's working memory (advisor/memory.py): what it asks, what it is about,
what it changes, and whether the advisor should ask something back first.

    >>> turn, fields = understand("and its licence?", memory)       # memory: the graph state without the messages
    >>> turn["intents"], turn["models"]
    (['license'], ['qwen3-32b'])

The graph's intake node calls :func:`understand` once per user message; every driver gets the result (the offline
planner plans from it, the LLM drivers read it in their prompt). The words the policy uses live in
``data/policy.yaml`` beside the classifier's training data; the classifier's labels decide what a message asks.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from advisor.memory import Analysis, Turn, focus_of
from advisor.nlu import Reading, read
from advisor.nlu.policy import form, objective, policy
from advisor.render import code_span
from advisor.requirements import TRANSIENT, merge

NEEDS_MODEL = ("license", "memory", "speed", "deploy", "info")
# facts a what-if changes that decide whether the model in focus fits, when no earlier analysis took them
FIT_FACTS = {"min_context", "quantization", "gpu", "vram_gb", "num_gpus", "kv_cache_dtype"}
# requirement fields that say what the user needs: a message stating one with no question of its own asks for a
# shortlist
SHORTLIST_FIELDS = (
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
)


def context_for(memory: dict) -> dict:
    """What the message is read against: the requirements so far and the previous turn's tool calls."""
    req = {k: v for k, v in (memory.get("requirements") or {}).items() if k not in TRANSIENT}
    number = (memory.get("turn") or {}).get("number", 0)
    analyses = memory.get("analyses") or []
    previous = analyses[-1] if analyses and analyses[-1].get("turn") == number else None
    calls = previous.get("calls", []) if previous else []
    tools = [c["name"] for c in calls]
    args = [c.get("args") or {} for c in calls]
    return {"requirements": req, "previous_tools": tools, "previous_args": args} if (req or tools) else {}


class Understanding:
    """The decisions about one message, made once at intake."""

    def __init__(self, text: str, memory: dict):
        self.memory = memory
        self.before = {k: v for k, v in (memory.get("requirements") or {}).items() if k not in TRANSIENT}
        self.reading: Reading = read(text, context_for(memory))
        self.req = merge(self.before, self.reading.fields)
        self.text = self.reading.prepared
        self.latest = self.reading.fields
        self.number = (memory.get("turn") or {}).get("number", 0) + 1
        self.shortlist = [r.get("model") for r in (memory.get("shortlist") or []) if r.get("model")]
        analyses = memory.get("analyses") or []
        self.previous_calls = (
            analyses[-1].get("calls", []) if analyses and analyses[-1].get("turn") == self.number - 1 else []
        )
        self._name_in_context()
        self._family_variant()
        self.question = memory.get("open_question")
        if self.question and self.question.get("kind") == "which_device" and not self.latest.get("gpu"):
            self._device_answer(self.question.get("options") or [])
        self.analyses: list[Analysis] = list(memory.get("analyses") or [])
        self.move = "answer" if self.question is not None and not self.previous_calls else "ask"
        self.objective: str | None = None
        self.target: Analysis | None = None

    def _name_in_context(self) -> None:
        """A model named by what tells it from the models in focus ("and 4.7?", "the 0528 one", "super?"): resolved
        within their lineages (entities.Linker.in_context) and read as if the message had named it."""
        from advisor.nlu.entities import Mention, linker

        r = self.reading
        if r.models or r.reference or r.unclear:
            return
        focus = list((self.memory.get("focus") or {}).get("models") or [])
        if not focus:
            return
        taken = [(m.start, m.end) for m in r.mentions if m.kind != "family"]
        taken += [(q.start, q.end) for q in r.quantities if q.kind != "count"]
        hit = linker().in_context(r.prepared, taken, focus)
        if hit is None:
            return
        model, start, end = hit
        one_word = len(r.prepared[start:end].split()) < 2
        called = re.search(r"\bthe\s+(\S+\s+){1,3}(1|version|variant|model)\b", r.prepared)
        if "use_case" in self.latest and one_word and not called:
            return  # "and for math?" is a use case, not Qwen2.5-Math; "the reasoning one" is a name
        self.latest.pop("use_case", None)
        r.mentions = [m for m in r.mentions if m.kind != "family"] + [
            Mention("model", r.prepared[start:end], start, end, id=model)
        ]
        self.latest["mentioned_models"] = [model]
        self.latest.pop("mentioned_families", None)
        self.req = merge(self.before, self.latest)

    def _family_variant(self) -> None:
        """ "devstral small", "magistral small": a family named with a variant word and no version. When every
        model of the lineage with that word has the same size and licence, the newest answers and the others are
        named in the Understood line; when they differ, the question asks which (clarification)."""
        from advisor.nlu.entities import Mention, _tokens, linker
        from tools.common import catalog

        r = self.reading
        fams = [m for m in r.mentions if m.kind == "family" and m.id]
        if r.models or len(fams) != 1:
            return
        cat = catalog()
        family = fams[0].id or ""
        lineage = cat.families[family].lineage
        pool = [
            s
            for s in linker().shapes
            if s.id in cat.models and cat.families[cat.models[s.id].family].lineage == lineage
        ]
        vocab = set().union(*(s.words for s in pool)) if pool else set()
        after = [t for t, _, _ in _tokens(r.prepared[fams[0].end : fams[0].end + 30])][:3]
        words = set()
        for t in after:
            if t not in vocab or t[0].isdigit():
                break
            words.add(t)
        if words:
            models = [cat.models[s.id] for s in pool if words <= s.words]
        elif fams[0].text.strip().lower() != lineage:  # "magistral small" is the family's own name; "devstral" no
            models = list(cat.family_models(family))
        else:
            return
        if len(models) < 2 or len({(m.params_b, m.license) for m in models}) != 1:
            return
        models.sort(key=lambda m: m.release_date, reverse=True)
        newest = models[0]
        r.mentions = [m for m in r.mentions if m is not fams[0]] + [
            Mention("model", fams[0].text, fams[0].start, fams[0].end, id=newest.id)
        ]
        self.latest.pop("mentioned_families", None)
        self.latest["mentioned_models"] = [newest.id]
        others = ", ".join(m.name for m in models[1:])
        self.latest["derived"] = [
            *(self.latest.get("derived") or []),
            f"{newest.name}, the newest of its name; {others} have the same size and licence",
        ]

    def _device_answer(self, options: list[str]) -> None:
        """The answer to "which Jetson Orin do you mean?": the option with the memory stated ("the 64GB one") or
        the one counted ("the second")."""
        from advisor.nlu.slots import _gib
        from tools.common import catalog

        cat = catalog()
        devices = [cat.gpus[o] for o in options if o in cat.gpus]
        size = self.latest.get("vram_gb") or next(
            (q.value for q in self.reading.quantities if q.kind == "memory_gb"), None
        )
        chosen = [d for d in devices if size is not None and abs(_gib(d) - size) <= 0.5]
        ref = self.reading.reference
        if not chosen and ref and ref[0] == "ordinal" and -len(devices) <= ref[1] < len(devices):
            chosen = [devices[ref[1]]]
        if len(chosen) != 1:
            return
        for key in ("vram_gb", "unified_memory", "hardware", "device_class", "memory_bandwidth_gbps"):
            self.latest.pop(key, None)
        self.latest["gpu"] = chosen[0].id
        self.req = merge(self.before, self.latest)

    # ------------------------------------------------------------ what the message asks

    def intents(self) -> list[str]:
        r = self.reading
        asked = r.asked()
        if "help" in asked and len(asked) > 1:
            asked.remove("help")
        changes = {k for k in self.latest if k not in TRANSIENT}
        floor = policy()["move_floor"]
        whatif = r.scores.get("whatif", 0.0) >= floor
        alt = r.scores.get("alternative", 0.0)
        # "v3.2 exp too", "alternatively we buy 4 L40S": a model or a fact and no objective is not an alternative
        alternative = (
            alt >= floor
            and bool(self.analyses or self.shortlist)
            and not ((r.models or changes) and not objective(self.text))
        )
        own_strong = any(self._own(a) for a in asked if a not in ("help", "info"))
        if alternative and alt >= max([r.scores.get(a, 0.0) for a in asked], default=0.0):
            return self._alternative(changes)
        if self._adds_to_comparison() and not any(self._own(a) for a in asked if a not in ("compare", "help", "info")):
            return ["compare"]  # "throw in qwen3 14b as well" after a comparison: it joins the comparison
        self.target = self._target(changes, whatif)
        previous = _intents_of(self.target)
        answering = not self.previous_calls and self.number > 1 and self.question is not None
        if answering:
            previous = [a for a in (self.question or {}).get("intents", []) if a != "help"]
            self.target = None
        followup = answering or whatif or form("followup_start", self.text) or len(self.text.split()) <= 4
        news = changes or (r.models or r.reference)
        pointed = r.models or (r.reference and r.reference[0] != "last")  # "the second one"
        if previous and news and changes and not pointed and not own_strong:
            followup = True  # "scrap that, it's a non-profit service": the facts changed, the question stands
        if previous and followup and news:
            own = [a for a in asked if a not in ("help", "info")]
            if not any(self._own(a) for a in own) or set(own) <= set(previous):
                asked = previous  # "and at 100M?", "what about qwen3 8b": the earlier question again
                self.move = "answer" if answering else "whatif"
            else:
                asked = own  # a question of its own ("for these three, check the licence and the cost")
                self.target = None
        elif not asked and previous and news:
            asked = previous
            self.move = "answer" if answering else "whatif"
        else:
            self.target = None
        if whatif and not previous and changes & FIT_FACTS and self._focus and not self._own_question(asked):
            asked, self.move = ["memory"], "whatif"  # "what if we need 128k?" after a licence answer: does it fit
        return self._settled(asked, changes)

    def _own_question(self, asked: list[str]) -> bool:
        return any(self._own(a) for a in asked if a not in ("help", "info"))

    def _target(self, changes: set[str], whatif: bool) -> Analysis | None:
        """The analysis a change re-runs: the latest whose tools take a changed fact (a context length re-runs the
        shortlist, not the licence check asked since); the previous turn's when none does."""
        if not self.analyses:
            return None
        last = self.analyses[-1]
        recent = last.get("turn") == self.number - 1
        if not recent and not whatif:
            return None
        r = self.reading
        facts = set(changes) - {"derived", "usage", "proceed"}
        if r.models or (r.reference and r.reference[0] != "last"):
            facts.add("model")
        if facts:
            for analysis in reversed(self.analyses):
                calls = analysis.get("calls", [])
                if "model" in facts and not any(_takes(c["name"], "model") for c in calls):
                    continue  # "the second one", "and for qwen3 8b": an analysis of a model, not a shortlist
                if any(_takes(c["name"], f) for c in calls for f in facts):
                    return analysis
            if "model" in facts or not whatif or facts & FIT_FACTS:
                return None  # no analysis takes what changed: the message asks something of its own
        return last if recent else None

    def _alternative(self, changes: set[str]) -> list[str]:
        """ "anything cheaper?", "one with a cleaner licence?": the candidates again, chosen by that objective; the
        earlier cost or speed question is asked again of the new pick."""
        self.move = "alternative"
        self.objective = objective(self.text) or "better"
        last = self.analyses[-1] if self.analyses else None
        self.target = last
        previous = _intents_of(last)
        asked = ["recommend"]
        if self.objective in ("cheaper", "better", "licence") and "cost" in previous:
            asked.append("cost")
        if self.objective == "faster" and "speed" in previous:
            asked.append("speed")
        return asked

    def _settled(self, asked: list[str], changes: set[str]) -> list[str]:
        """What the message asks, once named models, devices, licences and comparisons have spoken."""
        r = self.reading
        if not asked and r.models and ({"gpu", "vram_gb", "num_gpus"} & changes):
            asked = ["recommend"]  # settled just below: a named model on a named device is a fit question
        if asked == ["recommend"] and r.models and not form("shortlist_words", self.text):
            asked = ["memory"]  # "will gemma 4 e4b run on a device with 8 gigs?": a fit question
        if not asked and len(r.models) >= 2 and form("comparison_words", self.text):
            asked = ["compare"]  # "phi 4 versus llama 3.1 8b versus qwen3 8b"
        if "recommend" in asked and len(asked) > 1 and r.reference == ("last",) and not r.models and self.focus():
            asked.remove("recommend")  # "can I use it for a paid bot": about the model in focus, not a new shortlist
        asked = self._licence_or_licences(asked)
        if not asked and changes & set(SHORTLIST_FIELDS):
            asked = ["recommend"]
        if "compare" in asked and len(self.focus()) < 2 and not r.families and not self._adds_to_comparison():
            asked.remove("compare")  # "compare the costs", "compare with GPT-4o": not a benchmark comparison
            if "cost" not in asked and (
                self.latest.get("api_models") or {"gpu_usd_per_hour", "utilization", "input_share"} & changes
            ):
                asked.append("cost")
        return asked

    def _licence_or_licences(self, asked: list[str]) -> list[str]:
        """One model's licence, or the list of licences: which the message asks for."""
        r = self.reading
        if "licenses" in asked and "license" in asked and not r.models:
            asked.remove("license")  # "which licences allow commercial use": the list, not one model's licence
        if (
            asked == ["license"]
            and not r.models
            and not r.families
            and not r.reference
            and self.latest.get("licenses")
            and not self.focus()
        ):
            asked = ["licenses"]  # "is Apache 2.0 ok for commercial use?": about a licence, not a model
        if asked == ["license"] and not (r.models or r.families or r.reference) and not self.focus():
            if re.search(r"\b(which|what)\s+licen[cs]es\b", self.text):
                asked = ["licenses"]  # "which licences let me use a model commercially?": the list, no model named
        if (
            asked == ["licenses"]
            and not self.latest.get("licenses")
            and form("licence_word", self.text)
            and not form("listing_words", self.text)
            and self.focus()
        ):
            asked = ["license"]  # "and the licence?" after a shortlist: the licence of the models in focus
        return asked

    def _own(self, intent: str) -> bool:
        """The message asks this itself: the classifier is sure, or the message names it ("what about its licence?")."""
        p = policy()
        r = self.reading
        score = r.scores.get(intent, 0)
        words = p["own_cues"].get(intent)
        return score >= p["own_sure"] or bool(words is not None and score >= p["own_floor"] and words.search(self.text))

    def _adds_to_comparison(self) -> bool:
        return bool(
            self.reading.models
            and form("addition_words", self.text)
            and any(c["name"] == "compare_benchmarks" for c in self.previous_calls)
        )

    # ------------------------------------------------------------ what the message is about

    @functools.cached_property
    def _focus(self) -> list[str]:
        r = self.reading
        if r.models:
            return r.models
        versioned = [m.id for m in r.mentions if m.kind == "family" and m.id and re.search(r"\d", m.text)]
        if versioned and not form("versions_words", self.text):
            return family_representatives(versioned)  # "may we use Llama 3.3 outputs ...": one model stands for it
        shortlist = self.shortlist
        ref = r.reference
        if ref and ref[0] == "ordinal" and shortlist:
            idx = ref[1]
            if -len(shortlist) <= idx < len(shortlist):
                return [shortlist[idx]]
        if ref and ref[0] == "top" and shortlist:
            return shortlist[: ref[1]]
        if ref and ref[0] == "top" and ref[1] >= 2:
            recent = self._recent_models()
            if len(recent) >= 2:
                return recent[: ref[1]][::-1]  # "compare those two" with no shortlist: the models discussed last
        last = list((self.memory.get("focus") or {}).get("models") or [])
        named = list((self.memory.get("turn") or {}).get("named") or [])
        if len(last) > 1 and named and named[-1] in last and re.search(r"\b(that|this) (one|model)\b", self.text):
            return [named[-1]]  # "that one" after "add the 26b gemma" to a comparison: the model just named
        if last:
            return last
        return shortlist[:1]

    def _recent_models(self) -> list[str]:
        """The models the earlier analyses were about, newest first."""
        out: list[str] = []
        for analysis in reversed(self.analyses):
            for c in reversed(analysis.get("calls") or []):
                args = c.get("args") or {}
                out += [m for m in [args.get("model"), *(args.get("models") or [])][::-1] if m and m not in out]
        return out

    def focus(self) -> list[str]:
        """The models the message is about: named, referred to ("the second one", "it"), those of an earlier analysis
        it re-runs, or those in focus."""
        if (
            self.target is not None
            and self.target.get("turn") != self.number - 1
            and not self.reading.models
            and not self.reading.reference
        ):
            return focus_of([self.target]) or self._focus
        return self._focus

    def comparison(self, intents: list[str]) -> list[str]:
        if "compare" not in intents:
            return []
        r = self.reading
        ids = r.models or self.focus()
        if r.models and form("addition_words", self.text):
            last = list((self.memory.get("focus") or {}).get("models") or [])
            ids = list(dict.fromkeys(last + r.models))  # "now add gemma 2 9b"
        if len(ids) < 2 and r.families:
            ids = lineage_models(r.families, self.text)
        return ids[:8]

    # ------------------------------------------------------------ questions instead of answers

    def clarification(self, intents: list[str]) -> tuple[str, str, list[str]] | None:
        """One short question (text, kind, options) when the message names something unknown or ambiguous,
        contradicts itself, or asks about a model without naming one."""
        r = self.reading
        for m in r.unclear:
            if (question := self._unclear_question(m)) is not None:
                return question
        if r.conflicts:
            return f"Your message says two things about {r.conflicts[0]}. Which one holds?", "conflict", []
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
                return self._family_question(r.families[0], wanted)
            return (
                f'Which model should I check the {wanted} for? For example "Llama 3.1 8B" or "Qwen3 32B".',
                "model_for",
                [],
            )
        if (
            "speed" in intents
            and self.req.get("vram_gb")
            and not self.req.get("gpu")
            and not self.req.get("memory_bandwidth_gbps")
            and (self.req.get("device_class") == "cpu" or self.req.get("unified_memory"))
            and not self._family_bandwidth()
        ):
            device = "the server's RAM" if self.req.get("device_class") == "cpu" else "its memory"
            return (
                f"How fast is {device}? Speed follows memory bandwidth: give its memory channels and type, e.g. "
                '"8 channels of DDR5" or "12 channels of DDR4-3200", or its bandwidth in GB/s.',
                "which_bandwidth",
                [],
            )
        if "speed" in intents and not (self.req.get("gpu") or self.req.get("vram_gb")) and len(intents) == 1:
            return (
                'On which GPU (and how many)? Speed depends on the hardware, e.g. "one RTX 4090" or "2x H100".',
                "which_device",
                [],
            )
        return None

    def _family_question(self, family: str, wanted: str) -> tuple[str, str, list[str]]:
        """Which version of a family: the lineage's families, or one family's models (at least two options)."""
        from tools.common import catalog

        cat = catalog()
        lineage = cat.families[family].lineage
        fams = sorted(
            (f for f in cat.families.values() if f.lineage == lineage), key=lambda f: f.generation, reverse=True
        )
        if len(fams) == 1:  # one family: its models are the options
            models = sorted(cat.family_models(fams[0].id), key=lambda m: m.release_date, reverse=True)[:5]
            return (
                f"Which {fams[0].name} do you mean: {_or([m.name for m in models])}? The {wanted} can differ between "
                "them.",
                "which_model",
                [m.id for m in models],
            )
        return (
            f"Which {lineage.title()} do you mean: {_or([f.name for f in fams[:5]])}? The {wanted} can "
            "differ between versions.",
            "which_model",
            [f.id for f in fams[:5]],
        )

    def _family_bandwidth(self) -> bool:
        """A CPU server named by its family ("a dual Xeon box") with no channels stated: the bandwidth of the catalog's
        slowest single-socket server of that family, as a default said in the Understood line with the others."""
        from tools.common import catalog

        family = self.req.get("cpu_family")
        if not family or self.req.get("device_class") != "cpu":
            return False
        servers = sorted(
            (
                g
                for g in catalog().gpus.values()
                if g.segment == "cpu" and family in g.name.lower() and g.memory_bandwidth_gbps
            ),
            key=lambda g: g.memory_bandwidth_gbps or 0,
        )
        one = [g for g in servers if "single-socket" in g.name.lower()] or servers
        if not one:
            return False
        pick = one[0]
        others = [g for g in one if g.id != pick.id]
        bw = pick.memory_bandwidth_gbps
        note = f"memory bandwidth not stated: assumed {bw:g} GB/s, that of the {pick.name}"
        if others:
            note += f" (the {others[-1].name} has {others[-1].memory_bandwidth_gbps:g})"
        note += '; say its channels and type ("8 channels of DDR5") for yours'
        self.req["memory_bandwidth_gbps"] = bw
        self.latest["memory_bandwidth_gbps"] = bw
        self.latest["derived"] = [*(self.latest.get("derived") or []), note]
        return True

    def _unclear_question(self, m) -> tuple[str, str, list[str]] | None:
        """The question for a name the message used that the catalog does not hold, or holds more than once."""
        from tools.common import catalog

        cat = catalog()
        if m.kind == "model" and m.candidates:
            names = [cat.models[c].name for c in m.candidates[:5] if c in cat.models]
            return f"Which model do you mean by {code_span(m.text)}: {_or(names)}?", "which_model", m.candidates[:5]
        if m.kind == "model":
            close = [cat.models[c].name for c in m.suggestions[:4] if c in cat.models]
            hint = f" The closest I have: {', '.join(close)}." if close else ""
            return (
                f"{code_span(m.text)} is not in the catalog, so I cannot answer for it.{hint} "
                "Which of these, or which other model, should I use?",
                "which_model",
                m.suggestions[:4],
            )
        if m.kind == "gpu" and m.candidates and not (self.req.get("gpu") or self.req.get("vram_gb")):
            names = [cat.gpus[c].name for c in m.candidates[:5] if c in cat.gpus]
            return (
                f"Which {code_span(m.text)} do you mean: {_or(names)}? Their memory differs, and with it what fits.",
                "which_device",
                m.candidates[:5],
            )
        if m.kind == "gpu" and "vram_gb" not in self.req and not self.req.get("gpu"):
            close = [cat.gpus[c].name for c in m.suggestions[:4] if c in cat.gpus]
            hint = f" (close ones I know: {', '.join(close)})" if close else ""
            return (
                f"The {code_span(m.text.upper())} is not in the catalog{hint}. "
                'How much memory does it have, e.g. "8 GB"?',
                "which_device",
                m.suggestions[:4],
            )
        return None

    # ------------------------------------------------------------ the result

    def turn(self) -> Turn:
        intents = self.intents()
        if not self.focus() and any(i not in NEEDS_MODEL for i in intents):
            intents = [i for i in intents if i not in NEEDS_MODEL]  # "list models that allow commercial use"
        asked = self.clarification(intents)
        changes = [k for k, v in self.latest.items() if k not in TRANSIENT and self.before.get(k) != v]
        turn: Turn = {
            "number": self.number,
            "intents": intents,
            "move": self.move,
            "objective": self.objective,
            "models": self.focus(),
            "named": self.reading.models,
            "compare": self.comparison(intents),
            "families": self.reading.families,
            "stated": {k: v for k, v in self.latest.items() if k not in TRANSIENT},
            "changes": changes,
            "derived": list(self.latest.get("derived") or []),
            "both": {k: list(v) for k, v in (self.latest.get("both") or {}).items()},
            "several": any(m.kind == "gpu" and m.plural for m in self.reading.mentions),  # "H200s", no count
            "question": asked[0] if asked else None,
            "question_kind": asked[1] if asked else None,
            "options": asked[2] if asked else [],
        }
        if "top_k" in self.latest:
            turn["stated"]["top_k"] = self.latest["top_k"]
        if self.target is not None and self.move in ("whatif", "alternative"):
            turn["rerun"] = list(self.target.get("calls") or [])
            turn["before"] = list(self.target.get("digest") or [])
        if not intents and self._help_request():
            turn["move"] = "chat"
        return turn

    def _help_request(self) -> bool:
        return not self.req and len(self.text) < 40 and form("help_request", self.text)


def understand(text: str, memory: dict) -> tuple[Turn, dict]:
    """The message understood against the memory, and the requirement fields it states (for the state's merge)."""
    u = Understanding(text, memory)
    turn = u.turn()
    fields = u.reading.fields
    if turn.get("objective") == "licence" and not u.req.get("licenses"):
        fields = {**fields, "licenses": ["permissive"]}  # "a cleaner licence": a permissive one
        turn["stated"]["licenses"] = ["permissive"]
    return turn, fields


def _intents_of(analysis: Analysis | None) -> list[str]:
    from advisor.nlu.intents import INTENT_OF

    calls = (analysis or {}).get("calls") or []
    return [a for a in dict.fromkeys(INTENT_OF.get(c["name"], "") for c in calls) if a]


def _takes(tool: str, fact: str) -> bool:
    """Whether a tool takes this fact: a model, or a requirement field (advisor/nlu/arguments.py)."""
    from advisor.nlu.arguments import argument_for, schema_properties

    if fact == "model":
        props = schema_properties(tool)
        return "model" in props or "models" in props
    return argument_for(fact, tool) is not None


# ------------------------------------------------------------ catalog helpers


def family_representatives(families: list[str]) -> list[str]:
    """The largest model of each named family (a family shares its licence; sizes differ only in figures)."""
    from tools.common import catalog

    cat = catalog()
    out = []
    for fid in families:
        models = cat.family_models(fid)
        if models:
            out.append(max(models, key=lambda m: (m.params_b, m.id)).id)
    return out


def lineage_models(families: list[str], text: str) -> list[str]:
    """One model per mentioned family (or per family of a mentioned lineage), of comparable size, oldest first."""
    from tools.common import catalog

    cat = catalog()
    fams = list(families)
    if len(fams) == 1:
        lineage = cat.families[fams[0]].lineage
        fams = [f.id for f in cat.families.values() if f.lineage == lineage]
    m = re.search(r"(\d+(?:\.\d+)?)\s*b\b", text)
    target = float(m.group(1)) if m else None
    picks: list[Any] = []
    for fid in fams:
        models = [x for x in cat.family_models(fid) if x.benchmarks]
        if not models:
            continue
        best = min(models, key=lambda x: abs(x.params_b - (target if target is not None else 70)))
        picks.append(best)
    picks.sort(key=lambda x: x.release_date)
    return [p.id for p in picks]


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
