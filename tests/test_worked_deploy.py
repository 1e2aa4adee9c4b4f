"""Deployment plans pinned to figures worked out by hand (issue 28): replicas and format for a load, the GPU count
that holds every concurrent request, the memory each GPU needs, nodes, the next cheaper format, the command, and
which engines lead for many users.

Plans rank options by their speed; the speed model is refitted from time to time, so most tests give every option a
stated speed instead: a replica of n GPUs serves 1,000 x (16 / bits per weight) x n output tokens/s and holds
8 x (16 / bits) x n concurrent requests (BF16: 1,000 tokens/s and 8 requests per GPU; FP8: 2,000 and 16; AWQ at
4.16 bits: 3,846 and 30). The memory each plan needs is the real estimate. One test checks the sizing rule against
the real speed estimate, from the speeds the plan reports.
"""

from __future__ import annotations

import math

import pytest

import tools
import tools.deploy as deploy_mod
from catalog.query import rental_summary
from tools.common import catalog


def call(name: str, **args) -> dict:
    return tools.call(name, args)


@pytest.fixture()
def stated_speed(monkeypatch):
    def speed(m, q, g, engine, concurrency, context, num_gpus, layout=None):
        scale = 16 / q.bits_per_weight * num_gpus
        held = int(8 * scale)
        return {
            "decode_tokens_per_s": round(1000 * scale / 8, 1),
            "aggregate_tokens_per_s": round(1000 * scale, 1),
            "max_concurrent_sequences": held,
            "effective_concurrency": min(concurrency, held),
        }

    monkeypatch.setattr(deploy_mod, "throughput", speed)


def test_replicas_and_format_for_twenty_billion_tokens_a_month(stated_speed):
    """2e10 tokens a month, a quarter of them output: 5e9 / (730 h x 3,600 s) = 1,902.6 output tokens/s on average,
    5,707.8 at a peak of 3x. On one H100 (Llama 3.1 8B fits one in every format) BF16 at 1,000 tokens/s needs
    ceil(5.708) = 6 replicas, FP8 at 2,000 needs ceil(2.854) = 3, AWQ at 3,846 needs 2. BF16 and FP8 are of one
    quality class (rank 0 and 1), AWQ of a lower one; of the first two FP8 needs fewer GPUs: vLLM, FP8, 3 replicas,
    3 x 1 GPU x the median H100 hour x 730 h."""
    r = call("plan_deployment", model="llama-3.1-8b", gpu="h100-sxm", monthly_tokens=2 * 10**10)
    best = r["recommended"]
    assert (best["engine"], best["quantization"], best["num_gpus"], best["replicas"]) == ("vllm", "fp8", 1, 3)
    assert best["aggregate_tokens_per_s"] == 2000.0
    rent = rental_summary(catalog().gpus["h100-sxm"]).usd
    assert best["monthly_usd_rented"] == round(rent * 1 * 3 * 730, 2)
    assert (
        "20,000,000,000 tokens a month need about 5707.8 output tokens/s at peak (3x the average); this plan uses 3 "
        "replica(s)" in r["reasons"]
    )
    by_format = {(o["engine"], o["quantization"]): o["replicas"] for o in r["alternatives"]}
    assert by_format[("vllm", "bf16")] == 6 and by_format[("vllm", "awq")] == 2


def test_plans_are_ranked_by_the_gpus_of_all_their_replicas(monkeypatch):
    """Two plans for one load of 5,000 output tokens/s: one GPU a replica at 1,000 tokens/s needs 5 replicas (5 GPUs);
    two GPUs a replica, whose larger KV room lets the batch grow, at 3,000 tokens/s need 2 (4 GPUs). The second uses
    fewer GPUs in all and ranks first."""

    def speed(m, q, g, engine, concurrency, context, num_gpus, layout=None):
        aggregate = {1: 1000.0, 2: 3000.0}[num_gpus]
        return {
            "decode_tokens_per_s": 100.0,
            "aggregate_tokens_per_s": aggregate,
            "max_concurrent_sequences": 64,
            "effective_concurrency": 1,
        }

    monkeypatch.setattr(deploy_mod, "throughput", speed)
    m, g = catalog().models["llama-3.1-8b"], catalog().gpus["h100-sxm"]
    ask = deploy_mod.Ask(m, 8192, 1, 5000.0, None)
    q = catalog().quantizations["bf16"]
    one, two = deploy_mod._option(ask, "vllm", q, g, 1), deploy_mod._option(ask, "vllm", q, g, 2)
    assert (one["replicas"], two["replicas"]) == (5, 2)
    assert sorted([one, two], key=lambda o: o["_key"])[0] is two


def test_the_gpu_count_holds_every_concurrent_request(stated_speed):
    """20 concurrent requests, Llama 3.1 8B in FP8 on H100s: one GPU holds the weights but only 16 requests, two
    hold 32: the plan takes 2 GPUs in one node, tensor parallel 2, and meets the load."""
    r = call("plan_deployment", model="llama-3.1-8b", gpu="h100-sxm", concurrency=20, quantization="fp8", engine="vllm")
    best = r["recommended"]
    assert (best["num_gpus"], best["nodes"], best["parallelism"]) == (2, 1, "tensor parallel 2")
    assert best["max_concurrent_sequences"] == 32
    rent = rental_summary(catalog().gpus["h100-sxm"]).usd
    assert best["monthly_usd_rented"] == round(rent * 2 * 730, 2)  # both GPUs, all month


