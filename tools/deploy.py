"""Deployment plans: which format, engine and GPU count to serve a model with, and why."""

from __future__ import annotations

import math

from catalog.schema import Model, Quantization
from tools import common
from tools.cost import HOURS_PER_MONTH, cheapest_cloud_fit
from tools.errors import InvalidInput
from tools.memory import GB, estimate, usable_bytes
from tools.throughput import throughput

CANDIDATES = (
    ("vllm", "bf16"), ("vllm", "fp8"), ("vllm", "awq"),
    ("llama.cpp", "q8_0"), ("llama.cpp", "q5_k_m"), ("llama.cpp", "q4_k_m"),
    ("transformers", "bf16"), ("transformers", "int8"), ("transformers", "int4"),
)
EASE = {
    "vllm": "an OpenAI-compatible server with continuous batching and tensor parallelism; Linux + NVIDIA/AMD",
    "llama.cpp": "a single binary (llama-server) for GGUF files; runs on NVIDIA, AMD, Apple and CPUs; best for one or few users",
    "transformers": "plain Python, no server to run; the slowest per token, simplest to embed and to fine-tune",
}
PEAK_TO_AVERAGE = 3.0  # traffic at peak relative to the monthly average


def _command(m: Model, engine: str, q: Quantization, n: int, ctx: int) -> str:
    repo = m.repos.get("instruct") or m.repos.get("base") or m.id
    if engine == "vllm":
        flags = f" --max-model-len {ctx}"
        if n > 1:
            flags += f" --tensor-parallel-size {n}"
        if q.id == "fp8":
            flags += " --quantization fp8"
        if q.id == "awq":
            return f"vllm serve <an AWQ checkpoint of {repo}>{flags}"
        return f"vllm serve {repo}{flags}"
    if engine == "llama.cpp":
        return f"llama-server -m <{repo} GGUF, {q.id.upper()}> -c {ctx} -ngl 999" + (" --split-mode layer" if n > 1 else "")
    load = {"int4": "BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4')",
            "int8": "BitsAndBytesConfig(load_in_8bit=True)"}.get(q.id)
    return (f"AutoModelForCausalLM.from_pretrained('{repo}', device_map='auto'"
            + (f", quantization_config={load}" if load else ", dtype='bfloat16'") + ")")


