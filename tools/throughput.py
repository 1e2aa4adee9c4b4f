"""Tokens per second from the memory-bandwidth roofline, calibrated on published measurements.

Decode step time = max(bytes read per step / (bandwidth x efficiency),
                       layers x per-layer launch overhead,
                       FLOPs per step / (dense FP16 throughput x compute efficiency)).
Efficiency and overhead are fitted per (engine, format) on ``catalog/data/measurements.yaml``;
where no measurement exists, stated defaults are used and the basis says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from catalog.schema import Gpu, Measurement, Model, Quantization
from tools import common
from tools.errors import InvalidInput
from tools.memory import (
    GB,
    Engine,
    check_engine,
    estimate,
    kv_cache_bytes,
    resolve_quantization,
    usable_bytes,
    weight_bytes,
    weight_split,
)

# Used only where no published measurement calibrates an (engine, format) pair.
DEFAULT_FIT = {"transformers": (0.80, 0.70), "vllm": (0.70, 0.0), "sglang": (0.70, 0.0), "llama.cpp": (0.55, 0.0)}
COMPUTE_EFFICIENCY = {"transformers": 0.40, "vllm": 0.55, "sglang": 0.55, "llama.cpp": 0.35}
BNB_PREFILL_PENALTY = 0.6  # bitsandbytes dequantizes weights inside every matmul
TP_EFFICIENCY = 0.9  # per-GPU bandwidth kept under tensor parallelism (all-reduce traffic)


@dataclass(frozen=True)
class Fit:
    efficiency: float
    layer_overhead_ms: float
    measurements: tuple[str, ...]
    group: str

    @property
    def calibrated(self) -> bool:
        return bool(self.measurements)


def moe_read_fraction(m: Model, batch: int) -> float:
    """Share of the body weights read per decode step: active experts, more of them as the batch grows."""
    if not m.is_moe:
        return 1.0
    total, active = m.params_b, m.active_params_b
    moe = m.architecture.moe if m.architecture else None
    if moe is None or moe.experts <= moe.active_experts:
        return active / total
    per_expert = (total - active) / (moe.experts - moe.active_experts)
    shared = max(active - moe.active_experts * per_expert, 0.0)
    touched = moe.experts * (1 - (1 - moe.active_experts / moe.experts) ** batch)
    return min(1.0, (shared + touched * per_expert) / total)


def weight_bytes_read(m: Model, q: Quantization, batch: int) -> float:
    """Weight bytes streamed per decode step: the body (active part for MoE) and lm_head; one embedding row."""
    total = weight_bytes(m, q)
    split = weight_split(m)
    if not split.known:
        return total * moe_read_fraction(m, batch)
    if q.scope == "all":
        emb = split.embedding * q.bits_per_weight / 8
        head = split.lm_head * q.bits_per_weight / 8
    else:
        emb = split.embedding * 2.0
        head = split.lm_head * 2.0
    body = total - emb - head
    if m.architecture is not None and m.architecture.tied_embeddings:
        head = emb  # the tied matrix is read once, as lm_head
    return body * moe_read_fraction(m, batch) + head


def _step_time(m: Model, q: Quantization, g: Gpu, engine: str, fit: Fit, batch: int, context: int, num_gpus: int) -> tuple[float, str]:
    kv = kv_cache_bytes(m, context, batch, 2.0) or 0.0
    bytes_step = weight_bytes_read(m, q, batch) + kv
    if q.family == "bitsandbytes" and q.bits_per_weight < 8 and batch > 1:
        # bitsandbytes' 4-bit kernel serves one sequence; with more it dequantizes every weight to 16 bits
        # first, writing and reading them again on each step.
        bytes_step += 2 * weight_split(m).body * moe_read_fraction(m, batch) * 2.0
    bw = g.memory_bandwidth_gbps * GB * num_gpus * (TP_EFFICIENCY if num_gpus > 1 else 1.0)
    t_mem = bytes_step / (bw * fit.efficiency)
    layers = m.architecture.layers if m.architecture else 32
    t_launch = layers * fit.layer_overhead_ms / 1000
    active = (m.active_params_b or m.params_b) * 1e9
    t_compute = 0.0
    if g.fp16_tflops:
        t_compute = batch * 2 * active / (g.fp16_tflops * 1e12 * num_gpus * COMPUTE_EFFICIENCY[engine])
    t = max(t_mem, t_launch, t_compute)
    bound = "memory bandwidth" if t == t_mem else ("kernel-launch overhead" if t == t_launch else "compute")
    return t, bound


def _measurement_error(fit_eff: float, fit_c: float, rows: list[tuple[Measurement, Model, Quantization, Gpu]]) -> float:
    err = 0.0
    for x, m, q, g in rows:
        fit = Fit(fit_eff, fit_c, (), "")
        t, _ = _step_time(m, q, g, x.engine, fit, x.batch_size, x.context_tokens or 512, 1)
        predicted = x.batch_size / t
        err += math.log(predicted / x.value) ** 2
    return err


@common.per_catalog
def _fits_for(cat) -> dict[tuple[str, str], Fit]:
    groups: dict[tuple[str, str], list] = {}
    for x in cat.measurements:
        if not x.use_for_calibration or x.metric != "decode_tokens_per_s" or x.gpu is None:
            continue
        if x.model not in cat.models or x.gpu not in cat.gpus or x.quantization not in cat.quantizations:
            continue
        q = cat.quantizations[x.quantization]
        key = (x.engine, _group(q))
        groups.setdefault(key, []).append((x, cat.models[x.model], q, cat.gpus[x.gpu]))
    fits: dict[tuple[str, str], Fit] = {}
    for key, rows in groups.items():
        engine = key[0]
        eager = engine == "transformers"  # only eager engines pay a per-layer launch overhead

        def search(effs, overheads, best=None):
            for eff in effs:
                for c in overheads:
                    e = _measurement_error(eff, c, rows)
                    if best is None or e < best[0]:
                        best = (e, eff, c)
            return best

        # coarse grid, then a fine grid around the best point
        best = search([0.15 + i * 0.05 for i in range(17)], [i * 0.1 for i in range(21)] if eager else [0.0])
        _, e0, c0 = best
        best = search([e0 + i * 0.01 for i in range(-5, 6) if 0.1 <= e0 + i * 0.01 <= 1.0],
                      [max(0.0, c0 + i * 0.02) for i in range(-5, 6)] if eager else [0.0], best)
        _, eff, c = best
        fits[key] = Fit(round(eff, 2), round(c, 3), tuple(r[0].id for r in rows), f"{engine} + {key[1]}")
    return fits


def _group(q: Quantization) -> str:
    """Formats that share kernels share a calibration; bitsandbytes' 4-bit and 8-bit kernels differ."""
    return q.id if q.family == "bitsandbytes" else q.family


