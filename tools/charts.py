"""Plotly figures built from catalog data and tool results (returned separately from the JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.common import catalog

if TYPE_CHECKING:
    import plotly.graph_objects as go

LICENSE_COLORS = {
    "permissive": "#2a9d8f",
    "community": "#e9c46a",
    "open_rail": "#f4a261",
    "research": "#e76f51",
    "non_commercial": "#d62828",
    "non_production": "#9b2226",
}


PART_NAMES = {"kv_cache": "KV cache", "cuda_context": "CUDA context", "allocator_slack": "allocator slack"}


def _layout(fig, title: str):
    fig.update_layout(
        title=title,
        template="plotly_white",
        margin=dict(l=50, r=20, t=50, b=45),
        height=420,
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    return fig


LABELLED_POINTS = 25  # a scatter with at most this many points names each; a bigger one names the highlighted only


def quality_vs_size(
    benchmark: str = "MMLU", model_ids: list[str] | None = None, highlight: list[str] | None = None
) -> go.Figure:
    """Benchmark score against total parameters (log scale); colour = licence category, marker size = context; the
    points named (all of them when few, else the highlighted ones)."""
    import plotly.graph_objects as go

    from tools.catalog_tools import best_scores

    cat = catalog()
    highlighted = set(highlight or [])
    groups: dict[str, dict[str, list]] = {}
    for m in cat.models.values():
        if model_ids is not None and m.id not in model_ids:
            continue
        score = best_scores(m).get(benchmark)
        if not score:
            continue
        category: str = cat.licenses[m.license].category
        g = groups.setdefault(category, {"x": [], "y": [], "size": [], "text": [], "line": [], "label": []})
        g["x"].append(m.params_b)
        g["y"].append(score["value"])
        g["size"].append(8 + min(m.context_length, 262144) ** 0.5 / 30)
        g["text"].append(
            f"{m.name}<br>{score['value']} ({score['variant']}, {score['setting']})<br>context {m.context_length:,}"
        )
        g["line"].append(3 if m.id in highlighted else 0.5)
        g["label"].append((m.id in highlighted, m.name))
    fig = go.Figure()
    named_all = sum(len(g["x"]) for g in groups.values()) <= LABELLED_POINTS
    for category, g in sorted(groups.items()):
        fig.add_trace(
            go.Scatter(
                x=g["x"],
                y=g["y"],
                mode="markers+text",
                name=category.replace("_", " "),
                text=[name if named_all or high else "" for high, name in g["label"]],
                textposition="top center",
                textfont=dict(size=10),
                customdata=g["text"],
                hovertemplate="%{customdata}<extra></extra>",
                marker=dict(
                    size=g["size"],
                    color=LICENSE_COLORS.get(category, "#888"),
                    opacity=0.8,
                    line=dict(width=g["line"], color="#111"),
                ),
            )
        )
    fig.update_xaxes(type="log", title="total parameters (billions, log scale)")
    fig.update_yaxes(title=f"{benchmark} (vendor-reported)")
    return _layout(fig, f"Quality vs size: {benchmark}")


def benchmark_heatmap(compare_result: dict) -> go.Figure:
    """Models x benchmarks from a compare_benchmarks result; blank where not reported."""
    import plotly.graph_objects as go

    benches = compare_result["benchmarks"]
    rows = compare_result["table"]
    z, text = [], []
    for row in rows:
        zr, tr = [], []
        for b in benches:
            s = row["scores"].get(b["id"])
            zr.append(s["value"] if s and b["id"] != "ArenaElo" else None)
            tr.append(f"{s['value']}" if s else "not reported")
        z.append(zr)
        text.append(tr)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[b["name"] for b in benches],
            y=[r["name"] for r in rows],
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            hoverongaps=False,
            colorbar=dict(title="score"),
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Benchmarks (vendor-reported)")


def cost_vs_volume(cost_result: dict) -> go.Figure:
    """Monthly cost of each option against monthly volume (log-log), break-even points marked."""
    import plotly.graph_objects as go

    curve = cost_result["curve"]
    fig = go.Figure()
    for s in curve["series"]:
        dash = {"api": "solid", "cloud_gpu": "dash", "on_prem": "dot"}.get(s["kind"], "solid")
        fig.add_trace(
            go.Scatter(
                x=curve["monthly_tokens"],
                y=[max(v, 0.01) for v in s["monthly_usd"]],
                mode="lines",
                name=s["name"],
                line=dict(dash=dash),
            )
        )
    xs, ys, labels, short = [], [], [], []
    for b in cost_result.get("break_even", []):
        if b.get("monthly_tokens"):
            xs.append(b["monthly_tokens"])
            ys.append(b["monthly_usd"])
            labels.append(f"break-even: {b['self_hosted']} vs {b['api']}<br>{b['monthly_tokens']:,} tokens/month")
            short.append(_short_volume(b["monthly_tokens"]))
    if xs:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers+text",
                name="break-even",
                text=short,
                textposition="top center",
                textfont=dict(size=10, color="#d62828"),
                customdata=labels,
                hovertemplate="%{customdata}<extra></extra>",
                marker=dict(size=12, symbol="x", color="#d62828"),
            )
        )
    fig.add_vline(x=cost_result["monthly_tokens"], line=dict(color="#999", dash="dot"))
    fig.update_xaxes(type="log", title="tokens per month")
    fig.update_yaxes(type="log", title="US$ per month")
    return _layout(fig, "Cost vs monthly volume")


def _short_volume(n: float) -> str:
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{float(f'{n / scale:.3g}'):g}{suffix}"
    return f"{n:g}"


def memory_breakdown(memory_results: list[dict]) -> go.Figure:
    """Stacked bars of weights, KV cache, activations and overhead for one or more estimate_memory results."""
    import plotly.graph_objects as go

    labels = [
        f"{r['model']['name']}<br>{r['quantization']['name']}, {r['context_length']:,} tok" for r in memory_results
    ]
    parts = [p["part"] for p in memory_results[0]["breakdown"]] if memory_results else []
    fit = next((r["fit"] for r in reversed(memory_results) if r.get("fit")), None)
    # one unit rule: compared with a device, in the device's unit (GiB where its "GB" is 2^30 bytes)
    key = (
        "gib"
        if fit and fit["unit"] == "GiB" and all("gib" in p for r in memory_results for p in r["breakdown"])
        else "gb"
    )
    fig = go.Figure()
    for part in parts:
        fig.add_trace(
            go.Bar(
                name=PART_NAMES.get(part, part.replace("_", " ")),
                x=labels,
                y=[next(p[key] for p in r["breakdown"] if p["part"] == part) for r in memory_results],
            )
        )
    if fit:
        unit = "GiB" if key == "gib" else "GB"
        usable = fit["usable"] * fit["count"]
        fig.add_hline(
            y=usable,
            line=dict(color="#d62828", dash="dash"),
            annotation_text=f"{fit['count']} x {fit['device']} ({fit['memory_stated']}"
            + (" each" if fit["count"] > 1 else "")
            + f"): {usable:g} {unit} usable",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="GiB (2^30 bytes)" if key == "gib" else "GB (10^9 bytes)")
    return _layout(fig, "Memory breakdown")


def memory_by_size(rows: list[dict]) -> go.Figure:
    """The hardware view's rows: each size band's example model in 16, 8 and 4 bits (GB, from estimate_memory), with
    the smallest device that holds the 4-bit model named under its bars."""
    import plotly.graph_objects as go

    x = [f"{r['size']}<br>{r['example']}<br>4-bit on {r['smallest_device']}" for r in rows]
    fig = go.Figure()
    for key, name in (("fp16_gb", "16-bit"), ("int8_gb", "8-bit"), ("int4_gb", "4-bit")):
        fig.add_trace(
            go.Bar(name=name, x=x, y=[r[key] for r in rows], text=[f"{r[key]:g}" for r in rows], textposition="auto")
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log", title="memory, GB (10^9 bytes, log scale)")
    return _layout(fig, "Memory by model size and format")


def for_tool_result(name: str, result: dict, previous: list[dict] | None = None) -> go.Figure | None:
    """The chart that goes with a tool result, if any."""
    if "error" in result:
        return None
    if name == "estimate_cost":
        return cost_vs_volume(result)
    if name == "estimate_memory":
        return memory_breakdown([*(previous or []), result])
    if name == "compare_benchmarks":
        return benchmark_heatmap(result)
    if name == "select_models":
        ids = [r["model"] for r in result.get("recommendations", [])]
        return quality_vs_size("MMLU", highlight=ids)
    return None
