"""The tutorial's tables, computed from the catalog and the tools (never hard-coded).

    advisor view families | use-cases | licenses | hardware | costs | quality-vs-size | heatmap

Each view returns ``{"title", "markdown", "data", "figure"?}``; figures are plotly.
"""

from __future__ import annotations

import statistics
from typing import Any

import tools
from advisor import render
from catalog.schema import Model
from tools.catalog_tools import best_scores
from tools.common import catalog
from tools.errors import NotFound
from tools.selection import USE_CASES, distributions, percentile

VIEWS = ("families", "use-cases", "licenses", "hardware", "costs", "quality-vs-size", "heatmap")
CATEGORY_NAMES = {
    "knowledge": "knowledge",
    "reasoning": "reasoning",
    "code": "coding",
    "math": "maths",
    "instruction_following": "instruction following",
    "chat": "chat",
    "multilingual": "multilingual",
    "commonsense": "commonsense",
    "truthfulness": "truthfulness",
    "long_context": "long context",
    "tool_use": "tool use",
}
SIZE_BANDS = [
    ("~1B", 0.5, 2),
    ("~3B", 2, 5),
    ("7-9B", 6, 9.9),
    ("12-15B", 10, 16),
    ("24-34B", 20, 36),
    ("70-72B", 60, 80),
    ("100B+ (MoE and dense)", 100, 10_000),
]


def families() -> dict:
    cat = catalog()
    dist = distributions()
    rows: list[dict[str, Any]] = []
    for fam in sorted(cat.families.values(), key=lambda f: (f.lineage, f.generation)):
        models = cat.family_models(fam.id)
        if not models:
            continue
        by_cat: dict[str, list[float]] = {}
        for m in models:
            for b, s in best_scores(m).items():
                if b in dist:
                    by_cat.setdefault(cat.benchmarks[b].category, []).append(percentile(dist[b], s["value"]))
        ranked = sorted(((statistics.mean(v), c) for c, v in by_cat.items()), reverse=True)
        strengths = [CATEGORY_NAMES[c] for p, c in ranked if p >= 0.6][:3]
        weaknesses = [CATEGORY_NAMES[c] for p, c in ranked if p < 0.4][-3:]
        rows.append(
            {
                "family": fam.name,
                "vendor": fam.vendor,
                "sizes_b": sorted(m.params_b for m in models),
                "licenses": sorted({cat.licenses[m.license].name for m in models}),
                "strengths": strengths or ["no category above the catalog's 60th percentile"],
                "weaknesses": weaknesses or ["none below the 40th percentile"] if by_cat else ["no benchmark reported"],
                "benchmarks_reported": sum(len(m.benchmarks) for m in models),
            }
        )
    md = render.table(
        ["Family", "Vendor", "Sizes (B)", "Licences", "Strengths", "Weaknesses"],
        [
            [
                r["family"],
                r["vendor"],
                ", ".join(f"{s:g}" for s in r["sizes_b"]),
                "; ".join(r["licenses"]),
                ", ".join(r["strengths"]),
                ", ".join(r["weaknesses"]),
            ]
            for r in rows
        ],
    )
    note = (
        "Strengths and weaknesses: benchmark categories where the family's models sit, on average, above the 60th "
        "or below the 40th percentile of the catalog (vendor-reported scores)."
    )
    return {"title": "Model families", "markdown": f"### Model families\n\n{md}\n\n{note}", "data": rows}


def use_cases(commercial: bool = True) -> dict:
    rows: list[dict[str, Any]] = []
    for uc in USE_CASES:
        r = tools.call("select_models", {"use_case": uc, "commercial": commercial, "top_k": 2})
        recs = r["recommendations"]
        best = recs[0] if recs else None
        alt = recs[1] if len(recs) > 1 else None
        rows.append(
            {
                "use_case": uc,
                "best": best["name"] if best else "none",
                "alternative": alt["name"] if alt else "none",
                "why": "; ".join(best["reasons"][:2]) if best else "",
                "score": best["score"] if best else None,
            }
        )
    md = render.table(
        ["Use case", "Best model", "Alternative", "Why"],
        [[r["use_case"].replace("_", " "), r["best"], r["alternative"], r["why"]] for r in rows],
    )
    return {
        "title": "Best model per use case",
        "markdown": f"### Best model per use case ({'commercial use' if commercial else 'any use'}, no hardware "
        f"limit)\n\n{md}",
        "data": rows,
    }


def licenses() -> dict:
    r = tools.call("list_licenses", {})
    return {"title": "Licences", "markdown": render.list_licenses(r), "data": r["licenses"]}


