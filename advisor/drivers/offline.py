"""The offline driver: no LLM. It reads requirements from the text, asks for missing essentials, calls
the same tools through the same graph, and writes the answer from their results with templates.

It is deterministic, so it is also what the tests and the benchmarks drive.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from advisor import render
from advisor.requirements import extract, merge, missing_essentials

OFFLINE_NOTE = (
    "_Offline driver (no LLM): this answer is laid out by templates from tool results. For answers written by a "
    "local LLM, run `advisor serve --driver hf` on a CUDA GPU, or `--driver openai --base-url URL` for any "
    "OpenAI-compatible server._"
)

INTENTS = {
    "license": r"licen[cs]|commercial(ly)?|allowed|can (i|we) use|legal|terms of use|\bmau\b|distil|train .* on (its )?outputs|redistribut",
    "memory": r"memory|vram|\bfit|how much (gpu|ram)|\bgb\b|run .+ on|enough (gpu|memory)",
    "speed": r"tokens? ?(/|per) ?s|tok/s|how fast|speed|throughput|latency",
    "cost": r"\bcosts?\b|price|pricing|cheap|break[- ]?even|\$|budget|spend|\bapis?\b|expensive|afford",
    "compare": r"compar|versus|\bvs\.?\b|better than|differen|improv|benchmark|progress|evolution|versions?",
    "deploy": r"deploy|serv(e|ing)|vllm|llama\.?cpp|ollama|production|how (do|should|can) (i|we) run|set ?up|quantiz",
    "info": r"tell me about|what is|what's|info(rmation)? (on|about)|details|specs?|context (length|window) of",
    "recommend": r"recommend|which model|what model|\bbest\b|suggest|shortlist|choose|pick|options|need a model|looking for|alternatives",
    "gpus": r"which gpus|list (of )?gpus|gpu options|what gpus",
}
QUANT_WORDS = [
    (r"\b(4[- ]?bit|nf4|int4|bnb 4)\b", "int4"), (r"\b(8[- ]?bit|int8|llm\.int8)\b", "int8"), (r"\bq4(_k_m)?\b|gguf", "q4_k_m"),
    (r"\bq5(_k_m)?\b", "q5_k_m"), (r"\bq6(_k)?\b", "q6_k"), (r"\bq8(_0)?\b", "q8_0"), (r"\bawq\b", "awq"),
    (r"\bgptq\b", "gptq"), (r"\bfp8\b", "fp8"), (r"\bfp16\b", "fp16"), (r"\bbf16|full precision|unquantized", "bf16"),
]


def _text(msg: BaseMessage) -> str:
    return msg.content if isinstance(msg.content, str) else json.dumps(msg.content)


def conversation_requirements(messages: list[BaseMessage]) -> dict:
    req: dict = {}
    for msg in messages:
        if isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
            req = merge(req, extract(_text(msg)))
    return req


def _turn(messages: list[BaseMessage]) -> tuple[HumanMessage | None, list[BaseMessage]]:
    last_human = None
    idx = 0
    for i, msg in enumerate(messages):
        if isinstance(msg, HumanMessage) and not msg.additional_kwargs.get("advisor_note"):
            last_human, idx = msg, i
    return last_human, messages[idx + 1:] if last_human else []


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


def _quant(text: str) -> str | None:
    for pattern, q in QUANT_WORDS:
        if re.search(pattern, text):
            return q
    return None


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
        models = cat.family_models(fid)
        if not models:
            continue
        if target is None:
            # comparable sizes across versions: the size closest to the other families' common size
            best = min(models, key=lambda x: abs(x.params_b - 70))
        else:
            best = min(models, key=lambda x: abs(x.params_b - target))
        picks.append(best)
    picks.sort(key=lambda x: x.release_date)
    return [p.id for p in picks]


class Planner:
    """Decides the next step of a turn from the messages so far."""

    def __init__(self, messages: list[BaseMessage]):
        self.messages = [m for m in messages if not isinstance(m, SystemMessage)]
        self.human, self.turn = _turn(self.messages)
        self.text = _text(self.human).lower() if self.human else ""
        self.req = conversation_requirements(self.messages)
        self.latest = extract(_text(self.human)) if self.human else {}
        self.done = _results(self.turn)
        self.called = {name for name, _ in self.done}
        self.counter = sum(1 for m in self.messages if isinstance(m, ToolMessage))

    def intents(self) -> list[str]:
        found = [name for name, pattern in INTENTS.items() if re.search(pattern, self.text)]
        models = self.latest.get("mentioned_models", [])
        if "compare" in found and (len(models) >= 2 or self.latest.get("mentioned_families")):
            found = ["compare"] + [f for f in found if f in ("license",)]
        elif "compare" in found:
            found.remove("compare")  # "compare the costs", "compare with GPT-4o": not a benchmark comparison
            if any(k in self.latest for k in ("api_models", "gpu_usd_per_hour", "utilization", "input_share")) and "cost" not in found:
                found.append("cost")
        if not models:
            # model-specific questions need a model; fall back to the shortlist of this conversation
            shortlist = _previous_shortlist(self.messages)
            if not shortlist:
                found = [f for f in found if f not in ("memory", "speed", "deploy", "info", "license")
                         or (f == "license" and "recommend" in found)]
        previous = {c["name"] for c in self.previous_calls()}
        if not found and any(k in self.latest for k in ("use_case", "gpu", "vram_gb", "commercial", "licenses",
                                                          "min_context", "hardware", "proceed", "monthly_active_users")):
            if not previous or "select_models" in previous:
                found = ["recommend"]
        return found

    def call(self, name: str, args: dict) -> dict:
        self.counter += 1
        return {"name": name, "args": {k: v for k, v in args.items() if v is not None}, "id": f"call_{self.counter}_{name}",
                "type": "tool_call"}

    def models_in_focus(self) -> list[str]:
        if self.latest.get("mentioned_models"):
            return self.latest["mentioned_models"]
        shortlist = _previous_shortlist(self.messages)
        m = re.search(r"\b(these|those|the|top|first|all)\s+(two|three|four|five|\d)\b|\b(shortlist|each of them|all of them|them all)\b", self.text)
        if m:
            word = m.group(2)
            n = int(word) if word and word.isdigit() else {"two": 2, "three": 3, "four": 4, "five": 5}.get(word or "", 3)
            return shortlist[:n]
        return shortlist[:1]

    def previous_calls(self) -> list[dict]:
        """Tool calls of the previous turn (for follow-ups such as "and at 32k context?")."""
        humans = [i for i, m in enumerate(self.messages) if isinstance(m, HumanMessage) and not m.additional_kwargs.get("advisor_note")]
        if len(humans) < 2:
            return []
        window = self.messages[humans[-2] + 1:humans[-1]]
        return [c for m in window if isinstance(m, AIMessage) for c in m.tool_calls]

    def repeat_with_changes(self) -> list[dict]:
        """Re-run the previous turn's calls with what the latest message changed."""
        latest, r = self.latest, self.req
        changes = {
            "context_length": latest.get("min_context"), "min_context": latest.get("min_context"),
            "gpu": latest.get("gpu"), "num_gpus": latest.get("num_gpus") if latest.get("gpu") else None,
            "monthly_tokens": latest.get("monthly_tokens"), "commercial": latest.get("commercial"),
            "monthly_active_users": latest.get("monthly_active_users"), "quantization": _quant(self.text),
            "eu_entity": latest.get("eu_entity"), "licenses": latest.get("licenses"), "use_case": latest.get("use_case"),
            "vram_gb": latest.get("vram_gb"), "languages": latest.get("languages"),
            "gpu_usd_per_hour": latest.get("gpu_usd_per_hour"), "utilization": latest.get("utilization"),
            "input_share": latest.get("input_share"), "api_models": latest.get("api_models"),
        }
        calls = []
        for old in self.previous_calls():
            args = dict(old.get("args") or {})
            for key, value in changes.items():
                if value is not None and (key in args or key in _ACCEPTS.get(old["name"], ())):
                    args[key] = value
            if "context_length" in args and args.get("model"):
                args = self._clip_context(args["model"], args) if args["context_length"] == r.get("min_context") else args
            calls.append(self.call(old["name"], args))
        return calls

    def first_step(self) -> AIMessage:
        intents = self.intents()
        if not intents and self.previous_calls() and any(k in self.latest for k in (
                "min_context", "gpu", "vram_gb", "monthly_tokens", "commercial", "monthly_active_users", "eu_entity",
                "licenses", "languages")) | bool(_quant(self.text)):
            return AIMessage(content="", tool_calls=self.repeat_with_changes())
        r = self.req
        calls: list[dict] = []
        models = self.models_in_focus()
        gpu = r.get("gpu")
        quant = _quant(self.text)
        if "compare" in intents:
            ids = self.latest.get("mentioned_models") or []
            if len(ids) < 2 and self.latest.get("mentioned_families"):
                ids = _lineage_models(self.latest["mentioned_families"], self.text)
            if len(ids) >= 2:
                calls.append(self.call("compare_benchmarks", {"models": ids[:8]}))
        if "license" in intents and models:
            for mid in models[:3]:
                calls.append(self.call("check_license", {
                    "model": mid, "commercial": r.get("commercial"), "monthly_active_users": r.get("monthly_active_users"),
                    "use_outputs_to_train_other_models": r.get("use_outputs_to_train_other_models"),
                    "hosted_service": r.get("hosted_service"), "eu_entity": r.get("eu_entity")}))
        if "memory" in intents and models:
            for mid in models[:2]:
                args = {"model": mid, "quantization": quant or "bf16", "gpu": gpu, "num_gpus": r.get("num_gpus"),
                        "context_length": r.get("min_context")}
                calls.append(self.call("estimate_memory", self._clip_context(mid, args)))
                if quant is None:
                    calls.append(self.call("estimate_memory", self._clip_context(mid, {**args, "quantization": "q4_k_m"})))
        if "speed" in intents and models and gpu:
            from tools.common import catalog

            datacenter = catalog().gpus[gpu].segment in ("datacenter", "workstation")
            speed_quant = quant or ("bf16" if datacenter else "q4_k_m")
            engine = "vllm" if datacenter and speed_quant in ("bf16", "fp16", "fp8", "awq", "gptq") else "auto"
            calls.append(self.call("estimate_throughput", {"model": models[0], "gpu": gpu, "quantization": speed_quant,
                                                           "engine": engine, "num_gpus": r.get("num_gpus"),
                                                           "concurrency": _concurrency(self.text)}))
        if "deploy" in intents and models:
            calls.append(self.call("plan_deployment", {"model": models[0], "gpu": gpu, "num_gpus": r.get("num_gpus"),
                                                       "monthly_tokens": r.get("monthly_tokens"),
                                                       "concurrency": _concurrency(self.text),
                                                       "context_length": self._ctx(models[0])}))
        if "cost" in intents and (not calls or len(models) > 1):
            for mid in (models[:3] or [None]):
                calls.append(self.cost_call(mid))
        if "info" in intents and models and not calls:
            calls.append(self.call("get_model", {"model": models[0]}))
        if "gpus" in intents and not calls:
            calls.append(self.call("list_gpus", {}))
        if calls:
            return AIMessage(content="", tool_calls=calls)
        if "recommend" in intents or intents == []:
            missing = missing_essentials(r)
            if missing and not r.get("proceed"):
                if not r and "recommend" not in intents:
                    return self.static(self.greeting())
                return AIMessage(content=self.questions(missing))
            return AIMessage(content="", tool_calls=[self.select_call()])
        return self.static(self.greeting())

    @staticmethod
    def static(text: str) -> AIMessage:
        """Fixed help text (its example prompts hold numbers that are not figures)."""
        return AIMessage(content=text, additional_kwargs={"advisor_static": True})

    def _ctx(self, model_id: str) -> int | None:
        from tools.common import catalog

        ctx = self.req.get("min_context")
        if ctx is None:
            return None
        return min(ctx, catalog().models[model_id].context_length)

    def _clip_context(self, model_id: str, args: dict) -> dict:
        if args.get("context_length"):
            args["context_length"] = self._ctx(model_id)
        return args

    def select_call(self) -> dict:
        r = self.req
        return self.call("select_models", {
            "use_case": r.get("use_case"), "gpu": r.get("gpu"), "vram_gb": r.get("vram_gb"), "num_gpus": r.get("num_gpus"),
            "min_context": r.get("min_context"), "licenses": r.get("licenses"), "commercial": r.get("commercial"),
            "monthly_active_users": r.get("monthly_active_users"), "languages": r.get("languages"),
            "unified_memory": True if r.get("hardware") == "apple" and r.get("vram_gb") else None,
            "eu_entity": r.get("eu_entity"), "top_k": _top_k(self.text, 3 if r.get("use_case") == "customer_service" else 5),
        })

    def cost_call(self, model: str | None) -> dict:
        r = self.req
        quant = _quant(self.text) or ("q4_k_m" if r.get("gpu") else "bf16")
        if model and r.get("gpu"):
            # the format the shortlist chose for this model on the user's GPU, if there is one
            for rec in _previous_recommendations(self.messages):
                if rec.get("model") == model:
                    quant = rec.get("quantization", quant)
        return self.call("estimate_cost", {
            "monthly_tokens": r.get("monthly_tokens") or 10_000_000, "model": model, "gpu": r.get("gpu"),
            "num_gpus": r.get("num_gpus"), "quantization": quant, "api_models": r.get("api_models"),
            "gpu_usd_per_hour": r.get("gpu_usd_per_hour"), "utilization": r.get("utilization"),
            "input_share": r.get("input_share"),
        })

    def follow_up(self) -> AIMessage | None:
        """One more round of calls after the first results, where the question needs it."""
        results = dict(self.done)
        if "select_models" in results and "estimate_cost" not in self.called:
            recs = results["select_models"].get("recommendations") or []
            if recs and (self.req.get("monthly_tokens") or re.search(INTENTS["cost"], self.text)):
                call = self.cost_call(recs[0]["model"])
                call["args"]["quantization"] = recs[0]["quantization"] if self.req.get("gpu") else "bf16"
                return AIMessage(content="", tool_calls=[call])
        return None

    def answer(self) -> AIMessage:
        parts = []
        for name, result in self.done:
            text = render.render(name, result)
            if text:
                parts.append(text)
        missing = missing_essentials(self.req)
        if "select_models" in self.called and missing and not self.req.get("proceed"):
            parts.append(self.questions(missing, after_shortlist=True))
        parts.append(OFFLINE_NOTE)
        return AIMessage(content="\n\n".join(parts))

    def questions(self, missing: list[tuple[str, str]], after_shortlist: bool = False) -> str:
        known = [line for line in _known(self.req)]
        head = ("To sharpen this shortlist, tell me:" if after_shortlist
                else "Before I recommend models, two quick questions:" if len(missing) > 1 else "One quick question first:")
        qs = "\n".join(f"- {q}" for _, q in missing[:2])
        so_far = f"\n\nSo far I have: {'; '.join(known)}." if known and not after_shortlist else ""
        tail = "" if after_shortlist else "\n\nOr say \"just recommend\" and I will assume what is missing."
        return f"{head}\n{qs}{so_far}{tail}"

    def greeting(self) -> str:
        return (
            "I help you choose an open-weight LLM and plan its deployment. Tell me what you need, for example:\n"
            "- \"We have one RTX 4090 and need a commercially usable coding model\"\n"
            "- \"Can I use Llama 3.1 70B commercially with 2M monthly users?\"\n"
            "- \"How much memory does Qwen2.5 32B need at 32k context?\"\n"
            "- \"What would 10M tokens a month cost on an API versus self-hosting?\"\n"
            "- \"Compare Llama 2, 3 and 3.1 on benchmarks\"\n\n" + OFFLINE_NOTE
        )

    def step(self) -> AIMessage:
        if self.human is None:
            return self.static(self.greeting())
        if not self.done:
            return self.first_step()
        more = self.follow_up()
        return more if more is not None else self.answer()


