"""Hardware counts written as words (issue 28): 'dual 3090s' is two RTX 3090s, not one. Each phrase is read by the
entity linker and by the requirements extractor, which is what the offline driver passes to the tools."""

from __future__ import annotations

import pytest

from advisor.nlu import read
from advisor.requirements import extract


@pytest.mark.parametrize(
    ("message", "gpu", "count"),
    [
        ("I have dual 3090s, which model fits?", "rtx-3090", 2),
        ("dual RTX 3090", "rtx-3090", 2),
        ("a pair of 4090s", "rtx-4090", 2),
        ("twin A6000s", "rtx-a6000", 2),
        ("quad 4090s for a team of 20", "rtx-4090", 4),
        ("two 3090s", "rtx-3090", 2),
        ("2x 3090", "rtx-3090", 2),
        ("one 3090", "rtx-3090", 1),
    ],
)
def test_a_count_of_gpus_in_words(message, gpu, count):
    mentions = [(m.id, m.count) for m in read(message).mentions if m.kind == "gpu"]
    assert mentions == [(gpu, count)]
    fields = extract(message, {})
    assert fields["gpu"] == gpu
    assert fields.get("num_gpus", 1) == count
