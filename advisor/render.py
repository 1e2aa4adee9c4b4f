"""Markdown views of tool results. Used by the offline driver's answers and by reports.

Renderers only lay out what a tool returned: every figure they print is a field of the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# The one notice of the offline driver: it ends each offline answer (advisor/drivers/offline.py), is shown once per
# conversation by the chat and the terminal (without_offline_note), and the UI's driver panel says the same.
LLM_HOWTO = (
    "For answers written by a local LLM, run `advisor serve --driver hf` on a CUDA GPU (default model Qwen/Qwen3-8B "
    "in 4-bit), or `--driver openai --base-url URL --model NAME` for any OpenAI-compatible server."
)
OFFLINE_MARK = "_Offline driver (no LLM):"
OFFLINE_NOTE = f"{OFFLINE_MARK} this answer is laid out by templates from tool results. {LLM_HOWTO}_"


def without_offline_note(text: str) -> str:
    """``text`` without the paragraph that holds the offline notice."""
    return "\n\n".join(p for p in text.split("\n\n") if not p.startswith(OFFLINE_MARK))


# Characters that make Markdown or HTML anywhere in a line, and those that do at its start (headings, quotes, lists,
# rules, setext underlines, ordered-list numbers): a backslash makes each literal.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>&|~$])")
_MD_LINE_START = re.compile(r"^([ \t]*)(?:([#>+=-])|(\d{1,9})([.)]))", re.MULTILINE)
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def literal_markdown(text: str) -> str:
    """Text that Markdown shows exactly as written: no HTML, no structure (headings, lists, tables, code, links,
    images), and indentation kept as no-break spaces rather than read as a code block. For what users write."""
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(
        lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"), text
    )
    return _INDENT.sub(lambda m: "\u00a0" * len(m.group(0).expandtabs(4)), text)


def code_span(text: object) -> str:
    """What a user wrote, quoted in an answer exactly as written: a Markdown code span (HTML, emphasis and links are
    literal there) fenced with more backticks than any run inside it, on one line. Plain text reads it as a quote."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if not text or text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


FOLD, END_FOLD = "<!-- more -->", "<!-- /more -->"  # reasons, assumptions and sources: folded where shown
_FOLDED = re.compile(re.escape(FOLD) + r"\s*(.*?)\s*" + re.escape(END_FOLD), re.S)

# Words for the values and field names that tool results carry, where an answer shows them.
FIELD_WORDS = {
    "params_b": "parameters",
    "active_params_b": "active parameters",
    "context_length": "context length",
    "max_position_embeddings": "position embeddings",
    "release_date": "release date",
    "tool_calling": "tool calling",
    "license": "licence",
    "kv_cache": "KV cache",
    "fixed_state": "fixed state",
    "cuda_context": "CUDA context",
    "allocator_slack": "allocator slack",
}
OUTPUTS_WORDS = {
    "allowed": "allowed",
    "allowed_with_naming": "allowed if the new model's name credits it",
    "restrictions_carry_over": "allowed; the licence's restrictions carry over",
    "not_allowed": "not allowed",
    "not_reported": "not reported",
}
VERDICT_SHORT = {
    "allowed": "allowed",
    "allowed_with_conditions": "allowed, conditions",
    "unknown": "unconfirmed",
    "not_allowed": "not allowed",
}


def words(field: str) -> str:
    """A field name or value as words ("release_date" -> "release date")."""
    return FIELD_WORDS.get(field, field.replace("_", " "))


def folded(text: str) -> str:
    """Reasons, assumptions and sources, marked to be folded under the answer (the browser folds them; elsewhere
    the markers are HTML comments, which Markdown does not show)."""
    return f"{FOLD}\n\n{text}\n\n{END_FOLD}" if text.strip() else ""


def split_folds(text: str) -> tuple[str, str]:
    """An answer's shown part and its folded parts (:func:`folded`), each without the markers."""
    parts = [m.group(1) for m in _FOLDED.finditer(text)]
    shown = re.sub(r"\n{3,}", "\n\n", _FOLDED.sub("", text)).strip()
    return shown, "\n\n".join(p for p in parts if p)


def unfold(text: str) -> str:
    """The answer with its folded parts in place and no markers (a terminal, a report)."""
    return re.sub(r"\n{3,}", "\n\n", text.replace(FOLD + "\n\n", "").replace("\n\n" + END_FOLD, "")).strip()


def _fmt(x) -> str:
    if x is None:
        return "not reported"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.2f}".rstrip("0").rstrip(".") if abs(x) >= 1 else f"{x:g}"
    return str(x)


