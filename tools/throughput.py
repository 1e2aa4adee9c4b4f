"""Tokens per second, from bytes read per token and a speed model calibrated on published measurements.

Decode: time per step = bytes read (active weights, KV cache at the context, fixed state) / (bandwidth x
efficiency of the engine on this format and device class) + the engine's fixed cost per step + a cost
per extra sequence in a batch + tensor-parallel communication; at large batches compute can bound it
instead. Layer-split multi-GPU (llama.cpp's default) adds capacity, not bandwidth; tensor parallelism
adds bandwidth. Prefill is compute-bound: FLOPs per token / (dense FP16 throughput x efficiency).
The parameters are fitted on ``catalog/data/measurements.yaml`` (``tools/speed_model.py``); every
estimate names the class it was calibrated on and that class's leave-one-out error.
"""

from __future__ import annotations

import math
import statistics
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field

from catalog.schema import Gpu, Measurement, Model, Quantization
from tools import common, speed_model
from tools.errors import InvalidInput
from tools.memory import (
    GB,
    Engine,
    Parallel,
    check_engine,
    estimate,
    kv_cache_bytes,
    moe_layers,
    parallel_for,
    resolve_quantization,
    state_bytes,
    usable_bytes,
    weight_bytes,
    weight_split,
)

COMPUTE_EFFICIENCY = {
    "transformers": 0.40,
    "vllm": 0.55,
    "sglang": 0.55,
    "tensorrt-llm": 0.6,
    "llama.cpp": 0.35,
    "mlx": 0.4,
    "exllama": 0.45,
}
BNB_PREFILL_PENALTY = 0.6  # bitsandbytes dequantizes weights inside every matmul
LAYER_SPLIT_HOP_S = 0.2e-3  # handing activations from one GPU to the next per step (layer split)
ALLREDUCES_PER_LAYER = 2  # after attention and after the MLP
DEFAULT_SYSTEM_RAM_GBPS = 60.0  # dual-channel DDR5 desktop (about 77 GB/s peak, ~60 sustained), for CPU offload


def device_class(g: Gpu) -> str:
    return class_of(g)


def class_of(g: Gpu) -> str:
    """consumer, datacenter, apple, cpu or edge: the device class the speed model's constants are fitted per."""
    if g.segment == "apple" or (g.unified_memory and g.vendor == "Apple"):
        return "apple"
    if g.segment in ("cpu", "datacenter", "edge"):
        return g.segment
    return "consumer"  # consumer and workstation cards


def weight_only(q: Quantization, g: Gpu) -> bool:
    """The format needs FP8 or FP4 tensor cores this device lacks: engines that run it anyway dequantise the weights
    inside a 16-bit matmul (weight-only)."""
    return (q.needs_fp8_hardware and g.fp8 is False) or (q.needs_fp4_hardware and not g.fp4)


def format_class(q: Quantization, g: Gpu | None = None) -> str:
    if g is not None and weight_only(q, g):
        return "weight-only " + format_class(q)
    if q.family == "bitsandbytes":
        return f"bitsandbytes-{q.id}"
    if q.family == "float":
        return "16-bit"
    if q.bits_per_weight >= 7.5:
        return "8-bit"
    return "low-bit"


def engine_for(engine: str, q: Quantization, g: Gpu) -> str:
    """The engine asked for, or the usual one for the format on this kind of device."""
    eng = check_engine(engine, q)
    if (
        str(engine).strip().lower() == "auto"
        and device_class(g) in ("apple", "cpu")
        and eng not in ("llama.cpp", "mlx")
    ):
        if device_class(g) == "apple" and "mlx" in q.engines:
            return "mlx"
        if "llama.cpp" in q.engines:
            return "llama.cpp"
    return eng


# ---------------------------------------------------------------- bytes per step


def routed_fraction(m: Model, batch: int) -> float:
    """Share of the routed experts' weights read in one step: more experts are touched as the batch grows."""
    moe = m.architecture.moe if m.architecture else None
    if moe is None:
        return (m.active_params_b or m.params_b) / m.params_b
    return 1 - (1 - moe.active_experts / moe.experts) ** batch


