"""The decode-speed model and its fit on published measurements (arithmetic only; no catalog).

Time per decode step, the sum of what a step has to do:

    a(format) x dense bytes / (bandwidth x tensor-parallel GPUs)   weights outside the routed experts, KV cache, state
  + a_x x routed-expert bytes / (bandwidth x tensor-parallel GPUs)  the experts the step actually touches
  + c_step                                                          per step: scheduler, sampling, the host loop
  + c_layer x layers (c_eager x layers without CUDA graphs)         kernel launches and synchronisation per layer
  + c_moe x MoE layers                                              expert routing and dispatch
  + c_dq x active parameters (CPUs)                                 the dequantisation compute floor
  + link x 2 x layers x log2(tensor-parallel GPUs)                  an all-reduce after attention and after the MLP
  + hops between layer-split GPUs
  + the extra sequences' compute in a batch.

1/a is the bandwidth efficiency. The model is linear in its constants, so they are fitted by least squares on
relative error, one engine at a time on all of its single-stream rows together: the engine's constants are pulled
toward physical defaults (PRIOR) and each device class's toward its engine's (the more, the fewer rows it has), and a
format's efficiency toward its class's. Link latencies are shared by engines and fitted per interconnect. No
constant goes past its physical bound (efficiency at most 1, no negative cost).
"""

from __future__ import annotations

import contextlib
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

MIN_ROWS = 3  # rows a class needs to be called calibrated
NAIVE_EFFICIENCY = 0.55  # the rule of thumb other tools use: bandwidth / weight bytes x 0.55
PARAMS = ("a", "a_x", "step", "layer", "eager", "moe", "dq")
# Device classes differ by hardware in every engine (bandwidth efficiency, the CPU compute floor); fixed costs are the
# software's, so they vary by engine and by engine on a device class only.
DEVICE_LEVEL = (0, 1, 6)
LAYER_COL = 3  # a format's extra per-layer cost applies to whichever per-layer constant the row uses
# Physical defaults, used where no row says otherwise: 70% of peak bandwidth; 1 ms a step on the host; with CUDA
# graphs ~10 us a layer, without them ~15 kernels x ~6 us launch each; ~30 us to route and dispatch a MoE layer; no
# CPU compute floor.
PRIOR = {"a": 1 / 0.7, "a_x": 1 / 0.7, "step": 1e-3, "layer": 1e-5, "eager": 9e-5, "moe": 3e-5, "dq": 0.0}
# CPUs sustain about 60% of channels x transfer rate in a streaming read, and pay for a barrier between threads after
# each of ~20 operations a layer (~2.5 us each). PyTorch's eager CPU kernels cost ~25 us each to dispatch, and a
# transformers decoder layer runs ~50 of them (norms as 6-7 elementwise ops each, 7 linears, rotary embedding, cache
# update, attention, reshapes, activations, residual adds): ~1.25 ms a layer. Checked (tuned on) with `advisor measure`:
# SmolLM2-135M in float32, one thread, 73 ms a token of CPU time against 70 estimated (docs/accuracy.md).
DEVICE_PRIOR = {"cpu": {"a": 1 / 0.6, "a_x": 1 / 0.6, "layer": 5e-5, "eager": 1.25e-3}}
KERNEL_LAUNCH_S = 6e-6
# Extra kernels per layer a format's dequantisation launches (7 linear layers): bitsandbytes NF4 ~2 per linear,
# LLM.int8 ~5 (quantise the input, int8 matmul, outlier matmul, dequantise, add).
FORMAT_LAYER_PRIOR_S = {"bitsandbytes-int4": 14 * KERNEL_LAUNCH_S, "bitsandbytes-int8": 35 * KERNEL_LAUNCH_S}
# A weight-only fallback (FP8 or NVFP4 on a GPU without the tensor cores for it: dequantised inside a 16-bit matmul)
# reads its weights at about 80% of the native path's efficiency until rows say otherwise.
FORMAT_A_PRIOR = {"weight-only 8-bit": 0.35, "weight-only low-bit": 0.35}
LINK_PRIOR_S = {"nvlink": 10e-6, "xgmi": 12e-6, "pcie": 30e-6, "node": 60e-6}  # per all-reduce and log2(TP) step
PRIOR_ROWS = 2.0  # pseudo-rows holding an engine's constants to the physical defaults
SHRINK_ROWS = 3.0  # an engine on a device class with this many rows weighs its own constants and the composed ones
# (its engine's plus the device class's) equally
DEVICE_ROWS = 0.3  # pseudo-rows holding a device class's deviation (shared by every engine) to none
ENGINE_ROWS = 0.3  # pseudo-rows holding an engine's deviation to none
FORMAT_ROWS = 1.0  # pseudo-rows pulling a format's efficiency toward its class's
EXPERT_TIE_ROWS = 2.0  # pseudo-rows pulling the experts' efficiency toward the dense weights'
LINK_ROWS = 1.0
LINK_BOUNDS = (1e-6, 300e-6)
BOUND_ROWS = 1e4  # a constant found past its bound is held there
SOURCE_WEIGHT_POWER = 0.5  # a source with n rows weighs sqrt(n) rows
ROBUST_ROUNDS = 0  # reweighting rounds toward a median (L1) fit
ROBUST_FLOOR = 0.05
DEFAULT_COMPUTE_FACTOR = 2.0  # compute at half the device's peak where no batched measurement calibrates an engine
COMPUTE_FACTOR_BOUNDS = (1.0, 20.0)


