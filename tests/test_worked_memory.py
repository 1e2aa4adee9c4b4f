"""Memory estimates pinned to figures worked out by hand from the model's config.json (issue 28).

Each test first checks the catalog facts its hand computation starts from, so an edited catalog entry fails as such
and not as a wrong estimate. GB are 10^9 bytes; a card's "24GB" is 24 x 2^30 bytes. Figures are compared at the
rounding the tool shows them at (`common.rnd`: two decimals, three significant digits below 1), so a change of one
unit in the last digit shown fails.
"""

from __future__ import annotations

import pytest

import tools
from tools.common import catalog

GiB = 2**30


def call(name: str, **args) -> dict:
    return tools.call(name, args)


def shown(x: float) -> float:
    """A figure in bytes as the tool shows it in GB (two decimals; three significant digits below 1 GB)."""
    gb = x / 1e9
    return float(f"{gb:.3g}") if gb < 1 else round(gb, 2)


def arch(model_id: str) -> tuple:
    m = catalog().models[model_id]
    a = m.architecture
    return m.params_b, a.layers, a.hidden_size, a.attention_heads, a.kv_heads, a.effective_head_dim, a.vocab_size


# ---------------------------------------------------------------- weights per format

LLAMA_8B = (8.03, 32, 4096, 32, 8, 128, 128256)  # params_b, layers, hidden, heads, KV heads, head dim, vocab


@pytest.mark.parametrize(
    ("quantization", "weights_gb"),
    [
        # scope "all": every parameter at the format's bits
        ("bf16", 16.06),  # 8.03e9 x 2 bytes
        ("q4_k_m", 4.92),  # 8.03e9 x 4.9 / 8 = 4,918,375,000
        # scope "linear": embeddings and the (untied) LM head stay 16-bit:
        # 2 x 128,256 x 4,096 = 1,050,673,152 parameters at 2 bytes = 2,101,346,304 bytes;
        # the body is 8.03e9 - 1,050,673,152 = 6,979,326,848 parameters at the format's bits
        ("fp8", 9.08),  # 6,979,326,848 x 1 + 2,101,346,304 = 9,080,673,152
        ("int8", 9.08),  # bitsandbytes 8-bit: the same arithmetic
        ("awq", 5.73),  # 6,979,326,848 x 4.16 / 8 + 2,101,346,304 = 5,730,596,265
        ("int4", 6.03),  # bitsandbytes NF4 at 4.5 bits: 3,925,871,352 + 2,101,346,304 = 6,027,217,656
    ],
)
def test_llama_31_8b_weights_per_format(quantization, weights_gb):
    """Llama 3.1 8B's weights in each format, from its config (8.03B parameters, vocabulary 128,256 x hidden 4,096,
    embeddings not tied). Counting the 16-bit embeddings and head at the format's width would give 8.03 GB for FP8
    and 4.18 GB for AWQ."""
    assert arch("llama-3.1-8b") == LLAMA_8B
    r = call("estimate_memory", model="llama-3.1-8b", quantization=quantization, context_length=8192)
    assert r["weights_gb"] == weights_gb


def test_tied_embeddings_are_stored_once():
    """Qwen2.5-3B ties its LM head to its embeddings: 151,936 x 2,048 = 311,164,928 parameters once, at 2 bytes
    (622,329,856 bytes) under AWQ; the body is 3.09e9 - 311,164,928 = 2,778,835,072 parameters at 4.16 bits
    (1,444,994,237 bytes): 2,067,324,093 bytes, 2.07 GB. A separate head would make it 2.53 GB."""
    assert arch("qwen2.5-3b") == (3.09, 36, 2048, 16, 2, 128, 151936)
    assert catalog().models["qwen2.5-3b"].architecture.tied_embeddings is True
    r = call("estimate_memory", model="qwen2.5-3b", quantization="awq", context_length=4096)
    assert r["weights_gb"] == 2.07


