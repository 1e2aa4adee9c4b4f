"""Memory needed to serve a model: weights by format, KV cache and fixed-size state from the architecture,
runtime overhead, and how it divides across GPUs and nodes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from catalog.schema import Gpu, Model, Quantization
from tools import common
from tools.errors import InvalidInput

GB = 1e9
KvDtype = Literal["auto", "bf16", "fp16", "fp8", "int8", "q8_0", "q4_0"]
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
Engine = Literal["auto", "transformers", "vllm", "sglang", "llama.cpp", "ollama", "mlx", "exllama", "tensorrt-llm"]
ENGINE_ALIASES = {
    "ollama": "llama.cpp",
    "lmstudio": "llama.cpp",
    "lm studio": "llama.cpp",
    "llamacpp": "llama.cpp",
    "trtllm": "tensorrt-llm",
    "trt-llm": "tensorrt-llm",
    "tensorrt": "tensorrt-llm",
    "exllamav2": "exllama",
    "exllamav3": "exllama",
    "hf": "transformers",
}
GPU_COUNTS = (1, 2, 4, 8, 16, 24, 32, 48, 64)  # layouts plans consider: up to a node of 8, then whole nodes
# Engines that shard a model by tensor parallelism; the others split it layer by layer.
TENSOR_PARALLEL_ENGINES = ("vllm", "sglang", "tensorrt-llm")

# Runtime figures that are engine behaviour, not catalog facts; each is stated in the result.
CUDA_CONTEXT_GB = {
    "transformers": 1.0,
    "vllm": 1.0,
    "sglang": 1.0,
    "llama.cpp": 0.5,
    "mlx": 0.3,
    "exllama": 0.7,
    "tensorrt-llm": 1.0,
}
PREFILL_CHUNK = {"vllm": 8192, "sglang": 8192, "tensorrt-llm": 8192, "llama.cpp": 512, "mlx": 2048, "exllama": 2048}
ALLOCATOR_SLACK = 0.05  # share of dynamic memory (KV cache, activations) lost to fragmentation
INDEXER_SCALE_BYTES = 4  # DeepSeek V3.2's indexer keys are cached in FP8 with one FP32 scale per token and layer
NATIVE_FORMATS = {
    "bf16": "bf16",
    "fp16": "fp16",
    "fp8": "fp8",
    "fp8_mxfp4": "fp8_mxfp4",
    "mxfp4": "mxfp4",
    "nvfp4": "nvfp4",
    "int4": "awq",
    "awq": "awq",
    "gptq": "gptq",
    "int8": "int8",
    "fp32": "bf16",
    "gguf": "q4_k_m",
    "mlx": "mlx_4bit",
}


def default_engine(q: Quantization) -> str:
    return {
        "gguf": "llama.cpp",
        "mlx": "mlx",
        "exl": "exllama",
        "fp8": "vllm",
        "gptq_awq": "vllm",
        "mxfp4": "vllm",
        "nvfp4": "vllm",
    }.get(q.family, "transformers")


def resolve_quantization(name: str, field: str = "quantization", model: Model | None = None) -> Quantization:
    """A format by id or common name; 'native' is the format the vendor ships the model's weights in."""
    cat = common.catalog()
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("native", "as_shipped", "shipped", "original", "vendor") and model is not None:
        key = NATIVE_FORMATS.get(model.formats[0], "bf16") if model.formats else "bf16"
    aliases = {
        "nf4": "int4",
        "bnb4": "int4",
        "4bit": "int4",
        "bnb8": "int8",
        "8bit": "int8",
        "float16": "fp16",
        "bfloat16": "bf16",
        "gguf": "q4_k_m",
        "q4": "q4_k_m",
        "q5": "q5_k_m",
        "q6": "q6_k",
        "q8": "q8_0",
        "q4_k": "q4_k_m",
        "q5_k": "q5_k_m",
        "q3_k": "q3_k_m",
        "fp4": "nvfp4",
        "mlx": "mlx_4bit",
        "mlx4": "mlx_4bit",
        "mlx8": "mlx_8bit",
        "exl2": "exl2_4bpw",
        "exl3": "exl3_4bpw",
        "w4a16": "awq",
        "int4_awq": "awq",
        "fp8_e4m3": "fp8",
        "w8a8": "fp8",
        "e4m3": "fp8",
        "f16": "fp16",
        "native": "bf16",
    }
    key = aliases.get(key, key)
    if key not in cat.quantizations:
        import difflib

        allowed = sorted(cat.quantizations)
        raise InvalidInput(
            f"unknown quantization {name!r}; allowed: {', '.join(allowed)} (or 'native' for the vendor's own format)",
            field=field,
            suggestions=difflib.get_close_matches(key, allowed, n=3),
        )
    return cat.quantizations[key]