@dataclass(frozen=True)
class Row:
    """One configuration reduced to what the model needs: a measurement (step_s > 0) or a question."""

    id: str
    engine: str
    device_class: str
    format_class: str
    step_s: float  # measured seconds per decode step (batch / aggregate tokens per second); 0 for a question
    mem_dense_s: float  # dense bytes read per step / (bandwidth x tensor-parallel GPUs), seconds
    mem_expert_s: float = 0.0  # routed-expert bytes read per step / (bandwidth x tensor-parallel GPUs)
    layers: int = 32
    moe_layers: int = 0
    allreduce_steps: float = 0.0  # 2 x layers x log2(tensor-parallel GPUs); 0 without tensor parallelism
    interconnect: str = ""  # the link the all-reduces cross: nvlink, xgmi, pcie or node
    fixed_s: float = 0.0  # hops between layer-split GPUs, seconds
    eager: bool = False  # no CUDA graphs (transformers; vLLM with --enforce-eager)
    batch: int = 1
    flops_s: float = 0.0  # one sequence's compute per step at the device's peak, seconds (0 when unknown)
    active_b: float = 1.0  # active parameters, billions
    source: str = ""  # the article, issue or run the row comes from (grouped cross-validation)
    version: str = ""  # the engine build, where published

    @property
    def moe(self) -> bool:
        return self.moe_layers > 0

    @property
    def mem_s(self) -> float:
        return self.mem_dense_s + self.mem_expert_s

    def features(self) -> np.ndarray:
        """The multipliers of PARAMS in this row's step time."""
        return np.array(
            [
                self.mem_dense_s,
                self.mem_expert_s,
                1.0,
                0.0 if self.eager else float(self.layers),
                float(self.layers) if self.eager else 0.0,
                float(self.moe_layers),
                self.active_b if self.device_class == "cpu" else 0.0,
            ]
        )


@dataclass(frozen=True)
class ClassFit:
    """The constants of one engine on one device class, composed from the fit's levels."""

    a_by_format: dict[str, float]  # a per format class seen in the rows
    a_pooled: float
    a_expert: float
    step_s: float
    layer_s: float
    eager_layer_s: float
    moe_layer_s: float
    dequant_s: float  # per billion active parameters (CPUs)
    rows: int
    formats: dict[str, int]
    a_delta: dict[str, float] = field(default_factory=dict)  # the engine's format deltas of a
    layer_delta_s: dict[str, float] = field(default_factory=dict)  # extra seconds per layer of a format

    def a(self, format_class: str) -> float:
        delta = self.a_delta.get(format_class, FORMAT_A_PRIOR.get(format_class, 0.0))
        return self.a_by_format.get(format_class, max(1.0, self.a_pooled + delta))

    def layer(self, format_class: str, eager: bool) -> float:
        extra = self.layer_delta_s.get(format_class, FORMAT_LAYER_PRIOR_S.get(format_class, 0.0))
        return max(0.0, (self.eager_layer_s if eager else self.layer_s) + extra)

    @property
    def overhead_s(self) -> float:
        return self.step_s


BOUNDS = {"a": 1.0, "a_x": 1.0}  # efficiency at most 1; every other constant at least 0


