"""The offline driver: no LLM. It reads requirements from the text, asks for missing essentials, calls
the same tools through the same graph, and writes the answer from their results with templates.

It is deterministic, so it is also what the tests and the benchmarks drive.
"""

from __future__ import annotations

import json
from typing import Any, cast

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from advisor import render
from advisor.nlu.arguments import arguments, fields_used
from advisor.nlu.dialogue import NEEDS_MODEL
from advisor.render import OFFLINE_NOTE
from advisor.requirements import TRANSIENT, describe

DEFAULT_MONTHLY_TOKENS = 10_000_000


def _text(msg: BaseMessage) -> str:
    return msg.content if isinstance(msg.content, str) else json.dumps(msg.content)


def _is_user(msg: BaseMessage) -> bool:
    return isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note")


def _turn(messages: list[BaseMessage]) -> tuple[HumanMessage | None, list[BaseMessage]]:
    """The turn's user message and what followed it (this turn's tool calls and results)."""
    for i in range(len(messages) - 1, -1, -1):
        if _is_user(messages[i]):
            return cast(HumanMessage, messages[i]), messages[i + 1 :]
    return None, []


def _results(turn: list[BaseMessage]) -> list[tuple[str, dict]]:
    out = []
    for msg in turn:
        if isinstance(msg, ToolMessage):
            try:
                out.append((msg.name or "", json.loads(_text(msg))))
            except json.JSONDecodeError:
                out.append((msg.name or "", {"error": {"message": _text(msg), "suggestions": []}}))
    return out


