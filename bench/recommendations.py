"""Expert agreement: does select_models' shortlist contain what practitioners recommend for the same scenario?

Each set (bench/recommend/set_*.yaml) holds public deployment scenarios: the select_models arguments the
scenario states and the catalog ids of the models its source converges on. For each scenario this calls
select_models(**args, top_k=5) and counts a hit@3 / hit@5 when the top 3 / 5 contain a consensus model.

Agreement through a newer successor: a source cannot recommend a model released after it was written. A pick
S counts for a consensus model C ("via successor") when all of these hold:

  1. same lineage: the catalog families of S and C have the same `lineage` (qwen, qwen-coder, gemma, glm ...);
  2. newer: S.release_date is after C.release_date and after the source's date ("YYYY-MM" means the last day
     of that month; a source without a date never credits a successor);
  3. comparable size: S.params_b / C.params_b within [2/3, 3/2] (memory footprint);
  4. comparable role: active parameters per token within [2/3, 3/2] (active_params_b, or params_b for a model
     the catalog lists without it), so a dense model does not stand in for a sparse one or vice versa.

A direct hit is counted first; "via successor" is reported only where no consensus model itself is in the top k.

    python bench/recommendations.py                        # every bench/recommend/set_*.yaml
    python bench/recommendations.py --set a --failures     # set A, then the scenarios it misses at 5
    python bench/recommendations.py --set a --markdown docs/accuracy.md   # refresh the "Expert agreement" block
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import ROOT, machine  # noqa: E402
from catalog.query import Catalog, get_catalog  # noqa: E402
from tools import select_models  # noqa: E402
from tools.errors import InvalidInput  # noqa: E402

SETS = ROOT / "bench" / "recommend"
KEYS = {"id", "scenario", "source", "args", "consensus", "not_in_catalog"}
SOURCE_KEYS = {"url", "title", "published", "quote"}
SIZE_RATIO = 1.5
START, END = "<!-- expert-agreement:start -->", "<!-- expert-agreement:end -->"


@dataclass
class Outcome:
    """One scenario's result: the top 5 and which consensus models it agrees with at 3 and at 5."""

    id: str
    top: list[str]
    consensus: list[str]
    not_in_catalog: list[str]
    hit3: str | None = None  # "direct", "successor" or None
    hit5: str | None = None
    via: dict[str, str] = field(default_factory=dict)  # successor id in the top 5 -> consensus model it stands for
    error: str | None = None


def as_of(published: object) -> dt.date | None:
    """The last day a source can have known of: its date, the end of its month, or None when it gives none."""
    if published is None:
        return None
    if isinstance(published, dt.datetime):
        return published.date()
    if isinstance(published, dt.date):
        return published
    text = str(published).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        year, month = (int(x) for x in text.split("-"))
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        raise ValueError(f"published: {published!r} is not a date, a YYYY-MM month or null") from None


def _active(cat: Catalog, model_id: str) -> float:
    m = cat.models[model_id]
    return m.active_params_b if m.active_params_b is not None else m.params_b


def _within(a: float, b: float) -> bool:
    return 1 / SIZE_RATIO <= a / b <= SIZE_RATIO


def is_successor(cat: Catalog, newer: str, older: str, source_date: dt.date | None) -> bool:
    """Whether `newer` counts as agreement with the consensus model `older` for a source of `source_date`."""
    if newer == older or source_date is None:
        return False
    n, o = cat.models[newer], cat.models[older]
    if cat.families[n.family].lineage != cat.families[o.family].lineage:
        return False
    if not (n.release_date > o.release_date and n.release_date > source_date):
        return False
    return _within(n.params_b, o.params_b) and _within(_active(cat, newer), _active(cat, older))


def agreement(cat: Catalog, top: list[str], consensus: list[str], source_date: dt.date | None, k: int):
    """("direct" | "successor" | None, {successor: consensus model}) for the first k picks."""
    head = top[:k]
    if any(c in head for c in consensus):
        return "direct", {}
    via = {s: c for s in head for c in consensus if is_successor(cat, s, c, source_date)}
    return ("successor", via) if via else (None, {})


# ---------------------------------------------------------------- sets