def test_memory_per_gpu_is_for_the_requests_served_at_once(stated_speed):
    """The same plan with 40 requests (2 GPUs hold 32, 4 hold 64): per GPU, weights 9,080,673,152 (FP8 body, 16-bit
    embeddings and head), KV 40 x 1,073,741,824 = 42,949,672,960 (8 KV heads over 4 ranks: one copy), activations of
    an 8,192-token chunk 973,078,528, slack 5% of the last two 2,196,137,574.4; 55,199,562,214.4 / 4 + a 1 GB CUDA
    context = 14,799,890,553.6 bytes: 14.8 GB (3.81 GB were it sized for one request)."""
    r = call("plan_deployment", model="llama-3.1-8b", gpu="h100-sxm", concurrency=40, quantization="fp8", engine="vllm")
    best = r["recommended"]
    assert (best["num_gpus"], best["nodes"]) == (4, 1)
    assert best["memory_per_gpu_gb"] == 14.8


def test_a_request_that_a_format_cannot_hold_makes_the_plan_fall_short(stated_speed):
    """One H100, 20 concurrent requests: BF16 holds 8, FP8 16, AWQ 30. Only AWQ meets the load, so it leads although
    its quality class is lower and FP8 is faster."""
    r = call("plan_deployment", model="llama-3.1-8b", gpu="h100-sxm", num_gpus=1, concurrency=20, engine="vllm")
    assert r["recommended"]["quantization"] == "awq"


def test_many_users_put_continuous_batching_first(stated_speed):
    """Qwen2.5-14B on RTX 3090s (no FP8) for 5 concurrent users: BF16 needs 2 cards, Q8_0 on llama.cpp one. Above 4
    users the tensor-parallel engines lead: vLLM BF16 on 2 GPUs, not llama.cpp on one."""
    r = call("plan_deployment", model="qwen2.5-14b", gpu="rtx-3090", concurrency=5)
    best = r["recommended"]
    assert (best["engine"], best["quantization"], best["num_gpus"]) == ("vllm", "bf16", 2)
    one_user = call("plan_deployment", model="qwen2.5-14b", gpu="rtx-3090", concurrency=1)["recommended"]
    assert (one_user["engine"], one_user["quantization"], one_user["num_gpus"]) == ("llama.cpp", "q8_0", 1)


def test_fp8_is_not_offered_without_fp8_tensor_cores(stated_speed):
    r = call("plan_deployment", model="llama-3.1-8b", gpu="rtx-3090")
    fp8 = catalog().quantizations["fp8"].name
    assert f"vllm {fp8}: NVIDIA GeForce RTX 3090 has no FP8 tensor cores" in r["not_possible"]
    assert all(o["quantization"] != "fp8" for o in [r["recommended"], *r["alternatives"]])


def test_the_cheaper_format_is_the_next_step_down(stated_speed):
    """On a B200 (FP8 and FP4 tensor cores) the step below FP8 for vLLM is NVFP4 (rank 3), not AWQ (rank 4)."""
    r = call("plan_deployment", model="llama-3.1-8b", gpu="b200", quantization="fp8", engine="vllm")
    assert r["cheaper_format"]["quantization"] == "nvfp4"


def test_a_plan_across_two_nodes_sets_both_parallel_sizes(stated_speed):
    """Llama 3.1 405B in BF16 (810 GB of weights) needs 16 H100s: tensor parallel 8 in each of 2 nodes, pipeline
    parallel 2 between them."""
    r = call("plan_deployment", model="llama-3.1-405b", gpu="h100-sxm", quantization="bf16", engine="vllm")
    best = r["recommended"]
    assert (best["num_gpus"], best["nodes"]) == (16, 2)
    assert best["monthly_usd_rented"] == round(rental_summary(catalog().gpus["h100-sxm"]).usd * 16 * 730, 2)
    assert best["command"].endswith("--max-model-len 8192 --tensor-parallel-size 8 --pipeline-parallel-size 2")


def test_sizing_with_the_speeds_the_plan_estimates():
    """Whatever the speed model says: replicas are the peak output rate over a replica's reported aggregate, rounded
    up, and the rent is GPUs x replicas x the median hour x 730 h."""
    monthly = 5 * 10**9
    r = call("plan_deployment", model="llama-3.1-8b", gpu="l40s", monthly_tokens=monthly, input_share=0.6)
    need = monthly * 0.4 / (730 * 3600) * 3
    rent = rental_summary(catalog().gpus["l40s"]).usd
    for o in [r["recommended"], *r["alternatives"]]:
        assert o["replicas"] == max(1, math.ceil(need / o["aggregate_tokens_per_s"]))
        assert o["monthly_usd_rented"] == round(rent * o["num_gpus"] * o["replicas"] * 730, 2)
