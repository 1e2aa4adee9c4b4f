"""A model's page (the Catalog tab opens it from a click on a row): its facts, release date and architecture; a table
of formats against the memory each needs (and, with a device, whether it fits and the largest context then); its
benchmark scores as bars, each with its source; its licence with a badge for commercial use; and how to run it with
vLLM, llama.cpp / Ollama and transformers. Every figure is a field of a tool result (get_model, estimate_memory,
check_license, tools.deploy.quick_start)."""

from __future__ import annotations

import html
from typing import Any

import tools
from advisor import render, verdict
from tools.errors import InvalidInput, NotFound

FORMATS = ("bf16", "fp8", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "awq")
CONTEXT = 4096  # the context the memory table is at (the largest context that fits is shown beside it)


def page(model: str, gpu: str | None = None, vram_gb: float | None = None, num_gpus: int = 1) -> dict[str, Any]:
    """{"markdown", "figure", "model"} of one model, fitted to the device when one is given."""
    facts = tools.call("get_model", {"model": model})
    device = {"gpu": gpu} if gpu else {"vram_gb": vram_gb} if vram_gb else {}
    memory = _memory(facts["id"], device, num_gpus)
    licence = tools.call("check_license", {"model": facts["id"], "commercial": True})
    start = _quick_start(facts["id"], memory, num_gpus)
    parts = [
        _header(facts),
        _architecture(facts),
        _licence(facts, licence),
        _memory_table(memory, device),
        _benchmarks(facts),
    ]
    return {
        "model": facts["id"],
        "markdown": "\n\n".join(p for p in parts if p),
        "figure": _benchmark_chart(facts),  # shown right under the benchmark table
        "more": "\n\n".join([_deploy(start), render._sources(facts)]),
    }


def on_device(fit: dict) -> str:
    """'one NVIDIA GeForce RTX 4090', '2 x NVIDIA H100 SXM', 'a device with 24GB of memory', '2 devices with 24GB of
    memory each', from a fit's device and count."""
    device, count = fit["device"], fit["count"]
    if device.startswith("a device"):
        return device if count == 1 else device.replace("a device", f"{count} devices", 1) + " each"
    if count == 1:
        return f"one {device}"
    return f"{count} x {device}"


def _memory(model: str, device: dict, num_gpus: int) -> list[dict]:
    rows = []
    for quant in FORMATS:
        args = {"model": model, "quantization": quant, "context_length": CONTEXT, **device}
        if device:
            args["num_gpus"] = num_gpus
        try:
            rows.append(tools.call("estimate_memory", args))
        except (InvalidInput, NotFound):  # a format this model or device cannot take (FP8 without FP8 hardware)
            continue
    return rows


def _quick_start(model: str, memory: list[dict], num_gpus: int) -> dict:
    """The snippets, each engine in the most precise format it loads that fits the device (without a device: BF16
    for vLLM and transformers, Q4_K_M for llama.cpp)."""
    from tools.common import catalog
    from tools.deploy import quick_start

    quants = catalog().quantizations
    fitting = [r["quantization"]["id"] for r in memory if r.get("fits")]
    served = next((q for q in fitting if "vllm" in quants[q].engines), None)
    gguf = next((q for q in fitting if quants[q].family == "gguf"), None)
    start = quick_start(model, served, 8192, num_gpus)
    start["llama.cpp"], start["ollama"] = (lambda s: (s["llama.cpp"], s["ollama"]))(quick_start(model, gguf, 8192))
    if memory and memory[0].get("fit") and "bf16" not in fitting:  # 16-bit does not fit: transformers in 4-bit
        start["transformers"] = quick_start(model, "int4", 8192)["transformers"]
    return start


def _header(f: dict) -> str:
    size = f"{f['params_b']:g}B parameters" + (f" ({f['active_params_b']:g}B active)" if f["active_params_b"] else "")
    facts = [
        f"{f['vendor']}",
        f"released {f['release_date']}",
        size,
        f"{render.compact(f['context_length'])} tokens of context",
        "input: " + ", ".join(f["modalities"]),
    ]
    repos = ", ".join(f"{kind}: `{repo}`" for kind, repo in f["repos"].items())
    return f"### {f['name']}\n\n" + " · ".join(facts) + f"\n\nWeights: {repos}"


def _architecture(f: dict) -> str:
    a = f.get("architecture")
    if not a:
        return "**Architecture**: not reported in the catalog."
    attention = a.get("attention", {}).get("kind", "")
    bits = [
        f"{a['layers']} layers" if a.get("layers") else "",
        f"hidden size {a['hidden_size']:,}" if a.get("hidden_size") else "",
        f"{attention} attention" if attention else "",
        f"{a['attention_heads']} heads, {a['kv_heads']} KV heads of {a['head_dim']}"
        if a.get("attention_heads") and a.get("kv_heads") and a.get("head_dim")
        else "",
    ]
    moe = a.get("moe")
    if moe:
        bits.append(f"mixture of experts: {moe.get('experts')} experts, {moe.get('active_experts')} active per token")
    if a.get("linear_attention"):
        bits.append(f"{a['linear_attention'].get('layers')} linear-attention layers")
    return "**Architecture**: " + ", ".join(b for b in bits if b) + "."


