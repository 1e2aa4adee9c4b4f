"""The GPU path: the default hf model's architecture (Qwen/Qwen3-8B) with random weights, loaded as the hf driver
loads it (bitsandbytes NF4), as INT8 and as BF16, plus a fast path (BF16, static KV cache, torch.compile).

    python bench/gpu_llm.py                 # on a CUDA GPU: about 4-6 minutes on an H100
    python bench/gpu_llm.py --cpu-smoke     # no GPU: a tiny model of the same family on the CPU (the plumbing only)

No download: the architecture is a Qwen3Config written out by hand (36 layers, hidden 4096, 32 heads, 8 KV heads,
head_dim 128, intermediate 12288, vocab 151936), instantiated with random weights, saved once as BF16 safetensors
to a temporary folder, and loaded back with ``AutoModelForCausalLM.from_pretrained`` and
``advisor.drivers.hf.quantization_config(kind)`` -- the same call and the same BitsAndBytesConfig the driver uses.
Random weights make the output text meaningless but not the speed or the memory: every token of a batch-1 decode
reads every weight once whatever the weights are (generation is forced to the full length).

For each variant it prints: load time, peak GPU memory (allocated by torch, and in use on the device including the
CUDA context) beside the advisor's own estimate (tools.call("estimate_memory", ...) for qwen3-8b), time to the
first token after a short prompt, decode tokens/s, and decode tokens/s as a share of the memory-bandwidth ceiling
(the GPU's bandwidth from the catalog / bytes read per token: the resident weights less the input embedding, which
is looked up rather than read, plus the KV cache). Goal for the fast path on an H100: >= 60 tokens/s single stream,
first token < 0.5 s.

Without CUDA it prints why and exits with status 0 (nothing measured); --cpu-smoke runs the same code on a tiny
model on the CPU so the non-GPU parts can be checked anywhere.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field

import _util  # noqa: F401  (puts the project on sys.path)
from _util import machine

GB = 1e9
# Qwen/Qwen3-8B config.json, written out (no download).
QWEN3_8B = dict(
    vocab_size=151936,
    hidden_size=4096,
    intermediate_size=12288,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    hidden_act="silu",
    max_position_embeddings=40960,
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
    attention_bias=False,
    attention_dropout=0.0,
    use_sliding_window=False,
    max_window_layers=36,
    bos_token_id=151643,
    eos_token_id=151645,
    rope_theta=1_000_000.0,
)
# The same family, small enough for a CPU (the smoke test).
TINY = dict(
    QWEN3_8B,
    vocab_size=4096,
    hidden_size=128,
    intermediate_size=384,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,
    max_position_embeddings=2048,
    max_window_layers=2,
    bos_token_id=1,
    eos_token_id=2,
)
VARIANTS = {  # label -> (advisor's --quantization, catalog quantization id for estimate_memory)
    "NF4 (4bit, the driver's default)": ("4bit", "int4"),
    "INT8 (8bit)": ("8bit", "int8"),
    "BF16 (none)": ("none", "bf16"),
}


def make_config(spec: dict):
    import torch
    from transformers import Qwen3Config

    spec = dict(spec)
    theta = spec.pop("rope_theta")
    try:  # transformers 5: rope settings live in rope_parameters
        cfg = Qwen3Config(**spec, rope_parameters={"rope_type": "default", "rope_theta": theta})
    except TypeError:  # transformers 4.x
        cfg = Qwen3Config(**spec, rope_theta=theta)
    cfg.dtype = torch.bfloat16
    cfg.architectures = ["Qwen3ForCausalLM"]
    return cfg


def param_count(spec: dict) -> int:
    """Parameters of a Qwen3 decoder from its config (q/k norms included), to check the config against the catalog."""
    h, i, layers, v = spec["hidden_size"], spec["intermediate_size"], spec["num_hidden_layers"], spec["vocab_size"]
    q = spec["num_attention_heads"] * spec["head_dim"]
    kv = spec["num_key_value_heads"] * spec["head_dim"]
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * i + 2 * h + 2 * spec["head_dim"]
    return v * h * (1 if spec["tie_word_embeddings"] else 2) + layers * per_layer + h


class TokenClock:
    """A generate() streamer that timestamps every new token (the first put() is the prompt)."""

    def __init__(self, sync):
        self.sync, self.times, self.calls = sync, [], 0

    def put(self, value):
        self.calls += 1
        if self.calls == 1:
            return  # the prompt
        value.cpu()  # waits for the token to exist
        self.times.append(time.perf_counter())

    def end(self):
        pass


@dataclass
class Result:
    label: str
    load_s: float | None = None
    resident_gb: float | None = None
    peak_alloc_gb: float | None = None
    device_used_gb: float | None = None
    estimate: dict = field(default_factory=dict)
    ttft_s: list[float] = field(default_factory=list)
    decode_tps: list[float] = field(default_factory=list)
    bytes_per_token: float | None = None
    ceiling_tps: float | None = None
    note: str = ""
    compile_s: float | None = None


def gpu_bandwidth_gbps(name: str, override: float | None) -> tuple[float | None, str]:
    """The GPU's memory bandwidth from the catalog, found from torch's device name ("NVIDIA H100 80GB HBM3")."""
    if override:
        return override, "given with --bandwidth-gbps"
    from catalog.query import LookupFailed, get_catalog

    cat = get_catalog()
    words = name.replace("NVIDIA", "").replace("GeForce", "").split()
    for n in range(len(words), 0, -1):
        try:
            g = cat.gpu(" ".join(words[:n]))
            return g.memory_bandwidth_gbps, f"catalog: {g.name}"
        except LookupFailed:
            continue
    return None, f"{name!r} is not in the catalog; pass --bandwidth-gbps"


def generate_timed(
    model, prompt_len: int, new_tokens: int, device: str, vocab: int, repeats: int, **gen
) -> tuple[list[float], list[float]]:
    """Greedy generation of exactly new_tokens after a random prompt; (time to first token, decode tokens/s) per run."""
    import torch

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    g = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(10, vocab - 10, (1, prompt_len), generator=g).to(device)
    mask = torch.ones_like(ids)
    ttft, tps = [], []
    for _ in range(repeats):
        clock = TokenClock(sync)
        sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                streamer=clock,
                pad_token_id=0,
                **gen,
            )
        sync()
        if len(clock.times) != new_tokens or new_tokens < 2:
            raise RuntimeError(f"generate streamed {len(clock.times)} tokens, expected {new_tokens} (at least 2)")
        ttft.append(clock.times[0] - t0)
        tps.append((len(clock.times) - 1) / (clock.times[-1] - clock.times[0]))
    return ttft, tps


def resident_bytes(model) -> tuple[float, float]:
    """(bytes of every parameter and buffer, bytes of the input embedding) as stored (packed for bitsandbytes)."""
    seen, total = set(), 0
    for t in [*model.parameters(), *model.buffers()]:
        if t.data_ptr() in seen:
            continue
        seen.add(t.data_ptr())
        total += t.numel() * t.element_size()
        qs = getattr(t, "quant_state", None)  # bitsandbytes 4-bit: absmax and the nested quantization state
        if qs is not None:
            for part in (getattr(qs, "absmax", None), getattr(getattr(qs, "state2", None), "absmax", None)):
                if part is not None:
                    total += part.numel() * part.element_size()
        scb = getattr(t, "SCB", None)  # bitsandbytes 8-bit: row scales
        if scb is not None:
            total += scb.numel() * scb.element_size()
    emb = model.get_input_embeddings().weight
    return float(total), float(emb.numel() * emb.element_size())


def kv_bytes_per_token(spec: dict, context: int) -> float:
    """KV cache bytes read to decode one token at this context (BF16 cache)."""
    return 2 * spec["num_hidden_layers"] * spec["num_key_value_heads"] * spec["head_dim"] * 2 * context


def run_variant(
    label: str, kind: str, quant_id: str, path: str, args, spec: dict, device: str, bandwidth: float | None
) -> tuple[Result, object]:
    import torch
    from transformers import AutoModelForCausalLM

    import tools
    from advisor.drivers.hf import quantization_config

    res = Result(label)
    context = args.prompt_tokens + args.new_tokens
    res.estimate = tools.call(
        "estimate_memory",
        {"model": "qwen3-8b", "quantization": quant_id, "context_length": context, "engine": "transformers"},
    )
    qc = quantization_config(kind)
    if qc is not None and device != "cuda":
        res.note = "skipped: bitsandbytes quantization needs CUDA (the hf driver refuses the CPU too)"
        return res, None
    cuda = device == "cuda"
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base_alloc = torch.cuda.memory_allocated()
    kwargs = {"device_map": "auto" if cuda else None}  # as advisor.drivers.hf.load
    if qc is not None:
        kwargs["quantization_config"] = qc
    else:
        kwargs["dtype"] = torch.bfloat16
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if cuda:
        torch.cuda.synchronize()
    res.load_s = time.perf_counter() - t
    model.eval()
    resident, emb = resident_bytes(model)
    res.resident_gb = resident / GB
    res.bytes_per_token = resident - emb + kv_bytes_per_token(spec, args.prompt_tokens + args.new_tokens // 2)
    if bandwidth:
        res.ceiling_tps = bandwidth * GB / res.bytes_per_token
    new_tokens = args.new_tokens if kind != "8bit" else max(16, args.new_tokens // 2)  # LLM.int8() decodes slowly
    generate_timed(model, args.prompt_tokens, 8, device, spec["vocab_size"], 1)  # warm-up: kernels, allocator
    res.ttft_s, res.decode_tps = generate_timed(
        model, args.prompt_tokens, new_tokens, device, spec["vocab_size"], args.repeats
    )
    if cuda:
        res.peak_alloc_gb = (torch.cuda.max_memory_allocated() - base_alloc) / GB
        free, total = torch.cuda.mem_get_info()
        res.device_used_gb = (total - free) / GB
    return res, model


def fast_path(model, args, spec: dict, device: str, bandwidth: float | None, base: Result) -> Result:
    """BF16 with a static KV cache and the forward compiled with CUDA graphs (torch.compile reduce-overhead)."""
    import torch
    from transformers import GenerationConfig

    res = Result("BF16 + static cache + torch.compile")
    res.estimate, res.resident_gb, res.bytes_per_token, res.ceiling_tps = (
        base.estimate,
        base.resident_gb,
        base.bytes_per_token,
        base.ceiling_tps,
    )
    model.generation_config.cache_implementation = "static"
    model.forward = torch.compile(model.forward, mode=args.compile_mode, fullgraph=True)
    # generate() would otherwise compile the model call a second time around the compiled forward
    gen = {"disable_compile": True} if hasattr(GenerationConfig(), "disable_compile") else {}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(2):  # compiles prefill and decode graphs, then records the CUDA graphs
        generate_timed(model, args.prompt_tokens, args.new_tokens, device, spec["vocab_size"], 1, **gen)
    res.compile_s = time.perf_counter() - t
    res.ttft_s, res.decode_tps = generate_timed(
        model, args.prompt_tokens, args.new_tokens, device, spec["vocab_size"], args.repeats, **gen
    )
    if device == "cuda":
        res.peak_alloc_gb = torch.cuda.max_memory_allocated() / GB
        free, total = torch.cuda.mem_get_info()
        res.device_used_gb = (total - free) / GB
    return res


def fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cpu-smoke", action="store_true", help="tiny Qwen3 on the CPU: checks the plumbing, measures nothing useful"
    )
    parser.add_argument("--prompt-tokens", type=int, default=32, help="length of the short prompt")
    parser.add_argument(
        "--new-tokens", type=int, default=128, help="tokens decoded per run (INT8 decodes half as many)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="measured runs per variant (after a warm-up)")
    parser.add_argument("--variants", default="all", help="comma-separated subset of: nf4,int8,bf16,fast")
    parser.add_argument(
        "--bandwidth-gbps", type=float, default=None, help="GPU memory bandwidth if the catalog lacks the GPU"
    )
    parser.add_argument("--compile-mode", default="reduce-overhead", help="torch.compile mode of the fast path")
    parser.add_argument(
        "--workdir", default=None, help="where the random checkpoint is written (about 16.4 GB; removed after)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"command: python bench/gpu_llm.py {' '.join(sys.argv[1:])}".rstrip())

    try:
        import torch
        import transformers
    except ImportError as exc:
        print(
            f"no GPU run: {exc.name} is not installed (pip install -e '.[hf]' on a CUDA machine). Nothing was measured."
        )
        return 0
    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_smoke:
        print(
            "no GPU run: torch sees no CUDA device on this machine, so there is nothing to measure. Run this on a CUDA "
            "GPU, or pass --cpu-smoke to exercise the non-GPU parts with a tiny model on the CPU."
        )
        return 0
    device = "cuda" if cuda and not args.cpu_smoke else "cpu"
    spec = TINY if device == "cpu" else QWEN3_8B
    wanted = {"nf4", "int8", "bf16", "fast"} if args.variants == "all" else set(args.variants.split(","))
    try:
        import bitsandbytes

        bnb = bitsandbytes.__version__
    except ImportError:
        bnb = None
        wanted -= {"nf4", "int8"}
    versions = (
        f"torch {torch.__version__}, transformers {transformers.__version__}, bitsandbytes {bnb or 'not installed'}"
    )

    full = param_count(QWEN3_8B)
    from catalog.query import get_catalog

    cat_params = get_catalog().model("qwen3-8b").params_b
    print(f"{versions}; Qwen3-8B config: {full / 1e9:.3f}B parameters (catalog: {cat_params}B)")
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        bandwidth, bw_note = gpu_bandwidth_gbps(name, args.bandwidth_gbps)
        print(
            f"GPU: {name}, {torch.cuda.get_device_properties(0).total_memory / GB:.1f} GB; bandwidth "
            f"{fmt(bandwidth, '.0f')} GB/s ({bw_note})"
        )
    else:
        bandwidth = args.bandwidth_gbps
        print(
            f"CPU smoke test: tiny Qwen3 ({param_count(TINY) / 1e6:.2f}M parameters) on the CPU; figures are not GPU "
            f"figures"
        )

    work = tempfile.mkdtemp(prefix="qwen3-random-", dir=args.workdir)
    results: list[Result] = []
    try:
        from transformers import AutoModelForCausalLM

        cfg = make_config(spec)
        t = time.perf_counter()
        torch.manual_seed(0)
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        model.generation_config.pad_token_id = 0
        model.save_pretrained(work, max_shard_size="5GB")
        n_params = sum(p.numel() for p in model.parameters())
        del model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
        print(f"random BF16 checkpoint: {n_params / 1e9:.3f}B parameters written in {time.perf_counter() - t:.1f} s")
        keys = {"NF4 (4bit, the driver's default)": "nf4", "INT8 (8bit)": "int8", "BF16 (none)": "bf16"}
        bf16_model, bf16_result = None, None
        for label, (kind, qid) in VARIANTS.items():
            if keys[label] not in wanted and not (keys[label] == "bf16" and "fast" in wanted):
                continue
            res, model = run_variant(label, kind, qid, work, args, spec, device, bandwidth)
            results.append(res)
            print(
                f"  {label}: loaded in {fmt(res.load_s, '.1f')} s" + (f" ({res.note})" if res.note else ""), flush=True
            )
            if kind == "none" and model is not None:
                bf16_model, bf16_result = model, res
            else:
                del model
                gc.collect()
                if device == "cuda":
                    torch.cuda.empty_cache()
        if "fast" in wanted and bf16_model is not None:
            results.append(fast_path(bf16_model, args, spec, device, bandwidth, bf16_result))
            print(f"  fast path compiled and warmed up in {results[-1].compile_s:.1f} s", flush=True)
        del bf16_model
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nprompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens (INT8: {max(16, args.new_tokens // 2)}), "
        f"greedy, batch 1, median of {args.repeats} runs after a warm-up"
    )
    print(
        f"{'variant':36s} {'load s':>7s} {'resident':>9s} {'peak':>7s} {'device':>7s} {'estimate':>9s} {'est w.':>7s} "
        f"{'TTFT s':>7s} {'tok/s':>7s} {'ceiling':>8s} {'share':>6s}"
    )
    for r in results:
        if r.note:
            print(f"{r.label:36s} {r.note}")
            continue
        tps = statistics.median(r.decode_tps) if r.decode_tps else None
        ttft = statistics.median(r.ttft_s) if r.ttft_s else None
        share = (tps / r.ceiling_tps) if (tps and r.ceiling_tps) else None
        print(
            f"{r.label:36s} {fmt(r.load_s, '.1f'):>7s} {fmt(r.resident_gb):>9s} {fmt(r.peak_alloc_gb):>7s} "
            f"{fmt(r.device_used_gb):>7s} {fmt(r.estimate.get('total_gb')):>9s} "
            f"{fmt(r.estimate.get('weights_gb')):>7s} "
            f"{fmt(ttft, '.3f'):>7s} {fmt(tps, '.1f'):>7s} {fmt(r.ceiling_tps, '.0f'):>8s} {fmt(share, '.0%'):>6s}"
        )
    print(
        "(GB = 10^9 bytes. resident: weights and buffers as stored; peak: torch's peak allocation during load and "
        "generation; device: memory in use on the GPU after the run, CUDA context and allocator cache included; "
        "estimate / est w.: estimate_memory total and weights for qwen3-8b with engine transformers; ceiling: "
        "bandwidth / bytes read per token; share: tok/s over the ceiling)"
    )
    fast = next((r for r in results if r.label.startswith("BF16 +") and r.decode_tps), None)
    if fast and device == "cuda":
        tps, ttft = statistics.median(fast.decode_tps), statistics.median(fast.ttft_s)
        print(
            f"fast path: {tps:.1f} tokens/s (goal >= 60 on an H100), first token {ttft:.3f} s (goal < 0.5 s); "
            f"compile and warm-up {fast.compile_s:.0f} s"
        )
    print(f"total run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