def compact(n) -> str:
    """A count as people read it: 1,000,000 -> "1M", 262,144 -> "262k" (three significant digits at most)."""
    if n is None:
        return "not reported"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{float(f'{n / scale:.3g}'):g}{suffix}"
    return f"{n:g}"


def _usd(x) -> str:
    if x is None:
        return "not reported"
    return f"${x:,.2f}" if x < 1000 else f"${x:,.0f}"


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in row) + " |")
    return "\n".join(out)


def legend(*items: str) -> str:
    """What a table's short labels mean, under it."""
    return "_" + "; ".join(items) + "._"


def _bullets(items) -> str:
    return "\n".join(f"- {a}" for a in items or [])


def _assumptions(result: dict) -> str:
    items = result.get("assumptions") or []
    return "**Assumptions**\n" + _bullets(items) if items else ""


def _sources(result: dict) -> str:
    """Every source, folded under the answer (a count of those left out would be a figure no tool gave)."""
    srcs = result.get("sources") or []
    return "Sources: " + ", ".join(f"<{s}>" for s in srcs) if srcs else ""


def _quant(quant_id: str) -> str:
    """A format's name ("GGUF Q6_K") for its id."""
    from tools.common import catalog

    q = catalog().quantizations.get(quant_id)
    return q.name if q else quant_id


def short_licence(name: str) -> str:
    """A licence's name without "License Agreement" and the like ("Llama 3.1 Community")."""
    return re.sub(r"\s+(License Agreement|Licence Agreement|License|Licence|LICENSE AGREEMENT)$", "", name) or name


def _memory_cell(rec: dict) -> str:
    fit = rec.get("fit")
    if fit:
        return f"{fit['needed']:g} {fit['unit']}"
    return f"{_fmt(rec['memory_gb'])} GB"


def select_models(r: dict) -> str:
    recs = r.get("recommendations") or []
    parts = [f"### Shortlist for {r['use_case'].replace('_', ' ')}"]
    if not recs:
        parts.append("No model in the catalog meets every constraint.")
    else:
        rows = [
            [
                i,
                rec["name"],
                _fmt(rec["score"]),
                _quant(rec["quantization"]),
                _memory_cell(rec),
                compact(rec["context_length"]),
                f"{short_licence(rec['license']['name'])}: {VERDICT_SHORT.get(rec['license_verdict'], '?')}",
            ]
            for i, rec in enumerate(recs, 1)
        ]
        parts.append(table(["#", "Model", "Score", "Format", "Memory", "Context", "Licence"], rows))
        fit = recs[0].get("fit")
        memory = (
            f"Memory: needed on one {fit['device']} at {fit['context']:,} tokens, in {fit['unit']} like the device's "
            f"{fit['memory_stated']}"
            if fit
            else "Memory: in bf16, no device given (GB of 10^9 bytes)"
        )
        parts.append(
            legend(
                "Score: the use case's benchmarks as percentiles of the catalog, higher is better",
                "Format: the most precise weight format that fits",
                memory,
                "Context: the longest the model takes, in tokens",
            )
        )
    why = [f"**{rec['name']}**: " + "; ".join(rec["reasons"]) for rec in recs]
    conditions = {rec["license"]["name"]: rec["license_conditions"] for rec in recs if rec.get("license_conditions")}
    why += [f"**Conditions of the {name}**: " + "; ".join(items[:4]) for name, items in conditions.items()]
    if r.get("excluded"):
        why.append("**Not picked**: " + "; ".join(f"{e['name']} ({e['reason']})" for e in r["excluded"][:5]))
    why.append(_assumptions(r))
    why.append(_sources(r))
    parts.append(folded("\n\n".join(w for w in why if w)))
    return "\n\n".join(p for p in parts if p)


def check_license(r: dict) -> str:
    verdict = r["verdict"].replace("_", " ")
    parts = [f"### Licence: {r['model']['name']}", f"**Verdict: {verdict}.** {r['summary']}."]
    if r.get("conditions"):
        parts.append("Conditions:\n" + _bullets(r["conditions"]))
    more = []
    if r.get("reasons"):
        more.append("**Why**\n" + _bullets(r["reasons"]))
    if r.get("citations"):
        more.append(
            "**Clauses**\n"
            + "\n".join(f'- {words(c["term"])}: "{c["clause"]}" (<{c["url"]}>)' for c in r["citations"][:6])
        )
    for h in r.get("license_history") or []:
        more.append(f"History: until {h['until']} these weights were under {h['license']['name']}.")
    more.append(
        f"Licence text: <{r['license']['url']}> (read {r['license']['as_of']}). This is guidance, not legal advice."
    )
    parts.append(folded("\n\n".join(more)))
    return "\n\n".join(parts)


