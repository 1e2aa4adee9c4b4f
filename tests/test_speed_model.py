"""The decode-speed model term by term (worked examples computed by hand), its fit, its validation by source and its
ranges; the formats and devices the estimator now says yes to."""

from __future__ import annotations

import math

import pytest

from catalog.query import get_catalog
from tools import speed_model as sm
from tools import throughput as tp
from tools.errors import InvalidInput
from tools.memory import Parallel, estimate_memory
from tools.throughput import estimate_throughput

CAT = get_catalog()


def params(**constants) -> sm.SpeedParams:
    """Constants set by hand (no fit): base values only, no device, engine or format deviations."""
    p = sm.SpeedParams()
    p.base.update(constants)
    p.link_s = {"nvlink": 10e-6, "pcie": 30e-6, "node": 60e-6}
    return p


def row(**fields) -> sm.Row:
    defaults = dict(id="q", engine="vllm", device_class="datacenter", format_class="16-bit", step_s=0.0)
    return sm.Row(**(defaults | fields))


# ---------------------------------------------------------------- worked examples


def test_dense_decode_worked_example():
    """16 GB read at 2 TB/s is 8 ms of bandwidth; at 80% efficiency (a = 1.25) 10 ms. Plus 1 ms a step and
    32 layers x 20 us = 0.64 ms: 11.64 ms a token, 85.91 tokens/s."""
    p = params(a=1.25, step=1e-3, layer=20e-6)
    r = row(mem_dense_s=16e9 / 2e12, layers=32)
    assert p.step_seconds(r) == pytest.approx(11.64e-3, rel=1e-9)
    assert 1 / p.step_seconds(r) == pytest.approx(85.911, abs=1e-3)


def test_moe_decode_worked_example():
    """Dense part 2 ms of bandwidth at a = 1.25: 2.5 ms; experts 3 ms at a_x = 1.5: 4.5 ms; 1 ms a step; 48 layers
    x 20 us = 0.96 ms; routing 48 MoE layers x 30 us = 1.44 ms. Total 10.4 ms: 96.15 tokens/s."""
    p = params(a=1.25, a_x=1.5, step=1e-3, layer=20e-6, moe=30e-6)
    r = row(mem_dense_s=2e-3, mem_expert_s=3e-3, layers=48, moe_layers=48)
    parts = p.parts(r)
    assert parts["experts"] == pytest.approx(4.5e-3) and parts["expert routing"] == pytest.approx(1.44e-3)
    assert p.step_seconds(r) == pytest.approx(10.4e-3, rel=1e-9)
    assert 1 / p.step_seconds(r) == pytest.approx(96.154, abs=1e-3)


def test_tensor_parallel_worked_example():
    """Llama 3.1 70B in AWQ on 4 x H100 SXM with tensor parallelism: 80 layers, two all-reduces each, log2(4) = 2
    steps each: 320 all-reduce steps over NVLink. At 10 us a step that is 3.2 ms; the bytes are read at 4 x 3350
    GB/s. With a = 1.25, 1 ms a step, 80 x 20 us: 1.25 x mem + 1 + 1.6 + 3.2 ms."""
    m, q, g = CAT.models["llama-3.1-70b"], CAT.quantizations["awq"], CAT.gpus["h100-sxm"]
    r = tp.step_row("q", m, q, g, "vllm", 1, 2048, Parallel(4, 1))
    assert r.allreduce_steps == 2 * 80 * 2 and r.interconnect == "nvlink" and r.layers == 80
    assert r.mem_dense_s == pytest.approx(tp.bytes_per_step(m, q, 1, 2048) / (4 * 3350e9))
    p = params(a=1.25, step=1e-3, layer=20e-6)
    assert p.step_seconds(r) == pytest.approx(1.25 * r.mem_dense_s + 1e-3 + 1.6e-3 + 3.2e-3, rel=1e-9)
    # past one node of 8 the all-reduces cross the network
    assert tp.step_row("q", m, q, g, "vllm", 1, 2048, Parallel(16, 1)).interconnect == "node"
    # a PCIe card's all-reduces go over PCIe: 3x the latency here
    pcie = tp.step_row("q", m, q, CAT.gpus["rtx-4090"], "vllm", 1, 2048, Parallel(4, 1))
    assert pcie.interconnect == "pcie" and p.parts(pcie)["all-reduce"] == pytest.approx(320 * 30e-6)


