"""Understanding: does a driver call the right tools with the facts the user gave?

    python bench/understanding.py                                  # the offline driver
    python bench/understanding.py --driver openai --base-url http://localhost:8000/v1 --model Qwen/Qwen3-8B
    python bench/understanding.py --driver openai --base-url URL --model A --model B   # which LLM drives best
    python bench/understanding.py --driver hf --device cpu --model PATH.gguf --limit 30 # a local model (first 30)
    python bench/understanding.py --baseline 250b715               # also the offline driver of that commit
    python bench/understanding.py --markdown docs/understanding.md # write the figures

Each labelled example (a single message or a multi-turn conversation) is played through the advisor
(the same graph, tools and checks as every edge) on a fresh thread. Per turn it compares:

- intent: the set of tools called (or none, for a question or a greeting) with the expected set;
  intent accuracy is the share of turns where they are equal;
- arguments: each expected call is matched to the called one of the same tool that agrees most; per
  argument, a value equal to the expected one is a true positive, a missing one a false negative, a
  wrong one both, and a stated fact passed where none was expected a false positive (values equal to
  the tool's default count as not passed). Models, GPUs and API names are compared after resolving
  them in the catalog, numbers within 5%;
- licence verdicts: a check_license call that lacks a stated user count, hosting, output-use,
  commercial or EU fact (or a missing call) is a verdict that ignores a stated fact;
- conversation success: every turn has the expected tools and arguments (and asks when it should).

The held-out set (bench/understanding/heldout.yaml) was written apart from the training data
(advisor/nlu/data/train.yaml) that the intent classifier learns from. Every other file in bench/understanding/
is a split of its own, named by its stem (`--split fresh_2026_12`): fresh sets written later and run once before
changes made for them, whose first-run figures are the ones that count.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
import types
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import _util  # noqa: F401  (puts the project on sys.path)
from _util import ROOT, machine

HELDOUT = ROOT / "bench" / "understanding" / "heldout.yaml"
FRESH = ROOT / "bench" / "understanding" / "fresh.yaml"  # written after tuning, run without changes made for it
TRAIN = ROOT / "advisor" / "nlu" / "data" / "train.yaml"
SETS = ROOT / "bench" / "understanding"  # every other <name>.yaml here is a split of its own: --split <name>
ANY = "*"
# arguments that carry a fact only the user can state: passing one nobody stated is a false positive
STATED = {
    "commercial",
    "monthly_active_users",
    "use_outputs_to_train_other_models",
    "redistribute",
    "modify",
    "hosted_service",
    "eu_entity",
    "languages",
    "licenses",
    "gpu",
    "vram_gb",
    "num_gpus",
    "min_context",
    "api_models",
    "gpu_usd_per_hour",
    "utilization",
    "input_share",
    "benchmarks",
    "kv_cache_dtype",
    "max_params_b",
    "needs_vision",
    "batch_size",
    "hardware_usd",
    "amortization_months",
    "electricity_usd_per_kwh",
    "api_usd_per_mtok_input",
    "api_usd_per_mtok_output",
    "on_prem",
    "unified_memory",
    "monthly_revenue_usd",
    "territories",
}
LICENCE_FACTS = (
    "monthly_active_users",
    "hosted_service",
    "use_outputs_to_train_other_models",
    "commercial",
    "eu_entity",
    "redistribute",
    "modify",
    "monthly_revenue_usd",
    "territories",
)
SUBSET_LISTS = {"models"}  # an expected list of models must be among those called; other lists must be equal


def load(path: Path) -> list[dict]:
    import yaml

    out = []
    for i, item in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
        turns = item.get("turns") or [item]
        out.append(
            {"name": item.get("conversation") or item.get("say"), "turns": turns, "multi": "turns" in item, "index": i}
        )
    return out


def extra_splits() -> dict[str, tuple[str, Path]]:
    """The sets in bench/understanding/ besides heldout.yaml and fresh.yaml: split name -> (label, path).

    "fresh_2026_12.yaml" is the split fresh_2026_12, reported as "fresh 2026-12 set"."""
    out = {}
    for path in sorted(SETS.glob("*.yaml")):
        if path in (HELDOUT, FRESH):
            continue
        stem = path.stem
        kind, _, when = stem.partition("_")
        label = f"{kind} {when.replace('_', '-')}" if when else stem
        out[stem] = (label, path)
    return out


# ------------------------------------------------------------------ comparing arguments


def _resolve(arg: str, value):
    from tools.common import catalog

    cat = catalog()
    lookup = {"model": cat.model, "models": cat.model, "gpu": cat.gpu, "api_models": cat.price}.get(arg)
    if lookup is None:
        return value

    def one(v):
        try:
            return lookup(v).id
        except Exception:
            return str(v).lower()

    return [one(v) for v in value] if isinstance(value, list) else one(value)


def _defaults(tool: str) -> dict:
    import tools

    try:
        props = tools.get(tool).parameters_schema()["properties"]
    except Exception:
        return {}
    return {k: p["default"] for k, p in props.items() if "default" in p}


def _clean(tool: str, args: dict) -> dict:
    d = _defaults(tool)
    return {k: v for k, v in (args or {}).items() if v is not None and not (k in d and d[k] == v and k != "model")}


def equal(arg: str, expected, got) -> bool:
    if isinstance(expected, dict) and "one_of" in expected:
        return any(equal(arg, e, got) for e in expected["one_of"])
    if got is None:
        return False
    expected, got = _resolve(arg, expected), _resolve(arg, got)
    if isinstance(expected, list):
        if not isinstance(got, list):
            return False
        if arg in SUBSET_LISTS:
            return set(map(str, expected)) <= set(map(str, got))
        return sorted(map(str, expected)) == sorted(map(str, got))
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return abs(expected - got) <= 0.05 * max(abs(expected), 1e-9)
    return str(expected).lower() == str(got).lower()


@dataclass
class Counts:
    tp: dict = field(default_factory=lambda: defaultdict(int))
    fp: dict = field(default_factory=lambda: defaultdict(int))
    fn: dict = field(default_factory=lambda: defaultdict(int))
    support: dict = field(default_factory=lambda: defaultdict(int))


def score_turn(expected_calls: list[dict], called: list[tuple[str, dict]], counts: Counts) -> tuple[bool, list[str]]:
    """Count argument outcomes for one turn; returns (all expected arguments right, licence facts ignored)."""
    ok = True
    ignored: list[str] = []
    pool = [(name, _clean(name, args)) for name, args in called]
    used: set[int] = set()
    for spec in expected_calls:
        ((tool, want),) = spec.items()
        want = want or {}
        best, best_hits = None, -1
        for i, (name, args) in enumerate(pool):
            if i in used or name != tool:
                continue
            hits = sum(1 for a, v in want.items() if v != ANY and equal(a, v, args.get(a)))
            if hits > best_hits:
                best, best_hits = i, hits
        got = pool[best][1] if best is not None else None
        if best is not None:
            used.add(best)
        defaults = _defaults(tool)
        for arg, value in want.items():
            if value == ANY:
                continue
            counts.support[arg] += 1
            if got is not None and (
                equal(arg, value, got.get(arg))
                or (got.get(arg) is None and arg in defaults and equal(arg, value, defaults[arg]))
            ):
                counts.tp[arg] += 1
                continue
            ok = False
            counts.fn[arg] += 1
            if got is not None and got.get(arg) is not None:
                counts.fp[arg] += 1
            if tool == "check_license" and arg in LICENCE_FACTS:
                ignored.append(arg)
        if got is not None:
            for arg in got:
                if arg not in want and arg in STATED:
                    counts.fp[arg] += 1
                    ok = False
    return ok, ignored  # a second call of an expected tool (bf16 and 4-bit) is not a wrong fact


# ------------------------------------------------------------------ drivers


def make_advisor(driver: str, base_url: str | None, model: str | None, legacy: str | None = None, **settings_):
    from advisor.config import Settings
    from advisor.drivers import DriverInfo
    from advisor.service import Advisor, make_checkpointer

    if driver == "offline":
        if legacy:
            chat_model = _legacy_offline(legacy)
        else:
            from advisor.drivers.offline import OfflineChatModel

            chat_model = OfflineChatModel()
        info = DriverInfo("offline", None, "bench")
        return Advisor(
            chat_model, info, Settings(driver="offline", db=":memory:"), checkpointer=make_checkpointer(":memory:")
        )
    if driver == "hf":
        settings = Settings(driver="hf", db=":memory:", model=model or "", **settings_)
        return Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))
    settings = Settings(
        driver="openai", db=":memory:", openai_base_url=base_url, openai_model=model, model=model or "", **settings_
    )
    return Advisor.create(settings, checkpointer=make_checkpointer(":memory:"))


def _legacy_offline(rev: str):
    """The offline driver and requirement extractor of an earlier commit, loaded beside the current ones."""

    def module(path: str, name: str) -> types.ModuleType:
        source = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        mod = types.ModuleType(name)
        mod.__file__ = f"{rev}:{path}"
        sys.modules[name] = mod
        exec(compile(source, mod.__file__, "exec"), mod.__dict__)
        return mod

    req = module("advisor/requirements.py", "legacy_requirements")
    real = sys.modules["advisor.requirements"]
    sys.modules["advisor.requirements"] = req  # the legacy driver imports its own extractor
    try:
        off = module("advisor/drivers/offline.py", "legacy_offline")
    finally:
        sys.modules["advisor.requirements"] = real
    import advisor.graph as graph

    _LEGACY["extract"] = req.extract
    _LEGACY["graph"] = graph
    return off.OfflineChatModel()


_LEGACY: dict = {}


@contextlib.contextmanager
def legacy_intake(active: bool):
    """While the legacy driver runs, the graph's intake reads requirements with the legacy extractor too."""
    if not active:
        yield
        return
    graph = _LEGACY["graph"]
    saved = graph.extract
    graph.extract = lambda text, context=None: _LEGACY["extract"](text)
    try:
        yield
    finally:
        graph.extract = saved