def fit_for(engine: str, q: Quantization) -> Fit:
    fits = _fits_for()
    family = _group(q)
    if (engine, family) in fits:
        return fits[(engine, family)]
    eff, c = DEFAULT_FIT[engine]
    return Fit(eff, c, (), f"{engine} + {family} (default, no published measurement)")


def throughput(m: Model, q: Quantization, g: Gpu, engine: str, concurrency: int, context: int, num_gpus: int) -> dict:
    fit = fit_for(engine, q)
    t1, bound1 = _step_time(m, q, g, engine, fit, 1, context, num_gpus)
    # How many sequences fit in memory at this context: weights and overhead first, the rest is KV cache.
    est1 = estimate(m, q, engine, context, 1, 2.0, num_gpus)
    per_seq_kv = est1.kv_or_zero
    room = usable_bytes(g) * num_gpus - (est1.total - est1.kv_or_zero)
    if per_seq_kv > 0:
        max_batch = max(0, int(room // (per_seq_kv * 1.05)))
    else:
        max_batch = concurrency
    effective = max(1, min(concurrency, max_batch)) if max_batch > 0 else 0
    result = {
        "decode_tokens_per_s": common.rnd(1 / t1, 1) if max_batch > 0 else 0.0,
        "fit": fit,
        "bound": bound1,
        "max_concurrent_sequences": max_batch,
    }
    if effective:
        tb, boundb = _step_time(m, q, g, engine, fit, effective, context, num_gpus)
        result["aggregate_tokens_per_s"] = common.rnd(effective / tb, 1)
        result["per_stream_tokens_per_s"] = common.rnd(1 / tb, 1)
        result["effective_concurrency"] = effective
        result["aggregate_bound"] = boundb
    else:
        result["aggregate_tokens_per_s"] = 0.0
        result["per_stream_tokens_per_s"] = 0.0
        result["effective_concurrency"] = 0
        result["aggregate_bound"] = "does not fit"
    active = (m.active_params_b or m.params_b) * 1e9
    if g.fp16_tflops:
        eff_c = COMPUTE_EFFICIENCY[engine] * (BNB_PREFILL_PENALTY if q.family == "bitsandbytes" else 1.0)
        result["prefill_tokens_per_s"] = common.rnd(g.fp16_tflops * 1e12 * num_gpus * eff_c / (2 * active), 0)
        result["prefill_efficiency"] = eff_c
    else:
        result["prefill_tokens_per_s"] = None
    result["roofline_tokens_per_s"] = common.rnd(
        g.memory_bandwidth_gbps * GB * num_gpus / (weight_bytes_read(m, q, 1) + (kv_cache_bytes(m, context, 1, 2.0) or 0.0)), 1
    )
    return result


def estimate_throughput(
    model: str,
    gpu: str,
    quantization: str = "bf16",
    engine: Engine = "auto",
    concurrency: int = 1,
    context_length: int = 2048,
    num_gpus: int = 1,
) -> dict:
    """Estimate decode and prefill speed of a model on a GPU: single-stream tokens/s, and aggregate tokens/s when several requests are served at once (continuous batching), with the basis of the estimate.

    Args:
        model: Model id, name or alias from the catalog.
        gpu: GPU id or name, e.g. "H100 SXM" or "RTX 4090".
        quantization: Weight format (bf16, fp16, fp8, int8, int4, q4_k_m, q5_k_m, q6_k, q8_0, awq, gptq).
        engine: Serving engine: transformers, vllm, sglang or llama.cpp; auto picks the usual one for the format.
        concurrency: Requests decoded at the same time.
        context_length: Average tokens in context per request while decoding.
        num_gpus: GPUs the model is split across (tensor parallel).
    """
    m = common.model(model)
    g = common.gpu(gpu)
    q = resolve_quantization(quantization)
    eng = check_engine(engine, q)
    if not 1 <= concurrency <= 4096:
        raise InvalidInput("concurrency must be between 1 and 4096", field="concurrency")
    if not 1 <= num_gpus <= 64:
        raise InvalidInput("num_gpus must be between 1 and 64", field="num_gpus")
    if not 1 <= context_length <= m.context_length:
        raise InvalidInput(
            f"context_length must be between 1 and {m.name}'s context of {m.context_length}", field="context_length"
        )
    if q.needs_fp8_hardware and not g.fp8:
        raise InvalidInput(f"{q.id} needs FP8 tensor cores, which {g.name} lacks; try int8, awq or q8_0", field="quantization")
    r = throughput(m, q, g, eng, concurrency, context_length, num_gpus)
    fit: Fit = r.pop("fit")
    basis = [
        f"decode is bounded by {r['bound']}: per token {common.rnd(weight_bytes_read(m, q, 1) / GB)} GB of weights "
        f"are read at {g.memory_bandwidth_gbps} GB/s x {num_gpus} GPU(s)",
        f"{fit.group}: bandwidth efficiency {fit.efficiency}"
        + (f", kernel-launch overhead {fit.layer_overhead_ms} ms per layer" if fit.layer_overhead_ms else "")
        + (f", fitted on {len(fit.measurements)} published measurements" if fit.calibrated else ""),
    ]
    if r["prefill_tokens_per_s"] is not None:
        basis.append(
            f"prefill is compute-bound: {g.fp16_tflops} dense FP16 TFLOPS x {r.pop('prefill_efficiency')} efficiency / "
            "(2 FLOPs x active parameters per token)"
        )
    else:
        basis.append(f"prefill not estimated: dense FP16 throughput of {g.name} is not reported in the catalog")
    if r["max_concurrent_sequences"] < concurrency:
        basis.append(
            f"only {r['max_concurrent_sequences']} sequences of {context_length} tokens fit next to the weights; "
            "further requests queue"
        )
    if m.is_moe:
        basis.append("mixture of experts: only the active experts' weights are read per token (more as the batch grows)")
    if eng == "transformers" and concurrency > 1:
        basis.append("transformers batches statically (no continuous batching); vLLM or SGLang keep the batch full")
    sources = [x.source.url for x in common.catalog().measurements if x.id in fit.measurements]
    gsrc = g.sources.get(g.cite.get("memory_bandwidth_gbps", ""))
    return {
        "model": {"id": m.id, "name": m.name},
        "gpu": {"id": g.id, "name": g.name, "count": num_gpus},
        "quantization": q.id,
        "engine": eng,
        "concurrency": concurrency,
        "context_length": context_length,
        **{k: v for k, v in r.items() if k not in ("bound", "aggregate_bound")},
        "basis": basis,
        "calibration": {
            "group": fit.group,
            "bandwidth_efficiency": fit.efficiency,
            "layer_overhead_ms": fit.layer_overhead_ms,
            "measurements": list(fit.measurements),
        },
        "assumptions": [
            "estimates are typically within 20-30% of published measurements for calibrated engine/format pairs, and "
            "further off for others (docs/accuracy.md lists each measurement and the error); speed also depends on the "
            "host CPU, drivers and engine version",
            "decode tokens/s exclude prompt processing; time to first token = prompt tokens / prefill_tokens_per_s",
        ],
        "sources": list(dict.fromkeys(([gsrc.url] if gsrc else []) + sources)),
    }