def weight_bytes_read(m: Model, q: Quantization, batch: int) -> float:
    """Weight bytes streamed per decode step: everything but the embedding table (one row is read), with only
    the touched share of the routed experts; a tied embedding is read once, as lm_head."""
    total = weight_bytes(m, q)
    split = weight_split(m)
    if not split.known:
        frac = (m.active_params_b or m.params_b) / m.params_b if m.is_moe else 1.0
        return total * (1 - (1 - frac) ** batch) if m.is_moe else total
    tied = bool(m.architecture and m.architecture.tied_embeddings)
    embedding = 0.0 if tied else split.embedding * (q.bits_per_weight if q.scope == "all" else 16) / 8
    # lookup tables are stored with the body (quantized like it) and a token reads a few of their rows
    lookup = (m.architecture.lookup_params_b or 0.0) * 1e9 * q.bits_per_weight / 8 if m.architecture else 0.0
    embedding += min(lookup, total - embedding)
    experts = split.experts * q.bits_per_weight / 8
    return total - embedding - experts * (1 - routed_fraction(m, batch))


def bytes_per_step(m: Model, q: Quantization, batch: int, context: int) -> float:
    kv = kv_cache_bytes(m, context, batch, 2.0) or 0.0
    extra = 0.0
    if q.family == "bitsandbytes" and q.bits_per_weight < 8 and batch > 1:
        # bitsandbytes' 4-bit kernel serves one sequence; with more it dequantizes every weight to 16 bits
        # first, writing and reading them again on each step.
        extra = 2 * weight_split(m).body * 2.0
    return weight_bytes_read(m, q, batch) + kv + state_bytes(m, batch) + extra


def expert_bytes_read(m: Model, q: Quantization, batch: int) -> float:
    """The routed experts' share of weight_bytes_read (0 for a dense model or one without a known layout)."""
    split = weight_split(m)
    if not split.known or not m.is_moe:
        return 0.0
    return split.experts * q.bits_per_weight / 8 * routed_fraction(m, batch)


def link_for(g: Gpu, layout: Parallel) -> str:
    """The link tensor-parallel all-reduces cross: a node boundary past gpus_per_node, else the device's."""
    if layout.tensor > (g.gpus_per_node or 8) or g.interconnect == "ethernet":
        return "node"
    return g.interconnect if g.interconnect in ("nvlink", "xgmi", "pcie") else "pcie"


def step_row(
    ident: str,
    m: Model,
    q: Quantization,
    g: Gpu,
    engine: str,
    batch: int,
    context: int,
    layout: Parallel,
    step_s: float = 0.0,
    eager: bool | None = None,
    source: str = "",
    version: str = "",
) -> speed_model.Row:
    """The speed model's view of one configuration (a measurement, or a question)."""
    bw = g.memory_bandwidth_gbps * GB * max(1, layout.tensor)
    layers = m.architecture.layers if m.architecture else 32
    experts = expert_bytes_read(m, q, batch)
    active = m.active_params_b or m.params_b
    peak = (g.fp16_tflops or 0) * 1e12 * layout.gpus
    return speed_model.Row(
        id=ident,
        engine=engine,
        device_class=device_class(g),
        format_class=format_class(q, g),
        step_s=step_s,
        mem_dense_s=(bytes_per_step(m, q, batch, context) - experts) / bw,
        mem_expert_s=experts / bw,
        layers=layers,
        moe_layers=moe_layers(m) if m.is_moe else 0,
        allreduce_steps=ALLREDUCES_PER_LAYER * layers * math.log2(layout.tensor) if layout.tensor > 1 else 0.0,
        interconnect=link_for(g, layout) if layout.tensor > 1 else "",
        fixed_s=(layout.pipeline - 1) * LAYER_SPLIT_HOP_S,
        eager=engine == "transformers" if eager is None else eager,
        batch=batch,
        flops_s=2 * active * 1e9 / peak if peak else 0.0,
        active_b=active,
        source=source,
        version=version,
    )