# ------------------------------------------------------------------ running


def run(examples: list[dict], advisor, legacy: bool = False, verbose: bool = False) -> dict:
    counts = Counts()
    turns = intent_ok = conv_ok = 0
    ignored_total = 0
    licence_turns = 0
    failures = []
    started = time.perf_counter()
    for ex in examples:
        thread = f"u{ex['index']}-{time.monotonic_ns()}"
        all_ok = True
        for turn in ex["turns"]:
            turns += 1
            with legacy_intake(legacy):
                try:
                    r = advisor.ask(turn["say"], thread_id=thread)
                    called = [(t.name, t.args) for t in r.tool_calls]
                    reply = r.reply
                except Exception as exc:  # a driver failure is a miss, not a crash of the bench
                    called, reply = [], f"error: {exc}"
            expected = turn.get("calls") or []
            want_tools = {next(iter(c)) for c in expected} or {"none"}
            got_tools = {name for name, _ in called} or {"none"}
            intent_right = want_tools == got_tools
            intent_ok += intent_right
            args_ok, ignored = score_turn(expected, called, counts)
            if any("check_license" in c for c in expected) and any(
                k in (c.get("check_license") or {}) and c["check_license"][k] != ANY
                for c in expected
                for k in LICENCE_FACTS
            ):
                licence_turns += 1
                if not any(name == "check_license" for name, _ in called):
                    ignored = ignored or ["no licence check"]
                ignored_total += bool(ignored)
            asked_ok = not turn.get("ask") or "?" in reply
            turn_ok = intent_right and args_ok and asked_ok
            all_ok &= turn_ok
            if not turn_ok:
                failures.append(
                    {
                        "say": turn["say"],
                        "want": sorted(want_tools),
                        "got": sorted(got_tools),
                        "calls": [(n, a) for n, a in called],
                        "expected": expected,
                        "ignored": ignored,
                    }
                )
        conv_ok += all_ok
    per_arg = {}
    for arg in sorted(set(counts.support) | set(counts.fp)):
        tp, fp, fn = counts.tp[arg], counts.fp[arg], counts.fn[arg]
        p = tp / (tp + fp) if tp + fp else 1.0
        rc = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
        per_arg[arg] = {"support": counts.support[arg], "precision": p, "recall": rc, "f1": f1}
    return {
        "examples": len(examples),
        "turns": turns,
        "intent_accuracy": intent_ok / max(turns, 1),
        "conversation_success": conv_ok / max(len(examples), 1),
        "arguments": per_arg,
        "licence_turns": licence_turns,
        "licence_ignored": ignored_total,
        "failures": failures,
        "seconds": time.perf_counter() - started,
    }


