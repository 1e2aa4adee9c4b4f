"""The Exercises tab: the tutorial's three walkthroughs, each run as a conversation with the advisor (the same tools
and driver as the chat), with exercise 2's assumptions and exercise 3's family editable."""

from __future__ import annotations

import gradio as gr

from advisor import charts, exercises
from advisor.service import Advisor, InputRejected, StorageUnavailable
from advisor.ui.messages import literal, present, tool_message, warning
from tools.common import catalog
from tools.errors import InvalidInput


def transcript(result: exercises.WalkthroughResult) -> list[gr.ChatMessage]:
    """Each turn of the walkthrough: what was asked, the tool steps, the answer."""
    from advisor.events import ToolReturned

    messages = []
    for i, turn in enumerate(result.turns):
        messages.append(gr.ChatMessage(role="user", content=literal(turn["user"])))
        steps = []
        for call in turn["tool_calls"]:
            step = ToolReturned(call["id"], call["name"], call["args"], call["result"], call.get("duration_s") or 0.0)
            steps.append(step)
            messages.append(tool_message(step, "done"))
        messages.append(gr.ChatMessage(role="assistant", content=present(turn["reply"], steps, i > 0)))
    return messages


class Walkthrough:
    def __init__(self, advisor: Advisor):
        self.advisor = advisor

    def run_walkthrough(self, choice, model, gpu, price, util, share, apis, family):
        try:
            number = int(str(choice).split(".", 1)[0])
            cost = (
                exercises.CostAssumptions.of(
                    model=model,
                    gpu=gpu,
                    gpu_usd_per_hour=float(price) if price else None,
                    utilization=util,
                    input_share=share,
                    api_models=list(apis or []),
                )
                if number == 2
                else None
            )
            result = exercises.run(self.advisor, number, family=family, cost=cost)
        except (ValueError, TypeError, InvalidInput, InputRejected, StorageUnavailable) as exc:
            return [warning(literal(exc))], "", None
        return (
            transcript(result),
            exercises.summary_markdown(result),
            charts.latest(self.advisor.history(result.thread_id)),
        )


def build(advisor: Advisor) -> None:
    cat = catalog()
    walkthrough = Walkthrough(advisor)
    gr.Markdown(
        "Guided walkthroughs of the tutorial's three exercises. Each runs as a conversation with the advisor "
        "(the same tools and driver as the chat); the summary and chart come from its tool results."
    )
    with gr.Row():
        choice = gr.Radio(
            [f"{e.number}. {e.title}" for e in exercises.EXERCISES.values()],
            value=f"1. {exercises.EXERCISES[1].title}",
            label="Exercise",
            elem_id="exercise-choice",
        )
    with gr.Accordion("Assumptions (exercise 2) and family (exercise 3)", open=False):
        defaults = exercises.CostAssumptions()
        with gr.Row():
            model = gr.Dropdown(sorted(cat.models), value=defaults.model, label="Model to self-host")
            gpu = gr.Dropdown(sorted(cat.gpus), value=defaults.gpu, label="GPU")
            price = gr.Number(value=None, label="GPU $/hour (empty: catalog price)", minimum=0)
            utilization = gr.Slider(0.05, 1.0, value=defaults.utilization, step=0.05, label="Utilisation")
            input_share = gr.Slider(0.0, 1.0, value=defaults.input_share, step=0.05, label="Input share")
        apis = gr.Dropdown(
            sorted(p.id for p in cat.prices.values() if p.kind == "proprietary"),
            value=defaults.api_models,
            multiselect=True,
            label="APIs to compare",
            info=exercises.API_RULE,
        )
        family = gr.Radio(list(exercises.FAMILY_VERSIONS), value="llama", label="Family (exercise 3)")
    run = gr.Button("Run walkthrough", variant="primary", elem_id="exercise-run")
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Walkthrough", height=520, elem_id="exercise-chat", feedback_options=None)
        with gr.Column(scale=2):
            summary = gr.Markdown(elem_id="exercise-summary")
            plot = gr.Plot(label="Chart")
    run.click(
        walkthrough.run_walkthrough,
        inputs=[choice, model, gpu, price, utilization, input_share, apis, family],
        outputs=[chat, summary, plot],
        api_visibility="private",
    )