def measurement_layout(x: Measurement) -> Parallel:
    if x.num_gpus <= 1:
        return Parallel()
    if x.split_mode == "tensor" or (x.split_mode is None and x.engine in ("vllm", "sglang", "tensorrt-llm")):
        return Parallel(x.num_gpus, 1)
    return Parallel(1, x.num_gpus)


def measurement_row(cat, x: Measurement) -> speed_model.Row:
    m, q, g = cat.models[x.model], cat.quantizations[x.quantization], cat.gpus[x.gpu]
    engine = check_engine(x.engine, q) if x.engine != "auto" else x.engine
    version = (x.engine_version or "").lower()
    return step_row(
        x.id,
        m,
        q,
        g,
        engine,
        x.batch_size,
        x.context_tokens or 512,
        measurement_layout(x),
        step_s=x.batch_size / x.value,
        eager=engine == "transformers" or "eager" in version,
        source=x.source.url,
        version=f"{engine} {x.engine_version}" if x.engine_version else "",
    )


def decode_measurements(cat) -> list[Measurement]:
    """Every decode measurement the speed model can read (its model, device and format in the catalog)."""
    return [
        x
        for x in cat.measurements
        if x.metric == "decode_tokens_per_s"
        and x.gpu is not None
        and x.model in cat.models
        and x.gpu in cat.gpus
        and x.quantization in cat.quantizations
    ]


@dataclass
class _Calibrated:
    """The calibration rows of one catalog and what is derived from them (the fit, the cross-validation)."""

    read_from: tuple  # what the rows were built from (see _read_from)
    rows: tuple[speed_model.Row, ...]
    derived: dict[str, Any] = field(default_factory=dict)


_calibrated: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # catalog -> _Calibrated


def _read_from(cat) -> tuple:
    """What the calibration rows depend on: the measurements themselves (a row appended, removed or replaced, as
    local calibration rows would be, changes it) and the tables they are resolved in. A few microseconds, against
    ~6 ms to rebuild the rows (bench/turn_cpu.py)."""
    return (tuple(cat.measurements), id(cat.models), id(cat.gpus), id(cat.quantizations))


def _calibrated_for(cat) -> _Calibrated:
    """The calibration rows of this catalog, built once per catalog object (a reload is a new object) and again
    when what they are read from changes."""
    read_from = _read_from(cat)
    entry = _calibrated.get(cat)
    if entry is None or entry.read_from != read_from:
        rows = tuple(measurement_row(cat, x) for x in decode_measurements(cat) if x.use_for_calibration)
        entry = _calibrated[cat] = _Calibrated(read_from, rows)
    return entry


def measurement_rows(cat) -> list[speed_model.Row]:
    """The rows the speed model is fitted on: decode measurements marked use_for_calibration."""
    return list(_calibrated_for(cat).rows)


def _derived(name: str, make: Callable[[tuple[speed_model.Row, ...]], Any]) -> Any:
    """A figure derived from the catalog in use's calibration rows, computed once per set of rows."""
    entry = _calibrated_for(common.catalog())
    if name not in entry.derived:
        entry.derived[name] = make(entry.rows)
    return entry.derived[name]


def calibration() -> speed_model.SpeedParams:
    return _derived("fit", speed_model.fit)


def source_cv() -> dict[str, float]:
    """Every calibration row's error with its whole source left out of the fit (leave-one-source-out)."""
    return _derived("source_cv", lambda rows: speed_model.grouped_cv(rows, lambda r: r.source))


INTERVAL_MIN_ROWS = 8  # out-of-sample errors a class needs for an interval of its own


def interval_errors(engine: str, dev: str, batch: int = 1) -> tuple[list[float], str]:
    """The leave-one-source-out errors an estimate's interval is read from: its class's (engine x device class,
    single-stream or batched), else its engine's, else every row's."""
    errors = source_cv()
    rows = [r for r in measurement_rows(common.catalog()) if r.id in errors and (r.batch > 1) == (batch > 1)]
    for label, keep in (
        (f"{engine} on {dev} devices", lambda r: r.engine == engine and r.device_class == dev),
        (f"{engine} on every device class", lambda r: r.engine == engine),
        ("every engine", lambda r: True),
    ):
        picked = [errors[r.id] for r in rows if keep(r)]
        if len(picked) >= INTERVAL_MIN_ROWS:
            return picked, label
    return [errors[r.id] for r in rows] or list(errors.values()), "every engine"