def test_cpu_decode_worked_example():
    """Phi-4 (14.7 B) in Q4_K_M on a 12-channel DDR5-4800 EPYC (460.8 GB/s): the bytes at a = 1.6 (62.5%), 40
    layers x 50 us = 2 ms of thread barriers (a global 10 us plus the CPU class's default of 50 - 10 = 40 us, no
    row of this engine on CPUs having said otherwise), and a dequantisation floor of 0.1 ms per billion active
    parameters, 1.47 ms. The memory term is the same row's bytes / 460.8 GB/s."""
    m, q, g = CAT.models["phi-4"], CAT.quantizations["q4_k_m"], CAT.gpus["cpu-epyc-9004-1s"]
    r = tp.step_row("q", m, q, g, "llama.cpp", 1, 512, Parallel())
    assert r.device_class == "cpu" and r.layers == 40 and r.active_b == pytest.approx(m.params_b)
    assert r.mem_dense_s == pytest.approx(tp.bytes_per_step(m, q, 1, 512) / 460.8e9)
    p = params(a=1.6, step=0.0, layer=10e-6, dq=0.1e-3)
    expected = 1.6 * r.mem_dense_s + 40 * 50e-6 + 0.1e-3 * m.params_b
    assert p.step_seconds(r) == pytest.approx(expected, rel=1e-9)
    assert p.parts(r)["dequantisation"] == pytest.approx(0.1e-3 * m.params_b)
    # the same constants on a GPU row have no dequantisation floor
    assert p.parts(row(mem_dense_s=1e-3, device_class="consumer"))["dequantisation"] == 0


def test_eager_and_bitsandbytes_layers_cost_more():
    """Without CUDA graphs a layer costs c_eager (here 90 us) instead of c_layer (10 us); bitsandbytes int8 adds its
    prior of 35 kernels x 6 us = 210 us a layer until rows say otherwise."""
    p = params(a=1.0, step=0.0, layer=10e-6, eager=90e-6)
    assert p.parts(row(mem_dense_s=0, layers=10, eager=True))["per layer"] == pytest.approx(900e-6)
    assert p.parts(row(mem_dense_s=0, layers=10))["per layer"] == pytest.approx(100e-6)
    int8 = row(mem_dense_s=0, layers=10, eager=True, engine="transformers", format_class="bitsandbytes-int8")
    assert p.parts(int8)["per layer"] == pytest.approx(10 * (90e-6 + 210e-6))


# ---------------------------------------------------------------- the fit and its validation


def synthetic(n: int = 30) -> list[sm.Row]:
    """Rows whose step times follow known constants exactly: a = 1.25, 1 ms a step, 20 us a layer."""
    rows = []
    for i in range(n):
        mem = (1 + i) * 1e-3
        layers = 16 + 4 * (i % 10)
        rows.append(
            row(
                id=f"r{i}",
                mem_dense_s=mem,
                layers=layers,
                step_s=1.25 * mem + 1e-3 + layers * 20e-6,
                source=f"s{i % 6}",
            )
        )
    return rows


def test_fit_recovers_constants_it_was_given():
    fitted = sm.fit(synthetic())
    fit, level = fitted.lookup("vllm", "datacenter")
    assert level == "class"
    assert 1 / fit.a("16-bit") == pytest.approx(0.8, rel=0.05)
    for r in synthetic():
        assert fitted.step_seconds(r) == pytest.approx(r.step_s, rel=0.03)


def test_a_source_left_out_is_not_fitted_on():
    rows = synthetic()
    odd = row(id="odd", mem_dense_s=5e-3, layers=32, step_s=3 * (1.25 * 5e-3 + 1e-3 + 32 * 20e-6), source="odd")
    in_sample = sm.error(sm.fit([*rows, odd]), odd)
    out = sm.grouped_cv([*rows, odd], lambda r: r.source)
    assert abs(out["odd"]) > abs(in_sample)  # fitting on it pulls the estimate toward it; leaving it out does not
    assert out["odd"] == pytest.approx(2.0, abs=0.15)  # three times slower than the rest's constants predict
    assert set(out) == {r.id for r in [*rows, odd]}


def test_interval_is_the_conformal_quantile_of_the_errors():
    """Ten errors with |log(1 + e)| = 0.1 .. 1.0: at 80% the ceil(11 x 0.8) = 9th smallest, 0.9, is the half-width."""
    errors = [math.expm1(k / 10 * (-1) ** k) for k in range(1, 11)]
    lo, hi = sm.interval(errors)
    assert lo == pytest.approx(math.exp(-0.9)) and hi == pytest.approx(math.exp(0.9))


def test_every_answer_carries_a_range_around_its_estimate():
    r = estimate_throughput("llama 3.1 8b", "RTX 4090", "q4_k_m")
    rng = r["decode_tokens_per_s_range"]
    assert rng["low"] < r["decode_tokens_per_s"] < rng["high"] and rng["coverage"] == 0.8
    assert any(b.startswith("about ") and "likely" in b for b in r["basis"])
    physics = r["basis"][0]
    assert "GB read per token at 1008 GB/s" in physics and "layers x" in physics and "tokens/s" in physics


