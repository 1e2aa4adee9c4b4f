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
CLASS_MIN_ROWS = 5  # classes held to GOAL_CLASS


def decode_rows(cat: Catalog, cv: bool = True) -> list[dict]:
    """Every decode measurement with its estimate, its out-of-sample errors (row left out, source left out, engine
    build left out; calibration rows only) and the naive rule's (tokens/s)."""
    with using_catalog(cat):
        fit_rows = throughput.measurement_rows(cat)
        params = throughput.calibration()
        measurements = throughput.decode_measurements(cat)
        rows = {x.id: throughput.measurement_row(cat, x) for x in measurements}
    calibrated = {r.id for r in fit_rows}
    nan = float("nan")
    loo = speed_model.leave_one_out(fit_rows) if cv else {}
    loso = speed_model.grouped_cv(fit_rows, lambda r: r.source) if cv else {}
    loevo = speed_model.grouped_cv(fit_rows, lambda r: r.version) if cv else {}
    out = []
    for x in measurements:
        m, g, q = cat.models[x.model], cat.gpus[x.gpu], cat.quantizations[x.quantization]
        row = rows[x.id]
        estimate = x.batch_size / params.step_seconds(row)
        with using_catalog(cat):
            naive = throughput.naive_tokens_per_s(m, q, g, row_bandwidth_gpus(x)) if x.batch_size == 1 else None
        out.append(
            {
                "id": x.id,
                "model": m.name,
                "gpu": g.name,
                "engine": row.engine,
                "class": row.device_class,
                "format": q.id,
                "batch": x.batch_size,
                "gpus": x.num_gpus,
                "measured": x.value,
                "estimate": estimate,
                "error": estimate / x.value - 1,
                "loo_error": loo.get(x.id, nan),
                "loso_error": loso.get(x.id, nan),
                "loevo_error": loevo.get(x.id, nan),
                "naive_error": naive / x.value - 1 if naive else nan,
                "calibration": x.id in calibrated,
                "held_out": x.held_out,
                "moe": m.is_moe,
                "layout": "tensor" if throughput.measurement_layout(x).tensor > 1 else "layer",
                "source": x.source.url,
            }
        )
    return out


def interval_coverage(rows: list[dict]) -> tuple[float, int]:
    """Out-of-sample coverage of the 80% interval: each calibration row's interval is read from the leave-one-source-
    out errors of its class (as estimate_interval picks it) without its own source's, around its leave-one-source-out
    estimate."""
    cal = [r for r in rows if r["calibration"] and r["loso_error"] == r["loso_error"]]
    hits = 0
    for r in cal:
        others = [o for o in cal if o["source"] != r["source"] and (o["batch"] > 1) == (r["batch"] > 1)]
        pool = []
        for keep in (
            lambda o: o["engine"] == r["engine"] and o["class"] == r["class"],
            lambda o: o["engine"] == r["engine"],
            lambda o: True,
        ):
            pool = [o["loso_error"] for o in others if keep(o)]
            if len(pool) >= throughput.INTERVAL_MIN_ROWS:
                break
        if not pool:
            continue
        lo, hi = speed_model.interval(pool)
        estimate = r["measured"] * (1 + r["loso_error"])
        hits += estimate * lo <= r["measured"] <= estimate * hi
    return (hits / len(cal) if cal else float("nan")), len(cal)


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
    rows = [r for r in decode_rows(cat, cv=False) if r["held_out"] == label]
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