def two_digits(x: float) -> str:
    """A figure to two significant digits, as a range is worth stating: 116.4 -> 120, 95.3 -> 95, 2.345 -> 2.3."""
    if x <= 0:
        return "0"
    return f"{round(x, 1 - math.floor(math.log10(x))):g}"


def estimate_interval(tokens_per_s: float, engine: str, dev: str, batch: int = 1) -> dict:
    errors, basis = interval_errors(engine, dev, batch)
    lo, hi = speed_model.interval(errors)
    return {
        "low": common.rnd(tokens_per_s * lo, 1),
        "high": common.rnd(tokens_per_s * hi, 1),
        "coverage": 0.8,
        "basis": f"an 80% band from {len(errors)} leave-one-source-out errors of {basis}",
    }


def calibration_note(engine: str, dev: str) -> dict:
    params = calibration()
    fit, level = params.lookup(engine, dev)
    rows = [r for r in measurement_rows(common.catalog()) if r.engine == engine and r.device_class == dev]
    single = [r for r in rows if r.batch == 1]
    errs = [source_cv()[r.id] for r in single if r.id in source_cv()]
    note: dict[str, Any] = {
        "engine": engine,
        "device_class": dev,
        "level": level,
        "rows_in_class": len(single),
        "measurements": [r.id for r in rows],
    }
    if errs:
        note["source_cv_median_abs_error"] = common.rnd(statistics.median(abs(e) for e in errs), 3)
        note["source_cv_worst_abs_error"] = common.rnd(max(abs(e) for e in errs), 3)
    cv = (
        f"; with each source left out of the fit in turn, the error was "
        f"{int(note['source_cv_median_abs_error'] * 100)}% at the median, "
        f"{int(note['source_cv_worst_abs_error'] * 100)}% at worst"
        if errs
        else ""
    )
    sources = len({r.source for r in single})
    if level == "class":
        note["text"] = (
            f"calibrated on {len(single)} published measurements of {engine} on {dev} devices from {sources} "
            f"sources{cv}"
        )
    elif level == "sparse":
        note["text"] = (
            f"{len(single)} published measurement(s) of {engine} on {dev} devices (fewer than {speed_model.MIN_ROWS}), "
            f"pulled toward {engine}'s constants across device classes ({params.engine_rows(engine)} rows){cv}"
        )
    elif level == "engine":
        note["text"] = (
            f"no published measurement of {engine} on {dev} devices; uses {engine}'s constants across device classes "
            f"({params.engine_rows(engine)} rows)"
        )
    else:
        note["text"] = (
            f"uncalibrated: no published measurements of {engine}; uses the physical defaults (bandwidth x "
            f"{common.rnd(1 / speed_model.PRIOR['a'], 2)}, {speed_model.PRIOR['step'] * 1000:g} ms a step)"
        )
    return note


# ---------------------------------------------------------------- the estimate


BOUND_GROUPS = {
    "memory bandwidth": ("weights and KV cache", "experts"),
    "per-token overhead": ("per step", "per layer", "expert routing", "dequantisation"),
    "communication between GPUs": ("all-reduce", "layer-split hops"),
    "compute": ("batch compute",),
}


def step_parts(
    m: Model, q: Quantization, g: Gpu, engine: str, batch: int, context: int, layout: Parallel
) -> dict[str, float]:
    """Seconds per decode step, term by term."""
    return calibration().parts(step_row("question", m, q, g, engine, batch, context, layout))


def _step_seconds(
    m: Model, q: Quantization, g: Gpu, engine: str, batch: int, context: int, layout: Parallel
) -> tuple[float, str]:
    parts = step_parts(m, q, g, engine, batch, context, layout)
    groups = {name: sum(parts[k] for k in keys) for name, keys in BOUND_GROUPS.items()}
    return sum(parts.values()), max(groups, key=lambda k: groups[k])