def report(name: str, res: dict, min_support: int = 10) -> str:
    lines = [
        f"### {name}",
        "",
        f"- examples: {res['examples']} ({res['turns']} turns)",
        f"- turns understood (right tools, arguments and questions back): {res['turns'] - len(res['failures'])}"
        f" of {res['turns']}",
        f"- intent accuracy: {res['intent_accuracy']:.1%}",
        f"- conversation success: {res['conversation_success']:.1%}",
        f"- licence verdicts that ignore a stated fact: {res['licence_ignored']} of {res['licence_turns']}",
        f"- time: {res['seconds']:.1f} s",
        "",
        "| argument | support | precision | recall | F1 |",
        "|---|---|---|---|---|",
    ]
    for arg, s in sorted(res["arguments"].items(), key=lambda kv: (-kv[1]["support"], kv[0])):
        if s["support"] == 0:
            continue
        flag = "" if s["support"] >= min_support else " (few)"
        lines.append(f"| {arg}{flag} | {s['support']} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driver", choices=("offline", "openai", "hf"), default="offline")
    ap.add_argument("--base-url", help="OpenAI-compatible server (driver openai)")
    ap.add_argument("--model", action="append", help="served model name (hf: its path); repeat to rank several")
    ap.add_argument("--device", default="auto", help="hf driver: auto, cuda or cpu")
    ap.add_argument("--max-new-tokens", type=int, default=None, help="hf driver: tokens per model call")
    ap.add_argument("--limit", type=int, default=None, help="only the first N examples of each split")
    named = extra_splits()
    ap.add_argument("--split", choices=("heldout", "fresh", "train", "both", "all", *named), default="all")
    ap.add_argument("--baseline", metavar="REV", help="also run the offline driver of this git revision")
    ap.add_argument("--markdown", metavar="FILE", help="write the figures as Markdown")
    ap.add_argument("--failures", type=int, default=0, help="print this many failed turns per run")
    args = ap.parse_args(argv)
    splits = {
        "heldout": [("held-out", HELDOUT)],
        "fresh": [("fresh held-out", FRESH)],
        "train": [("training", TRAIN)],
        "both": [("held-out", HELDOUT), ("training", TRAIN)],
        "all": [("held-out", HELDOUT), ("fresh held-out", FRESH), ("training", TRAIN)],
        **{name: [(label, path)] for name, (label, path) in named.items()},
    }[args.split]
    runs = []
    if args.driver == "offline":
        runs.append(("offline driver", make_advisor("offline", None, None), False))
        if args.baseline:
            runs.append(
                (
                    f"offline driver at {args.baseline} (before)",
                    make_advisor("offline", None, None, legacy=args.baseline),
                    True,
                )
            )
    else:
        extra = {"device": args.device, "max_new_tokens": args.max_new_tokens} if args.driver == "hf" else {}
        extra = {k: v for k, v in extra.items() if v is not None}
        for model in args.model or [None]:
            label = f"{args.driver} driver: {model}" + (f" ({args.device})" if args.driver == "hf" else "")
            runs.append((label, make_advisor(args.driver, args.base_url, model, **extra), False))
    out = [f"Machine: {machine()}", ""]
    ranking = []
    for split, path in splits:
        examples = load(path)[: args.limit]
        if args.limit:
            split = f"{split} (first {len(examples)} examples)"
        for name, advisor, legacy in runs:
            res = run(examples, advisor, legacy=legacy)
            text = report(f"{name}, {split} set", res)
            print(text + "\n", flush=True)
            out.append(text + "\n")
            if split.startswith("held-out"):
                ranking.append((res["conversation_success"], res["intent_accuracy"], name))
            for f in res["failures"][: args.failures]:
                print("  MISS", json.dumps(f, default=str)[:600])
    from advisor.nlu.arguments import unfilled

    gaps = unfilled()
    if gaps:
        note = "Tool arguments no requirement field fills (see advisor/nlu/arguments.py): " + "; ".join(
            f"{tool}: {', '.join(args_)}" for tool, args_ in gaps.items()
        )
        print(note)
        out.append(note + "\n")
    if len(ranking) > 1 and args.driver == "openai":
        print("Best driver on the held-out set: " + max(ranking)[2])
    if args.markdown:
        Path(args.markdown).write_text("\n".join(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