def test_mxfp4_quantizes_the_routed_experts_of_the_moe_layers_only():
    """DeepSeek-V3 in MXFP4 (an experts-only format): 61 layers of which the first 3 are dense, so 58 MoE layers x
    256 experts x 3 matrices x 7,168 x 2,048 = 653,908,770,816 routed parameters at 4.25 bits (347,389,034,496
    bytes); the other 671e9 - 653,908,770,816 = 17,091,229,184 at 2 bytes (34,182,458,368): 381.57 GB. Counting the 3
    dense layers as MoE layers gives 359.19 GB; quantizing the dense part instead of the experts, 1,316.9 GB."""
    m = catalog().models["deepseek-v3"]
    moe = m.architecture.moe
    assert (m.params_b, m.architecture.layers, moe.dense_layers, moe.experts, moe.expert_matrices) == (
        671.0,
        61,
        3,
        256,
        3,
    )
    assert (m.architecture.hidden_size, moe.expert_intermediate_size, moe.layers) == (7168, 2048, None)
    r = call("estimate_memory", model="deepseek-v3", quantization="mxfp4", context_length=4096)
    assert r["weights_gb"] == 381.57


# ---------------------------------------------------------------- KV cache per cache type


@pytest.mark.parametrize(
    ("kv_cache_dtype", "engine", "quantization", "kv_gb"),
    [
        # 2 (K and V) x 32 layers x 8 KV heads x 128 dims = 65,536 values a token; x 8,192 tokens = 536,870,912
        ("bf16", "vllm", "bf16", 1.07),  # x 2 bytes = 1,073,741,824
        ("auto", "vllm", "bf16", 1.07),  # the compute dtype
        ("auto", "llama.cpp", "q4_k_m", 1.07),  # a 4-bit model still keeps a 16-bit cache unless told otherwise
        ("fp8", "vllm", "bf16", 0.537),  # x 1 byte = 536,870,912
        ("int8", "vllm", "bf16", 0.537),
        ("q8_0", "llama.cpp", "q4_k_m", 0.570),  # x 34/32 bytes (32 values + a 2-byte scale) = 570,425,344
        ("q4_0", "llama.cpp", "q4_k_m", 0.302),  # x 18/32 bytes = 301,989,888
    ],
)
def test_llama_31_8b_kv_cache_per_cache_type(kv_cache_dtype, engine, quantization, kv_gb):
    """The KV cache of Llama 3.1 8B at 8,192 tokens, one sequence, for each cache type."""
    assert arch("llama-3.1-8b") == LLAMA_8B
    r = call(
        "estimate_memory",
        model="llama-3.1-8b",
        quantization=quantization,
        engine=engine,
        kv_cache_dtype=kv_cache_dtype,
        context_length=8192,
    )
    assert r["kv_cache_gb"] == kv_gb


def test_sliding_window_layers_cache_their_window_only():
    """Gemma 3 27B: 62 layers, one global layer in 6 (62 // 6 = 10 global, 52 local with a 1,024-token window), 16 KV
    heads of 128, so 2 x 16 x 128 x 2 bytes = 8,192 bytes per layer and token. At 32,768 tokens: 10 x 32,768 x 8,192
    = 2,684,354,560 plus 52 x 1,024 x 8,192 = 436,207,616: 3,120,562,176 bytes, 3.12 GB (16.64 GB if every layer
    cached the whole context)."""
    assert arch("gemma-3-27b") == (27.43, 62, 5376, 32, 16, 128, 262208)
    att = catalog().models["gemma-3-27b"].architecture.attention
    assert (att.kind, att.window, att.global_every) == ("sliding", 1024, 6)
    r = call("estimate_memory", model="gemma-3-27b", quantization="bf16", context_length=32768)
    assert r["kv_cache_gb"] == 3.12


