"""Speed-model rules pinned on one case each (issue 28, step 2: survivors of tests/mutants/fresh-2026-12-b)."""

from __future__ import annotations

from tools import common
from tools.speed_model import MIN_ROWS, SpeedParams
from tools.throughput import format_class, weight_only


def test_nvfp4_runs_weight_only_on_hopper_and_natively_on_blackwell():
    """An H100 has FP8 tensor cores but no FP4 ones: NVFP4 runs weight-only there ('weight-only low-bit'); a B200 has
    both (throughput-08 judged FP4 by the FP8 cores and called the H100 native)."""
    cat = common.catalog()
    q = cat.quantizations["nvfp4"]
    assert weight_only(q, cat.gpus["h100-sxm"]) and format_class(q, cat.gpus["h100-sxm"]) == "weight-only low-bit"
    assert not weight_only(q, cat.gpus["b200"]) and format_class(q, cat.gpus["b200"]) == "low-bit"


def test_three_rows_make_a_calibrated_class():
    """MIN_ROWS = 3: an engine on a device class with exactly 3 single-stream rows is calibrated ('class'), with 2 it
    is 'sparse' (speed_model-10 called 3 rows sparse)."""
    assert MIN_ROWS == 3
    assert SpeedParams(rows={("vllm", "datacenter"): {"16-bit": 3}}).lookup("vllm", "datacenter")[1] == "class"
    assert SpeedParams(rows={("vllm", "datacenter"): {"16-bit": 2}}).lookup("vllm", "datacenter")[1] == "sparse"
