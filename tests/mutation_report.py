"""Kill rate and survivors of the last `make mutation` run, read from mutmut's results under mutants/.

    python tests/mutation_report.py [--diffs] [--only 'tools/licensing.py'] [--json test-output/mutation.json]

Killed counts mutants the tests failed on, timed out on or crashed on (the timeouts among them are also counted
apart); the rate is killed / (killed + survived + mutants no test reached). Groups follow issue 19's goal: tools/
without the licence code, the licence and requirements code, and catalog/. Mutants not checked yet (an interrupted
run) are counted apart; `make mutation` resumes them. --only keeps the source files that match a pattern (fnmatch),
for a run narrowed to some mutants (`make mutation MUTANTS='tools.licensing*'`).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = {1, 3, 36, 37, 24, -24, 152, 255, -11, -9}  # failed, pytest error, timeout, type check, crash
TIMEOUT = {24, -24, 36, 152, 255}  # SIGXCPU or mutmut's own timeout: counted as killed, and apart
SURVIVED = {0}
NO_TESTS = {5, 33}


def group_of(path: str) -> str:
    if path.startswith("tools/licensing") or path.startswith("advisor/"):
        return "licence + requirements/NLU"
    if path.startswith("tools/"):
        return "tools"
    return "catalog"


def load(mutants: Path) -> dict[str, dict[str, int | None]]:
    """{source path: {mutant name: exit code}} for every file mutmut mutated."""
    out = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        source = str(meta.relative_to(mutants))[: -len(".meta")]
        out[source] = json.loads(meta.read_text())["exit_code_by_key"]
    return out


def summarize(results: dict[str, dict[str, int | None]]) -> dict:
    per_file, per_group = {}, defaultdict(Counter)
    survivors: dict[str, list[str]] = {}
    for path, codes in results.items():
        c = Counter()
        for name, code in codes.items():
            kind = (
                "not_checked"
                if code is None
                else "killed"
                if code in KILLED
                else "survived"
                if code in SURVIVED
                else "no_tests"
                if code in NO_TESTS
                else "other"
            )
            c[kind] += 1
            if code in TIMEOUT:
                c["timeout"] += 1
            if kind in ("survived", "no_tests"):
                survivors.setdefault(path, []).append(name)
        per_file[path] = dict(c)
        per_group[group_of(path)].update(c)
    total = Counter()
    for c in per_group.values():
        total.update(c)

    def rate(c) -> float | None:
        judged = c["killed"] + c["survived"] + c["no_tests"]
        return round(c["killed"] / judged, 4) if judged else None

    return {
        "files": {p: {**c, "kill_rate": rate(Counter(c))} for p, c in per_file.items()},
        "groups": {g: {**c, "kill_rate": rate(c)} for g, c in per_group.items()},
        "total": {**total, "kill_rate": rate(total)},
        "survivors": survivors,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", default=str(ROOT / "mutants"))
    ap.add_argument("--diffs", action="store_true", help="print each survivor's diff (mutmut show)")
    ap.add_argument("--json", default=str(ROOT / "test-output" / "mutation.json"))
    ap.add_argument("--only", action="append", default=[], help="report only source files matching this pattern")
    args = ap.parse_args(argv)
    results = load(Path(args.mutants))
    if args.only:
        results = {p: r for p, r in results.items() if any(fnmatch.fnmatch(p, pat) for pat in args.only)}
    if not results:
        print("no mutmut results under", args.mutants, "- run `make mutation` first", file=sys.stderr)
        return 2
    s = summarize(results)
    Path(args.json).parent.mkdir(exist_ok=True)
    Path(args.json).write_text(json.dumps(s, indent=2, sort_keys=True) + "\n")
    print(
        f"{'file':44} {'killed':>7} {'(timeout)':>9} {'survived':>8} {'no tests':>8} {'unchecked':>9} {'kill rate':>9}"
    )
    for path, c in sorted(s["files"].items()):
        r = c["kill_rate"]
        print(
            f"{path:44} {c.get('killed', 0):7} {c.get('timeout', 0):9} {c.get('survived', 0):8} "
            f"{c.get('no_tests', 0):8} {c.get('not_checked', 0):9} {'' if r is None else f'{r:.1%}':>9}"
        )
    print()
    for name, c in sorted(s["groups"].items()) + [("all", s["total"])]:
        r = c["kill_rate"]
        print(
            f"{name:30} kill rate {'n/a' if r is None else f'{r:.1%}'} ({c.get('killed', 0)} killed, of which "
            f"{c.get('timeout', 0)} timed out, "
            f"{c.get('survived', 0)} survived, {c.get('no_tests', 0)} reached by no test, "
            f"{c.get('not_checked', 0)} not checked)"
        )
    print(f"\nsurvivors ({sum(len(v) for v in s['survivors'].values())}):")
    for _path, names in sorted(s["survivors"].items()):
        for name in names:
            print(" ", name)
            if args.diffs:
                diff = subprocess.run(
                    [sys.executable, "-m", "mutmut", "show", name],
                    capture_output=True,
                    text=True,
                    cwd=Path(args.mutants).parent,
                ).stdout
                print(
                    "\n".join(
                        "    " + line
                        for line in diff.splitlines()
                        if line[:1] in "+-" and line[:3] not in ("+++", "---")
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
