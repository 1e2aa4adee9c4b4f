"""Which charts a conversation gets, decided once for every edge: the browser shows the chart of the newest charted
tool result (it follows the conversation), a report shows one chart per charted tool. The figures themselves are
drawn by tools/charts.py from the tool results alone."""

from __future__ import annotations

from typing import Any

CHARTED = ("select_models", "estimate_memory", "estimate_cost", "compare_benchmarks")  # in a report's order
MEMORY_SERIES = 4  # memory estimates drawn side by side in one chart: the newest and up to three before it


def tool_results(history: list[dict]) -> dict[str, list[dict]]:
    """The successful results of each charted tool in a conversation (Advisor.history), oldest first."""
    results: dict[str, list[dict]] = {}
    for item in history:
        if (
            item["role"] == "tool"
            and item["name"] in CHARTED
            and isinstance(item["result"], dict)
            and "error" not in item["result"]
        ):
            results.setdefault(item["name"], []).append(item["result"])
    return results


def chart(name: str, results: list[dict]) -> Any:
    """The chart of a tool's newest result (a memory estimate beside the ones before it), or None."""
    from tools import charts

    previous = results[-MEMORY_SERIES:-1] if name == "estimate_memory" else None
    return charts.for_tool_result(name, results[-1], previous)


def latest(history: list[dict]) -> Any:
    """The browser's chart: the newest charted tool result's, or None before there is one."""
    newest = next(
        (
            item["name"]
            for item in reversed(history)
            if item["role"] == "tool"
            and item["name"] in CHARTED
            and isinstance(item["result"], dict)
            and "error" not in item["result"]
        ),
        None,
    )
    return chart(newest, tool_results(history)[newest]) if newest else None


def every(history: list[dict]) -> list[Any]:
    """A report's charts: one per charted tool the conversation used, in CHARTED order."""
    results = tool_results(history)
    figures = [chart(name, results[name]) for name in CHARTED if results.get(name)]
    return [figure for figure in figures if figure is not None]