def record_fresh(cat: Catalog, label: str, tag: str | None = None) -> Path:
    out = ROOT / "docs" / "fresh" / (f"{label}--{tag}.md" if tag else f"{label}.md")
    if out.exists():
        raise SystemExit(f"{out.relative_to(ROOT)} exists: a fresh set's first run is recorded once")
    rows = fresh_rows(cat, label)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        f"# First run of the speed estimator on {label}" + (f" ({tag})" if tag else ""),
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
        lines.append(f"- [{path.stem}](fresh/{path.name}) (estimator not fitted on it): {summary}")
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
    batched = [r for r in rows if r["calibration"] and r["batch"] > 1]
    lines = []
    overall = med([r["loso_error"] for r in single])
    ok = overall <= GOAL_OVERALL
    coverage, n_cov = interval_coverage(rows)
    ok &= 0.75 <= coverage <= 0.9
    versions = [r for r in single if r["loevo_error"] == r["loevo_error"]]
    lines.append(
        f"Single-stream calibration rows: {len(single)} from {len({r['source'] for r in single})} sources, "
        f"{len({r['engine'] for r in single})} engines, {len({r['gpu'] for r in single})} devices; batched rows: "
        f"{len(batched)}."
    )
    lines.append(
        f"Leave-one-source-out median absolute error: **{overall * 100:.1f}%** (goal <= {GOAL_OVERALL * 100:.0f}%; "
        f"every row of an article, issue or run held out together); leave-one-engine-build-out "
        f"{med([r['loevo_error'] for r in versions]) * 100:.1f}% on the {len(versions)} rows whose build is "
        f"published; row-level leave-one-out {med([r['loo_error'] for r in single]) * 100:.1f}%; the naive rule on "
        f"the same rows {med([r['naive_error'] for r in single]) * 100:.1f}%. Batched rows, source left out: "
        f"{med([r['loso_error'] for r in batched]) * 100:.1f}%."
    )
    lines.append(
        f"The 80% interval held {coverage * 100:.0f}% of {n_cov} calibration rows out of sample (each row's interval "
        "from other sources' leave-one-source-out errors of its class, around its own leave-one-source-out estimate; "
        "goal 75-90%)."
    )
    lines += [
        "",
        "| engine | device class | rows | source left out | build left out | row left out | worst (source out) "
        "| naive | goal met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    classes: dict[tuple[str, str], list[dict]] = {}
    for r in single:
        classes.setdefault((r["engine"], r["class"]), []).append(r)
    for (engine, dev), group in sorted(classes.items()):
        loso = med([r["loso_error"] for r in group])
        loevo = med([r["loevo_error"] for r in group])
        if len(group) >= CLASS_MIN_ROWS:
            met = loso <= GOAL_CLASS
            ok &= met
            flag = "yes" if met else "no"
        else:
            flag = f"(< {CLASS_MIN_ROWS} rows)"
        lines.append(
            f"| {engine} | {dev} | {len(group)} | {loso * 100:.0f}% | "
            f"{'n/a' if loevo != loevo else f'{loevo * 100:.0f}%'} | "
            f"{med([r['loo_error'] for r in group]) * 100:.0f}% | "
            f"{max(abs(r['loso_error']) for r in group) * 100:.0f}% | "
            f"{med([r['naive_error'] for r in group]) * 100:.0f}% | {flag} |"
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
        "The speed model (`tools/speed_model.py`): time per step = dense bytes read / (bandwidth x tensor-parallel "
        "GPUs x",
        "efficiency) + routed-expert bytes / (the same bandwidth x expert efficiency) + a cost per step + a cost per "
        "layer",
        "(larger without CUDA graphs) + expert routing per MoE layer + a dequantisation floor on CPUs + an all-reduce "
        "latency",
        "per layer and log2(tensor-parallel GPUs) by interconnect + layer-split hops + the extra sequences' compute "
        "in a batch.",
        "The constants are fitted on every calibration row together: global physical defaults, each device class's "
        "and each",
        "engine's deviation, each engine-on-device-class deviation (shrunk toward the composed value the fewer rows it "
        "has),",
        "format deltas and link latencies. **Source left out** refits without every row of the row's article, issue "
        "or run:",
        "the error to expect for a set-up nobody has measured, and the figure that counts. **Build left out** holds "
        "out every",
        "row of one published engine build. **Naive** is bandwidth / weight bytes x 0.55, the rule other tools use.",
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
        f"Overall goal met: {'yes' if ok else 'no'}. Compute efficiency of the extra sequences in a batch, per "
        "engine: "
        + ", ".join(
            f"{k} {1 / v:.2f} ({params.batch_rows.get(k, 0)} rows)" for k, v in sorted(params.compute_factor.items())
        )
        + (
            "; per sequence and billion active parameters on devices without a peak figure (ms): "
            + ", ".join(f"{k} {v * 1000:.3f}" for k, v in sorted(params.per_sequence_s.items()))
            if params.per_sequence_s
            else ""
        )
        + ". All-reduce latency per layer and log2(GPUs) step: "
        + ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in sorted(params.link_s.items()))
        + ".",
        "",
        "## Decode speed: every measurement (tokens/s, aggregate over the batch)",
        "",
        "| measurement | device | engine | format | batch | GPUs | measured | estimate | error | source left out "
        "| build left out | naive | calibration |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fitted = "yes" if r["calibration"] else f"no ({r['held_out']})" if r["held_out"] else "no"
        lines.append(
            f"| [{r['model']}]({r['source']}) | {r['gpu']} | {r['engine']} | {r['format']} | {r['batch']} | "
            f"{r['gpus']} | "
            f"{r['measured']:.1f} | {r['estimate']:.1f} | {pct(r['error'])} | {pct(r['loso_error'])} | "
            f"{pct(r['loevo_error'])} | {pct(r['naive_error'])} | {fitted} |"
        )
    lines += [
        "",
        "## Fitted parameters",
        "",
        "| engine | device class | rows | bandwidth efficiency by format class | expert efficiency | per step (ms) "
        "| per layer (us) | per layer, no CUDA graphs (us) | per MoE layer (us) | CPU dequantisation (ms per B) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (engine, dev), fit in sorted(params.by_class.items()):
        effs = ", ".join(f"{fmt} {1 / a:.2f}" for fmt, a in sorted(fit.a_by_format.items()))
        lines.append(
            f"| {engine} | {dev} | {fit.rows} | {effs} | {1 / fit.a_expert:.2f} | {fit.step_s * 1000:.2f} | "
            f"{fit.layer_s * 1e6:.0f} | {fit.eager_layer_s * 1e6:.0f} | {fit.moe_layer_s * 1e6:.0f} | "
            f"{fit.dequant_s * 1000:.2f} |"
        )
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


KEPT_SECTIONS = ("Decode speed: calibration rows added", "Expert agreement")


def kept_sections(path: Path) -> str:
    """The sections written by hand (the record of calibration rows added, with the figures before and after) and
    by other scripts (bench/recommendations.py's "Expert agreement"), kept when rewriting: everything from the first
    of them on."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    found = [at for at in (old.find(f"\n## {title}") for title in KEPT_SECTIONS) if at >= 0]
    return old[min(found) :] if found else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record-fresh", metavar="LABEL", help="record the first run on a fresh set (once)")
    parser.add_argument("--tag", help="with --record-fresh: the first run of a changed estimator on the same set")
    args = parser.parse_args()
    cat = get_catalog()
    if args.record_fresh:
        path = record_fresh(cat, args.record_fresh, args.tag)
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