@dataclass
class SpeedParams:
    """The fitted levels: global constants, each device class's and each engine's deviation from them, each
    engine-on-device-class deviation, each engine's format deltas, link latencies, batch costs."""

    base: dict[str, float] = field(default_factory=lambda: dict(PRIOR))
    device: dict[tuple[str, str], float] = field(default_factory=dict)  # (device class, param) -> deviation
    engine: dict[tuple[str, str], float] = field(default_factory=dict)  # (engine, param) -> deviation
    cross: dict[tuple[str, str, str], float] = field(default_factory=dict)  # (engine, device class, param)
    a_delta: dict[tuple[str, str], float] = field(default_factory=dict)  # (engine, format class) -> delta of a
    layer_delta: dict[tuple[str, str], float] = field(default_factory=dict)  # (engine, format class) -> seconds
    rows: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (engine, device) -> format counts
    link_s: dict[str, float] = field(default_factory=lambda: dict(LINK_PRIOR_S))
    engine_link: dict[tuple[str, str], float] = field(default_factory=dict)  # (engine, interconnect) -> deviation
    compute_factor: dict[str, float] = field(default_factory=dict)  # engine -> 1 / compute efficiency in a batch
    per_sequence_s: dict[str, float] = field(default_factory=dict)  # engine -> seconds per sequence and billion
    # active parameters per step, for devices whose peak compute is not reported
    batch_rows: dict[str, int] = field(default_factory=dict)

    def value(self, engine: str, device_class: str, name: str) -> float:
        v = (
            self.base[name]
            + self.device.get((device_class, name), 0.0)
            + self.engine.get((engine, name), 0.0)
            + self.cross.get((engine, device_class, name), _cross_prior(device_class, name))
        )
        return max(BOUNDS.get(name, 0.0), v)

    def constants(self, engine: str, device_class: str) -> ClassFit:
        counts = self.rows.get((engine, device_class), {})
        a = self.value(engine, device_class, "a")
        deltas = {f: d for (e, f), d in self.a_delta.items() if e == engine}
        return ClassFit(
            {f: max(1.0, a + deltas.get(f, 0.0)) for f in counts},
            a,
            self.value(engine, device_class, "a_x"),
            self.value(engine, device_class, "step"),
            self.value(engine, device_class, "layer"),
            self.value(engine, device_class, "eager"),
            self.value(engine, device_class, "moe"),
            self.value(engine, device_class, "dq"),
            sum(counts.values()),
            counts,
            deltas,
            {f: d for (e, f), d in self.layer_delta.items() if e == engine},
        )

    @property
    def by_class(self) -> dict[tuple[str, str], ClassFit]:
        return {k: self.constants(*k) for k in sorted(self.rows)}

    def engine_rows(self, engine: str) -> int:
        return sum(sum(c.values()) for (e, _), c in self.rows.items() if e == engine)

    def lookup(self, engine: str, device_class: str) -> tuple[ClassFit, str]:
        """The constants that apply and their level: 'class' (calibrated on MIN_ROWS or more rows), 'sparse' (fewer
        rows, pulled toward the engine's and the device class's constants), 'engine' (no row of the engine on this
        device class: its constants elsewhere plus what other engines show of the class) or 'default' (no row of the
        engine: the physical defaults plus what other engines show of the device class)."""
        fit = self.constants(engine, device_class)
        if fit.rows:
            return fit, "class" if fit.rows >= MIN_ROWS else "sparse"
        return fit, "engine" if self.engine_rows(engine) else "default"

    def link(self, interconnect: str, engine: str = "") -> float:
        """Seconds per all-reduce and log2(GPUs) step over this interconnect with this engine."""
        base = self.link_s.get(interconnect, self.link_s.get("pcie", LINK_PRIOR_S["pcie"]))
        return min(LINK_BOUNDS[1], max(LINK_BOUNDS[0], base + self.engine_link.get((engine, interconnect), 0.0)))

    def parts(self, row: Row) -> dict[str, float]:
        """Seconds per step, term by term (what the answer's basis shows)."""
        fit, _ = self.lookup(row.engine, row.device_class)
        return {
            "weights and KV cache": fit.a(row.format_class) * row.mem_dense_s,
            "experts": fit.a_expert * row.mem_expert_s,
            "per step": fit.step_s,
            "per layer": fit.layer(row.format_class, row.eager) * row.layers,
            "expert routing": fit.moe_layer_s * row.moe_layers,
            "dequantisation": fit.dequant_s * row.active_b if row.device_class == "cpu" else 0.0,
            "all-reduce": self.link(row.interconnect, row.engine) * row.allreduce_steps,
            "layer-split hops": row.fixed_s,
            "batch compute": self.batch_seconds(row),
        }

    def step_seconds(self, row: Row) -> float:
        return sum(self.parts(row).values())

    def batch_seconds(self, row: Row) -> float:
        """The extra sequences' cost in a batched step: their compute at the engine's fitted efficiency."""
        if row.batch <= 1:
            return 0.0
        if row.flops_s > 0:
            return self.compute_factor.get(row.engine, DEFAULT_COMPUTE_FACTOR) * row.flops_s * (row.batch - 1)
        return self.per_sequence_s.get(row.engine, 0.0) * row.active_b * (row.batch - 1)