def estimate_memory(r: dict) -> str:
    fit = r.get("fit")
    unit = fit["unit"] if fit else "GB"
    key = "gib" if unit == "GiB" else "gb"
    total = r.get("total_gib") if unit == "GiB" else r["total_gb"]
    parts = [
        f"### Memory: {r['model']['name']} in {r['quantization']['name']} ({r['engine']}), "
        f"{_fmt(r['context_length'])} tokens x {r['batch_size']}"
    ]
    rows = [[words(b["part"]), f"{_fmt(b.get(key, b['gb']))} {unit if key in b else 'GB'}"] for b in r["breakdown"]]
    rows.append(["**total**", f"**{_fmt(total if total is not None else r['total_gb'])} {unit}**"])
    parts.append(table(["Part", "Size"], rows))
    if fit:
        parts.append(_fit_line(fit))
        if r.get("if_it_does_not_fit"):
            parts.append("To make it fit:\n" + _bullets(r["if_it_does_not_fit"]))
    parts.append(folded(_assumptions(r)))
    return "\n\n".join(p for p in parts if p)


def _fit_line(fit: dict) -> str:
    """The device comparison in the device's unit: as the vendor states its memory, what that is, what is usable."""
    unit, each = fit["unit"], " each" if fit["count"] > 1 else ""
    usable = f", of which {_fmt(fit['usable'])} {unit} usable" if fit["usable"] < fit["memory"] else ""
    where = f"On {fit['count']} x {fit['device']} ({fit['memory_stated']}{each} = {_fmt(fit['memory'])} {unit}{usable})"
    if fit["fits"]:
        verdict = f"**fits**: needs {_fmt(fit['needed'])} {unit}{each}, {_fmt(fit['headroom'])} {unit} to spare"
    else:
        verdict = (
            f"**does not fit**: needs {_fmt(fit['needed'])} {unit}{each}, more than its {_fmt(fit['usable'])} {unit}"
        )
    return f"{where}: {verdict}. Largest context that fits: {_fmt(fit['max_context'])} tokens."


def _speed(x: float, rng: dict | None) -> str:
    """A speed as its estimate and 80% range: "about 95 tokens/s, likely 75-115" (two significant digits)."""
    from tools.throughput import two_digits

    if not rng:
        return f"{_fmt(x)} tokens/s"
    return f"about {two_digits(x)} tokens/s, likely {two_digits(rng['low'])}\u2013{two_digits(rng['high'])}"


def estimate_throughput(r: dict) -> str:
    parts = [
        f"### Speed: {r['model']['name']} on {r['gpu']['count']} x {r['gpu']['name']} ({_quant(r['quantization'])}, "
        f"{r['engine']})"
    ]
    if not r.get("fits", r["decode_tokens_per_s"] > 0):
        off = r.get("cpu_offload")
        rows = [
            ["decode, one stream", f"does not fit in GPU memory ({_fmt(r['gpu']['count'])} x {r['gpu']['name']})"],
        ]
        if off:
            rows.append(
                [
                    f"with llama.cpp offload ({off['quantization']})",
                    f"about {_fmt(off['decode_tokens_per_s'])} tokens/s, {off['gpu_layers']} of "
                    f"{off['total_layers']} layers on the GPU",
                ]
            )
    else:
        agg = r.get("aggregate_tokens_per_s_range")
        rows = [
            ["decode, one stream", _speed(r["decode_tokens_per_s"], r.get("decode_tokens_per_s_range"))],
            [f"total, {r['effective_concurrency']} streams", _speed(r["aggregate_tokens_per_s"], agg)],
            ["per stream then", f"{_fmt(r['per_stream_tokens_per_s'])} tokens/s"],
        ]
    rows += [
        [
            "prefill (prompt)",
            f"{_fmt(r['prefill_tokens_per_s'])} tokens/s" if r["prefill_tokens_per_s"] else "not reported",
        ],
        ["bandwidth ceiling", f"{_fmt(r['roofline_tokens_per_s'])} tokens/s"],
    ]
    parts.append(table(["", "Estimate"], rows))
    parts.append(folded("**Basis**\n" + _bullets(r["basis"])))
    return "\n\n".join(parts)