def physics_text(m: Model, q: Quantization, g: Gpu, engine: str, context: int, layout: Parallel) -> str:
    """The single-stream step time term by term, as the basis states it."""
    row = step_row("question", m, q, g, engine, 1, context, layout)
    params = calibration()
    fit, _ = params.lookup(engine, device_class(g))
    parts = params.parts(row)
    ms = {k: v * 1000 for k, v in parts.items()}
    gpus = f" x {layout.tensor} GPUs" if layout.tensor > 1 else ""
    read_gb = (row.mem_dense_s + row.mem_expert_s) * g.memory_bandwidth_gbps * max(1, layout.tensor)
    text = [
        f"{common.rnd(read_gb, 2)} GB read per token at {g.memory_bandwidth_gbps:g} GB/s{gpus} and "
        f"{int(100 / fit.a(row.format_class))}% efficiency"
        + (f" ({int(100 / fit.a_expert)}% for the experts)" if row.mem_expert_s else "")
        + f" = {ms['weights and KV cache'] + ms['experts']:.2f} ms",
        *([f"{ms['per step']:.2f} ms per step"] if ms["per step"] >= 0.005 else []),
        f"{row.layers} layers x {fit.layer(row.format_class, row.eager) * 1e6:.0f} us"
        + (" (no CUDA graphs)" if row.eager else "")
        + f" = {ms['per layer']:.2f} ms",
    ]
    if row.moe_layers:
        text.append(
            f"expert routing {row.moe_layers} MoE layers x {fit.moe_layer_s * 1e6:.0f} us "
            f"= {ms['expert routing']:.2f} ms"
        )
    if ms["dequantisation"]:
        text.append(f"dequantisation {ms['dequantisation']:.2f} ms")
    if row.allreduce_steps:
        text.append(
            f"all-reduce 2 x {row.layers} layers x log2({layout.tensor}) x "
            f"{params.link(row.interconnect) * 1e6:.0f} us over {row.interconnect} = {ms['all-reduce']:.2f} ms"
        )
    if row.fixed_s:
        text.append(f"hand-offs between {layout.pipeline} layer-split GPUs {ms['layer-split hops']:.2f} ms")
    total = sum(ms.values())
    return "per token: " + " + ".join(text) + f" = {total:.2f} ms, so {1000 / total:.1f} tokens/s"


def prefill_tokens_per_s(m: Model, q: Quantization, g: Gpu, engine: str, num_gpus: int) -> tuple[float | None, float]:
    active = (m.active_params_b or m.params_b) * 1e9
    eff = COMPUTE_EFFICIENCY[engine] * (BNB_PREFILL_PENALTY if q.family == "bitsandbytes" else 1.0)
    if not g.fp16_tflops:
        return None, eff
    return g.fp16_tflops * 1e12 * num_gpus * eff / (2 * active), eff


