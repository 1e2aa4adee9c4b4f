"""Deployment plans: which format, engine and how many GPUs (and nodes) to serve a model with, and why."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from catalog.query import rental_summary
from catalog.schema import Gpu, Model, Quantization
from tools import common
from tools.cost import GPU_COUNTS, HOURS_PER_MONTH, cheapest_cloud_fit, fewest_gpus
from tools.errors import InvalidInput
from tools.memory import (
    ENGINE_ALIASES,
    GB,
    TENSOR_PARALLEL_ENGINES,
    Engine,
    check_engine,
    estimate,
    parallel_for,
    resolve_quantization,
)
from tools.throughput import DEFAULT_SYSTEM_RAM_GBPS, cpu_offload, device_class, throughput

CANDIDATES = (
    ("vllm", "bf16"),
    ("vllm", "fp8"),
    ("vllm", "nvfp4"),
    ("vllm", "mxfp4"),
    ("vllm", "awq"),
    ("llama.cpp", "q8_0"),
    ("llama.cpp", "q5_k_m"),
    ("llama.cpp", "q4_k_m"),
    ("mlx", "mlx_8bit"),
    ("mlx", "mlx_4bit"),
    ("transformers", "bf16"),
    ("transformers", "int8"),
    ("transformers", "int4"),
)
EASE = {
    "vllm": "an OpenAI-compatible server with continuous batching and tensor parallelism; Linux + NVIDIA/AMD",
    "sglang": "an OpenAI-compatible server with continuous batching, tensor and expert parallelism; Linux + NVIDIA/AMD",
    "tensorrt-llm": "NVIDIA's compiled engines (via trtllm-serve): the fastest on NVIDIA, the most setup",
    "llama.cpp": "a single binary (llama-server) for GGUF files; runs on NVIDIA, AMD, Apple and CPUs; best for one or "
    "few users",
    "mlx": "Apple's MLX (mlx_lm.server): the fastest on Apple silicon",
    "exllama": "ExLlamaV2/V3 (e.g. via TabbyAPI): fast single-user decoding on NVIDIA consumer GPUs",
    "transformers": "plain Python, no server to run; the slowest per token, simplest to embed and to fine-tune",
}
# Among options equal on fit, format and GPU count: the engines most people run first, uncalibrated ones last.
ENGINE_PREFERENCE = {
    "vllm": 0,
    "sglang": 1,
    "llama.cpp": 1,
    "mlx": 1,
    "tensorrt-llm": 2,
    "exllama": 2,
    "transformers": 3,
}
PEAK_TO_AVERAGE = 3.0  # traffic at peak relative to the monthly average


def _command(
    m: Model,
    engine: str,
    q: Quantization,
    n: int,
    ctx: int,
    tensor: int = 1,
    pipeline: int = 1,
    gpu_layers: int | None = None,
) -> str:
    repo = m.repos.get("instruct") or m.repos.get("base") or m.id
    if engine in ("vllm", "sglang"):
        if engine == "vllm":
            flags = f" --max-model-len {ctx}"
            flags += f" --tensor-parallel-size {tensor}" if tensor > 1 else ""
            flags += f" --pipeline-parallel-size {pipeline}" if pipeline > 1 else ""
            if q.id == "fp8" and "fp8" not in m.formats:
                flags += " --quantization fp8"
            base = "vllm serve"
        else:
            flags = (
                f" --context-length {ctx}"
                + (f" --tp {tensor}" if tensor > 1 else "")
                + (f" --nnodes {pipeline}" if pipeline > 1 else "")
            )
            base = "python -m sglang.launch_server --model-path"
        if q.id in ("awq", "gptq", "nvfp4") and q.id not in m.formats:
            return f"{base} <an {q.id.upper()} checkpoint of {repo}>{flags}"
        return f"{base} {repo}{flags}"
    if engine == "tensorrt-llm":
        return f"trtllm-serve {repo} --tp_size {tensor}" + (f" --pp_size {pipeline}" if pipeline > 1 else "")
    if engine == "llama.cpp":
        ngl = gpu_layers if gpu_layers is not None else 999
        return f"llama-server -m <{repo} GGUF, {q.id.upper()}> -c {ctx} -ngl {ngl}" + (
            " --split-mode layer" if n > 1 else ""
        )
    if engine == "mlx":
        bits = "8" if q.id == "mlx_8bit" else "4"
        return f"mlx_lm.server --model <an MLX {bits}-bit conversion of {repo}>"
    if engine == "exllama":
        return f"TabbyAPI with an {q.id.split('_')[0].upper()} quant of {repo} (max_seq_len {ctx})"
    load = {
        "int4": "BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4')",
        "int8": "BitsAndBytesConfig(load_in_8bit=True)",
    }.get(q.id)
    return (
        f"AutoModelForCausalLM.from_pretrained('{repo}', device_map='auto'"
        + (f", quantization_config={load}" if load else ", dtype='bfloat16'")
        + ")"
    )


@dataclass
class Ask:
    """What the plan must satisfy."""

    model: Model
    context: int
    concurrency: int
    need_tps: float | None
    monthly_tokens: int | None


def _candidates(quantization: str | None, engine: str, m: Model) -> list[tuple[str, Quantization]]:
    cat = common.catalog()
    if quantization is not None:
        q = resolve_quantization(quantization, model=m)
        if engine != "auto":
            return [(check_engine(engine, q), q)]
        engines = [
            e
            for e in ("vllm", "sglang", "tensorrt-llm", "llama.cpp", "mlx", "exllama", "transformers")
            if e in q.engines
        ]
        return [(e, q) for e in engines]
    out = []
    for eng, qid in CANDIDATES:
        candidate = cat.quantizations.get(qid)
        if candidate is None or (candidate.scope == "experts" and not m.is_moe):
            continue
        wanted = ENGINE_ALIASES.get(str(engine).strip().lower(), str(engine).strip().lower())
        if engine != "auto" and (wanted not in candidate.engines or wanted != eng):
            continue
        out.append((eng, candidate))
    if engine != "auto" and not out:
        eng = check_engine(engine, cat.quantizations["bf16"])
        out = [(eng, q) for q in cat.quantizations.values() if eng in q.engines]
    return out


def _ruled_out(g: Gpu, engine: str, q: Quantization) -> str | None:
    dev = device_class(g)
    if dev in ("apple", "cpu") and engine not in ("llama.cpp", "mlx"):
        return f"{engine} {q.name}: needs CUDA/ROCm; on {g.name} use llama.cpp" + (" or MLX" if dev == "apple" else "")
    if engine == "mlx" and dev != "apple":
        return f"{q.name}: MLX runs on Apple silicon only"
    if q.needs_fp8_hardware and g.fp8 is False:
        return f"{engine} {q.name}: {g.name} has no FP8 tensor cores"
    if q.needs_fp4_hardware and not g.fp4:
        return f"{engine} {q.name}: {g.name} has no FP4 tensor cores (Blackwell)"
    return None


def _option(ask: Ask, engine: str, q: Quantization, g: Gpu, n: int) -> dict:
    m = ask.model
    layout = parallel_for(engine, n, g.gpus_per_node or 8)
    t = throughput(m, q, g, engine, ask.concurrency, ask.context, n, layout)
    mem = estimate(m, q, engine, ask.context, max(1, t["effective_concurrency"]), 2.0, n, layout)
    rent = rental_summary(g)
    replicas = 1
    if ask.need_tps and t["aggregate_tokens_per_s"]:
        replicas = max(1, math.ceil(ask.need_tps / t["aggregate_tokens_per_s"]))
    monthly_usd = rent.usd * n * replicas * HOURS_PER_MONTH if rent is not None else None
    meets = (ask.need_tps is None or replicas == 1) and t["max_concurrent_sequences"] >= ask.concurrency
    per_node = g.gpus_per_node or 8
    return {
        "engine": engine,
        "quantization": q.id,
        "quantization_name": q.name,
        "gpu": g.id,
        "gpu_name": g.name,
        "num_gpus": n,
        "nodes": math.ceil(n / per_node) if n > 1 else 1,
        "parallelism": layout.describe(engine, per_node),
        "replicas": replicas,
        "memory_per_gpu_gb": common.rnd(mem.per_gpu / GB),
        "gpu_memory_gb": common.rnd(g.memory_gb),
        "decode_tokens_per_s": t["decode_tokens_per_s"],
        "aggregate_tokens_per_s": t["aggregate_tokens_per_s"],
        "max_concurrent_sequences": t["max_concurrent_sequences"],
        "monthly_usd_rented": common.rnd(monthly_usd) if monthly_usd is not None else None,
        "rental_price": rent.note if rent else None,
        "quality": q.quality,
        "ease": EASE[engine],
        "command": _command(m, engine, q, n, ask.context, layout.tensor, layout.pipeline),
        "_key": (
            not meets,
            q.rank // 2,
            n * replicas,
            ENGINE_PREFERENCE.get(engine, 3),
            -(t["aggregate_tokens_per_s"] or 0),
        ),
        "_meets": meets,
    }


def _offload(ask: Ask, q: Quantization, g: Gpu, n: int, ram_gbps: float) -> dict | None:
    """llama.cpp with only some layers on the GPU(s) and the rest in system RAM: what fits and how fast."""
    plan = cpu_offload(ask.model, q, g, n, ask.context, ram_gbps)
    if plan is not None:
        plan["command"] = _command(ask.model, "llama.cpp", q, n, ask.context, gpu_layers=plan["gpu_layers"])
    return plan


def plan_deployment(
    model: str,
    gpu: str | None = None,
    num_gpus: Annotated[int | None, Field(ge=1, le=1024)] = None,
    monthly_tokens: Annotated[int | None, Field(ge=1, le=10**13)] = None,
    concurrency: Annotated[int, Field(ge=1, le=4096)] = 1,
    context_length: Annotated[int | None, Field(ge=1)] = None,
    input_share: Annotated[float, Field(ge=0, le=1)] = 0.75,
    quantization: str | None = None,
    engine: Engine = "auto",
    vram_gb: Annotated[float | None, Field(gt=0, le=1_000_000)] = None,
    unified_memory: bool = False,
    system_ram_bandwidth_gbps: Annotated[float, Field(gt=0, le=10_000)] = DEFAULT_SYSTEM_RAM_GBPS,
) -> dict:
    """Plan how to serve a model: the format, engine (vLLM, SGLang, TensorRT-LLM, llama.cpp, MLX, transformers) and
    the smallest number of GPUs and nodes that holds it, with the parallelism, memory, speed and cost, what a
    cheaper format would change, and partial CPU offload when it does not fit.

    Args:
        model: Model id, name or alias from the catalog.
        gpu: GPU to serve on; default: the cheapest rented GPU that holds each option.
        num_gpus: GPUs available; default: the fewest that hold the model (up to 8 nodes of 8).
        monthly_tokens: Expected tokens a month, to size throughput and cost.
        concurrency: Requests served at the same time at peak.
        context_length: Tokens per request (prompt + output); default: the smaller of 8192 and the model's context.
        input_share: Share of tokens that are input.
        quantization: The format asked for (e.g. fp8, awq, q4_k_m, nvfp4, native); default: compare several.
        engine: The engine asked for (vllm, sglang, tensorrt-llm, llama.cpp or ollama, mlx, exllama,
            transformers); default: compare several.
        vram_gb: Memory per GPU as the vendor states it, when no GPU is named.
        unified_memory: With vram_gb: memory shared with the CPU (a Mac or similar).
        system_ram_bandwidth_gbps: System memory bandwidth for layers offloaded to the CPU (llama.cpp), GB/s.
    """
    m = common.model(model)
    ctx = min(8192, m.context_length) if context_length is None else context_length  # 0 is refused, not the default
    if ctx > m.context_length:
        raise InvalidInput(
            f"context_length must be between 1 and {m.context_length} for {m.name}", field="context_length"
        )
    g_fixed = common.device(gpu, vram_gb, unified_memory)
    need_tps = (
        monthly_tokens * (1 - input_share) / (HOURS_PER_MONTH * 3600) * PEAK_TO_AVERAGE if monthly_tokens else None
    )
    ask = Ask(m, ctx, concurrency, need_tps, monthly_tokens)
    if g_fixed is not None and not g_fixed.memory_bandwidth_gbps:
        # a device given by its memory size only: the fit is checked; a placeholder bandwidth keeps the arithmetic
        # going and every speed figure is removed from the answer below
        g_fixed = g_fixed.model_copy(update={"memory_bandwidth_gbps": 1000.0})

    options, rejected = [], []
    for engine_id, q in _candidates(quantization, engine, m):
        if g_fixed is not None:
            g = g_fixed
            reason = _ruled_out(g, engine_id, q)
            if reason:
                rejected.append(reason)
                continue
            counts = (num_gpus,) if num_gpus else GPU_COUNTS
            n = fewest_gpus(m, q, engine_id, ctx, g, counts)
            if n is not None and not num_gpus:
                # the fewest GPUs that also hold the KV cache of every concurrent request, else the fewest that fit
                n = next(
                    (
                        k
                        for k in counts
                        if k >= n
                        and throughput(m, q, g, engine_id, concurrency, ctx, k)["max_concurrent_sequences"]
                        >= concurrency
                    ),
                    n,
                )
            if n is None:
                rejected.append(
                    f"{engine_id} {q.name}: does not fit {num_gpus or GPU_COUNTS[-1]} x {g.name} at {ctx:,} tokens"
                )
                continue
        else:
            found = cheapest_cloud_fit(m, q, engine_id, ctx)
            if found is None:
                rejected.append(
                    f"{engine_id} {q.name}: no rented configuration of up to {GPU_COUNTS[-1]} GPUs holds it"
                )
                continue
            g, n = found
        options.append(_option(ask, engine_id, q, g, n))

    offload = None
    if g_fixed is not None and (not options or quantization is None):
        q_off = resolve_quantization(quantization or "q4_k_m", model=m)
        if "llama.cpp" in q_off.engines and not any(o["engine"] == "llama.cpp" for o in options):
            offload = _offload(ask, q_off, g_fixed, num_gpus or 1, system_ram_bandwidth_gbps)
    if not options:
        if offload is not None and g_fixed is not None:  # an offload is computed for a given device only
            return _offload_only(ask, offload, rejected, g_fixed)
        raise InvalidInput(
            f"no format and engine holds {m.name} on {num_gpus or 'up to ' + str(GPU_COUNTS[-1])} x "
            f"{g_fixed.name if g_fixed else 'GPU'} at {ctx} tokens; try a smaller format, a shorter context_length or "
            f"more GPUs",
            field="gpu" if g_fixed else "context_length",
        )
    # Many users: continuous batching matters more than format; one user: the fastest single stream.
    if concurrency > 4 or (need_tps and need_tps > 50):
        for o in options:
            o["_key"] = (o["_key"][0], 0 if o["engine"] in TENSOR_PARALLEL_ENGINES else 1, *o["_key"][1:])
    options.sort(key=lambda o: o["_key"])
    best = options[0]
    reasons = [
        f"{best['quantization_name']}: {best['quality']}",
        f"{best['num_gpus']} x {best['gpu_name']} ({best['parallelism']}): about {best['memory_per_gpu_gb']} GB per "
        f"GPU of "
        f"{best['gpu_memory_gb']} GB",
        f"{best['engine']}: {best['ease']}",
    ]
    speed_known = not (vram_gb is not None and gpu is None)
    if not speed_known:
        for o in options:
            o["decode_tokens_per_s"] = o["aggregate_tokens_per_s"] = None
    else:
        reasons.insert(
            2,
            f"{best['decode_tokens_per_s']} tokens/s for one stream; {best['aggregate_tokens_per_s']} tokens/s "
            f"across {min(concurrency, best['max_concurrent_sequences'])} concurrent requests (the speed estimate)",
        )
    if best["nodes"] > 1:
        reasons.append(
            f"one node holds {g_fixed.gpus_per_node if g_fixed and g_fixed.gpus_per_node else 8} GPUs: this plan "
            f"spans {best['nodes']} nodes, which needs a fast interconnect between them (InfiniBand / RoCE)"
        )
    if need_tps:
        reasons.append(
            f"{monthly_tokens:,} tokens a month need about {common.rnd(need_tps, 1)} output tokens/s at peak "
            f"({PEAK_TO_AVERAGE:g}x the average); this plan uses {best['replicas']} replica(s)"
        )
    cheaper = _cheaper_format(ask, best, g_fixed, num_gpus)
    cat = common.catalog()
    trade_offs = []
    for o in options[1:5]:
        diff = []
        if speed_known and o["aggregate_tokens_per_s"] and best["aggregate_tokens_per_s"]:
            diff.append(
                f"{common.rnd(o['aggregate_tokens_per_s'] / best['aggregate_tokens_per_s'], 2)}x the throughput"
            )
        if o["num_gpus"] != best["num_gpus"]:
            diff.append(f"{o['num_gpus']} GPUs instead of {best['num_gpus']}")
        format_name = cat.quantizations[o["quantization"]].name if o["quantization"] in cat.quantizations else ""
        trade_offs.append(f"{o['engine']} + {format_name or o['quantization']}: " + ", ".join(diff + [o["quality"]]))
    clean = lambda o: {k: v for k, v in o.items() if not k.startswith("_")}  # noqa: E731
    result: dict[str, Any] = {
        "model": {"id": m.id, "name": m.name, "params_b": m.params_b},
        "context_length": ctx,
        "concurrency": concurrency,
        "recommended": clean(best),
        "alternatives": [clean(o) for o in options[1:6]],
        "cheaper_format": cheaper,
        "not_possible": rejected,
        "reasons": reasons,
        "trade_offs": trade_offs,
        "assumptions": [
            "memory and throughput from the memory and speed estimates; cost is the always-on rental price "
            "(the median on-demand offer) of the GPUs (the cost estimate compares APIs, owned hardware and break-even)",
            "vLLM/SGLang/TensorRT-LLM use tensor parallelism inside a node of 8 and pipeline parallelism across nodes; "
            "llama.cpp and transformers split by layers",
            "quantized checkpoints (AWQ, GGUF, MLX) are usually published by the community; check one exists for this "
            "model",
        ],
        "sources": list(dict.fromkeys([cat.quantizations[o["quantization"]].source.url for o in options[:3]])),
    }
    if offload is not None:
        result["cpu_offload"] = offload
    if not speed_known and g_fixed is not None:  # a device described by vram_gb alone
        result["assumptions"].append(
            f"speed not reported for {g_fixed.name}: its memory bandwidth is unknown; name the GPU for tokens/s"
        )
    return result


def _cheaper_format(ask: Ask, best: dict, g_fixed: Gpu | None, num_gpus: int | None) -> dict | None:
    """The next smaller format for the same engine family: how many GPUs and how fast, and what it costs in quality."""
    cat = common.catalog()
    q_best = cat.quantizations[best["quantization"]]
    for q in sorted(cat.quantizations.values(), key=lambda x: (x.rank, -x.bits_per_weight)):
        if q.bits_per_weight >= q_best.bits_per_weight or q.scope == "experts" or best["engine"] not in q.engines:
            continue
        g = g_fixed or cat.gpus[best["gpu"]]
        if _ruled_out(g, best["engine"], q):
            continue
        n = fewest_gpus(ask.model, q, best["engine"], ask.context, g, (num_gpus,) if num_gpus else GPU_COUNTS)
        if n is None:
            continue
        o = _option(ask, best["engine"], q, g, n)
        return {
            "quantization": q.id,
            "num_gpus": n,
            "nodes": o["nodes"],
            "memory_per_gpu_gb": o["memory_per_gpu_gb"],
            "decode_tokens_per_s": o["decode_tokens_per_s"],
            "monthly_usd_rented": o["monthly_usd_rented"],
            "quality": q.quality,
            "change": f"{q.name} instead of {q_best.name}: {n} GPUs instead of {best['num_gpus']}",
        }
    return None


def _offload_only(ask: Ask, offload: dict, rejected: list[str], g: Gpu) -> dict:
    return {
        "model": {"id": ask.model.id, "name": ask.model.name, "params_b": ask.model.params_b},
        "context_length": ask.context,
        "concurrency": ask.concurrency,
        "recommended": None,
        "alternatives": [],
        "cheaper_format": None,
        "cpu_offload": offload,
        "not_possible": rejected,
        "reasons": [
            f"{ask.model.name} does not fit entirely on {offload['num_gpus']} x {g.name}; llama.cpp can keep "
            f"{offload['gpu_layers']} of {offload['total_layers']} layers on the GPU and the rest in system RAM "
            f"(about {offload['system_ram_gb']} GB), at about {offload['decode_tokens_per_s']} tokens/s"
        ],
        "trade_offs": [],
        "assumptions": [offload["assumption"]],
        "sources": [],
    }


def quick_start(model: str, quantization: str | None = None, context_length: int = 8192, num_gpus: int = 1) -> dict:
    """How to run a model with vLLM, llama.cpp (and Ollama) and transformers: one command or snippet each, with the
    model's own Hugging Face repo id and the format each engine loads (a GGUF file is converted and quantized from
    the repo, as llama.cpp documents; no community repo is guessed)."""
    cat = common.catalog()
    m = common.model(model)
    repo = m.repos.get("instruct") or m.repos.get("base") or m.id
    chosen = cat.quantizations.get(quantization or "")
    ctx = min(context_length, m.context_length)
    served = chosen if chosen and "vllm" in chosen.engines else cat.quantizations["bf16"]
    shipped = m.formats[0] if m.formats and m.formats[0] not in ("bf16", "fp16", "fp32") else None
    served_name = served.name if served.id != "bf16" or not shipped else f"{shipped.upper()}, the vendor's checkpoint"
    gguf = chosen if chosen and chosen.family == "gguf" else cat.quantizations["q4_k_m"]
    stem = repo.split("/")[-1]
    gguf_file = f"{stem}-{gguf.id.upper()}.gguf"
    image = any(x != "text" for x in m.modalities)
    auto = "AutoModelForImageTextToText" if image else "AutoModelForCausalLM"
    bits = {"int4": "load_in_4bit=True, bnb_4bit_quant_type='nf4'", "int8": "load_in_8bit=True"}.get(
        chosen.id if chosen else ""
    )
    load = f"quantization_config=BitsAndBytesConfig({bits})" if bits else 'dtype="bfloat16"'
    return {
        "model": {"id": m.id, "name": m.name, "repo": repo},
        "vllm": {
            "format": served_name,
            "command": _command(m, "vllm", served, num_gpus, ctx, tensor=num_gpus),
        },
        "llama.cpp": {
            "format": gguf.name,
            "command": "\n".join(
                [
                    f"hf download {repo} --local-dir {stem}",
                    f"python convert_hf_to_gguf.py {stem} --outfile {stem}-BF16.gguf",
                    f"llama-quantize {stem}-BF16.gguf {gguf_file} {gguf.id.upper()}",
                    f"llama-server -m {gguf_file} -c {ctx} -ngl 999",
                ]
            ),
        },
        "ollama": {
            "format": gguf.name,
            "command": f"printf 'FROM ./{gguf_file}\\n' > Modelfile && ollama create {m.id} -f Modelfile && "
            f"ollama run {m.id}",
        },
        "transformers": {
            "format": chosen.name if bits and chosen else cat.quantizations["bf16"].name,
            "command": "\n".join(
                [
                    f"from transformers import {auto}, AutoTokenizer" + (", BitsAndBytesConfig" if bits else ""),
                    f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
                    f"model = {auto}.from_pretrained(",
                    f'    "{repo}",',
                    '    device_map="auto",',
                    f"    {load},",
                    ")",
                ]
            ),
        },
        "sources": [
            "https://docs.vllm.ai/en/latest/getting_started/quickstart.html",
            "https://github.com/ggml-org/llama.cpp/tree/master/tools/quantize",
            "https://docs.ollama.com/import",
            "https://huggingface.co/docs/transformers/main/en/models",
        ],
    }