def check_engine(engine: str, q: Quantization) -> str:
    engine = ENGINE_ALIASES.get(str(engine).strip().lower(), str(engine).strip().lower())
    if engine == "auto":
        return default_engine(q)
    if engine not in q.engines:
        raise InvalidInput(
            f"engine {engine!r} does not load {q.id}; engines for {q.id}: {', '.join(q.engines)}",
            field="engine",
            suggestions=q.engines,
        )
    return engine


# ---------------------------------------------------------------- weights


@dataclass(frozen=True)
class WeightSplit:
    embedding: float  # parameters
    lm_head: float
    body: float
    experts: float  # routed-expert parameters (part of body)
    known: bool  # False when the catalog has no architecture for the model


def moe_layers(m: Model) -> int:
    a = m.architecture
    if a is None or a.moe is None:
        return 0
    if a.moe.layers is not None:
        return a.moe.layers
    return math.ceil(max(a.layers - a.moe.dense_layers, 0) / a.moe.every)


def routed_expert_params(m: Model) -> float:
    """Parameters in routed experts: from the config's expert width, else from total vs active parameters."""
    a = m.architecture
    if a is None or a.moe is None or not m.is_moe:
        return 0.0
    moe = a.moe
    if moe.expert_intermediate_size:
        width = moe.expert_hidden_size or a.hidden_size
        return float(moe_layers(m) * moe.experts * moe.expert_matrices * width * moe.expert_intermediate_size)
    assert m.active_params_b is not None  # is_moe
    per_expert = (m.params_b - m.active_params_b) * 1e9 / (moe.experts - moe.active_experts)
    return moe.experts * per_expert


def weight_split(m: Model) -> WeightSplit:
    total = m.params_b * 1e9
    a = m.architecture
    if a is None:
        return WeightSplit(0.0, 0.0, total, 0.0, False)
    emb = float(a.vocab_size * a.hidden_size)
    head = 0.0 if a.tied_embeddings else emb
    body = max(total - emb - head, 0.0)
    return WeightSplit(emb, head, body, min(routed_expert_params(m), body), True)


def weight_bytes(m: Model, q: Quantization) -> float:
    split = weight_split(m)
    total = split.embedding + split.lm_head + split.body
    if q.scope == "experts":
        experts = split.experts
        if not split.known and m.active_params_b is not None:  # an MoE
            experts = (m.params_b - m.active_params_b) * 1e9  # no config: at least the inactive experts are routed
        return experts * q.bits_per_weight / 8 + (total - experts) * q.other_bits / 8
    if q.scope == "all" or not split.known:
        return total * q.bits_per_weight / 8
    return split.body * q.bits_per_weight / 8 + (split.embedding + split.lm_head) * 2.0


# ---------------------------------------------------------------- KV cache and fixed-size state


@dataclass(frozen=True)
class KvLayout:
    global_layers: int  # layers caching every token
    local_layers: int  # layers caching at most `window` tokens
    window: int | None
    global_bytes: float  # per token and layer
    local_bytes: float
    state_layers: int  # layers keeping a fixed-size recurrent state instead
    state_bytes: float  # per sequence and state layer