def test_mla_latent_per_token_and_its_copies_under_tensor_parallelism():
    """DeepSeek-V3 caches the MLA latent: (512 + 64 RoPE) values x 2 bytes x 61 layers = 70,272 bytes a token; at
    8,192 tokens 575,668,224 bytes (0.576 GB). vLLM with tensor parallel 8 keeps the latent on every rank: 8 copies,
    4,605,345,792 bytes (4.61 GB). Without the RoPE part it would be 0.512 GB."""
    m = catalog().models["deepseek-v3"]
    att = m.architecture.attention
    assert (m.architecture.layers, att.kind, att.kv_lora_rank, att.qk_rope_head_dim) == (61, "mla", 512, 64)
    one = call("estimate_memory", model="deepseek-v3", quantization="fp8", engine="vllm", context_length=8192)
    assert one["kv_cache_gb"] == 0.576
    tp = call(
        "estimate_memory", model="deepseek-v3", quantization="fp8", engine="vllm", context_length=8192, num_gpus=8
    )
    assert tp["parallelism"] == {"tensor": 8, "pipeline": 1}
    assert tp["kv_cache_gb"] == 4.61


@pytest.mark.parametrize(("num_gpus", "copies", "kv_gb"), [(1, 1, 1.21), (2, 1, 1.21), (4, 2, 2.42), (8, 4, 4.83)])
def test_tensor_parallelism_replicates_kv_heads_it_cannot_split(num_gpus, copies, kv_gb):
    """Qwen2.5-3B has 2 KV heads: 2 x 36 layers x 2 heads x 128 dims x 2 bytes = 36,864 bytes a token, 1,207,959,552
    at 32,768 tokens (1.21 GB). Tensor parallel over more ranks than KV heads gives each rank a whole head: TP 4 keeps
    4 / 2 = 2 copies (2.42 GB across the GPUs), TP 8 keeps 4 (4.83 GB)."""
    assert arch("qwen2.5-3b") == (3.09, 36, 2048, 16, 2, 128, 151936)
    r = call(
        "estimate_memory",
        model="qwen2.5-3b",
        quantization="bf16",
        engine="vllm",
        context_length=32768,
        num_gpus=num_gpus,
    )
    assert r["kv_cache_gb"] == kv_gb
    assert r["kv_cache_gb"] == shown(36864 * 32768 * copies)


def test_hybrid_state_is_kept_per_sequence():
    """Qwen3-Next-80B-A3B's 36 gated-DeltaNet layers keep (32 x 128 x 128 + (32 x 128 + 2 x 16 x 128) x 3) = 548,864
    values x 2 bytes = 1,097,728 bytes each per sequence: 39,518,208 bytes (0.0395 GB) for one sequence, 158,072,832
    (0.158 GB) for four."""
    one = call("estimate_memory", model="qwen3-next-80b-a3b-instruct", quantization="bf16", context_length=4096)
    four = call(
        "estimate_memory", model="qwen3-next-80b-a3b-instruct", quantization="bf16", context_length=4096, batch_size=4
    )
    assert (one["state_gb"], four["state_gb"]) == (0.0395, 0.158)


# ---------------------------------------------------------------- runtime overhead, GPUs and each engine's share


def test_total_and_per_gpu_of_llama_70b_on_four_h100s():
    """Llama 3.1 70B in BF16, vLLM, 4 x H100 SXM, 8,192 tokens:
    weights 70.55e9 x 2 = 141,100,000,000; KV 2 x 80 x 8 x 128 x 2 x 8,192 = 2,684,354,560 (8 KV heads over 4 ranks:
    one copy); activations of one 8,192-token prefill chunk 8,192 x (4 x 8,192 + 3 x 28,672) x 2 = 1,946,157,056;
    allocator slack 5% of KV and activations = 231,525,580.8; a 1 GB CUDA context on each of the 4 GPUs.
    Total 149,962,037,196.8 bytes (149.96 GB); per GPU (145,962,037,196.8 / 4) + 1e9 = 37.49 GB."""
    assert arch("llama-3.1-70b") == (70.55, 80, 8192, 64, 8, 128, 128256)
    assert catalog().models["llama-3.1-70b"].architecture.intermediate_size == 28672
    r = call(
        "estimate_memory",
        model="llama-3.1-70b",
        quantization="bf16",
        engine="vllm",
        context_length=8192,
        gpu="h100-sxm",
        num_gpus=4,
    )
    assert (r["weights_gb"], r["kv_cache_gb"], r["activations_gb"]) == (141.1, 2.68, 1.95)
    assert r["overhead_gb"] == 4.23  # 4 x 1e9 + 231,525,580.8
    assert (r["total_gb"], r["per_gpu_gb"]) == (149.96, 37.49)


