"""select_models leaves room for the context a use case needs when the question states none (tools.picks
.default_context): a coding or tool-using agent 32,768 tokens, RAG 32,768, reasoning 16,384, chat and general 8,192,
an edge device 4,096. A model must still fit at Ask.fit_context; one that fits with less room than that costs."""

from __future__ import annotations

import pytest

import tools
from catalog.query import get_catalog
from tools import selection
from tools.picks import Ask, default_context

REAL = get_catalog()


def _ask(use_case: str, min_context: int | None = None) -> Ask:
    return Ask(use_case, REAL.gpus["rtx-4090"], 1, None, min_context, None, None, None, set(), False, None, False)


def test_each_use_case_has_its_context():
    assert [default_context(u) for u in ("code", "tool_use", "rag", "reasoning", "chat", "general", "edge")] == [
        32768,
        32768,
        32768,
        16384,
        8192,
        8192,
        4096,
    ]
    assert _ask("code").fit_context == 4096 and _ask("code").room_context == 32768
    assert _ask("code", 12_000).fit_context == _ask("code", 12_000).room_context == 12_000


def test_a_fit_without_room_for_an_agents_context_costs():
    """Usable 20 GB, 15 GB used (75%: under EDGE_SHARE, so no cost for the share), 200 kB of KV cache per token: room
    for (20e9 - 15e9) / 2e5 = 25,000 more tokens. Chat wants 8,192: no cost. A code agent wants 32,768: the edge cost
    is EDGE_COST x (1 - 25,000 / 32,768) = 1.2 x 0.237061 = 0.284473. Before the use-case context, code was held to
    4,096 tokens and paid nothing here."""
    m, q = REAL.models["qwen3.6-27b"], REAL.quantizations["q8_0"]
    chat = selection._fit_costs(m, q, 15e9, 2e5, 20e9, None, _ask("chat"))
    code = selection._fit_costs(m, q, 15e9, 2e5, 20e9, None, _ask("code"))
    assert "edge" not in chat
    assert code["edge"] == pytest.approx(1.2 * (1 - 25_000 / 32_768), abs=1e-6)
    assert code["edge"] == pytest.approx(0.284473, abs=1e-6)


def test_the_context_assumed_is_stated():
    r = tools.call("select_models", {"use_case": "code", "vram_gb": 24, "top_k": 1})
    assert any("32,768 tokens assumed" in a for a in r["assumptions"]), r["assumptions"]
    stated = tools.call("select_models", {"use_case": "code", "vram_gb": 24, "min_context": 20_000, "top_k": 1})
    assert not any("tokens assumed" in a for a in stated["assumptions"])
    # the fit line says that 4,096 is only the least a pick must hold, not the context assumed above it
    fit = next(a for a in r["assumptions"] if a.startswith("fit checked at"))
    assert fit.startswith("fit checked at 4,096 tokens of context, one sequence, on 1 x ")
    assert "(the least a pick must hold; room for the 32,768 above is preferred)" in fit
    fit = next(a for a in stated["assumptions"] if a.startswith("fit checked at"))
    assert fit.startswith("fit checked at 20,000 tokens") and "least a pick" not in fit


def test_a_remembered_fit_is_not_reused_for_a_use_case_that_wants_more_room():
    """General (8,192 tokens of room) and reasoning (16,384) share the speed target and the context a model must fit
    at, so only the room tells their fits apart. Mistral NeMo 12B in IQ4_XS on an 8 GB card: 7.648 GB of 8.590 GB
    usable at 4,096 tokens (89.0%), 163,840 bytes of KV cache per token, so room for 5,750 more tokens. General:
    edge = 1.2 x max((0.8903 - 0.8) / 0.2, 1 - 5,750 / 8,192) = 1.2 x 0.4517 = 0.542; reasoning: 1.2 x (1 - 5,750 /
    16,384) = 0.779. A fit remembered for general must not serve reasoning."""
    m = REAL.models["mistral-nemo-12b"]
    device = selection.common.device(None, 8, False)

    def fit(use_case: str):
        ask = Ask(use_case, device, 1, None, None, None, None, None, set(), False, None, False)
        return selection._fit_once(m, ask, REAL.quantizations, {}, fits)

    fits: dict = {}
    alone = fit("reasoning")
    fits = {}
    general = fit("general")
    assert (general.quant.id, alone.quant.id) == ("iq4_xs", "iq4_xs")
    assert general.costs["edge"] == pytest.approx(0.542, abs=0.001)
    assert alone.costs["edge"] == pytest.approx(0.779, abs=0.001)
    assert fit("reasoning").cost == alone.cost


def test_the_room_for_the_context_is_shown_where_it_decides():
    """Qwen3.8 27B for agents on a 16 GB card: IQ4_XS takes 15.37 GB of 17.18 GB usable at 4,096 tokens, with 65,536
    bytes of KV cache per token, so the memory left holds (17.18e9 - 15.37e9) / 65,536 = about 27,600 more tokens,
    short of the 32,768 an agent wants: the fit says so ('room for about 28k more tokens of the 32,768 wanted') where
    the next pick leaves more room, and the fit summary carries both figures."""
    r = tools.call("select_models", {"use_case": "tool_use", "vram_gb": 16, "top_k": 10})
    pick = next(x for x in r["recommendations"] if x["model"] == "qwen3.8-27b")
    assert pick["fit"]["context_wanted"] == 32768
    assert pick["fit"]["room_tokens"] == pytest.approx(27_600, abs=300)
    texts = [i["text"] for i in pick["beats_next"]["because"] + pick["beats_next"]["against"] if i["kind"] == "fit"]
    assert any("room for about 28k more tokens of the 32,768 wanted" in t for t in texts), texts


def test_a_model_without_a_recorded_architecture_has_unconfirmed_room():
    """Devstral Small 2 has no architecture in the catalog, so its KV cache is not counted and its memory shows
    room for any context: on a device that is flagged 'unconfirmed memory' and costs UNCONFIRMED_COST (0.15), like
    any fact that could change the verdict; with no device nothing is fitted, so nothing is flagged. Qwen3.6 27B,
    whose architecture is recorded, is not flagged."""
    assert not REAL.models["devstral-small-2"].architecture and REAL.models["qwen3.6-27b"].architecture
    on_card = tools.call("select_models", {"use_case": "code", "vram_gb": 24, "top_k": 20})["recommendations"]
    picks = {r["model"]: r for r in on_card}
    assert "memory" in picks["devstral-small-2"]["unconfirmed"]
    assert any(
        x.startswith("unconfirmed memory: its architecture is not recorded")
        for x in picks["devstral-small-2"]["reasons"]
    )
    assert "memory" not in picks["qwen3.6-27b"]["unconfirmed"]
    anywhere = tools.call("select_models", {"use_case": "code", "top_k": 20})["recommendations"]
    assert all("memory" not in r["unconfirmed"] for r in anywhere)
    ask = Ask(
        "code", selection.common.device(None, 24, False), 1, None, None, None, None, None, set(), False, None, False
    )
    est = selection.scores_for("code").by_id["devstral-small-2"]
    verdict = type("V", (), {"level": "allowed", "reasons": []})()
    assert "memory" in selection._unconfirmed(ask, est, verdict)