def throughput(
    m: Model,
    q: Quantization,
    g: Gpu,
    engine: str,
    concurrency: int,
    context: int,
    num_gpus: int,
    layout: Parallel | None = None,
) -> dict:
    layout = layout or parallel_for(engine, num_gpus, g.gpus_per_node or 8)
    t1, bound1 = _step_seconds(m, q, g, engine, 1, context, layout)
    # How many sequences fit in memory at this context: weights and overhead first, the rest is KV cache.
    est1 = estimate(m, q, engine, context, 1, 2.0, num_gpus, layout)
    per_seq = est1.kv_stored + est1.state
    room = usable_bytes(g, engine) * num_gpus - (est1.total - per_seq)
    if per_seq > 0:
        # 5% margin per sequence beyond the first, so a model estimate_memory says fits runs one stream
        max_batch = max(0, int(room // (per_seq * 1.05))) or (1 if room >= per_seq else 0)
    else:
        max_batch = concurrency if room > 0 else 0
    effective = max(1, min(concurrency, max_batch)) if max_batch > 0 else 0
    result = {
        "decode_tokens_per_s": common.rnd(1 / t1, 1) if max_batch > 0 else 0.0,
        "decode_tokens_per_s_range": estimate_interval(1 / t1, engine, device_class(g)) if max_batch > 0 else None,
        "bound": bound1,
        "max_concurrent_sequences": max_batch,
        "layout": layout,
    }
    if effective:
        tb, boundb = _step_seconds(m, q, g, engine, effective, context, layout)
        result["aggregate_tokens_per_s"] = common.rnd(effective / tb, 1)
        result["aggregate_tokens_per_s_range"] = estimate_interval(effective / tb, engine, device_class(g), effective)
        result["per_stream_tokens_per_s"] = common.rnd(1 / tb, 1)
        result["effective_concurrency"] = effective
        result["aggregate_bound"] = boundb
    else:
        result["aggregate_tokens_per_s"] = 0.0
        result["aggregate_tokens_per_s_range"] = None
        result["per_stream_tokens_per_s"] = 0.0
        result["effective_concurrency"] = 0
        result["aggregate_bound"] = "does not fit"
    prefill, eff_c = prefill_tokens_per_s(m, q, g, engine, num_gpus)
    result["prefill_tokens_per_s"] = common.rnd(prefill, 0) if prefill else None
    result["prefill_efficiency"] = eff_c
    bw_total = g.memory_bandwidth_gbps * GB * (layout.tensor if layout.tensor > 1 else 1)
    result["roofline_tokens_per_s"] = common.rnd(bw_total / bytes_per_step(m, q, 1, context), 1)
    return result


def estimate_throughput(
    model: str,
    gpu: str | None = None,
    quantization: str = "bf16",
    engine: Engine = "auto",
    concurrency: Annotated[int, Field(ge=1, le=4096)] = 1,
    context_length: Annotated[int, Field(ge=1)] = 2048,
    num_gpus: Annotated[int, Field(ge=1, le=1024)] = 1,
    vram_gb: Annotated[float | None, Field(gt=0, le=1_000_000)] = None,
    unified_memory: bool = False,
    memory_bandwidth_gbps: Annotated[float | None, Field(gt=0, le=100_000)] = None,
    device_class: Literal["consumer", "datacenter", "apple", "cpu"] | None = None,
) -> dict:
    """Estimate decode and prefill speed of a model on a device: single-stream tokens/s, and aggregate tokens/s when
    several requests are served at once (continuous batching), with the calibration class and its measured error.

    Args:
        model: Model id, name or alias from the catalog.
        gpu: Device id or name, e.g. "H100 SXM", "RTX 4090", "M4 Max 128GB", "DGX Spark".
        quantization: Weight format (bf16, fp16, fp8, int8, int4, q8_0, q6_k, q5_k_m, q4_k_m, q4_0, q4_1, iq4_xs,
            q3_k_m, q2_k, awq, gptq, mxfp4, fp8_mxfp4, nvfp4, mlx_4bit, mlx_8bit, exl2_4bpw, exl3_4bpw, or native:
            as the vendor ships it). FP8 and NVFP4 on a GPU without the tensor cores for them run weight-only in
            vLLM, more slowly.
        engine: Serving engine: transformers, vllm, sglang, tensorrt-llm, llama.cpp (or ollama), mlx, exllama;
            auto picks the usual one for the format and device.
        concurrency: Requests decoded at the same time.
        context_length: Average tokens in context per request while decoding.
        num_gpus: GPUs the model is split across (vLLM/SGLang/TensorRT-LLM: tensor parallel; llama.cpp and
            transformers: by layers, which adds memory but not speed).
        vram_gb: Memory per GPU as the vendor states it, when no GPU is named (needs memory_bandwidth_gbps for a speed).
        unified_memory: With vram_gb: memory shared with the CPU (a Mac or similar).
        memory_bandwidth_gbps: With vram_gb: the device's memory bandwidth in GB/s.
        device_class: With vram_gb: consumer (the default), datacenter, apple (unified memory) or cpu (system RAM;
            give the channels x transfer rate x 8 bytes as memory_bandwidth_gbps).
    """
    m = common.model(model)
    if gpu is None and vram_gb is None:
        raise InvalidInput("name a gpu (e.g. 'RTX 4090') or give vram_gb and memory_bandwidth_gbps", field="gpu")
    g = common.device(gpu, vram_gb, unified_memory, memory_bandwidth_gbps, device_class=device_class)
    assert g is not None  # a gpu or vram_gb was given
    if not g.memory_bandwidth_gbps:
        raise InvalidInput(
            "a speed needs the device's memory bandwidth: name the gpu, or give memory_bandwidth_gbps with vram_gb "
            "(estimate_memory answers whether it fits without it)",
            field="memory_bandwidth_gbps",
        )
    q = resolve_quantization(quantization, model=m)
    eng = engine_for(engine, q, g)
    if context_length > m.context_length:
        raise InvalidInput(
            f"context_length must be between 1 and {m.context_length} (the context of {m.name})", field="context_length"
        )
    fallback = weight_only(q, g)
    if fallback and eng not in q.weight_only_fallback:
        cores = "FP8 tensor cores" if q.needs_fp8_hardware else "FP4 tensor cores (Blackwell)"
        runs = (
            f"; {', '.join(q.weight_only_fallback)} runs it weight-only there, more slowly"
            if q.weight_only_fallback
            else ""
        )
        raise InvalidInput(
            f"{eng} needs {cores} for {q.id}, which {g.name} lacks{runs}; or try awq or q8_0", field="engine"
        )
    r = throughput(m, q, g, eng, concurrency, context_length, num_gpus)
    layout: Parallel = r.pop("layout")
    note = calibration_note(eng, class_of(g))
    basis = [
        f"decode is bounded by {r['bound']}; "
        + physics_text(m, q, g, eng, context_length, layout)
        + f" (weights actually used, KV cache at {context_length} tokens, fixed state)",
        note["text"],
    ]
    if r["max_concurrent_sequences"] > 0:
        rng = r["decode_tokens_per_s_range"]
        basis.append(
            f"about {two_digits(r['decode_tokens_per_s'])} tokens/s, likely {two_digits(rng['low'])}-"
            f"{two_digits(rng['high'])} ({rng['basis']})"
        )
    agg = r.get("aggregate_tokens_per_s_range")
    if agg and r["effective_concurrency"] > 1:
        basis.append(
            f"with {r['effective_concurrency']} streams: about {two_digits(r['aggregate_tokens_per_s'])} tokens/s in "
            f"total, likely {two_digits(agg['low'])}-{two_digits(agg['high'])} ({agg['basis']})"
        )
    if layout.pipeline > 1 and layout.tensor == 1:
        basis.append(
            f"{num_gpus} GPUs split by layers: they add memory, not speed; each token passes through every GPU in turn"
        )
    if r["prefill_tokens_per_s"] is not None:
        basis.append(
            f"prefill is compute-bound: {g.fp16_tflops} dense FP16 TFLOPS x {r['prefill_efficiency']} efficiency / "
            "(2 FLOPs x active parameters per token)"
        )
    else:
        basis.append(f"prefill not estimated: the dense FP16 throughput of {g.name} is not reported in the catalog")
    r.pop("prefill_efficiency")
    offload = None
    if r["max_concurrent_sequences"] == 0:
        basis.insert(
            0,
            f"{m.name} in {q.id} does not fit {num_gpus} x {g.name} at {context_length} tokens, so it does "
            "not run there as asked (0 tokens/s)",
        )
        offload = cpu_offload(m, q, g, num_gpus, context_length)
        if offload is None and "llama.cpp" not in q.engines:
            gguf = common.catalog().quantizations.get("q4_k_m")
            offload = cpu_offload(m, gguf, g, num_gpus, context_length) if gguf else None
        if offload is not None:
            basis.insert(
                1,
                f"with llama.cpp ({offload['quantization']}), {offload['gpu_layers']} of "
                f"{offload['total_layers']} layers fit on the GPU and the rest run from system RAM at about "
                f"{offload['decode_tokens_per_s']} tokens/s ({offload['assumption']})",
            )
    elif r["max_concurrent_sequences"] < concurrency:
        basis.append(
            f"only {r['max_concurrent_sequences']} sequences of {context_length} tokens fit next to the weights; "
            "further requests queue"
        )
    if m.is_moe:
        basis.append(
            "mixture of experts: only the active experts' weights are read per token (more as the batch grows), at "
            f"{eng}'s fitted efficiency for expert weights, plus routing and dispatch in every MoE layer"
        )
    if fallback:
        src = q.engine_sources.get(eng)
        basis.append(
            f"{g.name} lacks the tensor cores {q.id} computes in, so {eng} runs it weight-only: the {q.id} weights are "
            "dequantised inside a 16-bit matmul (Marlin), which reads them more slowly than the native path"
            + (f" ({src.url})" if src else "")
        )
    if eng == "transformers" and concurrency > 1:
        basis.append("transformers batches statically (no continuous batching); vLLM or SGLang keep the batch full")
    cat = common.catalog()
    used = {
        x.id
        for x in cat.measurements
        if x.engine == eng and x.gpu in cat.gpus and class_of(cat.gpus[x.gpu]) == class_of(g)
    }
    sources = [x.source.url for x in cat.measurements if x.id in used][:8]
    gsrc = g.sources.get(g.cite.get("memory_bandwidth_gbps", "")) if g.sources else None
    return {
        "model": {"id": m.id, "name": m.name},
        "gpu": {"id": g.id, "name": g.name, "count": num_gpus},
        "quantization": q.id,
        "engine": eng,
        "concurrency": concurrency,
        "context_length": context_length,
        **{k: v for k, v in r.items() if k not in ("bound", "aggregate_bound")},
        "fits": r["max_concurrent_sequences"] > 0,
        **({"cpu_offload": offload} if offload else {}),
        "basis": basis,
        "calibration": note,
        "assumptions": [
            "decode tokens/s exclude prompt processing; time to first token = prompt tokens / prefill_tokens_per_s",
            "speed also depends on the host CPU, drivers, engine version and settings (flash attention, CUDA graphs); "
            "docs/accuracy.md lists every measurement beside its estimate",
        ],
        "sources": list(dict.fromkeys(([gsrc.url] if gsrc else []) + sources)),
    }


def cpu_offload(
    m: Model, q: Quantization, g: Gpu, n: int, context: int, ram_gbps: float = DEFAULT_SYSTEM_RAM_GBPS
) -> dict | None:
    """llama.cpp keeping only some layers on the GPU(s) and the rest in system RAM: how many fit and how fast."""
    if m.architecture is None or device_class(g) in ("apple", "cpu") or "llama.cpp" not in q.engines:
        return None
    layers = m.architecture.layers
    full = estimate(m, q, "llama.cpp", context, 1, 2.0, 1)
    room = usable_bytes(g) * n - full.context_overhead * n - full.activations - full.kv_stored - full.state
    per_layer = full.weights / layers
    on_gpu = int(max(0.0, room) // per_layer)
    if on_gpu <= 0 or on_gpu >= layers:
        return None
    read = weight_bytes_read(m, q, 1)
    share = on_gpu / layers
    gpu_bw = (
        g.memory_bandwidth_gbps if g.cite else 1000.0
    )  # a device given by size only: its bandwidth matters little here
    t_gpu = read * share / (gpu_bw * GB * 0.6)
    t_cpu = read * (1 - share) / (ram_gbps * GB * 0.8)
    return {
        "engine": "llama.cpp",
        "quantization": q.id,
        "gpu": g.id,
        "num_gpus": n,
        "gpu_layers": on_gpu,
        "total_layers": layers,
        "system_ram_gb": common.rnd(full.weights * (1 - share) / GB),
        "decode_tokens_per_s": common.rnd(1 / (t_gpu + t_cpu), 1),
        "assumption": f"system RAM at {ram_gbps:g} GB/s (80% usable) for the {layers - on_gpu} layers left on the CPU, "
        f"the GPU at 60% of {gpu_bw:g} GB/s"
        + ("" if g.cite else " (not given; assumed)")
        + "; the CPU part dominates the time per token",
    }


def naive_tokens_per_s(m: Model, q: Quantization, g: Gpu, num_gpus: int = 1) -> float:
    """The rule of thumb other tools use: bandwidth / weight bytes read x 0.55."""
    return speed_model.NAIVE_EFFICIENCY * g.memory_bandwidth_gbps * GB * num_gpus / weight_bytes_read(m, q, 1)