def plan_deployment(
    model: str,
    gpu: str | None = None,
    num_gpus: int | None = None,
    monthly_tokens: int | None = None,
    concurrency: int = 1,
    context_length: int | None = None,
    input_share: float = 0.75,
) -> dict:
    """Plan how to serve a model: the quantization format, serving engine (vLLM, llama.cpp, transformers + bitsandbytes) and GPU count, with memory, speed and cost, the reasons and the trade-offs.

    Args:
        model: Model id, name or alias from the catalog.
        gpu: GPU to serve on; default: the cheapest rented GPU that holds each option.
        num_gpus: GPUs available; default: the fewest that hold the model (up to 8).
        monthly_tokens: Expected tokens a month, to size throughput and cost.
        concurrency: Requests served at the same time at peak.
        context_length: Tokens per request (prompt + output); default: the smaller of 8192 and the model's context.
        input_share: Share of tokens that are input.
    """
    m = common.model(model)
    cat = common.catalog()
    if num_gpus is not None and not 1 <= num_gpus <= 64:
        raise InvalidInput("num_gpus must be between 1 and 64", field="num_gpus")
    if not 1 <= concurrency <= 4096:
        raise InvalidInput("concurrency must be between 1 and 4096", field="concurrency")
    if monthly_tokens is not None and not 0 < monthly_tokens <= 10**13:
        raise InvalidInput("monthly_tokens must be between 1 and 10^13", field="monthly_tokens")
    if not 0 <= input_share <= 1:
        raise InvalidInput("input_share must be between 0 and 1", field="input_share")
    ctx = context_length or min(8192, m.context_length)
    if not 1 <= ctx <= m.context_length:
        raise InvalidInput(f"context_length must be between 1 and {m.context_length} for {m.name}", field="context_length")
    g_fixed = common.gpu(gpu) if gpu else None

    need_tps = None
    if monthly_tokens:
        need_tps = monthly_tokens * (1 - input_share) / (HOURS_PER_MONTH * 3600) * PEAK_TO_AVERAGE
    options = []
    rejected = []
    for engine, qid in CANDIDATES:
        q = cat.quantizations.get(qid)
        if q is None:
            continue
        if g_fixed is not None:
            g = g_fixed
            if g.segment == "apple" and engine != "llama.cpp":
                rejected.append(f"{engine} {qid}: needs CUDA/ROCm; on Apple silicon use llama.cpp (or MLX)")
                continue
            if q.needs_fp8_hardware and not g.fp8:
                rejected.append(f"{engine} {qid}: {g.name} has no FP8 tensor cores")
                continue
            if num_gpus:
                n = num_gpus if estimate(m, q, engine, ctx, 1, 2.0, num_gpus).per_gpu <= usable_bytes(g) else None
            else:
                fitting = [k for k in (1, 2, 4, 8) if estimate(m, q, engine, ctx, 1, 2.0, k).per_gpu <= usable_bytes(g)]
                # the fewest GPUs that also hold the KV cache of every concurrent request, else the fewest that fit
                n = next((k for k in fitting if throughput(m, q, g, engine, concurrency, ctx, k)["max_concurrent_sequences"]
                          >= concurrency), fitting[0] if fitting else None)
            if n is None:
                rejected.append(f"{engine} {qid}: does not fit {num_gpus or 8} x {g.name} at {ctx} tokens")
                continue
        else:
            found = cheapest_cloud_fit(m, q, engine, ctx)
            if found is None:
                rejected.append(f"{engine} {qid}: no rented configuration of up to 8 GPUs holds it")
                continue
            g, n = found
        t = throughput(m, q, g, engine, concurrency, ctx, n)
        mem = estimate(m, q, engine, ctx, max(1, t["effective_concurrency"]), 2.0, n)
        hourly = min((p.usd for p in g.cloud_hourly), default=None)
        replicas = 1
        if need_tps and t["aggregate_tokens_per_s"]:
            replicas = max(1, math.ceil(need_tps / t["aggregate_tokens_per_s"]))
        monthly_usd = hourly * n * replicas * HOURS_PER_MONTH if hourly is not None else None
        meets = (need_tps is None or replicas == 1) and t["max_concurrent_sequences"] >= concurrency
        options.append({
            "engine": engine, "quantization": q.id, "quantization_name": q.name,
            "gpu": g.id, "gpu_name": g.name, "num_gpus": n, "replicas": replicas,
            "memory_per_gpu_gb": common.rnd(mem.per_gpu / GB),
            "gpu_memory_gb": g.memory_gb,
            "decode_tokens_per_s": t["decode_tokens_per_s"],
            "aggregate_tokens_per_s": t["aggregate_tokens_per_s"],
            "max_concurrent_sequences": t["max_concurrent_sequences"],
            "monthly_usd_rented": common.rnd(monthly_usd) if monthly_usd is not None else None,
            "quality": q.quality,
            "ease": EASE[engine],
            "command": _command(m, engine, q, n, ctx),
            "_key": (not meets, q.rank // 2, n * replicas, -(t["aggregate_tokens_per_s"] or 0)),
            "_meets": meets,
        })
    if not options:
        raise InvalidInput(
            f"no format and engine holds {m.name} on {num_gpus or 'up to 8'} x {g_fixed.name if g_fixed else 'GPU'} at "
            f"{ctx} tokens; try a shorter context_length or more GPUs",
            field="gpu" if g_fixed else "context_length",
        )
    # Many users: continuous batching matters more than format; one user: the fastest single stream.
    if concurrency > 4 or (need_tps and need_tps > 50):
        for o in options:
            o["_key"] = (o["_key"][0], 0 if o["engine"] == "vllm" else 1, *o["_key"][1:])
    options.sort(key=lambda o: o["_key"])
    best = options[0]
    reasons = [
        f"{best['quantization_name']} keeps quality close to the original: {best['quality']}",
        f"{best['num_gpus']} x {best['gpu_name']}: about {best['memory_per_gpu_gb']} GB per GPU of {best['gpu_memory_gb']} GB",
        f"{best['decode_tokens_per_s']} tokens/s for one stream; {best['aggregate_tokens_per_s']} tokens/s across "
        f"{min(concurrency, best['max_concurrent_sequences'])} concurrent requests (estimate_throughput)",
        f"{best['engine']}: {best['ease']}",
    ]
    if need_tps:
        reasons.append(f"{monthly_tokens:,} tokens a month need about {common.rnd(need_tps, 1)} output tokens/s at peak "
                       f"({PEAK_TO_AVERAGE:g}x the average); this plan uses {best['replicas']} replica(s)")
    trade_offs = []
    for o in options[1:5]:
        diff = []
        if o["aggregate_tokens_per_s"] and best["aggregate_tokens_per_s"]:
            ratio = o["aggregate_tokens_per_s"] / best["aggregate_tokens_per_s"]
            diff.append(f"{common.rnd(ratio, 2)}x the throughput")
        if o["num_gpus"] != best["num_gpus"]:
            diff.append(f"{o['num_gpus']} GPUs instead of {best['num_gpus']}")
        trade_offs.append(f"{o['engine']} + {o['quantization']}: " + ", ".join(diff + [o["quality"]]))
    clean = lambda o: {k: v for k, v in o.items() if not k.startswith("_")}  # noqa: E731
    return {
        "model": {"id": m.id, "name": m.name, "params_b": m.params_b},
        "context_length": ctx,
        "concurrency": concurrency,
        "recommended": clean(best),
        "alternatives": [clean(o) for o in options[1:6]],
        "not_possible": rejected,
        "reasons": reasons,
        "trade_offs": trade_offs,
        "assumptions": [
            "memory and throughput from estimate_memory and estimate_throughput; cost is the always-on rental price "
            "of the GPUs (estimate_cost compares APIs, owned hardware and break-even)",
            "quantized checkpoints (AWQ, GGUF) are usually published by the community; check one exists for this model",
        ],
        "sources": list(dict.fromkeys([cat.quantizations[o["quantization"]].source.url for o in options[:3]])),
    }