def kv_layout(m: Model, kv_bytes: float) -> KvLayout | None:
    a = m.architecture
    if a is None:
        return None
    att = a.attention
    n = a.kv_layers
    per = 2 * a.kv_heads * a.effective_head_dim * kv_bytes
    if att.kind == "mla":
        assert att.kv_lora_rank and att.qk_rope_head_dim  # the schema requires both for MLA
        per = (att.kv_lora_rank + att.qk_rope_head_dim) * kv_bytes
        if att.index_head_dim:
            per += att.index_head_dim + INDEXER_SCALE_BYTES
    glob = (
        (1 if att.global_values_are_keys else 2)
        * (att.global_kv_heads or a.kv_heads)
        * (att.global_head_dim or a.effective_head_dim)
        * kv_bytes
    )
    if att.kind == "mla":
        glob = per
    lin = a.linear_attention
    state_layers, state_bytes = (lin.layers, lin.state_bytes_per_layer) if lin else (0, 0.0)
    if att.kind in ("sliding", "chunked"):
        if att.global_layers is not None:
            n_global = min(att.global_layers, n)
        else:
            n_global = n // att.global_every if att.global_every else 0
        return KvLayout(n_global, n - n_global, att.window, glob, per, state_layers, state_bytes)
    return KvLayout(n, 0, None, glob, per, state_layers, state_bytes)


def kv_cache_bytes(m: Model, context: int, batch: int, kv_bytes: float) -> float | None:
    """KV cache that grows with the context (global layers) or up to a window (local layers)."""
    layout = kv_layout(m, kv_bytes)
    if layout is None:
        return None
    local_tokens = min(context, layout.window) if layout.window else context
    return batch * (
        layout.global_bytes * layout.global_layers * context + layout.local_bytes * layout.local_layers * local_tokens
    )


def state_bytes(m: Model, batch: int) -> float:
    """Fixed-size recurrent state of linear-attention / state-space layers: the same at any context."""
    layout = kv_layout(m, 2.0)
    if layout is None:
        return 0.0
    return batch * layout.state_layers * layout.state_bytes


def full_attention_kv_bytes(m: Model, context: int, batch: int, kv_bytes: float) -> float | None:
    """The naive formula (every layer caches every token with all KV heads): an upper bound for comparison."""
    a = m.architecture
    if a is None:
        return None
    return batch * 2 * a.layers * a.kv_heads * a.effective_head_dim * kv_bytes * context


def activation_bytes(m: Model, context: int, engine: str) -> float:
    """Peak activations of one prefill chunk in 16-bit: hidden states and the MLP intermediate."""
    a = m.architecture
    tokens = min(context, PREFILL_CHUNK.get(engine, context))
    if a is None:
        hidden = 4096
        inter = 14336
    else:
        hidden = a.hidden_size
        inter = a.intermediate_size or 4 * a.hidden_size
        if a.moe:
            width = a.moe.expert_intermediate_size or inter
            inter = max(inter, width * a.moe.active_experts)
    return tokens * (4 * hidden + 3 * inter) * 2.0


# ---------------------------------------------------------------- parallelism


@dataclass(frozen=True)
class Parallel:
    """How a model is spread: tensor parallel within a node, pipeline (layer) stages across nodes."""

    tensor: int = 1
    pipeline: int = 1

    @property
    def gpus(self) -> int:
        return self.tensor * self.pipeline

    def describe(self, engine: str, per_node: int) -> str:
        if self.gpus == 1:
            return "one GPU"
        nodes = math.ceil(self.gpus / per_node)
        parts = []
        if self.tensor > 1:
            parts.append(f"tensor parallel {self.tensor}")
        if self.pipeline > 1:
            parts.append(
                f"{'layer split' if engine not in TENSOR_PARALLEL_ENGINES else 'pipeline parallel'} {self.pipeline}"
            )
        return " x ".join(parts) + (f" across {nodes} nodes of {per_node}" if nodes > 1 else "")


