"""The decode-speed model and its calibration on published measurements (pure arithmetic, no catalog).

Time per decode step = a x (bytes read / bandwidth) + c + m x (compute of the extra sequences in a batch
at the device's peak) + communication, where 1/a is the bandwidth efficiency of an engine on a format
class and device class, c the engine's fixed cost per step on that device class (kernel launches,
sampling, the host loop) and 1/m the engine's compute efficiency when batching. MoE
models read their active experts less efficiently than dense weights: their byte time is multiplied
by one fitted factor. The parameters are fitted by weighted least squares on relative error, per
engine x device class, each class pulled toward its engine's fit across all classes (the more so the
fewer rows it has); a class with fewer than MIN_ROWS rows uses the engine's fit, and an engine with
none a stated default.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MIN_ROWS = 3  # rows a class needs to be called calibrated
NAIVE_EFFICIENCY = 0.55  # the rule of thumb other tools use: bandwidth / weight bytes x 0.55
SHRINK_ROWS = 2.0  # a class with this many rows weighs its own fit and its engine's equally
RIDGE = 1.0  # pseudo-rows pulling a format's efficiency toward its class's pooled value
MOE_FACTOR_BOUNDS = (1.0, 3.0)
DEFAULT_COMPUTE_FACTOR = 2.0  # compute at half the device's peak where no batched measurement calibrates an engine
COMPUTE_FACTOR_BOUNDS = (1.0, 20.0)


@dataclass(frozen=True)
class Row:
    """One measurement, reduced to what the model needs."""

    id: str
    engine: str
    device_class: str
    format_class: str
    moe: bool
    mem_s: float  # bytes read per step / usable bandwidth, in seconds
    comm_s: float  # communication per step (tensor parallel), seconds
    batch: int
    step_s: float  # measured seconds per decode step (batch / aggregate tokens per second)
    flops_s: float = 0.0  # one sequence's compute per step at the device's peak, seconds (0 when the peak is unknown)
    active_b: float = 1.0  # active parameters, billions (per-sequence cost where the peak is unknown)


@dataclass(frozen=True)
class ClassFit:
    """Fitted parameters of one class (engine x device class, or engine across devices)."""

    a_by_format: dict[str, float]
    a_pooled: float
    overhead_s: float
    rows: int
    formats: dict[str, int]

    def a(self, format_class: str) -> float:
        return self.a_by_format.get(format_class, self.a_pooled)


@dataclass
class SpeedParams:
    by_class: dict[tuple[str, str], ClassFit] = field(default_factory=dict)
    by_engine: dict[str, ClassFit] = field(default_factory=dict)
    moe_factor: float = 1.0
    compute_factor: dict[str, float] = field(default_factory=dict)  # engine -> 1 / compute efficiency in a batch
    per_sequence_s: dict[str, float] = field(default_factory=dict)  # engine -> seconds per sequence and billion
    # active parameters per step, for devices whose peak compute is not reported
    batch_rows: dict[str, int] = field(default_factory=dict)

    def lookup(self, engine: str, device_class: str) -> tuple[ClassFit | None, str]:
        """The fit that applies and its level: 'class', 'engine' or 'default'."""
        fit = self.by_class.get((engine, device_class))
        if fit is not None and fit.rows >= MIN_ROWS:
            return fit, "class"
        fit = self.by_engine.get(engine)
        if fit is not None and fit.rows >= MIN_ROWS:
            return fit, "engine"
        return None, "default"

    def step_seconds(self, row: Row) -> float:
        fit, _ = self.lookup(row.engine, row.device_class)
        if fit is None:
            a, c = 1 / NAIVE_EFFICIENCY, 0.0
        else:
            a, c = fit.a(row.format_class), fit.overhead_s
        mem = row.mem_s * (self.moe_factor if row.moe else 1.0)
        return a * mem + c + self.batch_seconds(row) + row.comm_s

    def batch_seconds(self, row: Row) -> float:
        """The extra sequences' cost in a batched step: their compute at the engine's fitted efficiency."""
        if row.batch <= 1:
            return 0.0
        if row.flops_s > 0:
            return self.compute_factor.get(row.engine, DEFAULT_COMPUTE_FACTOR) * row.flops_s * (row.batch - 1)
        return self.per_sequence_s.get(row.engine, 0.0) * row.active_b * (row.batch - 1)


def _fit_pooled(rows: Sequence[Row], moe_factor: float) -> tuple[float, float]:
    """(a, c) minimising the squared relative error of a x + c against each measured step time."""
    u = [r.mem_s * (moe_factor if r.moe else 1.0) / (r.step_s - r.comm_s) for r in rows]
    s = [1.0 / (r.step_s - r.comm_s) for r in rows]
    suu, sus, sss = sum(x * x for x in u), sum(x * y for x, y in zip(u, s)), sum(y * y for y in s)
    su, ss = sum(u), sum(s)
    det = suu * sss - sus * sus
    a = c = None
    if det > 1e-18 * max(suu * sss, 1e-300):
        a = (su * sss - ss * sus) / det
        c = (ss * suu - su * sus) / det
    if a is None or c is None or c < 0 or a < 1.0:
        # constrained: no negative overhead, no efficiency above 1
        c = 0.0 if c is None or c < 0 else c
        a = max(1.0, su / suu) if suu else 1 / NAIVE_EFFICIENCY
        c = max(0.0, (ss - a * sus) / sss) if sss else 0.0
        a = max(1.0, (su - c * sus) / suu) if suu else a
    return a, c


def _fit_class(rows: Sequence[Row], moe_factor: float) -> ClassFit:
    a_pool, c = _fit_pooled(rows, moe_factor)
    by_format: dict[str, list[Row]] = {}
    for r in rows:
        by_format.setdefault(r.format_class, []).append(r)
    a_by_format = {}
    for fmt, group in by_format.items():
        u = [r.mem_s * (moe_factor if r.moe else 1.0) / (r.step_s - r.comm_s) for r in group]
        v = [c / (r.step_s - r.comm_s) for r in group]
        mean_u2 = statistics.fmean(x * x for x in u)
        num = sum(ui * (1 - vi) for ui, vi in zip(u, v)) + RIDGE * mean_u2 * a_pool
        den = sum(ui * ui for ui in u) + RIDGE * mean_u2
        a_by_format[fmt] = max(1.0, num / den)
    return ClassFit(a_by_format, a_pool, c, len(rows), {k: len(v) for k, v in by_format.items()})


def _shrink(fit_: ClassFit, engine: ClassFit) -> ClassFit:
    """A class's parameters pulled toward its engine's across all device classes, the more so the fewer rows it has."""
    w = fit_.rows / (fit_.rows + SHRINK_ROWS)
    formats = {f: w * a + (1 - w) * engine.a(f) for f, a in fit_.a_by_format.items()}
    return ClassFit(
        formats,
        w * fit_.a_pooled + (1 - w) * engine.a_pooled,
        w * fit_.overhead_s + (1 - w) * engine.overhead_s,
        fit_.rows,
        fit_.formats,
    )


def _moe_factor(rows: Sequence[Row], params: SpeedParams) -> float:
    ratios = []
    for r in rows:
        if not r.moe:
            continue
        fit, _ = params.lookup(r.engine, r.device_class)
        if fit is None:
            continue
        spare = r.step_s - r.comm_s - fit.overhead_s
        if spare > 0:
            ratios.append(spare / (fit.a(r.format_class) * r.mem_s))
    if not ratios:
        return 1.0
    lo, hi = MOE_FACTOR_BOUNDS
    return min(hi, max(lo, math.exp(statistics.fmean(math.log(x) for x in ratios))))


def fit(rows: Iterable[Row]) -> SpeedParams:
    """Fit every class on single-stream rows, then the MoE factor, then the per-sequence batch cost."""
    rows = [r for r in rows if r.step_s > r.comm_s and r.mem_s > 0]
    single = [r for r in rows if r.batch == 1]
    batched = [r for r in rows if r.batch > 1]
    params = SpeedParams()
    for _ in range(3):  # the MoE factor and the class fits depend on each other; three rounds settle them
        classes: dict[tuple[str, str], list[Row]] = {}
        engines: dict[str, list[Row]] = {}
        for r in single:
            classes.setdefault((r.engine, r.device_class), []).append(r)
            engines.setdefault(r.engine, []).append(r)
        params.by_engine = {k: _fit_class(v, params.moe_factor) for k, v in engines.items()}
        params.by_class = {
            k: _shrink(_fit_class(v, params.moe_factor), params.by_engine[k[0]]) for k, v in classes.items()
        }
        params.moe_factor = _moe_factor(single, params)
    by_compute: dict[str, list[float]] = {}
    by_param: dict[str, list[float]] = {}
    for r in batched:
        fit_, _ = params.lookup(r.engine, r.device_class)
        a, c = (fit_.a(r.format_class), fit_.overhead_s) if fit_ else (1 / NAIVE_EFFICIENCY, 0.0)
        spare = max(0.0, r.step_s - r.comm_s - a * r.mem_s * (params.moe_factor if r.moe else 1.0) - c)
        if r.flops_s > 0:
            by_compute.setdefault(r.engine, []).append(spare / (r.flops_s * (r.batch - 1)))
        else:
            by_param.setdefault(r.engine, []).append(spare / (r.active_b * (r.batch - 1)))
    lo, hi = COMPUTE_FACTOR_BOUNDS
    params.compute_factor = {k: min(hi, max(lo, statistics.median(v))) for k, v in by_compute.items()}
    params.per_sequence_s = {k: statistics.median(v) for k, v in by_param.items()}
    params.batch_rows = {k: len(by_compute.get(k, [])) + len(by_param.get(k, [])) for k in {*by_compute, *by_param}}
    return params


def leave_one_out(rows: Sequence[Row]) -> dict[str, float]:
    """Each row's relative error when the model is fitted without it: estimate / measured - 1."""
    rows = list(rows)
    errors = {}
    for i, row in enumerate(rows):
        params = fit(rows[:i] + rows[i + 1 :])
        errors[row.id] = row.step_s / params.step_seconds(row) - 1  # tokens/s ratio is the inverse of time ratio
    return errors


def naive_error(row: Row, bandwidth_only_s: float) -> float:
    """Relative error of bandwidth / weight bytes x 0.55 for a single-stream row."""
    estimate_tps = NAIVE_EFFICIENCY / bandwidth_only_s
    return estimate_tps * row.step_s / row.batch - 1