def _cross_prior(device_class: str, name: str) -> float:
    """What an engine's fixed cost on a device class is expected to add to its own before any row says: the device
    class's physical default (CPUs) less the global one."""
    if PARAMS.index(name) in DEVICE_LEVEL or name not in DEVICE_PRIOR.get(device_class, {}):
        return 0.0
    return DEVICE_PRIOR[device_class][name] - PRIOR[name]


# ---------------------------------------------------------------- the fit

Column = tuple[str, tuple[str, ...], int]  # (level, key, index into PARAMS, or -1 for a link)


def _columns(rows: Sequence[Row], feats: list[np.ndarray]) -> list[Column]:
    """Every constant some row can tell: global, per device class, per engine, per engine on a device class, each
    engine's format deltas, each interconnect's latency."""
    cols: list[Column] = []
    levels: list[tuple[str, Callable[[Row], tuple[str, ...]]]] = [
        ("global", lambda r: ()),
        ("device", lambda r: (r.device_class,)),
        ("engine", lambda r: (r.engine,)),
        ("cross", lambda r: (r.engine, r.device_class)),
    ]
    for level, key in levels:
        seen: dict[tuple[str, ...], set[int]] = {}
        for r, f in zip(rows, feats):
            params = DEVICE_LEVEL if level == "device" else range(len(PARAMS))
            seen.setdefault(key(r), set()).update(j for j in params if f[j])
        for k in sorted(seen):
            cols += [(level, k, j) for j in sorted(seen[k])]
    formats: dict[str, set[str]] = {}
    for r in rows:
        formats.setdefault(r.engine, set()).add(r.format_class)
    for e, fmts in sorted(formats.items()):
        if len(fmts) > 1:
            cols += [("format", (e, f), 0) for f in sorted(fmts)]
        cols += [("format", (e, f), LAYER_COL) for f in sorted(fmts) if f in FORMAT_LAYER_PRIOR_S]
    links = sorted({(r.engine, r.interconnect) for r in rows if r.allreduce_steps > 0})
    cols += [("link", (ic,), -1) for ic in sorted({ic for _, ic in links})]
    cols += [("link", (e, ic), -1) for e, ic in links]  # an engine's all-reduce implementation
    return cols


def _penalty(col: Column) -> tuple[float, float]:
    """(target, pseudo-rows) of one column."""
    level, key, j = col
    if level == "global":
        return PRIOR[PARAMS[j]], PRIOR_ROWS
    if level == "link" and len(key) == 2:
        return 0.0, SHRINK_ROWS
    if level == "link":
        return LINK_PRIOR_S.get(key[0], LINK_PRIOR_S["pcie"]), LINK_ROWS
    if level == "format":
        return (0.0, FORMAT_ROWS) if j == 0 else (FORMAT_LAYER_PRIOR_S[key[1]], FORMAT_ROWS)
    if level == "device" and PARAMS[j] in DEVICE_PRIOR.get(key[0], {}):
        return DEVICE_PRIOR[key[0]][PARAMS[j]] - PRIOR[PARAMS[j]], DEVICE_ROWS
    if level == "cross" and PARAMS[j] in DEVICE_PRIOR.get(key[1], {}) and j not in DEVICE_LEVEL:
        return DEVICE_PRIOR[key[1]][PARAMS[j]] - PRIOR[PARAMS[j]], SHRINK_ROWS
    return 0.0, {"device": DEVICE_ROWS, "engine": ENGINE_ROWS, "cross": SHRINK_ROWS}[level]