def parallel_for(engine: str, num_gpus: int, per_node: int = 8) -> Parallel:
    """The usual layout: tensor parallel inside a node, pipeline stages across nodes; llama.cpp and
    transformers split by layers."""
    if engine not in TENSOR_PARALLEL_ENGINES:
        return Parallel(1, num_gpus)
    tensor = min(num_gpus, per_node)
    while num_gpus % tensor:
        tensor -= 1
    return Parallel(tensor, num_gpus // tensor)


def kv_replication(m: Model, layout: Parallel) -> float:
    """How many copies of each KV entry tensor parallelism keeps: MLA's latent is replicated on every rank;
    GQA heads are split until there are fewer KV heads than ranks."""
    a = m.architecture
    if layout.tensor <= 1 or a is None:
        return 1.0
    if a.attention.kind == "mla":
        return float(layout.tensor)
    return max(1.0, layout.tensor / a.kv_heads)


@dataclass
class MemoryEstimate:
    weights: float
    kv: float | None
    state: float
    activations: float
    context_overhead: float
    slack: float
    num_gpus: int
    kv_copies: float = 1.0

    @property
    def kv_or_zero(self) -> float:
        return self.kv or 0.0

    @property
    def kv_stored(self) -> float:
        """KV bytes held across all GPUs (replicated entries counted each time)."""
        return self.kv_or_zero * self.kv_copies

    @property
    def total(self) -> float:
        return (
            self.weights
            + self.kv_stored
            + self.state
            + self.activations
            + self.context_overhead * self.num_gpus
            + self.slack
        )

    @property
    def per_gpu(self) -> float:
        shared = self.weights + self.kv_stored + self.state + self.activations + self.slack
        return shared / self.num_gpus + self.context_overhead


def estimate(
    m: Model,
    q: Quantization,
    engine: str,
    context: int,
    batch: int,
    kv_bytes: float,
    num_gpus: int,
    layout: Parallel | None = None,
) -> MemoryEstimate:
    layout = layout or parallel_for(engine, num_gpus)
    w = weight_bytes(m, q)
    kv = kv_cache_bytes(m, context, batch, kv_bytes)
    state = state_bytes(m, batch)
    copies = kv_replication(m, layout)
    act = activation_bytes(m, context, engine)
    slack = ALLOCATOR_SLACK * ((kv or 0.0) * copies + state + act)
    return MemoryEstimate(w, kv, state, act, CUDA_CONTEXT_GB[engine] * GB, slack, num_gpus, copies)


APPLE_GPU_SHARE = common.UNIFIED_MEMORY_GPU_SHARE  # unless a Mac's share was measured


def gpu_share(g: Gpu) -> float:
    """Share of a device's memory a model may use: the measured share, else the macOS default on Apple silicon."""
    if g.vendor == "Apple" and g.unified_memory and g.usable_memory_fraction >= 1.0:
        return APPLE_GPU_SHARE
    return g.usable_memory_fraction


# Servers that reserve a fixed share of GPU memory up front (vLLM's gpu_memory_utilization default); the model
# and its KV cache must fit in that share, not in the whole card.
RESERVED_SHARE = {"vllm": 0.9, "sglang": 0.9, "tensorrt-llm": 0.9}


def usable_bytes(g: Gpu, engine: str | None = None) -> float:
    return (g.memory_bytes or 0) * gpu_share(g) * RESERVED_SHARE.get(engine or "", 1.0)


def max_context(m: Model, q: Quantization, engine: str, batch: int, kv_bytes: float, g: Gpu, num_gpus: int) -> int:
    """Largest context (<= the model's own) whose estimate fits; 0 if even a tiny context does not."""
    limit = usable_bytes(g, engine)
    layout = parallel_for(engine, num_gpus, g.gpus_per_node or 8)  # the layout the fit itself is checked with
    fits = lambda ctx: estimate(m, q, engine, ctx, batch, kv_bytes, num_gpus, layout).per_gpu <= limit  # noqa: E731
    hi = m.context_length
    if fits(hi):
        return hi
    if not fits(1):
        return 0
    lo = 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def resolve_kv(kv_cache_dtype: str, q: Quantization, engine: str) -> tuple[str, float]:
    if kv_cache_dtype == "auto":
        # Engines keep the KV cache in the compute dtype unless told otherwise.
        return "fp16" if q.id == "fp16" else "bf16", 2.0
    if engine in ("transformers", "vllm", "sglang", "tensorrt-llm", "mlx", "exllama") and kv_cache_dtype in (
        "q8_0",
        "q4_0",
    ):
        raise InvalidInput(
            f"kv_cache_dtype {kv_cache_dtype} is a llama.cpp cache type; with {engine} use auto, bf16, fp16, fp8 or "
            f"int8",
            field="kv_cache_dtype",
        )
    return kv_cache_dtype, KV_BYTES[kv_cache_dtype]


def tp_note(m: Model, layout: Parallel, engine: str) -> str | None:
    a = m.architecture
    if layout.tensor <= 1 or a is None or engine not in TENSOR_PARALLEL_ENGINES:
        return None
    if a.attention_heads % layout.tensor:
        return (
            f"{engine} tensor parallelism needs the {a.attention_heads} attention heads to divide by {layout.tensor}; "
            "use a divisor or pipeline parallelism"
        )
    return None


def resolve_context(m: Model, context_length: int | None) -> int:
    if context_length is None:
        return min(8192, m.context_length)
    if context_length > m.context_length:  # at least 1: the tool's signature says so
        raise InvalidInput(
            f"context_length {context_length} exceeds {m.name}'s context of {m.context_length} tokens; "
            f"allowed: 1 to {m.context_length}",
            field="context_length",
        )
    return context_length


def architecture_notes(m: Model, est: MemoryEstimate, ctx: int, kv_bytes: float) -> list[str]:
    """What the architecture does to memory, in words, with the figures it used."""
    notes: list[str] = []
    a = m.architecture
    if a is None:
        return ["KV cache not estimated: the catalog has no architecture for this model (not reported)"]
    att = a.attention
    if m.is_moe:
        notes.append(
            f"mixture of experts: all {m.params_b}B parameters must be resident even though {m.active_params_b}B are "
            f"active per token"
        )
    if att.kind in ("sliding", "chunked"):
        layout = kv_layout(m, kv_bytes)
        assert layout is not None  # the model has an architecture
        notes.append(
            f"{att.kind} attention: {layout.local_layers} local layers cache at most {att.window} tokens and "
            f"{layout.global_layers} global layers cache the full context"
        )
    if att.kind == "mla":
        notes.append(
            "multi-head latent attention: the KV cache holds the compressed latent "
            f"({att.kv_lora_rank} + {att.qk_rope_head_dim} values per layer and token), as vLLM and SGLang store it"
            + (
                f", plus the sparse-attention indexer's {att.index_head_dim}-wide FP8 keys"
                if att.index_head_dim
                else ""
            )
        )
    if a.linear_attention is not None:
        lin = a.linear_attention
        notes.append(
            f"hybrid model: {lin.layers} {lin.kind.replace('_', ' ')} layers keep a fixed-size state of "
            f"{common.rnd(lin.state_bytes_per_layer / 2**20)} MiB per sequence each "
            f"({common.rnd(est.state / GB)} GB in all, the same at any context), and only {a.kv_layers} attention "
            "layers keep a KV cache that grows with the context"
        )
    if a.kv_shared_layers:
        notes.append(f"{a.kv_shared_layers} layers reuse an earlier layer's KV cache and store none")
    naive = full_attention_kv_bytes(m, ctx, 1, kv_bytes)
    if naive and est.kv is not None and (att.kind != "full" or a.linear_attention is not None or a.kv_shared_layers):
        notes.append(
            f"the naive full-attention formula would give {common.rnd(naive / GB)} GB of KV cache per sequence at "
            f"{ctx} tokens"
        )
    return notes


GIB = 2**30


def device_unit(g: Gpu) -> tuple[str, float, str]:
    """The unit a device's memory is stated in, its size in bytes, and what the vendor's "GB" means there. Vendors
    state DRAM and HBM in binary gigabytes: NVIDIA's "24GB" is 24 GiB (25.77 x 10^9 bytes)."""
    import re

    stated = g.memory_stated or ""
    match = re.match(r"^(\d+(?:\.\d+)?)\s?(GB|GiB|TB)", stated)
    value = float(match.group(1)) * (1024 if match and match.group(2) == "TB" else 1) if match else 0.0
    binary = not value or abs((g.memory_bytes or 0) - value * GIB) <= abs((g.memory_bytes or 0) - value * GB)
    who = "the vendor's" if g.vendor == "Generic" else f"{g.vendor}'s"
    if binary:
        return "GiB", float(GIB), f'{stated} as {who} "GB" of memory: 2^30 bytes each, i.e. GiB'
    return "GB", GB, f'{stated} as {who} "GB": 10^9 bytes each'


def device_fit(
    m: Model, q: Quantization, engine: str, context: int, batch: int, kv_bytes: float, g: Gpu, num_gpus: int
) -> dict:
    """A fit stated in the device's own unit (GiB where the vendor's "GB" means 2^30 bytes), per device: the memory
    it has and what a model may use of it, what the model needs, the headroom, and the largest context that fits.
    Every edge shows these figures when it compares a model with a device, so that no answer says "fits" next to a
    larger number."""
    layout = parallel_for(engine, num_gpus, g.gpus_per_node or 8)
    need = estimate(m, q, engine, context, batch, kv_bytes, num_gpus, layout).per_gpu
    most = max_context(m, q, engine, batch, kv_bytes, g, num_gpus)
    return fit_in_device_unit(g, num_gpus, need, usable_bytes(g, engine), context, most)


def fit_in_device_unit(g: Gpu, num_gpus: int, need: float, usable: float, context: int, most: int) -> dict:
    """A fit's figures (bytes needed and usable per device) in the device's unit, as :func:`device_fit` gives them."""
    unit, size, note = device_unit(g)
    return {
        "device": g.name,
        "count": num_gpus,
        "memory_stated": g.memory_stated,
        "unit": unit,
        "unit_note": note,
        "memory": common.rnd((g.memory_bytes or 0) / size),
        "usable": common.rnd(usable / size),
        "needed": common.rnd(need / size),
        "headroom": common.rnd((usable - need) / size),
        "fits": need <= usable,
        "context": context,
        "max_context": most,
    }


def _part(name: str, size: float) -> dict:
    """One part of a memory breakdown, in GB (10^9 bytes) and in GiB (2^30: the unit devices are stated in)."""
    return {"part": name, "gb": common.rnd(size / GB), "gib": common.rnd(size / GIB)}


def _basis(q: Quantization) -> str:
    """Where a format's bits per weight come from, for an answer about any model: a file size measured on one model
    ("7.96 GiB for Llama-3-8B") reads as a claim about the model asked about, so it is named as a table's average."""
    if " GiB for " in q.basis:
        return f"{q.name}'s average in its source's size table"
    return q.basis.rstrip(".")


def estimate_memory(
    model: str,
    quantization: str = "bf16",
    context_length: Annotated[int | None, Field(ge=1)] = None,
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 1,
    kv_cache_dtype: KvDtype = "auto",
    gpu: str | None = None,
    num_gpus: Annotated[int, Field(ge=1, le=1024)] = 1,
    engine: Engine = "auto",
    vram_gb: Annotated[float | None, Field(gt=0, le=1_000_000)] = None,
    unified_memory: bool = False,
    device_class: Literal["consumer", "datacenter", "apple", "cpu"] | None = None,
) -> dict:
    """Estimate the GPU memory needed to serve a model: weights, KV cache, fixed-size state of hybrid models,
    activations and runtime overhead, whether it fits a GPU (or a stated amount of memory), and the largest context
    that fits.

    Args:
        model: Model id, name or alias from the catalog, e.g. "llama 3.1 8b".
        quantization: Weight format: bf16, fp16, fp8, int8 / int4 (bitsandbytes), q8_0, q6_k, q5_k_m, q4_k_m,
            q4_0, q4_1, iq4_xs, q3_k_m, q2_k (GGUF), awq, gptq, mxfp4, fp8_mxfp4, nvfp4, mlx_4bit, mlx_8bit,
            exl2_4bpw, exl3_4bpw, or native (the format the vendor ships).
        context_length: Tokens per sequence (prompt + output). Defaults to the smaller of 8192 and the model's context.
        batch_size: Sequences served at once, each with its own KV cache.
        kv_cache_dtype: KV cache precision; auto keeps the compute dtype.
        gpu: Device id or name to check the fit against, e.g. "RTX 4090", "M4 Pro 48GB".
        num_gpus: GPUs the model is split across (tensor parallel within a node of 8, pipeline stages across
            nodes; llama.cpp splits by layers).
        engine: Serving engine (transformers, vllm, sglang, tensorrt-llm, llama.cpp or ollama, mlx, exllama);
            auto picks the usual one for the format.
        vram_gb: Memory per GPU as the vendor states it (a "48GB" card), when no GPU is named.
        unified_memory: With vram_gb: the memory is shared with the CPU (a Mac or similar), so only part of it
            is usable by the GPU.
        device_class: With vram_gb: consumer (the default), datacenter, apple (unified memory) or cpu.
    """
    m = common.model(model)
    q = resolve_quantization(quantization, model=m)
    eng = check_engine(engine, q)
    ctx = resolve_context(m, context_length)
    kv_name, kv_bytes = resolve_kv(kv_cache_dtype, q, eng)
    device = common.device(gpu, vram_gb, unified_memory, device_class=device_class)
    layout = parallel_for(eng, num_gpus, (device.gpus_per_node if device else None) or 8)
    est = estimate(m, q, eng, ctx, batch_size, kv_bytes, num_gpus, layout)

    assumptions = [
        f"GB are 10^9 bytes; weights at {q.bits_per_weight} bits per weight ({_basis(q)})",
        f"runtime overhead: {CUDA_CONTEXT_GB[eng]} GB per GPU for the CUDA context and kernels of {eng}, "
        f"plus {int(ALLOCATOR_SLACK * 100)}% of the KV cache, state and activations for allocator fragmentation",
        "activations: one prefill chunk of "
        + (
            f"{PREFILL_CHUNK[eng]} tokens"
            if eng in PREFILL_CHUNK
            else "the whole prompt (transformers does not chunk prefill)"
        ),
    ]
    split = weight_split(m)
    if q.scope == "linear" and split.known:
        assumptions.append(f"{q.name} quantizes the linear layers only; embeddings and the output layer stay 16-bit")
    if q.scope == "experts":
        assumptions.append(
            f"{q.name} applies to the routed experts ({common.rnd(split.experts / 1e9)}B parameters); the rest stays "
            f"{q.other_bits:g}-bit"
            if m.is_moe
            else f"{q.name} is a format for MoE experts; this dense model is counted at {q.other_bits:g} bits "
            "throughout"
        )
    if not split.known:
        assumptions.append("the catalog has no architecture for this model, so all weights are treated alike")
    assumptions += architecture_notes(m, est, ctx, kv_bytes)
    note = tp_note(m, layout, eng)
    if note:
        assumptions.append(note)
    if num_gpus > 1:
        assumptions.append(
            f"split: {layout.describe(eng, device.gpus_per_node if device and device.gpus_per_node else 8)}"
        )
        if est.kv_copies > 1:
            assert m.architecture is not None  # KV copies come from its attention
            assumptions.append(
                f"tensor parallelism keeps {common.rnd(est.kv_copies)} copies of each KV entry "
                + (
                    "(the MLA latent is replicated on every rank)"
                    if m.architecture.attention.kind == "mla"
                    else f"(only {m.architecture.kv_heads} KV heads to split)"
                )
            )
    if eng in ("vllm", "sglang", "tensorrt-llm"):
        assumptions.append(
            f"{eng} reserves a fixed share of GPU memory up front ({int(RESERVED_SHARE[eng] * 100)}%, vLLM's default "
            "--gpu-memory-utilization) and fills what the weights leave with KV cache; 'fits' means the weights and "
            "this context fit in that share"
        )

    result: dict = {
        "model": {"id": m.id, "name": m.name, "params_b": m.params_b, "active_params_b": m.active_params_b},
        "quantization": {"id": q.id, "name": q.name, "bits_per_weight": q.bits_per_weight},
        "engine": eng,
        "context_length": ctx,
        "batch_size": batch_size,
        "kv_cache_dtype": kv_name,
        "num_gpus": num_gpus,
        "weights_gb": common.rnd(est.weights / GB),
        "kv_cache_gb": common.rnd(est.kv_stored / GB) if est.kv is not None else None,
        "activations_gb": common.rnd(est.activations / GB),
        "overhead_gb": common.rnd((est.context_overhead * num_gpus + est.slack) / GB),
        "total_gb": common.rnd(est.total / GB),
        "breakdown": [
            _part("weights", est.weights),
            _part("kv_cache", est.kv_stored),
            _part("activations", est.activations),
            _part("cuda_context", est.context_overhead * num_gpus),
            _part("allocator_slack", est.slack),
        ],
        "total_gib": common.rnd(est.total / GIB),
    }
    if est.state:
        result["state_gb"] = common.rnd(est.state / GB)
        result["breakdown"].insert(2, _part("fixed_state", est.state))
    if num_gpus > 1:
        result["per_gpu_gb"] = common.rnd(est.per_gpu / GB)
        result["parallelism"] = {"tensor": layout.tensor, "pipeline": layout.pipeline}
    sources = [q.source.url]
    src = common.model_source(m, "architecture") or common.model_source(m, "params_b")
    if src:
        sources.insert(0, src.url)
    if device is not None:
        usable = usable_bytes(device, eng)
        fits = est.per_gpu <= usable
        result["gpu"] = {
            "id": device.id,
            "name": device.name,
            "memory_gb": common.rnd(device.memory_gb),
            "memory_stated": device.memory_stated,
            "count": num_gpus,
            "usable_gb": common.rnd(usable / GB),  # what the fit is judged against (a Mac's GPU gets a share)
        }
        result["fits"] = fits
        result["headroom_gb"] = common.rnd((usable - est.per_gpu) / GB)
        result["fit"] = device_fit(m, q, eng, ctx, batch_size, kv_bytes, device, num_gpus)
        result["max_context_that_fits"] = result["fit"]["max_context"]
        assumptions.append(
            f"{device.name}: {device.memory_stated} is {common.rnd(device.memory_gb)} GB (vendors' memory GB are 2^30 "
            f"bytes)"
        )
        if gpu_share(device) < 1:  # first: it decides the verdict, and a reader sees only the first few
            assumptions.insert(
                0,
                f"{device.name}: only {int(gpu_share(device) * 100)}% of memory is usable by the GPU "
                + (
                    f"(measured: {device.notes})"
                    if device.usable_memory_fraction < 1 and device.notes
                    else "(the macOS default GPU wired-memory limit; raise it with sysctl iogpu.wired_limit_mb)"
                ),
            )
        if not fits:
            result["if_it_does_not_fit"] = _alternatives(m, q, eng, ctx, batch_size, kv_bytes, device, num_gpus)
        gsrc = device.sources.get(device.cite.get("memory", "")) if device.sources else None
        if gsrc:
            sources.append(gsrc.url)
    result["assumptions"] = assumptions
    result["sources"] = list(dict.fromkeys(sources))
    return result


def _alternatives(
    m: Model, q: Quantization, eng: str, ctx: int, batch: int, kv_bytes: float, g: Gpu, num_gpus: int
) -> list[str]:
    """What to change first: a smaller format, a shorter context, an 8-bit KV cache, more GPUs."""
    cat = common.catalog()
    out: list[str] = []
    limit = usable_bytes(g, eng)
    for other in sorted(cat.quantizations.values(), key=lambda x: (x.rank, -x.bits_per_weight)):
        if other.rank <= q.rank or other.bits_per_weight >= q.bits_per_weight or other.scope == "experts":
            continue
        if (other.needs_fp8_hardware and not g.fp8) or (other.needs_fp4_hardware and not g.fp4):
            continue
        if other.family == "mlx" and g.segment != "apple":
            continue
        e2 = default_engine(other)
        if estimate(m, other, e2, ctx, batch, 2.0, num_gpus).per_gpu <= usable_bytes(g, e2):
            out.append(f"use {other.name}: fits at {ctx:,} tokens")
            break
    mc = max_context(m, q, eng, batch, kv_bytes, g, num_gpus)
    if mc > 0:
        out.append(f"keep {q.name} and cut the context to {mc:,} tokens")
    if kv_bytes > 1.0 and eng != "transformers":
        alt_kv = 1.0 if eng != "llama.cpp" else KV_BYTES["q8_0"]
        if (
            estimate(m, q, eng, ctx, batch, alt_kv, num_gpus, parallel_for(eng, num_gpus, g.gpus_per_node or 8)).per_gpu
            <= limit
        ):
            out.append("keep the format and store the KV cache in 8 bits (fp8 / q8_0)")
    single = estimate(m, q, eng, ctx, batch, kv_bytes, 1)
    shared = single.per_gpu - single.context_overhead
    room = limit - single.context_overhead
    if room > 0:
        need = max(num_gpus + 1, math.ceil(shared / room))
        need = next(
            (n for n in GPU_COUNTS if n >= need), need
        )  # a layout engines run: 1-8 in a node, whole nodes after
        if need <= 1024:
            per_node = g.gpus_per_node or 8
            nodes = math.ceil(need / per_node)
            out.append(
                f"split {q.name} across {need} x {g.name}" + (f" ({nodes} nodes of {per_node})" if nodes > 1 else "")
            )
    return out