class Planner:
    """Decides the next step of a turn from the graph's state: the requirements, the turn as understood at intake
    (advisor/nlu/dialogue.py), the shortlist, and this turn's own tool calls and results. It never re-reads the
    conversation."""

    def __init__(self, state: dict):
        self.state_ = state
        self.human, self.turn = _turn(state.get("messages") or [])
        self.req: dict = state.get("requirements") or {}
        self.t: dict = state.get("turn") or {}
        self.latest: dict = self.t.get("stated") or {}
        self.done = _results(self.turn)
        self.called = {name for name, _ in self.done}
        self.counter = int(self.t.get("number", 0)) * 100 + sum(1 for m in self.turn if isinstance(m, ToolMessage))
        self.recommendations: list[dict] = state.get("shortlist") or []
        self.format_notes: list[str] = []  # formats chosen for the user (said in the answer)
        self.probed: list[dict] = []  # the estimate_memory results the formats were chosen by (evidence for the notes)

    # ------------------------------------------------------------ what the turn asks

    def intents(self) -> list[str]:
        return list(self.t.get("intents") or [])

    def focus(self) -> list[str]:
        return list(self.t.get("models") or [])

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
        if self.t.get("question"):
            return _question(self.t["question"])
        calls = self.model_calls(intents)
        if not calls and (call := self.catalog_call(intents)) is not None:
            calls.append(call)
        r = self.req
        if "recommend" in intents and not calls:
            missing = [q for q in _essentials(r) if q[0] != "commercial"]
            if missing and not r.get("proceed") and self.t.get("move") not in ("whatif", "alternative"):
                return _question(self.questions(missing))
            calls.append(self.select_call())
            for use_case in ((self.t.get("both") or {}).get("use_case") or [])[1:]:
                calls.append(self.select_call(use_case))  # "coding and math": a shortlist for each
        if calls:
            return AIMessage(content="", tool_calls=calls, additional_kwargs=self._notes())
        return self.without_tools(intents)

    def _notes(self) -> dict:
        if not self.format_notes:
            return {}
        return {"advisor_format_notes": list(dict.fromkeys(self.format_notes)), "advisor_evidence": list(self.probed)}

    def model_calls(self, intents: list[str]) -> list[dict]:
        """The calls about the models in focus: comparison, licence, memory, speed, deployment, cost."""
        calls: list[dict] = []
        models = self.focus()
        r = self.req
        if "compare" in intents:
            ids = list(self.t.get("compare") or [])
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
        both = (self.t.get("both") or {}).get("quantization") or []
        if both and "memory" in intents and models:  # "fp8 vs int4": the model in each format
            calls = [c for c in calls if c["name"] != "estimate_memory"]
            args = arguments("estimate_memory", self.state(models[0]), model=models[0])
            calls += [self.call("estimate_memory", {**args, "quantization": q}) for q in both]
        if "speed" in intents and models and (r.get("gpu") or r.get("vram_gb")):
            calls.append(self.speed_call(models[0]))
            for q in both[1:]:
                calls.append(self.speed_call(models[0], quantization=q))
        if "deploy" in intents and models:
            calls.append(
                self.call("plan_deployment", arguments("plan_deployment", self.state(models[0]), model=models[0]))
            )
        if "cost" in intents and "recommend" in intents and not self.t.get("named"):
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
            if self.t.get("move") == "chat":
                return _question(self.questions(_essentials(r)))
            return self.static(self.greeting())
        return self.static(self.greeting())

    @staticmethod
    def static(text: str) -> AIMessage:
        """Fixed help text (its example prompts hold numbers that are not figures)."""
        return AIMessage(content=text, additional_kwargs={"advisor_static": True})

    def speed_call(self, model: str, quantization: str | None = None) -> dict:
        from tools.common import catalog

        r = self.req
        args = arguments("estimate_throughput", self.state(model), model=model)
        if quantization:
            args["quantization"] = quantization
        g = catalog().gpus.get(r.get("gpu") or "")
        datacenter = g is not None and g.segment in ("datacenter", "workstation")
        if "quantization" not in args:
            args["quantization"] = self.fitting_format(model, args)
            if self.probed and not self.probed[-1].get("fits") and self.t.get("several") and "num_gpus" not in args:
                self.more_devices(model, args)  # "on H200s" with no count: the fewest that hold it
        if "engine" not in args and datacenter and args["quantization"] in ("bf16", "fp16", "fp8", "awq", "gptq"):
            args["engine"] = "vllm"
        return self.call("estimate_throughput", args)

    def fitting_format(self, model: str, args: dict) -> str:
        """The format to answer a speed or cost question in when the user named none: the model's release format if
        it fits the hardware, else the best (most bits) that fits; the choice is noted for the answer."""
        import tools
        from tools.common import catalog

        cat = catalog()
        m = cat.models.get(model)
        release = (m.formats[0] if m is not None and m.formats else "bf16") if m is not None else "bf16"
        g = cat.gpus.get(self.req.get("gpu") or "")
        segment = g.segment if g is not None else ("apple" if self.req.get("unified_memory") else "consumer")
        if segment in ("datacenter", "workstation"):
            ladder = ["bf16", "fp8", "int8", "awq"]
        else:
            ladder = ["bf16", "q8_0", "q4_k_m", "q3_k_m"]
        # the formats the model is released in ("bf16, fp8, nvfp4"), then the ladder's; most bits first, a release
        # format before a ladder one of as many bits
        shipped = list(m.formats) if m is not None and m.formats else [release]
        bits = {q: cat.quantizations[q].bits_per_weight for q in ladder + shipped if q in cat.quantizations}
        pool = [q for q in dict.fromkeys(shipped + ladder) if q == release or bits.get(q, 16) < bits.get(release, 16)]
        candidates = sorted(pool, key=lambda q: (q != release, -bits.get(q, 16), q not in shipped))
        keys = ("gpu", "num_gpus", "vram_gb", "unified_memory", "context_length", "engine")
        probe = {k: v for k, v in args.items() if k in keys and k != "engine"}
        if not (probe.get("gpu") or probe.get("vram_gb")):
            return release
        sizes = []
        vllm = segment in ("datacenter", "workstation")
        for q in candidates:
            # probed with the engine the speed call will run it in (vLLM keeps 10% of a data-centre GPU back)
            engine = args.get("engine") or ("vllm" if vllm and q in ("bf16", "fp16", "fp8", "awq", "gptq") else None)
            extra = {"engine": engine} if engine else {}
            result = tools.call("estimate_memory", {"model": model, "quantization": q, **probe, **extra})
            if "error" in result:
                continue
            self.probed.append(
                {
                    "tool": "estimate_memory",
                    "quantization": q,
                    "total_gb": result.get("total_gb"),
                    "fits": result.get("fits"),
                }
            )
            sizes.append((q, result.get("total_gb")))
            if result.get("fits"):
                if q != release:
                    before = "; ".join(f"{x} needs {gb} GB" for x, gb in sizes[:-1])
                    self.format_notes.append(
                        f"format: {q}, the best that fits ({before}: does not fit; {q} needs {result.get('total_gb')} "
                        "GB)"
                    )
                else:
                    self.format_notes.append(f"format: {q}, the release format (it fits)")
                return q
        return candidates[-1] if candidates else release

    def more_devices(self, model: str, args: dict) -> None:
        """Devices named in the plural with no count ("on rented H200s") that one cannot hold the model on: the fewest
        of 2, 4 or 8 on which a format fits, with that format (said in the answer)."""
        for n in (2, 4, 8):
            self.format_notes.clear()
            quant = self.fitting_format(model, {**args, "num_gpus": n})
            if self.probed and self.probed[-1].get("fits"):
                args["num_gpus"], args["quantization"] = n, quant
                self.format_notes.append(f"devices: {n}, the fewest that hold it (no count was given)")
                return

    def search_call(self) -> dict:
        fixed = {}
        if self.t.get("families"):
            fixed["family"] = self.t["families"][0]
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

    def select_call(self, use_case: str | None = None) -> dict:
        r = self.req
        fixed: dict[str, Any] = {
            "top_k": self.latest.get("top_k") or (3 if r.get("use_case") == "customer_service" else 5)
        }
        if use_case:
            fixed["use_case"] = use_case
        if r.get("hardware") == "apple" and r.get("vram_gb"):
            fixed["unified_memory"] = True
        return self.call("select_models", arguments("select_models", self.state(), **fixed))

    def cost_call(self, model: str | None) -> dict:
        r = self.req
        state = self.state()
        state.setdefault("monthly_tokens", DEFAULT_MONTHLY_TOKENS)
        args = arguments("estimate_cost", state, model=model)
        if "quantization" not in args:
            quant = None
            if model and r.get("gpu"):
                # the format the shortlist chose for this model on the user's GPU, if there is one
                for rec in self.recommendations:
                    if rec.get("model") == model:
                        quant = rec.get("quantization")
            if quant is None and model:
                quant = self.fitting_format(model, args)
            args["quantization"] = quant or "bf16"
        return self.call("estimate_cost", args)

    def follow_up(self) -> AIMessage | None:
        """One more round of calls after the first results, where the question needs it."""
        results = dict(self.done)
        if "select_models" not in results:
            return None
        pick = self.pick(results["select_models"].get("recommendations") or [])
        if pick is None:
            return None
        calls = []
        if "estimate_cost" not in self.called and ("cost" in self.intents() or "monthly_tokens" in self.latest):
            call = self.cost_call(pick["model"])
            if "quantization" not in self.req:
                call["args"]["quantization"] = (
                    pick["quantization"] if self.req.get("gpu") else self.fitting_format(pick["model"], {})
                )
            calls.append(call)
        if (
            "estimate_throughput" not in self.called
            and "speed" in self.intents()
            and (self.req.get("gpu") or self.req.get("vram_gb"))
        ):
            calls.append(self.speed_call(pick["model"]))
        return AIMessage(content="", tool_calls=calls, additional_kwargs=self._notes()) if calls else None

    def pick(self, recs: list[dict]) -> dict | None:
        """The shortlisted model a follow-up call is about: the top one, or for an alternative the first that meets
        its objective (smaller for "cheaper" and "faster", another one for "better")."""
        if not recs:
            return None
        if self.t.get("move") != "alternative":
            return recs[0]
        before = [m for m in self.t.get("models") or []]
        others = [r for r in recs if r.get("model") not in before] or recs
        objective = self.t.get("objective")
        if objective in ("cheaper", "faster") and before:
            size = _active_params(before[0])
            smaller = [r for r in others if size is not None and (_active_params(r["model"]) or size) < size]
            return (smaller or others)[0]
        return others[0]

    # ------------------------------------------------------------ the answer

    def understood(self) -> str:
        """One line: the constraints the tool calls used, as the user gave them."""
        from tools.common import catalog

        cat = catalog()
        calls = [c for m in self.turn if isinstance(m, AIMessage) for c in m.tool_calls]
        # a model this turn's shortlist chose (and a cost call then priced) is an answer, not something understood
        named = set(self.t.get("named") or [])
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
        state = {k: self.req[k] for k in fields if k not in ("unified_memory", "device_class")}
        if "num_gpus" in state and "gpu" in state:
            gpu = cat.gpus[state.pop("gpu")].name if state.get("gpu") in cat.gpus else state.pop("gpu")
            parts.append(f"{state.pop('num_gpus')} x {gpu}")
        if self.req.get("device_class") == "cpu" and self.req.get("cpu_cores") and "vram_gb" in state:
            state["cpu_cores"] = self.req["cpu_cores"]
        derived = [d for d in self.t.get("derived") or [] if calls]
        if any(d.startswith("tokens a month:") for d in derived):  # the working replaces the bare figure
            state.pop("monthly_tokens", None)
        said = describe(state, self.req)
        for key, values in (self.t.get("both") or {}).items():  # "fp8 vs int4": both are understood
            one = describe({key: values[0]}, self.req)[0]
            said = [f"{one} and {str(values[1]).replace('_', ' ')}" if x == one else x for x in said]
        parts += said
        if any(c["name"] == "estimate_cost" for c in calls) and "monthly_tokens" not in self.req:
            parts.append("volume assumed: 10M tokens a month (tell me yours)")
        parts += derived
        parts += [
            n
            for m in self.turn
            if isinstance(m, AIMessage)
            for n in m.additional_kwargs.get("advisor_format_notes", [])
        ]
        return "Understood: " + "; ".join(parts) + "." if parts else ""

    def what_changed(self) -> str:
        """For a what-if: the figures of the re-run analysis beside those it had before the change."""
        from advisor.requirements import describe as said

        before = list(self.t.get("before") or [])
        rerun = list(self.t.get("rerun") or [])
        if self.t.get("move") != "whatif" or not before:
            return ""
        change = "; ".join(said({k: self.req[k] for k in self.t.get("changes") or [] if k in self.req})) or "this"
        lines = []
        for (name, result), call in zip(
            self.done, [c for m in self.turn if isinstance(m, AIMessage) for c in m.tool_calls]
        ):
            old = _matching_digest(name, call.get("args") or {}, rerun, before)
            if old is None or "error" in result:
                continue
            line = _compare(name, old, result)
            if line:
                lines.append(line)
        if not lines:
            return ""
        return f"**What changed** (with {change}):\n" + "\n".join(f"- {x}" for x in lines)

    def alternative_line(self) -> str:
        """For an alternative: which shortlisted model meets the objective, against the model it replaces."""
        from tools.common import catalog

        if self.t.get("move") != "alternative":
            return ""
        results = dict(self.done)
        recs = (results.get("select_models") or {}).get("recommendations") or []
        pick = self.pick(recs)
        before = (self.t.get("models") or [None])[0]
        cat = catalog()
        if pick is None:
            return ""
        objective = self.t.get("objective") or "another option"
        old = cat.models.get(before or "")
        new = cat.models.get(pick["model"])
        if old is None or new is None:
            return f"**Alternative ({objective})**: {pick.get('name', pick['model'])}, the first on the shortlist."
        # the sizes are the shortlist's (a tool result); the replaced model's come from an earlier turn's call, if any
        total, active = pick.get("params_b"), pick.get("active_params_b")
        size = f"{total:g}B, {active:g}B active per token" if total and active else f"{total:g}B" if total else ""
        return (
            f"**Alternative ({objective})** to {old.name} ({old.license}): {new.name} ("
            + (f"{size}, " if size else "")
            + f"{new.license})."
        )

    def answer(self) -> AIMessage:
        parts = []
        line = self.understood()
        if line:
            parts.append(line)
        for extra in (self.what_changed(), self.alternative_line()):
            if extra:
                parts.append(extra)
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