@pytest.mark.parametrize(
    ("engine", "usable_gb", "max_context", "total_gb"),
    [
        # vLLM reserves 90% of the card: 24 x 2^30 x 0.9 = 23,192,823,398 bytes. Weights 16.06e9 + 1 GB CUDA context;
        # per token 131,072 bytes of KV; activations of an 8,192-token chunk 8,192 x (4 x 4,096 + 3 x 14,336) x 2 =
        # 973,078,528; 5% slack on both: 1.05 x (131,072 c + 973,078,528) <= 6,132,823,398 -> c <= 37,137.5
        ("vllm", 23.19, 37137, 19.21),
        ("sglang", 23.19, 37137, 19.21),
        # transformers: the whole card, 25,769,803,776 bytes, but no chunked prefill: activations are
        # c x 118,784 bytes, so 1.05 x (131,072 + 118,784) c <= 8,709,803,776 -> c <= 33,199.9
        ("transformers", 25.77, 33199, 19.21),
        # llama.cpp: the whole card, a 0.5 GB context, 512-token chunks (60,817,408 bytes):
        # 1.05 x (131,072 c + 60,817,408) <= 9,209,803,776 -> c <= 66,455.3
        ("llama.cpp", 25.77, 66455, 17.75),
    ],
)
def test_each_engines_share_of_an_rtx_4090_and_the_longest_context_it_holds(engine, usable_gb, max_context, total_gb):
    """Llama 3.1 8B in BF16 on one RTX 4090 (24 GB = 24 x 2^30 bytes) at 8,192 tokens, for each engine: the memory the
    engine may use and the longest context that fits it."""
    assert arch("llama-3.1-8b") == LLAMA_8B
    assert catalog().gpus["rtx-4090"].memory_bytes == 24 * GiB
    r = call(
        "estimate_memory", model="llama-3.1-8b", quantization="bf16", engine=engine, gpu="rtx-4090", context_length=8192
    )
    assert r["gpu"]["usable_gb"] == usable_gb
    assert r["max_context_that_fits"] == max_context
    assert r["total_gb"] == total_gb
    assert r["fits"] is True


def test_longest_context_that_fits_holds_every_sequence_of_the_batch():
    """As above on vLLM, with 4 sequences: 1.05 x (4 x 131,072 c + 973,078,528) <= 6,132,823,398 -> c <= 9,284.4."""
    r = call(
        "estimate_memory",
        model="llama-3.1-8b",
        quantization="bf16",
        engine="vllm",
        gpu="rtx-4090",
        context_length=8192,
        batch_size=4,
    )
    assert r["max_context_that_fits"] == 9284


def test_vllm_reservation_decides_a_fit_the_whole_card_would_hold():
    """Llama 3.1 8B in BF16 at 40,000 tokens on an RTX 4090 needs 16.06e9 + 1e9 + 1.05 x (131,072 x 40,000 +
    973,078,528) = 23,586,756,454 bytes: more than vLLM's 90% share (23,192,823,398), less than the card
    (25,769,803,776). So it does not fit under vLLM (headroom -393,933,056 bytes, -0.394 GB) but would fit were the
    share ignored."""
    r = call(
        "estimate_memory",
        model="llama-3.1-8b",
        quantization="bf16",
        engine="vllm",
        gpu="rtx-4090",
        context_length=40000,
    )
    assert r["fits"] is False
    assert r["headroom_gb"] == -0.394


def test_a_mac_gpu_gets_three_quarters_of_unified_memory():
    """An M1 Max with 64 GB: macOS lets the GPU wire 75% by default, 64 x 2^30 x 0.75 = 51,539,607,552 bytes."""
    g = catalog().gpus["m1-max-64gb"]
    assert (g.memory_bytes, g.usable_memory_fraction) == (64 * GiB, 1.0)
    r = call("estimate_memory", model="llama-3.1-8b", quantization="q4_k_m", gpu="m1-max-64gb", context_length=8192)
    assert r["gpu"]["usable_gb"] == 51.54
