"""Grounding pinned on the figures a user would be misled by (issue 28): invented counts and speeds, figures a little
off, a figure off by a unit's factor, rounding stretched too far, figures in bold, and whose words count as
evidence. Each answer is checked against stated evidence, so the verdict follows from the rule alone."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from advisor.grounding import evidence_from, find_ungrounded, numbers_in, remove_ungrounded

# a tool result: decode speed, the concurrency it was computed for, memory, a monthly volume
EVIDENCE = numbers_in(
    {"decode_tokens_per_s": 52.3, "concurrency": 16, "total_gb": 20.9, "monthly_tokens": 1_400_000, "share": 0.44}
)


def test_an_invented_speed_and_concurrency_are_caught():
    """Neither 45 nor 64 is in the result (52.3 tokens/s at 16 requests); two-digit figures are checked like any."""
    assert find_ungrounded("Expect about 45 tokens/s with 64 concurrent requests.", EVIDENCE) == ["45", "64"]


def test_a_figure_one_unit_off_a_two_digit_result_is_caught():
    """'45' for 44.1 and '65' for 64 are 2% and 1.6% off and more than half a unit of the last digit shown."""
    evidence = numbers_in({"decode_tokens_per_s": 44.1, "max_concurrent_sequences": 64})
    assert find_ungrounded("About 45 tokens/s, 65 requests at once.", evidence) == ["45", "65"]
    assert find_ungrounded("About 44 tokens/s, 64 requests at once.", evidence) == []


def test_rounding_may_drop_digits_but_not_change_the_last_one_shown():
    """20.9 GB may be shown as '21 GB' (within half a unit of 21) but not as '18 GB' or '20 GB' (0.9 off)."""
    assert find_ungrounded("It needs 21 GB.", EVIDENCE) == []
    assert find_ungrounded("It needs 18 GB.", EVIDENCE) == ["18"]
    assert find_ungrounded("It needs 20 GB.", EVIDENCE) == ["20"]


def test_billions_are_not_millions():
    """The result says 1,400,000 tokens; '1.4M' is grounded, '1.4B' (1,000 times more) is not."""
    assert find_ungrounded("About 1.4M tokens a month.", EVIDENCE) == []
    assert find_ungrounded("About 1.4B tokens a month.", EVIDENCE) == ["1.4B"]
    assert find_ungrounded("About 1.4 billion tokens a month.", EVIDENCE) == ["1.4 billion"]


def test_small_numbers_with_a_unit_are_figures():
    """'3 GPUs' is a count and passes unchecked, but '8%' and '5B tokens' are figures: the result has neither."""
    assert find_ungrounded("Use 3 GPUs.", EVIDENCE) == []
    assert find_ungrounded("It saves 8% and serves 5B tokens.", EVIDENCE) == ["8%", "5B"]
    assert find_ungrounded("The share is 44%.", EVIDENCE) == []  # 0.44 as a percentage


def test_figures_in_bold_are_checked():
    assert find_ungrounded("It runs at **45 tokens/s**.", EVIDENCE) == ["45"]


def test_a_figure_removed_is_removed_everywhere_it_is_written():
    text = "At 45 tokens/s a reply takes a while; 45 tokens/s is slow."
    out = remove_ungrounded(text, ["45"])
    assert "45" not in out.split("\n\n")[0]
    assert out.count("[figure removed]") == 2


def test_the_advisors_own_notes_are_not_evidence():
    """The user's figures and the tools' are evidence; a note the advisor adds to the conversation (e.g. quoting its
    own ungrounded draft back to the model) is not."""
    tool_result = ToolMessage(content=json.dumps({"decode_tokens_per_s": 52.3}), tool_call_id="c1")
    messages = [
        HumanMessage(content="We expect 300 users."),
        AIMessage(content="", tool_calls=[{"name": "x", "args": {}, "id": "c1", "type": "tool_call"}]),
        tool_result,
        HumanMessage(
            content="Your draft said 45 tokens/s; no tool result supports it.", additional_kwargs={"advisor_note": True}
        ),
    ]
    evidence = evidence_from(messages)
    assert {300.0, 52.3} <= evidence
    assert 45.0 not in evidence
    assert find_ungrounded("It serves 300 users at 45 tokens/s.", evidence) == ["45"]