def _active_params(model: str) -> float | None:
    from tools.common import catalog

    m = catalog().models.get(model)
    return None if m is None else float(m.active_params_b or m.params_b)


def _matching_digest(name: str, args: dict, rerun: list[dict], before: list[dict]) -> dict | None:
    """The earlier result (its digest) of the same tool, for the same model where the call names one."""
    for call, digest in zip(rerun, before):
        if call.get("name") != name:
            continue
        if args.get("model") and (call.get("args") or {}).get("model") not in (None, args.get("model")):
            continue
        if args.get("quantization") and (call.get("args") or {}).get("quantization") not in (
            None,
            args["quantization"],
        ):
            continue
        return digest
    return None


def _kept(now: dict, was: dict) -> str:
    """A shortlisted model's memory now and before, with its format where that changed (a longer context can take a
    smaller format to fit): per device in the device's unit, as the shortlist's table shows it, where both results
    have it (a digest stored before it did has the total in GB)."""
    if now.get("unit") and now.get("unit") == was.get("unit") and now.get("count") == was.get("count"):
        each = " each" if (now.get("count") or 1) > 1 else ""
        mem, mem_was = f"{now['needed']} {now['unit']}{each}", f"{was['needed']} {was['unit']}{each}"
    else:
        mem, mem_was = f"{now['memory_gb']} GB", f"{was['memory_gb']} GB"
    q, q_was = now.get("quantization"), was.get("quantization")
    if q and q_was and q != q_was:
        return f"{now['name']} ({mem} in {q}, was {mem_was} in {q_was})"
    return f"{now['name']} ({mem}, was {mem_was})"


