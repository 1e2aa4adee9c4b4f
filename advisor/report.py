"""Shareable reports of a conversation: Markdown, and self-contained HTML with the charts embedded.

A report holds the requirements, the shortlist with reasons, licence verdicts with their conditions,
memory, speed and cost tables, benchmark tables, every assumption and the source of every figure, all
taken from the conversation's tool results.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

from advisor import charts, render
from advisor.requirements import describe
from advisor.service import Advisor
from tools.errors import InvalidInput, NotFound

SECTION_ORDER = [
    ("select_models", "Shortlist"),
    ("check_license", "Licence verdicts"),
    ("estimate_memory", "Memory"),
    ("estimate_throughput", "Speed"),
    ("plan_deployment", "Deployment plans"),
    ("estimate_cost", "Cost"),
    ("compare_benchmarks", "Benchmarks"),
    ("get_model", "Models"),
]


class ReportError(InvalidInput):
    """A report that cannot be made: a format other than md or html."""


class ThreadNotFound(ReportError, NotFound):
    """No conversation is stored under the thread id."""


def _collect(advisor: Advisor, thread_id: str) -> dict:
    history = advisor.history(thread_id)
    if not history:
        raise ThreadNotFound(f"no conversation with thread id {thread_id!r}", field="thread_id")
    state = advisor.state(thread_id)
    results: dict[str, list[dict]] = {}
    for item in history:
        if item["role"] == "tool" and isinstance(item["result"], dict) and "error" not in item["result"]:
            results.setdefault(item["name"], []).append(item["result"])
    sources: list[str] = []
    assumptions: list[str] = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "sources" and isinstance(v, list):
                    sources.extend(s for s in v if isinstance(s, str))
                elif k == "source" and isinstance(v, str) and v.startswith("http"):
                    sources.append(v)
                elif k == "url" and isinstance(v, str) and v.startswith("http"):
                    sources.append(v)
                elif k in ("assumptions", "basis") and isinstance(v, list):
                    assumptions.extend(a for a in v if isinstance(a, str))
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(results)
    return {
        "thread_id": thread_id,
        "history": history,
        "requirements": state["requirements"],
        "shortlist": state["shortlist"],
        "results": results,
        "sources": list(dict.fromkeys(sources)),
        "assumptions": list(dict.fromkeys(assumptions)),
        "driver": advisor.info.describe(),
    }


def _fenced(text: str) -> str:
    """Text from the conversation as a fenced code block: shown literally (no heading, table, link or image it
    could forge), with a fence longer than any run of backticks in it, so the text cannot close it."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def _code_span(text: str) -> str:
    """Text as an inline code span (literal), delimited by more backticks than it contains."""
    ticks = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{ticks} {text} {ticks}"


def to_markdown(advisor: Advisor, thread_id: str) -> str:
    return _markdown(_collect(advisor, thread_id))


def _markdown(data: dict) -> str:
    thread_id = data["thread_id"]
    out = [
        "# Open LLM Advisor report",
        "",
        f"Conversation `{thread_id}`, generated {dt.date.today().isoformat()} ({data['driver']}).",
        "Every figure below is a tool result from this conversation; every fact links to its source.",
        "",
    ]
    out += ["## Requirements", ""]
    lines = describe(data["requirements"])
    out += [f"- {render.literal_markdown(x)}" for x in lines] if lines else ["_none stated_"]
    out.append("")
    for name, title in SECTION_ORDER:
        items = data["results"].get(name)
        if not items:
            continue
        out += [f"## {title}", ""]
        shown = items[-1:] if name == "select_models" else items[-6:]
        for r in shown:
            out += [render.render_unfolded(name, r), ""]
    if data["assumptions"]:
        out += ["## Assumptions", ""] + [f"- {a}" for a in data["assumptions"]] + [""]
    out += ["## Sources", ""] + [f"- <{s}>" for s in data["sources"]] + [""]
    out += ["## Conversation", ""]
    for item in data["history"]:
        # what users (and models, in tool arguments) wrote is shown as literal text, never as Markdown
        if item["role"] == "user":
            out += ["**You:**", "", _fenced(str(item["content"])), ""]
        elif item["role"] == "tool":
            out += [f"tool {_code_span(item['name'] + '(' + json.dumps(item['args'], ensure_ascii=False) + ')')}", ""]
    out += ["", "_Licence verdicts are guidance from structured licence terms, not legal advice._", ""]
    return "\n".join(out)


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.5}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}h1{border-bottom:2px solid #333}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.chart{margin:1rem 0}
pre{background:#f6f6f6;padding:.5rem .8rem;white-space:pre-wrap;overflow-wrap:anywhere}
"""
# The report loads nothing from elsewhere when opened (from the server or from a saved file): its scripts (plotly,
# inline), styles and images are all in the file, and the policy below makes the browser refuse anything else.
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def to_html(advisor: Advisor, thread_id: str) -> str:
    from markdown_it import MarkdownIt

    data = _collect(advisor, thread_id)  # read the conversation once for the text and the charts
    md = _markdown(data)
    # html=False: text from the conversation is escaped, never interpreted as markup; no image syntax either
    body = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").disable("image").render(md)
    charts_html = []
    for i, fig in enumerate(charts.every(data["history"])):
        charts_html.append(
            '<div class="chart">'
            + fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
            + "</div>"
        )
    charts_block = ("<h2>Charts</h2>" + "".join(charts_html)) if charts_html else ""
    title = html.escape(f"Open LLM Advisor report {thread_id}")
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{REPORT_CSP}\"><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{STYLE}</style></head>"
        f"<body>{body}{charts_block}</body></html>"
    )


def build(advisor: Advisor, thread_id: str, fmt: str = "md") -> str:
    if fmt not in ("md", "html"):
        raise ReportError("format must be md or html", field="format")
    return to_markdown(advisor, thread_id) if fmt == "md" else to_html(advisor, thread_id)
