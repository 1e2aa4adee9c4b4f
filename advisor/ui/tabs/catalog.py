"""The Catalog tab: a catalog to shop in. Search by name; "fits my device" (pick a GPU or type its memory) keeps the
models that fit, with the memory each needs and the largest context that fits; a licence filter by commercial
verdict; newest first (or by size or context); a count of what was found; quality against size with the points
named; and a model's page (advisor/model_page.py) from a click on its row. Every figure comes from find_models,
get_model, estimate_memory and check_license."""

from __future__ import annotations

from typing import Any

import gradio as gr

import tools
from advisor import model_page, render
from advisor.ui.tabs.views import fold_long_tables
from tools.common import catalog
from tools.errors import InvalidInput, NotFound

ANY = "(any)"
COMMERCIAL = ("any use", "commercial use")
SORTS = [("newest first", "newest"), ("largest first", "largest"), ("smallest first", "smallest"),
         ("longest context first", "context")]  # fmt: skip
SHOWN_ROWS = 25  # rows shown before the rest of the results is folded
VERDICT_ORDER = {"yes": 0, "conditional": 1, "no": 2}
# the licence's own commercial-use term (yes, conditional, no); check_license on the model's page lists the
# conditions that come with it (attribution, a user threshold, a use policy)
VERDICT_LABEL = {v: f"commercial: {v}" for v in VERDICT_ORDER}


def licence_choices() -> list[tuple[str, str]]:
    """Every licence a model uses, grouped by its commercial-use term (yes, conditional, no), then by name."""
    cat = catalog()
    used = {m.license for m in cat.models.values()}
    licences = sorted(
        (cat.licenses[i] for i in used),
        key=lambda lic: (VERDICT_ORDER.get(str(lic.terms.commercial_use.value), 3), lic.name.lower()),
    )
    return [(ANY, ANY)] + [
        (f"{VERDICT_LABEL.get(str(lic.terms.commercial_use.value), 'commercial: unknown')} · {lic.name}", lic.id)
        for lic in licences
    ]


def family_choices() -> list[tuple[str, str]]:
    """Each model line (every version of Llama, of Qwen...) and each family, by name."""
    cat = catalog()
    with_models = {m.family for m in cat.models.values()}
    lines = sorted({f.lineage for f in cat.families.values() if f.id in with_models})
    families = sorted((f for f in cat.families.values() if f.id in with_models), key=lambda f: f.name.lower())
    return [(ANY, ANY)] + [(f"{line}: every version", line) for line in lines] + [(f.name, f.id) for f in families]


def device_choices() -> list[tuple[str, str]]:
    cat = catalog()
    gpus = sorted(cat.gpus.values(), key=lambda g: (g.vendor, g.name))
    return [(ANY, ANY)] + [(g.name, g.id) for g in gpus]


class Catalog:
    """The tab's handlers: :meth:`browse` lists what the filters keep, :meth:`open` a model's page."""

    def browse(self, query, device, vram, commercial, family, licence, max_b, min_ctx, sort, benchmark):
        args = self._arguments(query, device, vram, commercial, family, licence, max_b, min_ctx, sort)
        try:
            found = tools.call("find_models", args)
        except (InvalidInput, NotFound, ValueError, TypeError) as exc:
            raise gr.Error(f"cannot filter the catalog that way: {exc}") from None
        models = found["models"]
        count, truncated = found["count"], found["truncated"]
        fitted = "gpu" in args or "vram_gb" in args
        heads = ["Model", "Released", "Params", "Context", "Licence", "Commercial"]
        heads += ["Format", "Memory", "Max context"] if fitted else []
        rows = [_row(m, fitted) for m in models]
        return (
            _count_line(count, truncated, len(rows), models, args, commercial),
            fold_long_tables(render.table(heads, rows), SHOWN_ROWS) if rows else "",
            _scatter(benchmark, [m["id"] for m in models]),
        )

    @staticmethod
    def _arguments(query, device, vram, commercial, family, licence, max_b, min_ctx, sort) -> dict[str, Any]:
        args: dict[str, Any] = {"limit": 200, "sort": sort or "newest"}
        if query and str(query).strip():
            args["query"] = str(query).strip()
        if device and device != ANY:
            args["gpu"] = device
        elif vram:
            args["vram_gb"] = float(vram)
        if commercial in COMMERCIAL[1:]:
            args["commercial"] = True
        if family and family != ANY:
            args["family"] = family
        if licence and licence != ANY:
            args["license"] = licence
        if max_b and float(max_b) < 1000:
            args["max_params_b"] = float(max_b)
        if min_ctx and min_ctx != "any":
            args["min_context"] = int(min_ctx)
        return args

    def open(self, model: str, device, vram):
        """A model's page, from a click on its name (the page script puts the model's id in the hidden box)."""
        if not model or model not in catalog().models:
            return gr.update(visible=False), "", None, ""
        gpu = device if device and device != ANY else None
        shown = model_page.page(model, gpu=gpu, vram_gb=None if gpu else (float(vram) if vram else None))
        return gr.update(visible=True), shown["markdown"], shown["figure"], shown["more"]