def _compare(name: str, old: dict, new: dict) -> str:
    """One line on how a result moved: the shortlist's entries kept, dropped and new; memory, speed, cost, verdict."""
    from advisor.memory import digest

    now = digest(name, new)
    if name == "select_models":
        was = {m["model"]: m for m in old.get("models") or []}
        is_ = {m["model"]: m for m in now.get("models") or []}
        kept = [_kept(m, was[k]) for k, m in is_.items() if k in was]
        dropped = [m["name"] for k, m in was.items() if k not in is_]
        new_ = [m["name"] for k, m in is_.items() if k not in was]
        out = []
        if kept:
            out.append("still shortlisted: " + ", ".join(kept))
        if dropped:
            out.append("drops out: " + ", ".join(dropped))
        if new_:
            out.append("new: " + ", ".join(new_))
        return "; ".join(out)
    if name == "estimate_memory" and "total_gb" in old:
        fit = {
            (True, True): "still fits",
            (False, False): "still does not fit",
            (True, False): "no longer fits",
            (False, True): "now fits",
        }.get((bool(old.get("fits")), bool(now.get("fits"))), "")
        return f"memory {now.get('total_gb')} GB, was {old.get('total_gb')} GB" + (
            f": {fit}" if fit and now.get("fits") is not None and old.get("fits") is not None else ""
        )
    if name == "estimate_throughput":
        key = "decode_tokens_per_s" if "decode_tokens_per_s" in now else "tokens_per_s"
        if old.get(key) is not None and now.get(key) is not None:
            return f"speed {now[key]} tokens/s, was {old[key]} tokens/s"
    if name == "check_license" and old.get("verdict") and now.get("verdict"):
        return f"verdict {now['verdict'].replace('_', ' ')}, was {old['verdict'].replace('_', ' ')}"
    if name == "estimate_cost":
        out = []
        for key, label in (("cloud_gpu_usd", "renting"), ("on_prem_usd", "owning")):
            if old.get(key) is not None and now.get(key) is not None:
                out.append(f"{label} from ${now[key]:,.2f} a month, was ${old[key]:,.2f}")
        if old.get("cheapest") and now.get("cheapest"):
            out.append(f"cheapest option {now['cheapest']}, was {old['cheapest']}")
        return "; ".join(out)
    return ""


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