def estimate_cost(r: dict) -> str:
    """The options as one table (a column per volume, the user's in bold, cheapest first at it), break-even as one
    small table (APIs against the fixed-price ways of self-hosting), the cheapest option, the assumptions folded."""
    from advisor.verdict import option_label

    volume = r["monthly_tokens"]
    parts = [f"### Cost at {compact(volume)} tokens a month"]
    volumes = [row["monthly_tokens"] for row in r["table"]]
    if volume not in volumes:
        volumes = sorted([*volumes, volume])
    at = {row["monthly_tokens"]: {c["name"]: c["monthly_usd"] for c in row["costs"]} for row in r["table"]}
    at[volume] = {o["name"]: o["monthly_usd"] for o in r["options"]}
    rows = [
        [option_label(o["name"]), *[_usd(at.get(v, {}).get(o["name"])) for v in volumes]]
        for o in sorted(r["options"], key=lambda o: o["monthly_usd"])
    ]
    heads = [f"**{compact(v)}**" if v == volume else compact(v) for v in volumes]
    parts.append(table(["Option", *heads], rows))
    parts.append(legend("Columns: tokens a month (yours in bold); cells: US$ a month", _self_hosted_note(r)))
    parts.append(_break_even_table(r))
    parts.append(f"Cheapest at this volume: **{option_label(r['cheapest'])}**.")
    parts.append(folded(_assumptions(r) + ("\n\n" + _sources(r) if r.get("sources") else "")))
    return "\n\n".join(p for p in parts if p)


def _self_hosted_note(r: dict) -> str:
    from advisor.verdict import _SELF_HOSTED

    own = next((_SELF_HOSTED.match(o["name"]) for o in r["options"] if o["kind"] != "api"), None)
    if own is None:
        return "APIs only"
    return f"self-hosted: {own.group('what')} on {own.group('count')} x {own.group('device')}"


def _break_even_table(r: dict) -> str:
    """Break-even as one small table: a row per API, a column per fixed-price way of self-hosting (owned, rented
    always on); each cell the monthly volume above which self-hosting costs less, or what is cheaper throughout."""
    from advisor.verdict import option_label

    entries = [b for b in r.get("break_even") or [] if "busy hour" not in b["self_hosted"]]
    if not entries:
        return ""
    columns = list(dict.fromkeys(b["self_hosted"] for b in entries))
    apis = list(dict.fromkeys(b["api"] for b in entries))
    cell = {(b["api"], b["self_hosted"]): b for b in entries}

    def show(b: dict | None) -> str:
        if b is None:
            return ""
        if b.get("monthly_tokens"):
            return f"above {compact(b['monthly_tokens'])}"
        return "never" if b["api"] in b["note"].split(";")[-1] else "always"

    rows = [[option_label(api), *[show(cell.get((api, c))) for c in columns]] for api in apis]
    return (
        "**Break-even**: the volume a month above which self-hosting costs less than the API\n\n"
        + table(["API", *[option_label(c) for c in columns]], rows)
        + "\n\n"
        + legend("never: the API costs less at any volume", "always: self-hosting costs less at any volume")
    )


def compare_benchmarks(r: dict) -> str:
    benches = r["benchmarks"]
    parts = ["### Benchmarks (vendor-reported)"]
    rows = []
    for row in r["table"]:
        cells = [row["name"], row["release_date"]]
        for b in benches:
            s = row["scores"].get(b["id"])
            cells.append(f"{_fmt(s['value'])} ({s['variant']})" if s else "not reported")
        rows.append(cells)
    parts.append(table(["Model", "Released", *[b["name"] for b in benches]], rows))
    names = {row["model"]: row["name"] for row in r["table"]}
    changes = r.get("changes") or []
    if changes:
        parts.append(
            "Changes between consecutive versions of one line (same benchmark and variant):\n"
            + "\n".join(
                f"- {c['benchmark']} ({c['variant']}): {names.get(c['from'], c['from'])} {_fmt(c['before'])} -> "
                f"{names.get(c['to'], c['to'])} {_fmt(c['after'])} "
                f"({'+' if c['change'] >= 0 else ''}{_fmt(c['change'])})"
                for c in changes[:15]
            )
        )
    if r.get("missing"):
        parts.append("A score a vendor did not report is shown as 'not reported'.")
    parts.append(folded("Settings differ between vendors; compare like with like. " + _sources(r)))
    return "\n\n".join(parts)