def _row_columns(r: Row, index: dict[Column, int]) -> list[tuple[int, int]]:
    """(column, feature index; -1 for the all-reduce steps, -2 for every layer) of each constant applying to a row."""
    out = []
    for j in range(len(PARAMS)):
        keys: list[Column] = [("global", (), j), ("device", (r.device_class,), j), ("engine", (r.engine,), j)]
        out += [(index[k], j) for k in keys if k in index]
        if ("cross", (r.engine, r.device_class), j) in index:
            out.append((index[("cross", (r.engine, r.device_class), j)], j))
    if ("format", (r.engine, r.format_class), 0) in index:
        out.append((index[("format", (r.engine, r.format_class), 0)], 0))
    if ("format", (r.engine, r.format_class), LAYER_COL) in index:
        out.append((index[("format", (r.engine, r.format_class), LAYER_COL)], -2))
    if r.allreduce_steps > 0:
        links: list[Column] = [("link", (r.interconnect,), -1), ("link", (r.engine, r.interconnect), -1)]
        out += [(index[k], -1) for k in links if k in index]
    return out


def _solve(rows: list[Row]) -> tuple[list[Column], np.ndarray]:
    feats = [r.features() for r in rows]
    cols = _columns(rows, feats)
    index = {col: c for c, col in enumerate(cols)}
    n = len(cols)
    t = np.array([r.step_s for r in rows])
    y = np.array([r.step_s - r.fixed_s for r in rows]) / t
    x = np.zeros((len(rows), n))
    applies = np.zeros((len(rows), n), bool)
    for i, (r, f) in enumerate(zip(rows, feats)):
        for c, j in _row_columns(r, index):
            applies[i, c] = True
            x[i, c] = r.allreduce_steps if j == -1 else f[3] + f[4] if j == -2 else f[j]
    x /= t[:, None]
    pen_rows, pen_targets = [], []  # pseudo-rows, each in the units of a row's relative error
    for c, col in enumerate(cols):
        scale = float(np.abs(x[applies[:, c], c]).mean())
        if scale <= 0:
            continue
        target, k = _penalty(col)
        v = np.zeros(n)
        v[c] = math.sqrt(k) * scale
        pen_rows.append(v)
        pen_targets.append(math.sqrt(k) * scale * target)
    if ("global", (), 1) in index:
        ia, ix = index[("global", (), 0)], index[("global", (), 1)]
        scale = math.sqrt(EXPERT_TIE_ROWS) * float(np.abs(x[:, ix]).mean())
        v = np.zeros(n)
        v[ix], v[ia] = scale, -scale
        pen_rows.append(v)
        pen_targets.append(0.0)
    pen = np.array(pen_rows)
    pen_gram, pen_rhs = pen.T @ pen, pen.T @ np.array(pen_targets)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.source] = counts.get(r.source, 0) + 1
    base_w = np.array([float(counts[r.source]) ** -SOURCE_WEIGHT_POWER for r in rows])
    base_w *= len(rows) / base_w.sum()
    w = base_w.copy()
    checks = []  # (columns summed, lower bound) for every constant some combination of rows uses
    for e, d, fmt, eager in sorted({(r.engine, r.device_class, r.format_class, r.eager) for r in rows}):
        for j, name in enumerate(PARAMS):
            if eager and j == 3 or not eager and j == 4:
                continue
            keys: list[Column] = [("global", (), j), ("device", (d,), j), ("engine", (e,), j), ("cross", (e, d), j)]
            if j == 0:
                keys.append(("format", (e, fmt), 0))
            if j in (3, 4):
                keys.append(("format", (e, fmt), LAYER_COL))
            used = [index[k] for k in keys if k in index]
            if used:
                checks.append((used, BOUNDS.get(name, 0.0)))
    pinned_gram, pinned_rhs = np.zeros((n, n)), np.zeros(n)
    beta = np.zeros(n)
    for step in range(12 + ROBUST_ROUNDS):
        xw = x * np.sqrt(w)[:, None]
        gram = xw.T @ xw + pen_gram + pinned_gram
        rhs = xw.T @ (y * np.sqrt(w)) + pen_rhs + pinned_rhs
        beta = np.linalg.solve(gram, rhs)  # every column has a penalty: well posed
        worst = None
        for used, low in checks:
            value = float(beta[used].sum())
            if value < low - 1e-12 and (worst is None or low - value > worst[0]):
                worst = (low - value, used, low)
        if worst is None:
            if step >= ROBUST_ROUNDS:
                break
            w = base_w / np.maximum(np.abs(x @ beta - y), ROBUST_FLOOR)  # toward a median fit (reweighting)
            w *= len(rows) / w.sum()
            continue
        v = np.zeros(n)
        v[worst[1]] = 1.0
        pinned_gram += BOUND_ROWS * np.outer(v, v)  # a constant past its bound is held there
        pinned_rhs += BOUND_ROWS * v * worst[2]
    return cols, beta


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """The systems solved are small (a few hundred unknowns): a multi-threaded BLAS spends ~20x the CPU on them
    (0.6 s against 0.03 s a fit on a busy 2-core machine), so the fit runs on one thread where threadpoolctl is
    installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; without it the fit is slower, not wrong
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit(rows: Iterable[Row]) -> SpeedParams:
    """Fit every constant on the single-stream rows together, then the batch cost on the batched rows."""
    with _one_blas_thread():
        return _fit(list(rows))


def _fit(rows: list[Row]) -> SpeedParams:
    rows = [r for r in rows if r.step_s > 0 and r.mem_s > 0]
    single = [r for r in rows if r.batch == 1]
    batched = [r for r in rows if r.batch > 1]
    params = SpeedParams()
    if single:
        cols, beta = _solve(single)
        for (level, key, j), b in zip(cols, beta):
            b = float(b)
            if level == "global":
                params.base[PARAMS[j]] = b
            elif level == "device":
                params.device[(key[0], PARAMS[j])] = b
            elif level == "engine":
                params.engine[(key[0], PARAMS[j])] = b
            elif level == "cross":
                params.cross[(key[0], key[1], PARAMS[j])] = b
            elif level == "format" and j == 0:
                params.a_delta[(key[0], key[1])] = b
            elif level == "format":
                params.layer_delta[(key[0], key[1])] = b
            elif len(key) == 2:
                params.engine_link[(key[0], key[1])] = b
            else:
                params.link_s[key[0]] = b
        if not any(r.moe for r in single):
            params.base["a_x"] = params.base["a"]
        for r in single:
            counts = params.rows.setdefault((r.engine, r.device_class), {})
            counts[r.format_class] = counts.get(r.format_class, 0) + 1
    by_compute: dict[str, list[float]] = {}
    by_param: dict[str, list[float]] = {}
    for r in batched:
        spare = max(0.0, r.step_s - params.step_seconds(replace(r, batch=1)))
        if r.flops_s > 0:
            by_compute.setdefault(r.engine, []).append(spare / (r.flops_s * (r.batch - 1)))
        else:
            by_param.setdefault(r.engine, []).append(spare / (r.active_b * (r.batch - 1)))
    lo, hi = COMPUTE_FACTOR_BOUNDS
    params.compute_factor = {k: min(hi, max(lo, statistics.median(v))) for k, v in by_compute.items()}
    params.per_sequence_s = {k: statistics.median(v) for k, v in by_param.items()}
    params.batch_rows = {k: len(by_compute.get(k, [])) + len(by_param.get(k, [])) for k in {*by_compute, *by_param}}
    return params


# ---------------------------------------------------------------- validation


def error(params: SpeedParams, row: Row) -> float:
    """Relative error of the estimate: estimated tokens/s / measured - 1 (the inverse of the step-time ratio)."""
    return row.step_s / params.step_seconds(row) - 1


def grouped_cv(rows: Sequence[Row], key: Callable[[Row], str]) -> dict[str, float]:
    """Each row's error when the model is fitted without every row sharing its key (its source, its engine build):
    the honest figure for a set-up nobody has measured. Rows whose key is empty are not held out."""
    rows = list(rows)
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if key(r):
            groups.setdefault(key(r), []).append(r)
    errors = {}
    with _one_blas_thread():
        for k, members in groups.items():
            params = _fit([r for r in rows if key(r) != k])
            errors.update({r.id: error(params, r) for r in members})
    return errors


def leave_one_out(rows: Sequence[Row]) -> dict[str, float]:
    """Each row's error when the model is fitted without it (the row-level figure)."""
    return grouped_cv(rows, lambda r: r.id)


def interval(errors: Sequence[float], coverage: float = 0.8) -> tuple[float, float]:
    """The (low, high) multipliers of an estimate from out-of-sample errors (measured = estimate / (1 + error)): a
    symmetric band in log space whose half-width is the split-conformal quantile of |log(1 + error)|, the
    ceil((n + 1) x coverage)-th smallest of n, so that a new row falls inside with probability `coverage` if it errs
    like these did."""
    logs = sorted(abs(math.log1p(e)) for e in errors)
    n = len(logs)
    rank = min(n, math.ceil((n + 1) * coverage))
    half = logs[rank - 1]
    return math.exp(-half), math.exp(half)