def test_calibration_rows_are_built_once_per_catalog_and_again_when_its_measurements_change(monkeypatch):
    """The rows (and the fit on them) are read on every speed estimate; they are built once per catalog object, and
    a measurement added (as local calibration rows would be) or a catalog reloaded builds them again."""
    from catalog.query import Catalog
    from tools.common import using_catalog

    cat = Catalog(CAT.raw)  # a catalog object of this test's own: nothing cached for it yet
    built = []
    real = tp.measurement_row
    monkeypatch.setattr(tp, "measurement_row", lambda c, x: built.append(x.id) or real(c, x))
    first = tp.measurement_rows(cat)
    n = len(built)
    assert n == len(first) > 200
    assert tp.measurement_rows(cat) == first and len(built) == n  # cached: nothing rebuilt
    with using_catalog(cat):
        fit = tp.calibration()
        assert tp.calibration() is fit
    base = next(x for x in cat.measurements if x.id == first[0].id)
    cat.measurements.append(base.model_copy(update={"id": "local-test-row", "value": base.value * 2}))
    again = tp.measurement_rows(cat)
    assert [r.id for r in again] == [r.id for r in first] + ["local-test-row"] and len(built) == 2 * n + 1
    with using_catalog(cat):
        assert tp.calibration() is not fit  # refitted on the new rows
    assert tp.measurement_rows(Catalog(CAT.raw)) == first  # a reloaded catalog: built again, same rows
    assert len(built) == 3 * n + 1


def test_qwen_speed_benchmarks_calibrate_transformers_on_datacenter_gpus():
    """Qwen's speed benchmarks (batch 1, input length 1, 2,048 tokens generated) give Transformers 44 single-stream
    rows on data-centre GPUs: 11 from Qwen3 on H20 (Transformers 4.51.3) and 21 from Qwen2.5 on A100 (4.46.0; every
    row of the page's input-length-1 tables in BF16, GPTQ-Int4 and AWQ, where 8 were fitted on before). Its
    Qwen3-30B-A3B row (1.89 tokens/s: Transformers 4.51 runs each expert as its own matmul) makes Transformers' MoE
    estimates that slow: the same model on the same H20 is estimated below 5 tokens/s, where it was 33.6 before."""
    rows = [
        r
        for r in tp.measurement_rows(CAT)
        if r.engine == "transformers" and r.device_class == "datacenter" and r.batch == 1
    ]
    assert len(rows) == 44 and sum(r.id.startswith("qwen3-speed-h20-") for r in rows) == 11
    assert sum(r.id.startswith("qwen25-speed-") for r in rows) == 21
    tp2 = {r.id for r in tp.measurement_rows(CAT) if r.allreduce_steps and r.id.startswith("qwen25-speed-2x-a100-72b")}
    assert tp2 == {"qwen25-speed-2x-a100-72b-vllm-bf16", "qwen25-speed-2x-a100-72b-vllm-gptq4",
                   "qwen25-speed-2x-a100-72b-vllm-awq"}  # fmt: skip
    moe = estimate_throughput("qwen3-30b-a3b", "H20", "bf16", engine="transformers")
    assert moe["decode_tokens_per_s"] < 5


