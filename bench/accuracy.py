"""Write docs/accuracy.md: every estimate beside the published measurement it can be checked against.

Decode rows show the in-sample error (the speed model is fitted on these rows), the leave-one-out error
(refitted without the row: the honest figure for a configuration nobody has measured) and the error of
the naive rule other tools use (bandwidth / weight bytes x 0.55) on the same row. The summary checks
the goals of issue 13: leave-one-out median within 15% overall, within 25% in every engine x device
class with at least 3 rows, and below the naive rule's in every class.

    python bench/accuracy.py            # prints the summary and rewrites docs/accuracy.md
    python bench/accuracy.py --record-fresh fresh-2026-12-07
        # the estimator's first run on a fresh set (rows with that held_out label, not fitted on): writes
        # docs/fresh/<label>.md once and refuses to overwrite it; docs/accuracy.md quotes every recorded run
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.query import Catalog, get_catalog  # noqa: E402
from tools import memory, speed_model, throughput  # noqa: E402
from tools.common import using_catalog  # noqa: E402

GOAL_OVERALL, GOAL_CLASS = 0.15, 0.25


def decode_rows(cat: Catalog) -> list[dict]:
    """Every decode measurement with its in-sample, leave-one-out and naive estimates (tokens/s)."""
    with using_catalog(cat):
        fit_rows = throughput.measurement_rows(cat)
        params = throughput.calibration()
    calibrated = {r.id: r for r in fit_rows}
    single = [r for r in fit_rows if r.batch == 1]
    loo = speed_model.leave_one_out(single)
    loo_batch = {}
    for r in fit_rows:
        if r.batch > 1:
            others = [x for x in fit_rows if x.id != r.id]
            loo_batch[r.id] = r.step_s / speed_model.fit(others).step_seconds(r) - 1
    out = []
    for x in cat.measurements:
        if x.metric != "decode_tokens_per_s" or x.gpu is None:
            continue
        m, g, q = cat.models[x.model], cat.gpus[x.gpu], cat.quantizations[x.quantization]
        engine = memory.check_engine(x.engine, q)
        row = calibrated.get(x.id) or throughput.step_row(
            x.id,
            m,
            q,
            g,
            engine,
            x.batch_size,
            x.context_tokens or 512,
            throughput.measurement_layout(x),
            step_s=x.batch_size / x.value,
        )
        estimate = x.batch_size / params.step_seconds(row)
        with using_catalog(cat):
            naive = throughput.naive_tokens_per_s(m, q, g, row_bandwidth_gpus(x)) if x.batch_size == 1 else None
        out.append(
            {
                "id": x.id,
                "model": m.name,
                "gpu": g.name,
                "engine": engine,
                "class": row.device_class,
                "format": q.id,
                "batch": x.batch_size,
                "gpus": x.num_gpus,
                "measured": x.value,
                "estimate": estimate,
                "error": estimate / x.value - 1,
                "loo_error": loo.get(x.id, loo_batch.get(x.id, float("nan"))),
                "naive_error": naive / x.value - 1 if naive else float("nan"),
                "calibration": x.id in calibrated,
                "held_out": x.held_out,
                "moe": m.is_moe,
                "layout": "tensor" if throughput.measurement_layout(x).tensor > 1 else "layer",
                "source": x.source.url,
            }
        )
    return out


def slices(r: dict) -> list[str]:
    """The weak spots a row belongs to, beside its engine x device class."""
    out = []
    if r["gpus"] > 1 and r["layout"] == "tensor":
        out.append(f"tensor parallel, batch {'1' if r['batch'] == 1 else '> 1'}")
    if r["moe"]:
        out.append("mixture of experts")
    if r["batch"] > 1:
        out.append("batched")
    return out


def fresh_rows(cat: Catalog, label: str) -> list[dict]:
    """The estimator's figures for the rows of one fresh set, with the calibration as it stands (which leaves them
    out while use_for_calibration is false)."""
    rows = [r for r in decode_rows(cat) if r["held_out"] == label]
    if not rows:
        raise SystemExit(f"no decode measurements carry held_out: {label}")
    fitted = [r["id"] for r in rows if r["calibration"]]
    if fitted:
        raise SystemExit(f"{len(fitted)} rows of {label} are fitted on (use_for_calibration: true): {fitted[:3]}")
    return rows


def fresh_summary(rows: list[dict]) -> list[str]:
    single = [r for r in rows if r["batch"] == 1]
    lines = [
        f"{len(rows)} rows from {len({r['source'] for r in rows})} sources ({len(single)} single-stream); "
        f"median absolute error {med([r['error'] for r in rows]) * 100:.1f}% (single-stream "
        f"{med([r['error'] for r in single]) * 100:.1f}%, the naive rule on them "
        f"{med([r['naive_error'] for r in single]) * 100:.1f}%); "
        f"median signed error {statistics.median(r['error'] for r in rows) * 100:+.1f}%.",
        "",
        "| class | rows | median absolute error | median signed error | worst |",
        "|---|---|---|---|---|",
    ]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(f"{r['engine']} / {r['class']}", []).append(r)
        for name in slices(r):
            groups.setdefault(name, []).append(r)
    for name, group in sorted(groups.items()):
        errs = [r["error"] for r in group]
        lines.append(
            f"| {name} | {len(group)} | {med(errs) * 100:.0f}% | {statistics.median(errs) * 100:+.0f}% | "
            f"{max(abs(e) for e in errs) * 100:.0f}% |"
        )
    return lines


def record_fresh(cat: Catalog, label: str) -> Path:
    out = ROOT / "docs" / "fresh" / f"{label}.md"
    if out.exists():
        raise SystemExit(f"{out.relative_to(ROOT)} exists: a fresh set's first run is recorded once")
    rows = fresh_rows(cat, label)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        f"# First run of the speed estimator on {label}",
        "",
        f"Recorded by `python bench/accuracy.py --record-fresh {label}` on {dt.date.today().isoformat()}, estimator at "
        f"commit {commit or 'unknown'}, before any change made for these rows. The rows are the `held_out: {label}` "
        "entries of `catalog/data/measurements.yaml`; they were not fitted on. Error = estimate / measured - 1.",
        "",
        "## Summary",
        "",
        *fresh_summary(rows),
        "",
        "## Every row",
        "",
        "| measurement | device | engine | format | batch | GPUs | measured | estimate | error | naive |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| [{r['model']}]({r['source']}) | {r['gpu']} | {r['engine']} | {r['format']} | {r['batch']} | "
            f"{r['gpus']} | {r['measured']:.1f} | {r['estimate']:.1f} | {pct(r['error'])} | {pct(r['naive_error'])} |"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def recorded_fresh() -> list[str]:
    """The summary line of every recorded first run, for docs/accuracy.md."""
    lines = []
    for path in sorted((ROOT / "docs" / "fresh").glob("fresh-*.md")):
        text = path.read_text(encoding="utf-8").splitlines()
        summary = next((t for t in text if "median absolute error" in t and t[0].isdigit()), "")
        lines.append(f"- [{path.stem}](fresh/{path.name}) (first run, estimator not fitted on it): {summary}")
    return lines


def row_bandwidth_gpus(x) -> int:
    """GPUs whose bandwidth the naive rule adds up: tensor-parallel runs only."""
    return x.num_gpus if throughput.measurement_layout(x).tensor > 1 else 1


def memory_rows(cat: Catalog) -> list[dict]:
    rows = []
    for x in cat.measurements:
        if x.metric not in ("weights_gb", "peak_memory_gb"):
            continue
        m, q = cat.models[x.model], cat.quantizations[x.quantization]
        eng = memory.check_engine(x.engine, q) if x.engine != "auto" else memory.default_engine(q)
        with using_catalog(cat):
            est = memory.estimate(m, q, eng, x.context_tokens or 512, x.batch_size, 2.0, x.num_gpus)
        value = est.weights / 1e9 if x.metric == "weights_gb" else est.total / 1e9
        rows.append(
            {
                "id": x.id,
                "model": m.name,
                "what": x.metric,
                "format": q.id,
                "engine": eng,
                "measured": x.value,
                "estimate": value,
                "error": value / x.value - 1,
                "source": x.source.url,
            }
        )
    return rows


def prefill_rows(cat: Catalog) -> list[dict]:
    rows = []
    for x in cat.measurements:
        if x.metric != "prefill_tokens_per_s" or x.gpu is None:
            continue
        m, g, q = cat.models[x.model], cat.gpus[x.gpu], cat.quantizations[x.quantization]
        eng = memory.check_engine(x.engine, q)
        with using_catalog(cat):
            est, _ = throughput.prefill_tokens_per_s(m, q, g, eng, x.num_gpus)
        rows.append(
            {
                "id": x.id,
                "model": m.name,
                "gpu": g.name,
                "engine": eng,
                "format": q.id,
                "measured": x.value,
                "estimate": est,
                "error": est / x.value - 1 if est else float("nan"),
                "source": x.source.url,
            }
        )
    return rows


def pct(e: float) -> str:
    return "n/a" if e != e else f"{e * 100:+.0f}%"


def med(values: list[float]) -> float:
    values = [abs(v) for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def summary(rows: list[dict]) -> tuple[list[str], bool]:
    single = [r for r in rows if r["calibration"] and r["batch"] == 1]
    lines = []
    overall = med([r["loo_error"] for r in single])
    naive = med([r["naive_error"] for r in single])
    ok = overall <= GOAL_OVERALL
    lines.append(
        f"Single-stream calibration rows: {len(single)} from {len({r['source'] for r in single})} sources, "
        f"{len({r['engine'] for r in single})} engines, {len({r['gpu'] for r in single})} devices."
    )
    lines.append(
        f"Leave-one-out median absolute error: {overall * 100:.1f}% (goal <= {GOAL_OVERALL * 100:.0f}%); "
        f"the naive rule on the same rows: {naive * 100:.1f}%."
    )
    lines += [
        "",
        "| engine | device class | rows | leave-one-out median | worst | naive median | goal met |",
        "|---|---|---|---|---|---|---|",
    ]
    classes: dict[tuple[str, str], list[dict]] = {}
    for r in single:
        classes.setdefault((r["engine"], r["class"]), []).append(r)
    for (engine, dev), group in sorted(classes.items()):
        loo = med([r["loo_error"] for r in group])
        worst = max(abs(r["loo_error"]) for r in group)
        nv = med([r["naive_error"] for r in group])
        if len(group) >= speed_model.MIN_ROWS:
            met = loo <= GOAL_CLASS and loo < nv
            ok &= met
            flag = "yes" if met else "no"
        else:
            flag = "uncalibrated (< 3 rows)"
        lines.append(
            f"| {engine} | {dev} | {len(group)} | {loo * 100:.0f}% | {worst * 100:.0f}% | {nv * 100:.0f}% | {flag} |"
        )
    return lines, ok


def render(cat: Catalog) -> tuple[str, list[str]]:
    rows = decode_rows(cat)
    head, ok = summary(rows)
    with using_catalog(cat):
        params = throughput.calibration()
    lines = [
        "# Accuracy of the estimates",
        "",
        f"Generated by `python bench/accuracy.py` on {dt.date.today().isoformat()} from "
        f"`catalog/data/measurements.yaml`.",
        "Every estimate is the advisor's own figure for the configuration measured.",
        "",
        "## Decode speed: summary",
        "",
        "The speed model (`tools/speed_model.py`): time per step = bytes read / (bandwidth x efficiency of the engine "
        "on",
        "the format class and device class) + the engine's fixed cost per step on that device class + a cost per extra",
        "sequence in a batch + tensor-parallel communication; MoE reads carry one fitted slowdown factor. It is fitted",
        "on the rows marked *calibration*; **leave-one-out** refits without the row, the error to expect for a",
        "configuration nobody has measured. **Naive** is bandwidth / weight bytes x 0.55, the rule other tools use.",
        "",
        *head,
        "",
        *(
            [
                "First runs on fresh sets (rows gathered after the model was built and not fitted on when it ran; "
                "the figures that count):",
                "",
                *recorded_fresh(),
                "",
            ]
            if recorded_fresh()
            else []
        ),
        f"Overall goal met: {'yes' if ok else 'no'}. MoE slowdown factor: {params.moe_factor:.2f}. "
        "Compute efficiency of the extra sequences in a batch, per engine: "
        + ", ".join(
            f"{k} {1 / v:.2f} ({params.batch_rows.get(k, 0)} rows)" for k, v in sorted(params.compute_factor.items())
        )
        + (
            "; per sequence and billion active parameters on devices without a peak figure (ms): "
            + ", ".join(f"{k} {v * 1000:.3f}" for k, v in sorted(params.per_sequence_s.items()))
            if params.per_sequence_s
            else ""
        ),
        "",
        "## Decode speed: every measurement (tokens/s, aggregate over the batch)",
        "",
        "| measurement | device | engine | format | batch | GPUs | measured | estimate | error | leave-one-out | naive "
        "| calibration |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| [{r['model']}]({r['source']}) | {r['gpu']} | {r['engine']} | {r['format']} | {r['batch']} | "
            f"{r['gpus']} | "
            f"{r['measured']:.1f} | {r['estimate']:.1f} | {pct(r['error'])} | {pct(r['loo_error'])} | "
            f"{pct(r['naive_error'])} | {'yes' if r['calibration'] else 'no'} |"
        )
    lines += [
        "",
        "## Fitted parameters",
        "",
        "| engine | device class | rows | fixed cost per step (ms) | bandwidth efficiency by format class |",
        "|---|---|---|---|---|",
    ]
    for (engine, dev), fit in sorted(params.by_class.items()):
        effs = ", ".join(f"{fmt} {1 / a:.2f}" for fmt, a in sorted(fit.a_by_format.items()))
        lines.append(f"| {engine} | {dev} | {fit.rows} | {fit.overhead_s * 1000:.2f} | {effs} |")
    pre = prefill_rows(cat)
    if pre:
        lines += [
            "",
            "## Prefill (tokens/s)",
            "",
            "| measurement | device | engine | format | measured | estimate | error |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in pre:
            est = f"{r['estimate']:.0f}" if r["estimate"] else "not reported"
            lines.append(
                f"| [{r['model']}]({r['source']}) | {r['gpu']} | {r['engine']} | {r['format']} | "
                f"{r['measured']:.0f} | {est} | {pct(r['error'])} |"
            )
    mrows = memory_rows(cat)
    lines += [
        "",
        "## Memory",
        "",
        "| measurement | what | format | engine | measured GB | estimate GB | error |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in mrows:
        lines.append(
            f"| [{r['model']}]({r['source']}) | {r['what']} | {r['format']} | {r['engine']} | "
            f"{r['measured']:.2f} | {r['estimate']:.2f} | {pct(r['error'])} |"
        )
    if mrows:
        lines += [
            "",
            f"Memory: median absolute error {med([r['error'] for r in mrows]) * 100:.1f}%, worst "
            f"{max(abs(r['error']) for r in mrows) * 100:.1f}% (goal: median within 5%).",
        ]
    lines.append("")
    return "\n".join(lines), head


def kept_sections(path: Path) -> str:
    """The sections other scripts own (bench/recommendations.py's "Expert agreement"), kept when rewriting."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    at = old.find("\n## Expert agreement")
    return "" if at < 0 else old[at:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record-fresh", metavar="LABEL", help="record the first run on a fresh set (once)")
    args = parser.parse_args()
    cat = get_catalog()
    if args.record_fresh:
        path = record_fresh(cat, args.record_fresh)
        print("\n".join(fresh_summary(fresh_rows(cat, args.record_fresh))))
        print(f"\nwrote {path.relative_to(ROOT)}")
    text, head = render(cat)
    out = ROOT / "docs" / "accuracy.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + kept_sections(out), encoding="utf-8")
    try:
        print("\n".join(head))
        print(f"\nwrote {out.relative_to(ROOT)}")
    except BrokenPipeError:  # piped into head
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