def _licence(f: dict, lic: dict) -> str:
    level = lic["verdict"]
    badge = verdict.BADGE_CLASS.get(level, "unsure")
    words = verdict.VERDICT_WORDS.get(level, level)
    conditions = "".join(f"\n- {c}" for c in lic.get("conditions") or [])
    return (
        f'**Licence**: <span class="badge badge-{badge}">commercial use: {html.escape(words)}</span> '
        f"{html.escape(lic['license']['name'])} (<{lic['license']['url']}>)"
        + (f"\n\nConditions for commercial use:{conditions}" if conditions else "")
    )


def _memory_table(rows: list[dict], device: dict) -> str:
    if not rows:
        return ""
    fit = next((r["fit"] for r in rows if r.get("fit")), None)
    if fit:
        unit = fit["unit"]
        head = (
            f"#### Memory by format, at {CONTEXT:,} tokens, on {on_device(fit)} "
            f"({fit['memory_stated']} = {fit['memory']:g} {unit})"
        )
        table = render.table(
            ["Format", "Needs", "Fits", "Largest context"],
            [
                [
                    r["quantization"]["name"],
                    f"{r['fit']['needed']:g} {unit}",
                    "yes" if r["fit"]["fits"] else "no",
                    render.compact(r["fit"]["max_context"]) if r["fit"]["max_context"] else "none",
                ]
                for r in rows
            ],
        )
        return f"{head}\n\n{table}\n\n" + render.legend(f"Needs: per device, in {unit} like the device's memory")
    table = render.table(["Format", "Memory"], [[r["quantization"]["name"], f"{r['total_gb']:g} GB"] for r in rows])
    return f"#### Memory by format, at {CONTEXT:,} tokens\n\n{table}\n\n" + render.legend(
        "GB of 10^9 bytes; pick a device to see what fits it"
    )


def _benchmarks(f: dict) -> str:
    scores = f.get("benchmarks") or {}
    if not scores:
        return "#### Benchmarks\n\nNo benchmark score reported in the catalog."
    rows = [
        [name, f"{s['value']:g}", s["variant"], f"[{_host(s['source'])}]({s['source']})"] for name, s in scores.items()
    ]
    return "#### Benchmarks (vendor-reported unless the source says otherwise)\n\n" + render.table(
        ["Benchmark", "Score", "Variant", "Source"], rows
    )


def _host(url: str) -> str:
    return url.split("/")[2] if "//" in url else url


def _deploy(start: dict) -> str:
    blocks = [
        ("vLLM", "sh", start["vllm"]),
        ("llama.cpp", "sh", start["llama.cpp"]),
        ("Ollama (the llama.cpp file)", "sh", start["ollama"]),
        ("transformers", "python", start["transformers"]),
    ]
    out = [f"#### Run it (`{start['model']['repo']}`)"]
    for title, lang, item in blocks:
        out.append(f"**{title}**, {item['format']}:\n\n```{lang}\n{item['command']}\n```")
    out.append("Guides: " + ", ".join(f"<{u}>" for u in start["sources"]))
    return "\n\n".join(out)


def _benchmark_chart(f: dict):
    """Bars of the scores on a 0-100 scale (an arena rating is left to the table), with each source on hover."""
    import plotly.graph_objects as go

    scores = [(name, s) for name, s in (f.get("benchmarks") or {}).items() if 0 <= s["value"] <= 100]
    if not scores:
        return None
    scores.sort(key=lambda x: x[1]["value"])
    fig = go.Figure(
        go.Bar(
            x=[s["value"] for _, s in scores],
            y=[name for name, _ in scores],
            orientation="h",
            text=[f"{s['value']:g}" for _, s in scores],
            textposition="auto",
            textangle=0,
            customdata=[f"{s['variant']}, {s['setting']}<br>{s['source']}" for _, s in scores],
            hovertemplate="%{y}: %{x}<br>%{customdata}<extra></extra>",
            marker_color="#2a9d8f",
        )
    )
    fig.update_layout(
        title=f"{f['name']}: benchmark scores",
        template="plotly_white",
        height=max(260, 28 * len(scores) + 110),
        margin=dict(l=10, r=20, t=50, b=40),
    )
    fig.update_xaxes(range=[0, 100], title="score (0-100)")
    fig.update_yaxes(automargin=True)
    return fig