def plan_deployment(r: dict) -> str:
    rec = r["recommended"]
    parts = [
        f"### Deployment plan: {r['model']['name']}",
        f"**{rec['engine']} + {rec['quantization_name']} on {rec['num_gpus']} x {rec['gpu_name']}**"
        + (f", {rec['replicas']} replicas" if rec["replicas"] > 1 else ""),
        f"Command: `{rec['command']}`",
    ]
    if rec.get("monthly_usd_rented") is not None:
        parts.append(f"Rented, always on: {_usd(rec['monthly_usd_rented'])} a month.")
    more = ["**Why**\n" + _bullets(r["reasons"])]
    if r.get("trade_offs"):
        more.append("**Alternatives**\n" + _bullets(r["trade_offs"]))
    if r.get("not_possible"):
        more.append("**Ruled out**: " + "; ".join(r["not_possible"][:5]))
    more.append(_assumptions(r))
    parts.append(folded("\n\n".join(m for m in more if m)))
    return "\n\n".join(parts)


def get_model(r: dict) -> str:
    parts = [f"### {r['name']}"]
    rows = [
        ["Vendor / family", f"{r['vendor']} / {r['family']}"],
        ["Released", r["release_date"]],
        [
            "Parameters",
            f"{_fmt(r['params_b'])}B"
            + (f" ({_fmt(r['active_params_b'])}B active)" if r.get("active_params_b") else ""),
        ],
        ["Context", f"{compact(r['context_length'])} tokens"],
        ["Licence", f"{r['license']['name']} (commercial use: {r['license']['commercial_use']})"],
        ["Weights", ", ".join(f"{k}: {v}" for k, v in r["repos"].items())],
    ]
    parts.append(table(["", ""], rows))
    if r.get("benchmarks"):
        parts.append(
            table(
                ["Benchmark", "Score", "Setting"],
                [[k, _fmt(v["value"]), f"{v['variant']}, {v['setting']}"] for k, v in r["benchmarks"].items()],
            )
        )
    more = []
    if r.get("unverified"):
        more.append("Read only in secondary copies (unverified): " + ", ".join(words(f) for f in r["unverified"]))
    if r.get("notes"):
        more.append(r["notes"])
    more.append(_sources(r))
    parts.append(folded("\n\n".join(m for m in more if m)))
    return "\n\n".join(parts)


def find_models(r: dict) -> str:
    rows = [
        [m["name"], f"{_fmt(m['params_b'])}B", compact(m["context_length"]), m["license"]["name"], m["release_date"]]
        for m in r["models"]
    ]
    head = f"### {r['count']} model(s) found" + (" (showing the newest)" if r.get("truncated") else "")
    return head + "\n\n" + table(["Model", "Size", "Context", "Licence", "Released"], rows)


def list_gpus(r: dict) -> str:
    rows = [
        [
            g["name"],
            g.get("memory_stated") or f"{_fmt(g['memory_gb'])} GB",
            f"{_fmt(g['memory_bandwidth_gbps'])} GB/s",
            _usd(g["cloud_usd_per_hour"]) + "/h" if g["cloud_usd_per_hour"] else "not reported",
        ]
        for g in r["gpus"]
    ]
    return "### GPUs\n\n" + table(["GPU", "Memory", "Bandwidth", "Rent"], rows)


def list_licenses(r: dict) -> str:
    rows = [
        [
            x["name"],
            x["commercial_use"],
            _fmt(x["mau_threshold"]) if x["mau_threshold"] else "none",
            OUTPUTS_WORDS.get(x["outputs_to_train_other_models"] or "", x["outputs_to_train_other_models"])
            or "no restriction stated",
        ]
        for x in r["licenses"]
    ]
    return "### Licences\n\n" + table(["Licence", "Commercial", "User cap", "Training on outputs"], rows)


RENDERERS: dict[str, Callable[[dict], str]] = {
    "select_models": select_models,
    "check_license": check_license,
    "estimate_memory": estimate_memory,
    "estimate_throughput": estimate_throughput,
    "estimate_cost": estimate_cost,
    "compare_benchmarks": compare_benchmarks,
    "plan_deployment": plan_deployment,
    "get_model": get_model,
    "find_models": find_models,
    "list_gpus": list_gpus,
    "list_licenses": list_licenses,
}


def render(tool: str, result: dict) -> str:
    if "error" in result:
        err = result["error"]
        hint = f" Did you mean: {', '.join(err['suggestions'])}?" if err.get("suggestions") else ""
        return f"I could not run {tool}: {err['message']}.{hint}"
    fn = RENDERERS.get(tool)
    return fn(result) if fn else ""


def render_unfolded(tool: str, result: dict) -> str:
    """:func:`render` with the folded parts in place (reports, terminals)."""
    return unfold(render(tool, result))
