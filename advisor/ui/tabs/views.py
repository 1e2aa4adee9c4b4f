"""The Views tab: the tutorial's tables (advisor/views.py), computed from the catalog and the tools. A view's chart
shows where it has one (no empty box where it has none); a table longer than a screen shows its first rows and folds
the rest."""

from __future__ import annotations

import re

import gradio as gr

from advisor import views

SHOWN_ROWS = 12  # rows of a long table shown before the rest is folded


def fold_long_tables(markdown: str, shown: int = SHOWN_ROWS) -> str:
    """Each Markdown table of more than ``shown`` rows: its first rows, then the rest under "All N rows"."""
    out, lines, i = [], markdown.split("\n"), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|(-+\|)+$", lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            head, rows = lines[i : i + 2], lines[i + 2 : j]
            out += head + rows[:shown]
            if len(rows) > shown:
                out += ["", f"<details><summary>All {len(rows)} rows</summary>", "", *head, *rows, "", "</details>"]
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def show_view(name):
    try:
        view = views.get(name)
    except (ValueError, TypeError, KeyError):
        return f"Unknown view; choose one of: {', '.join(views.VIEWS)}", gr.update(value=None, visible=False)
    figure = view.get("figure")
    return fold_long_tables(view["markdown"]), gr.update(value=figure, visible=figure is not None)


def build(demo: gr.Blocks) -> None:
    gr.Markdown("The tutorial's tables, computed from the catalog and the tools.")
    choice = gr.Dropdown(list(views.VIEWS), value="families", label="View", elem_id="view-choice")
    plot = gr.Plot(label="Chart", elem_id="view-chart", visible=False)
    text = gr.Markdown(elem_id="view")
    choice.change(show_view, inputs=[choice], outputs=[text, plot], api_visibility="private")
    demo.load(show_view, inputs=[choice], outputs=[text, plot], api_visibility="private")