class OfflineChatModel(BaseChatModel):
    """The offline driver as the graph sees it: :meth:`plan` is the planning step over the graph's state (the graph
    calls it instead of a model). As a LangChain chat model (``invoke`` on messages alone) it rebuilds that state
    from the messages first: a thin adapter for code that drives it outside the graph."""

    @property
    def _llm_type(self) -> str:
        return "advisor-offline"

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:
        return self

    def plan(self, state: dict) -> dict:
        """One planning step: the next message (tool calls, a question back or the answer), and the open question
        when it is one."""
        message = Planner(state).step()
        update: dict[str, Any] = {"messages": [message]}
        if message.additional_kwargs.get("advisor_question"):
            turn = state.get("turn") or {}
            update["open_question"] = {
                "kind": turn.get("question_kind") or "essentials",
                "intents": list(turn.get("intents") or []),
                "options": list(turn.get("options") or []),
            }
        return update

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        state = state_of(messages)
        return ChatResult(generations=[ChatGeneration(message=self.plan(state)["messages"][0])])


def state_of(messages: list[BaseMessage]) -> dict:
    """The graph state a message list stands for (the adapter's way in): the messages read through the graph's own
    intake, turn by turn."""
    from advisor.graph import intake
    from advisor.requirements import merge

    messages = [m for m in messages if not isinstance(m, SystemMessage)]
    state: dict[str, Any] = {"messages": [], "requirements": {}}
    for msg in messages:
        state["messages"] = [*state["messages"], msg]
        if _is_user(msg):
            update = intake(cast(Any, state))
            state = {**state, **update, "requirements": merge(state.get("requirements"), update["requirements"])}
    return state