def _row(m: dict, fitted: bool) -> list:
    size = f"{m['params_b']:g}B" + (f" ({m['active_params_b']:g}B active)" if m["active_params_b"] else "")
    row = [
        f"[{m['name']}](?model={m['id']})",
        m["release_date"],
        size,
        render.compact(m["context_length"]),
        render.short_licence(m["license"]["name"]),
        m["license"]["commercial_use"],
    ]
    if fitted:
        fit = m["fit"]
        row += [fit["format"], f"{fit['needed']:g} {fit['unit']}", render.compact(fit["max_context"])]
    return row


def _count_line(count: int, truncated: bool, shown: int, models: list[dict], args: dict, commercial: str) -> str:
    what = [f"**{count} model{'s' if count != 1 else ''}**"]
    if models and models[0].get("fit"):
        fit = models[0]["fit"]
        what.append(
            f"fit {model_page.on_device(fit)} ({fit['memory_stated']} = {fit['memory']:g} {fit['unit']}) at "
            f"{fit['context']:,} tokens"
        )
    if commercial in COMMERCIAL[1:]:
        what.append("licence allows commercial use")
    what.append(dict((v, k) for k, v in SORTS)[args["sort"]])
    more = f" (the first {shown} shown; narrow the search)" if truncated else ""
    legend = " Click a model's name for its page." if models else " Nothing matches: relax a filter."
    return " · ".join(what) + more + "." + legend


def _scatter(benchmark: str, ids: list[str]):
    from tools import charts

    return charts.quality_vs_size(benchmark, model_ids=ids) if ids else None


def build(demo: gr.Blocks) -> None:
    cat = catalog()
    handlers = Catalog()
    with gr.Row():
        query = gr.Textbox(
            label="Search", placeholder="a name, family or vendor: qwen coder, gemma 4…", elem_id="catalog-search"
        )
        device = gr.Dropdown(device_choices(), value=ANY, label="Fits my device", elem_id="catalog-device")
        vram = gr.Number(value=None, minimum=1, label="…or memory per device (GB, as stated)", elem_id="catalog-vram")
    commercial = gr.Radio(list(COMMERCIAL), value=COMMERCIAL[0], label="Licence allows", elem_id="catalog-commercial")
    with gr.Accordion("More filters", open=False):
        with gr.Row():
            family = gr.Dropdown(family_choices(), value=ANY, label="Family", elem_id="catalog-family")
            licence = gr.Dropdown(licence_choices(), value=ANY, label="Licence", elem_id="catalog-licence")
            sort = gr.Dropdown(SORTS, value="newest", label="Order", elem_id="catalog-sort")
        with gr.Row():
            size = gr.Slider(0.1, 1000, value=1000, step=0.1, label="Largest size (billions of parameters)")
            context = gr.Dropdown(["any", "8192", "32768", "131072", "262144"], value="any", label="Least context")
            benchmark = gr.Dropdown(sorted(cat.benchmarks), value="MMLU", label="Benchmark for the chart")
    count = gr.Markdown(elem_id="catalog-count")
    table = gr.Markdown(elem_id="catalog-table")
    # the model a click on a name opens (advisor/ui/style.py's page script writes its id here)
    opened = gr.Textbox(elem_id="catalog-open", elem_classes=["offscreen"], show_label=False, container=False)
    with gr.Column(visible=False, elem_id="model-page") as page:
        page_text = gr.Markdown(elem_id="model-page-text")
        page_chart = gr.Plot(label="Benchmarks", elem_id="model-page-chart")
        page_more = gr.Markdown(elem_id="model-page-run")
    plot = gr.Plot(label="Quality vs size", elem_id="catalog-chart")
    filters: list[Any] = [query, device, vram, commercial, family, licence, size, context, sort, benchmark]
    outputs = [count, table, plot]
    for control in filters:
        control.change(
            handlers.browse, inputs=filters, outputs=outputs, api_visibility="private", trigger_mode="always_last"
        )
    opened.change(
        handlers.open,
        inputs=[opened, device, vram],
        outputs=[page, page_text, page_chart, page_more],
        api_visibility="private",
    )
    demo.load(handlers.browse, inputs=filters, outputs=outputs, api_visibility="private")