_ACCEPTS = {
    "estimate_memory": ("context_length", "gpu", "num_gpus", "quantization"),
    "estimate_throughput": ("gpu", "num_gpus", "quantization", "context_length"),
    "estimate_cost": ("monthly_tokens", "gpu", "num_gpus", "quantization", "gpu_usd_per_hour", "utilization",
                      "input_share", "api_models"),
    "plan_deployment": ("gpu", "num_gpus", "monthly_tokens", "context_length"),
    "check_license": ("commercial", "monthly_active_users", "eu_entity"),
    "select_models": ("min_context", "gpu", "num_gpus", "vram_gb", "commercial", "monthly_active_users", "licenses",
                      "use_case", "languages", "eu_entity"),
}


def _known(req: dict) -> list[str]:
    from advisor.requirements import describe

    return describe(req)


def _top_k(text: str, default: int) -> int:
    m = re.search(r"\btop\s+(\d{1,2}|two|three|four|five|ten)\b", text)
    if not m:
        return default
    word = m.group(1)
    n = int(word) if word.isdigit() else {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}[word]
    return max(1, min(n, 20))


def _concurrency(text: str) -> int:
    m = re.search(r"(\d+)\s*(concurrent|simultaneous|parallel|at (the same|a) time)", text)
    return max(1, min(int(m.group(1)), 4096)) if m else 1


class OfflineChatModel(BaseChatModel):
    """A LangChain chat model with no LLM behind it: the Planner above decides each step."""

    @property
    def _llm_type(self) -> str:
        return "advisor-offline"

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=Planner(messages).step())])