def test_the_record_of_rows_added_survives_a_rewrite_of_docs_accuracy(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("accuracy", Path(__file__).parent.parent / "bench" / "accuracy.py")
    assert spec and spec.loader
    acc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(acc)
    doc = tmp_path / "accuracy.md"
    added = "\n## Decode speed: calibration rows added, before and after\n\nkept\n"
    doc.write_text("# generated\n" + added + "\n## Expert agreement\n")
    kept = acc.kept_sections(doc)
    assert kept.startswith(added) and kept.endswith("## Expert agreement\n")


# ---------------------------------------------------------------- formats and devices engines say yes to


def test_fp8_and_nvfp4_run_weight_only_in_vllm_on_older_gpus():
    a6000 = estimate_throughput("llama 3.1 8b", "RTX A6000", "nvfp4")
    assert a6000["engine"] == "vllm" and a6000["decode_tokens_per_s"] > 0
    assert any("weight-only" in b for b in a6000["basis"])
    native = estimate_throughput("llama 3.1 8b", "RTX A6000", "awq")  # 4-bit with native kernels on Ampere
    assert a6000["decode_tokens_per_s"] < native["decode_tokens_per_s"] * 1.1
    assert estimate_throughput("llama 3.1 8b", "A100", "fp8")["engine"] == "vllm"
    with pytest.raises(InvalidInput) as err:
        estimate_throughput("llama 3.1 8b", "RTX A6000", "nvfp4", engine="sglang")
    assert err.value.field == "engine" and "vllm runs it weight-only" in str(err.value)


def test_mlx_runs_mxfp4():
    r = estimate_throughput("gpt-oss-20b", "M4 Max 128GB", "mxfp4", engine="mlx")
    assert r["engine"] == "mlx" and r["decode_tokens_per_s"] > 0


def test_native_deepseek_v4_flash_is_fp8_with_mxfp4_experts():
    """284 B parameters, 13 B active, no architecture in the catalog: the 271 B inactive ones are routed experts at
    4.25 bits (144.0 GB) and the 13 B others at 8 bits (13 GB): 157.0 GB, not BF16's 568 GB."""
    r = estimate_memory("deepseek-v4-flash", quantization="native")
    assert r["quantization"]["id"] == "fp8_mxfp4"
    assert r["weights_gb"] == pytest.approx(271e9 * 4.25 / 8 / 1e9 + 13, abs=0.05)


def test_q4_1_is_a_format():
    """Q4_1 is 5.11 bits a weight: Llama 3.1 8B's 8.03 B parameters take 5.13 GB, more than Q4_0's 4.66."""
    assert estimate_memory("llama 3.1 8b", quantization="q4_1")["weights_gb"] == pytest.approx(5.13, abs=0.01)
    assert estimate_throughput("llama 3.1 8b", "RTX 4090", "q4_1")["engine"] == "llama.cpp"


def test_a_chip_with_a_memory_size_the_catalog_lacks():
    """The catalog lists the M2 Max with 32, 64 and 96 GB (400 GB/s); a 48 GB one is the M2 Max with 48 GB."""
    assert "m2-max-48gb" not in CAT.gpus and CAT.gpus["m2-max-64gb"].memory_bandwidth_gbps == 400
    r = estimate_throughput("llama 3.1 8b", "M2 Max 48GB", "q4_k_m")
    assert r["gpu"]["id"] == "m2-max-48gb"
    assert any("400 GB/s" in b for b in r["basis"])
    m = estimate_memory("llama 3.1 8b", quantization="q4_k_m", gpu="M2 Max 48GB")
    assert m["gpu"]["memory_stated"] == "48GB"
    with pytest.raises(InvalidInput):
        estimate_throughput("llama 3.1 8b", "Q9 Ultra 48GB", "q4_k_m")


@pytest.mark.parametrize("device_class", ["consumer", "datacenter", "apple", "cpu"])
def test_any_device_can_be_described(device_class):
    r = estimate_throughput(
        "llama 3.1 8b", vram_gb=64, memory_bandwidth_gbps=400, device_class=device_class, quantization="q4_k_m"
    )
    assert r["calibration"]["device_class"] == device_class and r["decode_tokens_per_s"] > 0


def test_a_device_class_must_be_one_of_four():
    with pytest.raises(InvalidInput) as err:
        estimate_throughput("llama 3.1 8b", vram_gb=64, memory_bandwidth_gbps=400, device_class="tpu")
    assert err.value.field == "device_class" and "consumer, datacenter, apple, cpu" in str(err.value)


@pytest.mark.parametrize(
    "model,gpu,quant",
    [("deepseek-r1-distill-qwen-14b", "rtx-4060-ti-16gb", "q8_0"), ("falcon3-10b", "l4", "bf16")],
)
def test_a_model_estimate_memory_says_fits_runs_at_least_one_stream(model, gpu, quant):
    """These fit by under 5% of a sequence's memory: the per-sequence margin must not turn them into 0 tokens/s."""
    assert estimate_memory(model=model, gpu=gpu, quantization=quant, context_length=8192)["fits"]
    r = estimate_throughput(model=model, gpu=gpu, quantization=quant, context_length=8192)
    assert r["fits"] and r["max_concurrent_sequences"] >= 1 and r["decode_tokens_per_s"] > 0


def test_speed_answer_shows_the_range_and_no_zero_speed_for_a_model_that_does_not_fit():
    from advisor import render

    fits = estimate_throughput(model="llama-3.1-8b", gpu="rtx-4090", quantization="q4_k_m", concurrency=8)
    text = render.estimate_throughput(fits)
    lo, hi = fits["decode_tokens_per_s_range"]["low"], fits["decode_tokens_per_s_range"]["high"]
    shown_range = f"likely {tp.two_digits(lo)}\u2013{tp.two_digits(hi)}"
    assert f"about {tp.two_digits(fits['decode_tokens_per_s'])} tokens/s, {shown_range}" in text
    assert "likely" in text.split("total, 8 streams")[1].split("\n")[0]
    big = estimate_throughput(model="llama-3.1-70b", gpu="rtx-4090", quantization="q4_k_m")
    assert not big["fits"]
    shown = render.estimate_throughput(big)
    assert "does not fit in GPU memory" in shown and "| 0 tokens/s" not in shown
    assert f"about {big['cpu_offload']['decode_tokens_per_s']} tokens/s" in shown