def load_set(path: Path, cat: Catalog) -> list[dict]:
    """The scenarios of one set file, checked: every key present, every consensus id in the catalog."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        where = f"{path.name} entry {i + 1} ({e.get('id', '?')})"
        missing = KEYS - e.keys() or SOURCE_KEYS - (e.get("source") or {}).keys()
        if missing:
            raise ValueError(f"{where}: missing {sorted(missing)}")
        if e["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(e["id"])
        unknown = [c for c in e["consensus"] if c not in cat.models]
        if unknown:
            raise ValueError(f"{where}: consensus ids not in the catalog: {unknown} (use not_in_catalog)")
        as_of(e["source"]["published"])  # raises on a malformed date
    return entries


def set_paths(which: str) -> list[Path]:
    if which == "all":
        paths = sorted(SETS.glob("set_*.yaml"))
    else:
        paths = [SETS / f"set_{which}.yaml"]
    missing = [p for p in paths if not p.exists()]
    if not paths or missing:
        raise SystemExit(f"--set {which}: no set file {missing[0] if missing else SETS / 'set_*.yaml'}")
    return paths


# ---------------------------------------------------------------- run


def run_scenario(cat: Catalog, e: dict) -> Outcome:
    out = Outcome(e["id"], [], list(e["consensus"]), list(e["not_in_catalog"]))
    try:
        result = select_models(**e["args"], top_k=5)
    except (InvalidInput, TypeError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    out.top = [r["id"] for r in result["recommendations"]]
    date = as_of(e["source"]["published"])
    out.hit3, _ = agreement(cat, out.top, out.consensus, date, 3)
    out.hit5, out.via = agreement(cat, out.top, out.consensus, date, 5)
    return out


def totals(outcomes: list[Outcome]) -> dict:
    n = len(outcomes)
    t: dict = {"n": n}
    for k in (3, 5):
        kinds = [getattr(o, f"hit{k}") for o in outcomes]
        t[f"direct{k}"] = kinds.count("direct")
        t[f"successor{k}"] = kinds.count("successor")
        t[f"hit{k}"] = t[f"direct{k}"] + t[f"successor{k}"]
    t["absent"] = sum(1 for o in outcomes if not o.consensus)
    return t


def pct(a: int, n: int) -> str:
    return f"{a}/{n} ({100 * a / n:.0f}%)" if n else "0/0"


def summary_lines(name: str, t: dict) -> list[str]:
    n = t["n"]
    return [
        f"{name}: {n} scenarios ({t['absent']} whose picks are all outside the catalog)",
        f"  hit@3 {pct(t['hit3'], n)}: {t['direct3']} direct, {t['successor3']} via a newer successor",
        f"  hit@5 {pct(t['hit5'], n)}: {t['direct5']} direct, {t['successor5']} via a newer successor",
    ]


def mark(kind: str | None) -> str:
    return {"direct": "yes", "successor": "successor", None: "no"}[kind]


def table_rows(outcomes: list[Outcome]) -> list[str]:
    rows = ["| scenario | top 5 | consensus | hit@3 | hit@5 |", "|---|---|---|---|---|"]
    for o in outcomes:
        top = o.error or ", ".join(o.top) or "(none)"
        cons = ", ".join(o.consensus) or "—"
        if o.not_in_catalog:
            cons += " (not in catalog: " + ", ".join(o.not_in_catalog) + ")"
        h5 = mark(o.hit5) + ("".join(f" ({s} for {c})" for s, c in o.via.items()) if o.via else "")
        rows.append(f"| {o.id} | {top} | {cons} | {mark(o.hit3)} | {h5} |")
    return rows


# ---------------------------------------------------------------- report


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return sha.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def failure_lines(entries: dict[str, dict], outcomes: list[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        if o.hit5:
            continue
        e = entries[o.id]
        lines += [
            f"- {o.id}: {e['scenario']}",
            f"  args {e['args']}",
            f"  top 5: {o.error or ', '.join(o.top) or '(none)'}",
            f"  consensus: {', '.join(o.consensus) or '—'}; not in catalog: {', '.join(o.not_in_catalog) or '—'}",
            f"  source: {e['source']['url']} ({e['source']['published']})",
        ]
    return lines


def markdown_block(results: dict[str, list[Outcome]], stamp: str) -> str:
    command = " ".join(["python bench/recommendations.py", *sys.argv[1:]])
    lines = [START, "", f"Latest run: `{command}`, {stamp}.", ""]
    for name, outcomes in results.items():
        lines += [f"### {name}", "", "```", *summary_lines(name, totals(outcomes)), "```", ""]
        lines += [*table_rows(outcomes), ""]
    lines.append(END)
    return "\n".join(lines)


def write_markdown(path: Path, block: str) -> None:
    """Replace the block between the markers, or append an "Expert agreement" section with it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Expert agreement\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="all", help="a, b, ... or all (every bench/recommend/set_*.yaml)")
    ap.add_argument("--markdown", type=Path, help="refresh the 'Expert agreement' block of this file")
    ap.add_argument("--failures", action="store_true", help="list the scenarios missed at 5 with their sources")
    args = ap.parse_args(argv)
    cat = get_catalog()
    stamp = f"{dt.date.today().isoformat()}, commit {commit()}, {machine()}"
    print(stamp)
    results: dict[str, list[Outcome]] = {}
    for path in set_paths(args.set):
        entries = load_set(path, cat)
        name = "set " + path.stem.removeprefix("set_").upper()
        results[name] = outcomes = [run_scenario(cat, e) for e in entries]
        print("", *table_rows(outcomes), "", *summary_lines(name, totals(outcomes)), sep="\n")
        if args.failures:
            print(f"\nmissed at 5 ({name}):", *failure_lines({e["id"]: e for e in entries}, outcomes), sep="\n")
    if len(results) > 1:
        everything = [o for outcomes in results.values() for o in outcomes]
        print("", *summary_lines("all sets", totals(everything)), sep="\n")
    if args.markdown:
        write_markdown(args.markdown, markdown_block(results, stamp))
        print(f"\nwrote the Expert agreement block of {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