def hardware() -> dict:
    cat = catalog()
    gpus = sorted(
        (g for g in cat.gpus.values() if g.segment != "apple"), key=lambda g: (g.memory_gb, g.memory_bandwidth_gbps)
    )
    rows = []
    for label, lo, hi in SIZE_BANDS:
        band = [m for m in cat.models.values() if lo <= m.params_b < hi and m.architecture is not None]
        if band:
            rows.append(_size_band_row(label, max(band, key=lambda x: (x.release_date, -x.params_b)), gpus))
    md = render.table(
        ["Size", "Example", "16-bit GB", "8-bit GB", "4-bit GB", "Smallest GPU (4-bit)", "tokens/s there"],
        [
            [
                r["size"],
                r["example"],
                r["fp16_gb"],
                r["int8_gb"],
                r["int4_gb"],
                r["smallest_device"],
                r["tokens_per_s"] if r["tokens_per_s"] is not None else "not reported",
            ]
            for r in rows
        ],
    )
    note = (
        "Totals from estimate_memory at 4,096 tokens (16-bit: BF16 with transformers; 8-bit: GGUF Q8_0; 4-bit: GGUF "
        "Q4_K_M with llama.cpp); the smallest GPU is the one with the least memory that holds the 4-bit model; "
        "tokens/s from estimate_throughput for one stream there."
    )
    from tools import charts

    return {
        "title": "Hardware by model size",
        "markdown": f"### Hardware by model size\n\n{md}\n\n{note}",
        "data": rows,
        "figure": charts.memory_by_size(rows),
    }


def _size_band_row(label: str, model: Model, gpus: list) -> dict[str, Any]:
    """One size band: its newest model's memory in three formats, the smallest device that holds it in 4-bit and the
    speed there."""
    context = min(4096, model.context_length)
    memory = {
        quant: tools.call("estimate_memory", {"model": model.id, "quantization": quant, "context_length": context})
        for quant in ("bf16", "q8_0", "q4_k_m")
    }
    device, count = _smallest_device(model, gpus, context)
    speed = None
    if device:
        speed = tools.call(
            "estimate_throughput",
            {
                "model": model.id,
                "gpu": device.id,
                "quantization": "q4_k_m",
                "num_gpus": count,
                "context_length": min(2048, model.context_length),
            },
        )
    return {
        "size": label,
        "example": model.name,
        "fp16_gb": memory["bf16"]["total_gb"],
        "int8_gb": memory["q8_0"]["total_gb"],
        "int4_gb": memory["q4_k_m"]["total_gb"],
        "smallest_device": f"{count} x {device.name}" if device else "none in catalog",
        "tokens_per_s": speed["decode_tokens_per_s"] if speed else None,
    }


def _smallest_device(model: Model, gpus: list, context: int) -> tuple[Any, int]:
    """The device with the least memory that holds the model in 4-bit, on 1, 2, 4 or 8 of them (None: none does)."""
    count = 1
    for count in (1, 2, 4, 8):
        for gpu in gpus:
            fit = tools.call(
                "estimate_memory",
                {
                    "model": model.id,
                    "quantization": "q4_k_m",
                    "context_length": context,
                    "gpu": gpu.id,
                    "num_gpus": count,
                },
            )
            if fit["fits"]:
                return gpu, count
    return None, count


def costs(model: str = "llama-3.1-8b", gpu: str = "rtx-4090") -> dict:
    r = tools.call("estimate_cost", {"monthly_tokens": 10_000_000, "model": model, "gpu": gpu})
    fig = None
    try:
        from tools import charts

        fig = charts.cost_vs_volume(r)
    except ImportError:
        pass
    return {"title": "Deployment cost comparison", "markdown": render.estimate_cost(r), "data": r, "figure": fig}


def quality_vs_size(benchmark: str = "MMLU") -> dict:
    from tools import charts

    cat = catalog()
    b = cat.benchmark(benchmark)
    rows = sorted(
        (
            {
                "model": m.name,
                "params_b": m.params_b,
                "score": best_scores(m)[b.id]["value"],
                "license": cat.licenses[m.license].category,
            }
            for m in cat.models.values()
            if b.id in best_scores(m)
        ),
        key=lambda r: r["params_b"],
    )
    md = render.table(
        ["Model", "Params (B)", b.name, "Licence category"],
        [[r["model"], r["params_b"], r["score"], r["license"]] for r in rows],
    )
    return {
        "title": f"Quality vs size ({b.name})",
        "markdown": f"### Quality vs size: {b.name}\n\n{md}",
        "data": rows,
        "figure": charts.quality_vs_size(b.id),
    }


def heatmap(models: list[str] | None = None) -> dict:
    from tools import charts

    cat = catalog()
    if models is None:
        latest: dict[str, Model] = {}
        for m in cat.models.values():
            fam = cat.families[m.family]
            if len(m.benchmarks) >= 5 and (
                fam.lineage not in latest
                or (m.release_date, m.params_b) > (latest[fam.lineage].release_date, latest[fam.lineage].params_b)
            ):
                latest[fam.lineage] = m
        models = [m.id for m in sorted(latest.values(), key=lambda m: m.params_b)][:14]
    r = tools.call(
        "compare_benchmarks",
        {"models": models, "benchmarks": ["MMLU", "MMLU-Pro", "GPQA", "HumanEval", "GSM8K", "MATH", "IFEval"]},
    )
    return {
        "title": "Benchmark heatmap",
        "markdown": render.compare_benchmarks(r),
        "data": r,
        "figure": charts.benchmark_heatmap(r),
    }


def get(name: str) -> dict:
    fn = {
        "families": families,
        "use-cases": use_cases,
        "licenses": licenses,
        "hardware": hardware,
        "costs": costs,
        "quality-vs-size": quality_vs_size,
        "heatmap": heatmap,
    }.get(name)
    if fn is None:
        raise NotFound(
            f"unknown view {name!r}; choose one of {', '.join(VIEWS)}", field="name", suggestions=list(VIEWS)
        )
    return fn()
