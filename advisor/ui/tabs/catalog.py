"""The Catalog tab: the models filtered by family, licence, size and context (find_models), and quality against size
for a benchmark."""

from __future__ import annotations

from typing import Any

import gradio as gr

import tools
from tools.common import catalog
from tools.errors import InvalidInput

COLUMNS = ["model", "family", "params_b", "active_params_b", "context", "licence", "released"]


def browse(family: str, licence: str, max_b: float, min_ctx: str, benchmark: str):
    import pandas as pd

    from tools import charts

    try:
        found = tools.call(
            "find_models",
            {
                "family": None if family == "(all)" else family,
                "license": None if licence == "(all)" else licence,
                "max_params_b": max_b,
                "min_context": None if min_ctx in (None, "any") else int(min_ctx),
                "limit": 200,
            },
        )
    except (InvalidInput, ValueError, TypeError) as exc:
        raise gr.Error(f"cannot filter the catalog that way: {exc}") from None
    rows = [
        [
            m["name"],
            m["family"],
            m["params_b"],
            m["active_params_b"],
            m["context_length"],
            m["license"]["id"],
            m["release_date"],
        ]
        for m in found["models"]
    ]
    ids = [m["id"] for m in found["models"]]
    return pd.DataFrame(rows, columns=COLUMNS), charts.quality_vs_size(benchmark, model_ids=ids)


def build(demo: gr.Blocks) -> None:
    cat = catalog()
    families = sorted({m.family for m in cat.models.values()})
    with gr.Row():
        family = gr.Dropdown(["(all)", *families], value="(all)", label="Family")
        licence = gr.Dropdown(["(all)", *sorted(cat.licenses)], value="(all)", label="Licence")
        size = gr.Slider(0.1, 1000, value=1000, step=0.1, label="Max parameters (B)")
        context = gr.Dropdown(["any", "8192", "32768", "131072", "262144"], value="any", label="Min context")
        benchmark = gr.Dropdown(sorted(cat.benchmarks), value="MMLU", label="Benchmark for the scatter")
    table = gr.Dataframe(interactive=False, wrap=True, elem_id="catalog-table")
    plot = gr.Plot(label="Quality vs size")
    filters: list[Any] = [family, licence, size, context, benchmark]
    for control in filters:
        control.change(browse, inputs=filters, outputs=[table, plot], api_visibility="private")
    demo.load(browse, inputs=filters, outputs=[table, plot], api_visibility="private")
