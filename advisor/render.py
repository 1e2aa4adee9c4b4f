"""Markdown views of tool results. Used by the offline driver's answers and by reports.

Renderers only lay out what a tool returned: every figure they print is a field of the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


def _usd(x) -> str:
    if x is None:
        return "not reported"
    return f"${x:,.2f}" if x < 1000 else f"${x:,.0f}"


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in row) + " |")
    return "\n".join(out)


def _assumptions(result: dict, limit: int = 4) -> str:
    items = result.get("assumptions") or []
    if not items:
        return ""
    return "\n".join(f"- {a}" for a in items[:limit])


def _sources(result: dict, limit: int = 5) -> str:
    srcs = result.get("sources") or []
    if not srcs:
        return ""
    shown = ", ".join(f"<{s}>" for s in srcs[:limit])
    more = f" (+{len(srcs) - limit} more)" if len(srcs) > limit else ""
    return f"Sources: {shown}{more}"


def select_models(r: dict) -> str:
    recs = r.get("recommendations") or []
    parts = [f"### Shortlist for {r['use_case'].replace('_', ' ')}"]
    if not recs:
        parts.append("No model in the catalog meets every constraint.")
    else:
        rows = []
        for i, rec in enumerate(recs, 1):
            rows.append(
                [
                    i,
                    rec["name"],
                    _fmt(rec["score"]),
                    rec["quantization"],
                    f"{_fmt(rec['memory_gb'])} GB",
                    f"{_fmt(rec['context_length'])}",
                    f"{rec['license']['name']} ({rec['license_verdict'].replace('_', ' ')})",
                ]
            )
        parts.append(table(["#", "Model", "Score", "Format", "Memory", "Context", "Licence"], rows))
        for rec in recs:
            parts.append(f"**{rec['name']}**: " + "; ".join(rec["reasons"]))
            if rec.get("license_conditions"):
                parts.append("  Licence conditions: " + "; ".join(rec["license_conditions"][:4]))
    if r.get("excluded"):
        parts.append("Notable exclusions: " + "; ".join(f"{e['name']} ({e['reason']})" for e in r["excluded"][:5]))
    parts.append("Assumptions:\n" + _assumptions(r))
    return "\n\n".join(parts)


def check_license(r: dict) -> str:
    verdict = r["verdict"].replace("_", " ")
    parts = [f"### Licence: {r['model']['name']}", f"**Verdict: {verdict}.** {r['summary']}."]
    if r.get("conditions"):
        parts.append("Conditions:\n" + "\n".join(f"- {c}" for c in r["conditions"]))
    if r.get("reasons"):
        parts.append("Why:\n" + "\n".join(f"- {c}" for c in r["reasons"]))
    if r.get("citations"):
        parts.append(
            "Clauses:\n"
            + "\n".join(f'- {c["term"].replace("_", " ")}: "{c["clause"]}" (<{c["url"]}>)' for c in r["citations"][:6])
        )
    for h in r.get("license_history") or []:
        parts.append(f"History: until {h['until']} these weights were under {h['license']['name']}.")
    parts.append(
        f"Licence text: <{r['license']['url']}> (read {r['license']['as_of']}). This is guidance, not legal advice."
    )
    return "\n\n".join(parts)


def estimate_memory(r: dict) -> str:
    parts = [
        f"### Memory: {r['model']['name']} in {r['quantization']['name']} ({r['engine']}), "
        f"{_fmt(r['context_length'])} tokens x {r['batch_size']}"
    ]
    rows = [[b["part"].replace("_", " "), f"{_fmt(b['gb'])} GB"] for b in r["breakdown"]]
    rows.append(["**total**", f"**{_fmt(r['total_gb'])} GB**"])
    parts.append(table(["Part", "Size"], rows))
    if "fits" in r:
        g = r["gpu"]
        usable = g.get("usable_gb")
        shown = f"{_fmt(g['memory_gb'])} GB each" + (
            f", of which {_fmt(usable)} GB usable" if usable is not None and usable < g["memory_gb"] else ""
        )
        line = (
            f"On {g['count']} x {g['name']} ({shown}): "
            + ("**fits**" if r["fits"] else "**does not fit**")
            + f", headroom {_fmt(r['headroom_gb'])} GB; largest context that fits: {_fmt(r['max_context_that_fits'])} "
            f"tokens."
        )
        if r.get("per_gpu_gb") is not None:
            line += f" Per GPU: {_fmt(r['per_gpu_gb'])} GB."
        parts.append(line)
        if r.get("if_it_does_not_fit"):
            parts.append("To make it fit:\n" + "\n".join(f"- {x}" for x in r["if_it_does_not_fit"]))
    parts.append("Assumptions:\n" + _assumptions(r, 6))
    return "\n\n".join(parts)


def estimate_throughput(r: dict) -> str:
    parts = [
        f"### Speed: {r['model']['name']} on {r['gpu']['count']} x {r['gpu']['name']} ({r['quantization']}, "
        f"{r['engine']})"
    ]
    rows = [
        ["decode, one stream", f"{_fmt(r['decode_tokens_per_s'])} tokens/s"],
        [f"aggregate, {r['effective_concurrency']} concurrent", f"{_fmt(r['aggregate_tokens_per_s'])} tokens/s"],
        ["per stream at that load", f"{_fmt(r['per_stream_tokens_per_s'])} tokens/s"],
        [
            "prefill (prompt)",
            f"{_fmt(r['prefill_tokens_per_s'])} tokens/s" if r["prefill_tokens_per_s"] else "not reported",
        ],
        ["bandwidth ceiling, one stream", f"{_fmt(r['roofline_tokens_per_s'])} tokens/s"],
    ]
    parts.append(table(["", "Estimate"], rows))
    parts.append("Basis:\n" + "\n".join(f"- {b}" for b in r["basis"]))
    return "\n\n".join(parts)


def estimate_cost(r: dict) -> str:
    parts = [f"### Cost at {_fmt(r['monthly_tokens'])} tokens a month"]
    rows = [
        [o["name"], o["kind"].replace("_", " "), _usd(o["monthly_usd"]), _usd(o["usd_per_mtok"])]
        for o in sorted(r["options"], key=lambda o: o["monthly_usd"])
    ]
    parts.append(table(["Option", "Kind", "Per month", "Per 1M tokens"], rows))
    names = [c["name"] for c in r["table"][0]["costs"]]
    vol_rows = [[_fmt(row["monthly_tokens"])] + [_usd(c["monthly_usd"]) for c in row["costs"]] for row in r["table"]]
    parts.append("By volume:\n\n" + table(["Tokens/month", *names], vol_rows))
    be = [b for b in r["break_even"]]
    if be:
        parts.append(
            "Break-even:\n"
            + "\n".join(
                f"- {b['self_hosted']} vs {b['api']}: "
                + (f"{_fmt(b['monthly_tokens'])} tokens a month ({b['note']})" if b["monthly_tokens"] else b["note"])
                for b in be[:8]
            )
        )
    parts.append(f"Cheapest at this volume: **{r['cheapest']}**.")
    parts.append("Assumptions:\n" + "\n".join(f"- {a}" for a in r["assumptions"]))
    return "\n\n".join(parts)


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
            "Changes between consecutive versions (same benchmark and variant):\n"
            + "\n".join(
                f"- {c['benchmark']} ({c['variant']}): {names.get(c['from'], c['from'])} {_fmt(c['before'])} -> "
                f"{names.get(c['to'], c['to'])} {_fmt(c['after'])} "
                f"({'+' if c['change'] >= 0 else ''}{_fmt(c['change'])})"
                for c in changes[:15]
            )
        )
    if r.get("missing"):
        parts.append(f"Not reported: {len(r['missing'])} model/benchmark pairs (shown as 'not reported').")
    parts.append("Settings differ between vendors; compare like with like. " + _sources(r, 6))
    return "\n\n".join(parts)


def plan_deployment(r: dict) -> str:
    rec = r["recommended"]
    parts = [
        f"### Deployment plan: {r['model']['name']}",
        f"**{rec['engine']} + {rec['quantization_name']} on {rec['num_gpus']} x {rec['gpu_name']}**"
        + (f", {rec['replicas']} replica(s)" if rec["replicas"] > 1 else ""),
        f"Command: `{rec['command']}`",
        "Why:\n" + "\n".join(f"- {x}" for x in r["reasons"]),
    ]
    if rec.get("monthly_usd_rented") is not None:
        parts.append(f"Rented, always on: {_usd(rec['monthly_usd_rented'])} a month.")
    if r.get("trade_offs"):
        parts.append("Alternatives:\n" + "\n".join(f"- {x}" for x in r["trade_offs"]))
    if r.get("not_possible"):
        parts.append("Ruled out: " + "; ".join(r["not_possible"][:5]))
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
        ["Context", f"{_fmt(r['context_length'])} tokens"],
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
    if r.get("unverified"):
        parts.append("Read only in secondary copies (unverified): " + ", ".join(r["unverified"]))
    if r.get("notes"):
        parts.append(r["notes"])
    parts.append(_sources(r))
    return "\n\n".join(parts)


def find_models(r: dict) -> str:
    rows = [
        [m["name"], f"{_fmt(m['params_b'])}B", _fmt(m["context_length"]), m["license"]["name"], m["release_date"]]
        for m in r["models"]
    ]
    head = f"### {r['count']} model(s) found" + (" (showing the newest)" if r.get("truncated") else "")
    return head + "\n\n" + table(["Model", "Size", "Context", "Licence", "Released"], rows)


def list_gpus(r: dict) -> str:
    rows = [
        [
            g["name"],
            f"{_fmt(g['memory_gb'])} GB",
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
            x["outputs_to_train_other_models"] or "no restriction stated",
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
