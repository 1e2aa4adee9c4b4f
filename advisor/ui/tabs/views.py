"""The Views tab: the tutorial's tables (advisor/views.py), computed from the catalog and the tools."""

from __future__ import annotations

import gradio as gr

from advisor import views


def show_view(name):
    try:
        view = views.get(name)
    except (ValueError, TypeError, KeyError):
        return f"Unknown view; choose one of: {', '.join(views.VIEWS)}", None
    return view["markdown"], view.get("figure")


def build(demo: gr.Blocks) -> None:
    gr.Markdown("The tutorial's tables, computed from the catalog and the tools.")
    choice = gr.Dropdown(list(views.VIEWS), value="families", label="View", elem_id="view-choice")
    text = gr.Markdown(elem_id="view")
    plot = gr.Plot(label="Chart")
    choice.change(show_view, inputs=[choice], outputs=[text, plot], api_visibility="private")
    demo.load(show_view, inputs=[choice], outputs=[text, plot], api_visibility="private")
