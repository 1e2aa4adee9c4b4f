"""Memory needed to serve a model: weights by format, KV cache from the architecture, runtime overhead."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from catalog.schema import Gpu, Model, Quantization
from tools import common
from tools.errors import InvalidInput

GB = 1e9
KvDtype = Literal["auto", "bf16", "fp16", "fp8", "int8", "q8_0", "q4_0"]
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
Engine = Literal["auto", "transformers", "vllm", "sglang", "llama.cpp"]

# Runtime figures that are engine behaviour, not catalog facts; each is stated in the result.
CUDA_CONTEXT_GB = {"transformers": 1.0, "vllm": 1.0, "sglang": 1.0, "llama.cpp": 0.5}
PREFILL_CHUNK = {"vllm": 8192, "sglang": 8192, "llama.cpp": 512}  # transformers prefills the whole prompt at once
ALLOCATOR_SLACK = 0.05  # share of dynamic memory (KV cache, activations) lost to fragmentation


def default_engine(q: Quantization) -> str:
    if q.family == "gguf":
        return "llama.cpp"
    if q.family in ("fp8", "gptq_awq"):
        return "vllm"
    return "transformers"


def resolve_quantization(name: str, field: str = "quantization") -> Quantization:
    cat = common.catalog()
    key = str(name).strip().lower().replace("-", "_")
    aliases = {"nf4": "int4", "bnb4": "int4", "4bit": "int4", "bnb8": "int8", "8bit": "int8", "float16": "fp16",
               "bfloat16": "bf16", "gguf": "q4_k_m", "q4": "q4_k_m", "q5": "q5_k_m", "q6": "q6_k", "q8": "q8_0"}
    key = aliases.get(key, key)
    if key not in cat.quantizations:
        import difflib

        allowed = sorted(cat.quantizations)
        raise InvalidInput(
            f"unknown quantization {name!r}; allowed: {', '.join(allowed)}",
            field=field,
            suggestions=difflib.get_close_matches(key, allowed, n=3),
        )
    return cat.quantizations[key]


def check_engine(engine: str, q: Quantization) -> str:
    if engine == "auto":
        return default_engine(q)
    if engine not in q.engines:
        raise InvalidInput(
            f"engine {engine!r} does not load {q.id}; engines for {q.id}: {', '.join(q.engines)}",
            field="engine",
            suggestions=q.engines,
        )
    return engine


@dataclass(frozen=True)
class WeightSplit:
    embedding: float  # parameters
    lm_head: float
    body: float
    known: bool  # False when the catalog has no architecture for the model


def weight_split(m: Model) -> WeightSplit:
    total = m.params_b * 1e9
    a = m.architecture
    if a is None:
        return WeightSplit(0.0, 0.0, total, False)
    emb = float(a.vocab_size * a.hidden_size)
    head = 0.0 if a.tied_embeddings else emb
    body = max(total - emb - head, 0.0)
    return WeightSplit(emb, head, body, True)


def weight_bytes(m: Model, q: Quantization) -> float:
    split = weight_split(m)
    if q.scope == "all" or not split.known:
        return (split.embedding + split.lm_head + split.body) * q.bits_per_weight / 8
    return split.body * q.bits_per_weight / 8 + (split.embedding + split.lm_head) * 2.0


def kv_layout(m: Model, kv_bytes: float) -> tuple[float, int, int, int | None] | None:
    """(bytes per token per layer, global layers, local layers, window); None without architecture."""
    a = m.architecture
    if a is None:
        return None
    att = a.attention
    if att.kind == "mla":
        per = (att.kv_lora_rank + att.qk_rope_head_dim) * kv_bytes
    else:
        per = 2 * a.kv_heads * a.effective_head_dim * kv_bytes
    if att.kind in ("sliding", "chunked"):
        n_global = a.layers // att.global_every if att.global_every else 0
        return per, n_global, a.layers - n_global, att.window
    return per, a.layers, 0, None


def kv_cache_bytes(m: Model, context: int, batch: int, kv_bytes: float) -> float | None:
    layout = kv_layout(m, kv_bytes)
    if layout is None:
        return None
    per, n_global, n_local, window = layout
    local_tokens = min(context, window) if window else context
    return batch * per * (n_global * context + n_local * local_tokens)


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
            inter *= a.moe.active_experts
    return tokens * (4 * hidden + 3 * inter) * 2.0


@dataclass
class MemoryEstimate:
    weights: float
    kv: float | None
    activations: float
    context_overhead: float
    slack: float
    num_gpus: int

    @property
    def kv_or_zero(self) -> float:
        return self.kv or 0.0

    @property
    def total(self) -> float:
        return self.weights + self.kv_or_zero + self.activations + self.context_overhead * self.num_gpus + self.slack

    @property
    def per_gpu(self) -> float:
        shared = self.weights + self.kv_or_zero + self.activations + self.slack
        return shared / self.num_gpus + self.context_overhead


def estimate(m: Model, q: Quantization, engine: str, context: int, batch: int, kv_bytes: float, num_gpus: int) -> MemoryEstimate:
    w = weight_bytes(m, q)
    kv = kv_cache_bytes(m, context, batch, kv_bytes)
    kv_for_slack = kv if kv is not None else 0.0
    act = activation_bytes(m, context, engine)
    slack = ALLOCATOR_SLACK * (kv_for_slack + act)
    return MemoryEstimate(w, kv, act, CUDA_CONTEXT_GB[engine] * GB, slack, num_gpus)


def usable_bytes(g: Gpu) -> float:
    return g.memory_gb * g.usable_memory_fraction * GB


def max_context(m: Model, q: Quantization, engine: str, batch: int, kv_bytes: float, g: Gpu, num_gpus: int) -> int:
    """Largest context (<= the model's own) whose estimate fits; 0 if even a tiny context does not."""
    limit = usable_bytes(g)
    fits = lambda ctx: estimate(m, q, engine, ctx, batch, kv_bytes, num_gpus).per_gpu <= limit  # noqa: E731
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
    if engine == "transformers" and kv_cache_dtype in ("q8_0", "q4_0"):
        raise InvalidInput(
            f"kv_cache_dtype {kv_cache_dtype} is a llama.cpp cache type; with transformers use auto, bf16, fp16 or int8",
            field="kv_cache_dtype",
        )
    return kv_cache_dtype, KV_BYTES[kv_cache_dtype]


def tp_note(m: Model, num_gpus: int, engine: str) -> str | None:
    a = m.architecture
    if num_gpus <= 1 or a is None or engine not in ("vllm", "sglang"):
        return None
    if a.attention_heads % num_gpus:
        return (
            f"{engine} tensor parallelism needs the {a.attention_heads} attention heads to divide by the GPU count "
            f"{num_gpus}; use a divisor or pipeline parallelism"
        )
    return None


def estimate_memory(
    model: str,
    quantization: str = "bf16",
    context_length: int | None = None,
    batch_size: int = 1,
    kv_cache_dtype: KvDtype = "auto",
    gpu: str | None = None,
    num_gpus: int = 1,
    engine: Engine = "auto",
) -> dict:
    """Estimate the GPU memory needed to serve a model: weights, KV cache, activations and runtime overhead, whether it fits a GPU, and the largest context that fits.

    Args:
        model: Model id, name or alias from the catalog, e.g. "llama 3.1 8b".
        quantization: Weight format: bf16, fp16, fp8, int8 (bitsandbytes), int4 (bitsandbytes NF4), q4_k_m, q5_k_m, q6_k, q8_0 (GGUF), awq or gptq.
        context_length: Tokens per sequence (prompt + output). Defaults to the smaller of 8192 and the model's context.
        batch_size: Sequences served at once, each with its own KV cache.
        kv_cache_dtype: KV cache precision; auto keeps the compute dtype.
        gpu: GPU id or name to check the fit against, e.g. "RTX 4090".
        num_gpus: GPUs the model is split across (tensor parallel).
        engine: Serving engine; auto picks the usual one for the format.
    """
    m = common.model(model)
    q = resolve_quantization(quantization)
    eng = check_engine(engine, q)
    if not 1 <= batch_size <= 4096:
        raise InvalidInput("batch_size must be between 1 and 4096", field="batch_size")
    if not 1 <= num_gpus <= 64:
        raise InvalidInput("num_gpus must be between 1 and 64", field="num_gpus")
    if context_length is None:
        ctx = min(8192, m.context_length)
    else:
        if context_length < 1:
            raise InvalidInput("context_length must be at least 1 token", field="context_length")
        if context_length > m.context_length:
            raise InvalidInput(
                f"context_length {context_length} exceeds {m.name}'s context of {m.context_length} tokens; "
                f"allowed: 1 to {m.context_length}",
                field="context_length",
            )
        ctx = context_length
    kv_name, kv_bytes = resolve_kv(kv_cache_dtype, q, eng)
    est = estimate(m, q, eng, ctx, batch_size, kv_bytes, num_gpus)

    assumptions = [
        f"_gb is 10^9 bytes; weights at {q.bits_per_weight} bits per weight ({q.basis})",
        f"runtime overhead: {CUDA_CONTEXT_GB[eng]} GB per GPU for the CUDA context and kernels of {eng}, "
        f"plus {int(ALLOCATOR_SLACK * 100)}% of the KV cache and activations for allocator fragmentation",
        "activations: one prefill chunk of "
        + (f"{PREFILL_CHUNK[eng]} tokens" if eng in PREFILL_CHUNK else "the whole prompt (transformers does not chunk prefill)"),
    ]
    split = weight_split(m)
    if q.scope == "linear" and split.known:
        assumptions.append(f"{q.name} quantizes the linear layers only; embeddings and lm_head stay 16-bit")
    if not split.known:
        assumptions.append("the catalog has no architecture for this model, so all weights are treated alike")
    if m.is_moe:
        assumptions.append(
            f"mixture of experts: all {m.params_b}B parameters must be resident even though {m.active_params_b}B are active per token"
        )
    att = m.architecture.attention if m.architecture else None
    if att is not None and att.kind in ("sliding", "chunked"):
        assumptions.append(
            f"{att.kind} attention: local layers cache at most {att.window} tokens"
            + (f"; every {att.global_every}th layer caches the full context" if att.global_every else "")
        )
    if att is not None and att.kind == "mla":
        assumptions.append(
            "multi-head latent attention: the KV cache holds the compressed latent "
            f"({att.kv_lora_rank} + {att.qk_rope_head_dim} values per layer and token), as vLLM and SGLang store it"
        )
    if est.kv is None:
        assumptions.append("KV cache not estimated: the catalog has no architecture for this model (not reported)")
    note = tp_note(m, num_gpus, eng)
    if note:
        assumptions.append(note)
    if eng in ("vllm", "sglang"):
        assumptions.append(
            f"{eng} reserves a fixed share of GPU memory up front (gpu_memory_utilization, 0.9 by default) and fills "
            "what the weights leave with KV cache; 'fits' means the weights and this context fit in that share"
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
        "kv_cache_gb": common.rnd(est.kv / GB) if est.kv is not None else None,
        "activations_gb": common.rnd(est.activations / GB),
        "overhead_gb": common.rnd((est.context_overhead * num_gpus + est.slack) / GB),
        "total_gb": common.rnd(est.total / GB),
        "breakdown": [
            {"part": "weights", "gb": common.rnd(est.weights / GB)},
            {"part": "kv_cache", "gb": common.rnd(est.kv_or_zero / GB)},
            {"part": "activations", "gb": common.rnd(est.activations / GB)},
            {"part": "cuda_context", "gb": common.rnd(est.context_overhead * num_gpus / GB)},
            {"part": "allocator_slack", "gb": common.rnd(est.slack / GB)},
        ],
    }
    if num_gpus > 1:
        result["per_gpu_gb"] = common.rnd(est.per_gpu / GB)
    sources = [q.source.url]
    src = common.model_source(m, "architecture") or common.model_source(m, "params_b")
    if src:
        sources.insert(0, src.url)
    if gpu is not None:
        g = common.gpu(gpu)
        usable = usable_bytes(g)
        fits = est.per_gpu <= usable
        result["gpu"] = {"id": g.id, "name": g.name, "memory_gb": g.memory_gb, "count": num_gpus}
        result["fits"] = fits
        result["headroom_gb"] = common.rnd((usable - est.per_gpu) / GB)
        result["max_context_that_fits"] = max_context(m, q, eng, batch_size, kv_bytes, g, num_gpus)
        if g.usable_memory_fraction < 1:
            assumptions.append(
                f"{g.name}: only {int(g.usable_memory_fraction * 100)}% of memory is usable by the GPU ({g.notes or 'see the GPU entry'})"
            )
        if not fits:
            result["if_it_does_not_fit"] = _alternatives(m, q, eng, ctx, batch_size, kv_bytes, g, num_gpus)
        gsrc = g.sources.get(g.cite.get("memory_gb", ""))
        if gsrc:
            sources.append(gsrc.url)
    result["assumptions"] = assumptions
    result["sources"] = list(dict.fromkeys(sources))
    return result


def _alternatives(m: Model, q: Quantization, eng: str, ctx: int, batch: int, kv_bytes: float, g: Gpu, num_gpus: int) -> list[str]:
    """What to change first: a smaller format, a shorter context, more GPUs."""
    cat = common.catalog()
    out: list[str] = []
    limit = usable_bytes(g)
    for other in sorted(cat.quantizations.values(), key=lambda x: x.rank):
        if other.rank <= q.rank or other.bits_per_weight >= q.bits_per_weight:
            continue
        if other.needs_fp8_hardware and not g.fp8:
            continue
        e2 = default_engine(other)
        if estimate(m, other, e2, ctx, batch, 2.0, num_gpus).per_gpu <= limit:
            out.append(f"use {other.id} ({other.name}): fits at {ctx} tokens")
            break
    mc = max_context(m, q, eng, batch, kv_bytes, g, num_gpus)
    if mc > 0:
        out.append(f"keep {q.id} and cut the context to {mc} tokens")
    if kv_bytes > 1.0 and eng in ("vllm", "sglang", "llama.cpp"):
        alt_kv = 1.0 if eng != "llama.cpp" else KV_BYTES["q8_0"]
        if estimate(m, q, eng, ctx, batch, alt_kv, num_gpus).per_gpu <= limit:
            out.append("keep the format and store the KV cache in 8 bits (fp8 / q8_0)")
    per_gpu_fixed = estimate(m, q, eng, ctx, batch, kv_bytes, 1)
    shared = per_gpu_fixed.per_gpu - per_gpu_fixed.context_overhead
    room = limit - per_gpu_fixed.context_overhead
    if room > 0:
        need = max(num_gpus + 1, math.ceil(shared / room))
        if need <= 64:
            out.append(f"split {q.id} across {need} x {g.name} (tensor parallel)")
    return out
