"""Run a set of hand-written semantic mutants against the project's unit selection, and report kills per module.

    python tests/semantic_mutants.py                       # the set in tests/mutants/fresh-2026-12
    python tests/semantic_mutants.py SET_DIR --only 'cost-*'
    python tests/semantic_mutants.py --all-tests           # every mutant against the whole unit selection

A mutant is a patch file (``<module>-<nn>-<what>.patch``): its first paragraph says what the change does to the
advice, the rest is a unified diff against the tree. Each is applied to a scratch copy of the working tree (tracked
and untracked, not ignored, files), the unit selection runs against it, and the patch is reverted. The unit
selection is the one ``make mutation`` gives mutmut: ``[tool.mutmut]``'s ``pytest_add_cli_args`` and
``pytest_add_cli_args_test_selection`` in pyproject.toml, with property tests at a fifth of their examples
(``ADVISOR_EXAMPLES_SCALE=0.2``, as ``make mutation`` runs them; ``--examples-scale`` changes it). A mutant is killed
when a test fails (the run stops at the first, ``-x``); the failing test is then run again on the unmutated copy,
and a test that fails there too is a false kill, reported and not counted.

Only the tests that can see a mutant are run (unless ``--all-tests``), as mutmut runs only the tests that reach a
mutated function: each test file of the selection is first run once on the unmutated copy, in a process of its own,
under coverage.py with the running test's id as the context, tracing only the mutated files and the files that read a
constant a mutant changes. A mutant that changes a line inside a function runs the tests that executed that line; one
that changes a module-level statement (a constant) runs the tests that executed a line reading a name it assigns (in
any project module), and the whole of a test file that names the constant itself; a test file where the line ran
outside any test (at import) runs whole. A test that executes none of the changed code runs exactly as on the
unmutated tree, so it cannot fail because of the mutant; leaving it out changes no verdict, with one exception shared
with mutmut: a test reading a value an earlier test cached (the tools cache per catalog) without calling the mutated
code is not run. The map is cached by a hash of the tree (``--map-dir``). Without coverage.py installed (``make
.venv/.installed-mutation``), every mutant runs the whole selection. The lines a mutant changes are found by applying
it (a patch made on an older tree applies at an offset).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT / "tests" / "mutants" / "fresh-2026-12"
PROJECT_DIRS = ("tools", "advisor", "catalog")
MODULE_OF = {  # the name a patch file starts with -> the source file it mutates (for the report)
    "memory": "tools/memory.py",
    "cost": "tools/cost.py",
    "deploy": "tools/deploy.py",
    "grounding": "advisor/grounding.py",
    "throughput": "tools/throughput.py",
    "speed_model": "tools/speed_model.py",
    "selection": "tools/selection.py",
    "ranking": "tools/ranking.py",
    "nlu": "advisor/nlu",
    "licensing": "tools/licensing.py",
}


@dataclass
class Mutant:
    path: Path
    module: str
    why: str
    files: list[str]  # source files it changes
    changed: dict[str, list[int]] = field(default_factory=dict)  # file -> original line numbers it touches

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # killed | survived | no_test | error | timeout | false_kill
    by: str = ""
    tests_run: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)


def read_mutant(path: Path) -> Mutant:
    text = path.read_text()
    why = text.split("\n\n", 1)[0].strip()
    files = list(dict.fromkeys(re.findall(r"^--- a/(\S+)", text, re.M)))
    return Mutant(path, path.stem.split("-", 1)[0], why, files)


def changed_lines(scratch: Path, mutant: Mutant) -> dict[str, list[int]]:
    """{file: lines of the unmutated file the mutant changes}, found by applying it (a patch made on an older tree
    applies at an offset, so its hunk headers' line numbers are not trusted). An inserted line counts as the line
    before it: that one deciding whether it runs."""
    before = {f: (scratch / f).read_text().splitlines() for f in mutant.files}
    subprocess.run(["git", "apply", str(mutant.path)], cwd=scratch, check=True)
    try:
        after = {f: (scratch / f).read_text().splitlines() for f in mutant.files}
    finally:
        subprocess.run(["git", "apply", "-R", str(mutant.path)], cwd=scratch, check=True)
    out: dict[str, list[int]] = {}
    for f in mutant.files:
        lines: set[int] = set()
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, before[f], after[f], autojunk=False).get_opcodes():
            if tag in ("replace", "delete"):
                lines.update(range(i1 + 1, i2 + 1))
            elif tag == "insert":
                lines.add(max(i1, 1))
        out[f] = sorted(lines)
    return out


def unit_selection() -> tuple[list[str], list[str]]:
    """The paths and the options of [tool.mutmut]'s test selection, plus its extra pytest arguments."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    sel = list(cfg["pytest_add_cli_args_test_selection"])
    paths = [a for a in sel if not a.startswith("-") and (ROOT / a).exists() and not _is_option_value(sel, a)]
    options = [a for a in sel if a not in paths]
    return paths, options + list(cfg.get("pytest_add_cli_args", []))


def _is_option_value(args: list[str], a: str) -> bool:
    i = args.index(a)
    return i > 0 and args[i - 1] in ("-m", "-k")


def scratch_copy() -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    dest = Path(tempfile.mkdtemp(prefix="semantic-mutants-"))
    for f in filter(None, files):
        src = ROOT / f.decode()
        if src.is_file():
            (dest / f.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f.decode())
    return dest


def copy_of(scratch: Path) -> Path:
    dest = Path(tempfile.mkdtemp(prefix="semantic-mutants-"))
    shutil.copytree(scratch, dest, dirs_exist_ok=True)
    return dest


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        if ".venv" not in p.parts and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    h.update((root / "pyproject.toml").read_bytes())
    return h.hexdigest()[:16]


def env_for(scratch: Path, scale: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(scratch) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["ADVISOR_EXAMPLES_SCALE"] = scale
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a patched file must never be read from a stale .pyc
    return env


def pytest_cmd(targets: list[str], options: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *targets, *options, "-q", "-x", "-rf", "-p", "no:randomly"]


def selected_files(scratch: Path, paths: list[str], options: list[str], env: dict) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *paths, *options, "--collect-only", "-q", "-p", "no:randomly"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    files = []
    for line in out.stdout.splitlines():
        if "::" in line:
            f = line.split("::", 1)[0]
            if f not in files:
                files.append(f)
    if not files:
        sys.exit(f"collecting the unit selection found no tests:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return files


CONTEXT_PLUGIN = """import coverage, pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cov = coverage.Coverage.current()
    if cov:
        cov.switch_context(item.nodeid)
    yield
    if cov:
        cov.switch_context("")
"""


def coverage_map(
    scratch: Path, files: list[str], sources: list[str], options: list[str], env, cache: Path, jobs: int = 1
) -> dict:
    """{"lines": {test file: {source file: {line: [test ids that ran it]}}}, "seconds": {test file: s}, "failing":
    [test files]}, one process per test file on the unmutated copy (``jobs`` at once), each file's entry cached as
    soon as it is done, so an interrupted map resumes. A line run outside any test (at import, in collection) is
    listed with the id "". Like mutmut's own map, it sees what runs in the test's process (a server a test starts as
    a subprocess is not followed, and mutmut does not run such a test for a mutant either)."""
    from concurrent.futures import ThreadPoolExecutor

    from coverage import CoverageData

    digest = hashlib.sha256(" ".join(sorted(sources) + options).encode()).hexdigest()[:8]
    folder = cache / f"map-{tree_hash(scratch)}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    (scratch / "_semantic_mutants_ctx.py").write_text(CONTEXT_PLUGIN)
    include = ",".join(str(scratch / f) for f in sources)
    done = [0]

    def one(i: int, tf: str) -> dict:
        entry = folder / (tf.replace("/", "__") + ".json")
        if entry.exists():
            return json.loads(entry.read_text())
        data_file = scratch / f".coverage-map-{i}"
        t0 = time.time()
        cmd = [sys.executable, "-m", "coverage", "run", f"--data-file={data_file}", f"--include={include}"]
        proc = subprocess.run(
            [*cmd, "-m", "pytest", tf, *options, "-q", "-p", "no:randomly", "-p", "_semantic_mutants_ctx"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        failing = proc.returncode not in (0, 5)
        if failing:
            # a file failing on the unmutated tree cannot judge a mutant: it is left out, and said so
            print(f"  {tf} FAILS on the unmutated tree; left out of every mutant's run:\n{proc.stdout[-1500:]}")
        data = CoverageData(str(data_file))
        data.read()
        lines = {
            str(Path(f).resolve().relative_to(scratch.resolve())): {
                str(n): sorted(set(ids)) for n, ids in data.contexts_by_lineno(f).items()
            }
            for f in data.measured_files()
        }
        data_file.unlink(missing_ok=True)
        out = {"lines": lines, "seconds": round(time.time() - t0, 1), "failing": failing}
        entry.write_text(json.dumps(out))
        done[0] += 1
        print(f"  map {tf} ({out['seconds']:.0f} s; {done[0]} mapped)", flush=True)
        return out

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        entries = dict(zip(files, pool.map(one, range(len(files)), files)))
    (scratch / "_semantic_mutants_ctx.py").unlink()
    return {
        "lines": {tf: e["lines"] for tf, e in entries.items()},
        "seconds": {tf: e["seconds"] for tf, e in entries.items()},
        "failing": [tf for tf, e in entries.items() if e["failing"]],
    }


def _function_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            for stmt in body:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _assigned_names(tree: ast.Module, lines: list[int]) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if any(stmt.lineno <= n <= (stmt.end_lineno or stmt.lineno) for n in lines):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
    return names


def _reading_lines(scratch: Path, names: set[str]) -> dict[str, set[int]]:
    """Lines in project modules, inside functions, that read any of ``names``."""
    out: dict[str, set[int]] = {}
    for d in PROJECT_DIRS:
        for p in (scratch / d).rglob("*.py"):
            tree = ast.parse(p.read_text())
            inside = _function_lines(tree)
            rel = str(p.relative_to(scratch))
            for node in ast.walk(tree):
                hit = (isinstance(node, ast.Name) and node.id in names) or (
                    isinstance(node, ast.Attribute) and node.attr in names
                )
                if hit and node.lineno in inside:
                    out.setdefault(rel, set()).add(node.lineno)
    return out


def mapped_sources(scratch: Path, mutants: list[Mutant]) -> list[str]:
    """The project files whose lines decide which tests see a mutant: the files the mutants change, and the files with
    a function reading a name a mutated module-level statement assigns (HOURS_PER_MONTH of cost.py is read in
    deploy.py). Tracing only these, not every project module, makes the map several times cheaper."""
    return sorted({f for m in mutants for f in wanted_lines(scratch, m)[0]})


def wanted_lines(scratch: Path, mutant: Mutant) -> tuple[dict[str, set[int]], set[str]]:
    """{file: lines} whose execution means a test can see the mutant, and the module-level names it assigns."""
    wanted: dict[str, set[int]] = {}
    names: set[str] = set()
    for f, lines in mutant.changed.items():
        tree = ast.parse((scratch / f).read_text())
        inside = _function_lines(tree)
        in_functions = {n for n in lines if n in inside}
        wanted.setdefault(f, set()).update(in_functions)
        if set(lines) - in_functions:
            names |= _assigned_names(tree, sorted(set(lines) - in_functions))
    if names:
        for f, lines in _reading_lines(scratch, names).items():
            wanted.setdefault(f, set()).update(lines)
    return wanted, names


def relevant_files(scratch: Path, mutant: Mutant, cmap: dict) -> list[str]:
    """The tests that ran a line the mutant changes (or that reads a name it assigns), as test ids; a whole test file
    where such a line ran outside any test (at import) or the file names such a name itself. Quickest files first."""
    wanted, names = wanted_lines(scratch, mutant)
    out = []
    for tf, covered in sorted(cmap["lines"].items(), key=lambda kv: cmap["seconds"][kv[0]]):
        if tf in cmap["failing"]:
            continue
        ids = {i for f, lines in wanted.items() for n in lines for i in covered.get(f, {}).get(str(n), ())}
        if "" in ids or any(re.search(rf"\b{re.escape(n)}\b", (scratch / tf).read_text()) for n in names):
            out.append(tf)
        else:
            out.extend(sorted(ids))
    return out


def run_mutant(
    scratch: Path,
    mutant: Mutant,
    targets: list[str],
    options: list[str],
    env,
    timeout: int,
    passing: frozenset = frozenset(),
) -> Outcome:
    """``passing``: test ids seen passing on the unmutated copy in this run; a kill by one is not re-checked."""
    if not targets:
        return Outcome(mutant, "no_test")
    subprocess.run(["git", "apply", str(mutant.path)], cwd=scratch, check=True)
    t0 = time.time()
    try:
        proc = subprocess.run(
            pytest_cmd(targets, options), cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return Outcome(mutant, "timeout", seconds=time.time() - t0, files=targets)
    finally:
        subprocess.run(["git", "apply", "-R", str(mutant.path)], cwd=scratch, check=True)
    seconds = time.time() - t0
    m = re.search(r"(\d+) passed", proc.stdout)
    passed = int(m.group(1)) if m else 0
    if proc.returncode == 0:
        return Outcome(mutant, "survived", tests_run=passed, seconds=seconds, files=targets)
    if proc.returncode == 5:
        return Outcome(mutant, "no_test", seconds=seconds, files=targets)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.M)
    if proc.returncode != 1 or not failed:
        return Outcome(mutant, "error", by=(proc.stdout + proc.stderr)[-400:], seconds=seconds, files=targets)
    # a kill counts only if the test passes on the unmutated copy
    if failed[0] in passing:
        return Outcome(mutant, "killed", by=failed[0], tests_run=passed + 1, seconds=seconds, files=targets)
    check = subprocess.run(
        pytest_cmd([failed[0]], options), cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check.returncode == 1:  # it fails unmutated too
        return Outcome(mutant, "false_kill", by=failed[0], tests_run=passed, seconds=seconds, files=targets)
    by = failed[0] + ("" if check.returncode == 0 else " (not re-checked: the test id did not run alone)")
    return Outcome(mutant, "killed", by=by, tests_run=passed + 1, seconds=seconds, files=targets)


def report(outcomes: list[Outcome]) -> str:
    rows = ["| module | mutants | killed | survived | kill rate |", "|---|---|---|---|---|"]
    by_module: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_module.setdefault(o.mutant.module, []).append(o)
    for module, os_ in by_module.items():
        killed = sum(o.verdict in ("killed", "timeout") for o in os_)
        rows.append(
            f"| {module} (`{MODULE_OF.get(module, '?')}`) | {len(os_)} | {killed} | {len(os_) - killed} | "
            f"{100 * killed / len(os_):.0f}% |"
        )
    killed = sum(o.verdict in ("killed", "timeout") for o in outcomes)
    n = len(outcomes)
    rows.append(f"| **all** | {n} | {killed} | {n - killed} | {100 * killed / n:.0f}% |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("set_dir", nargs="?", type=Path, default=DEFAULT_SET)
    ap.add_argument("--only", default="*", help="fnmatch patterns on mutant names, comma-separated, e.g. 'cost-*'")
    ap.add_argument(
        "--tests",
        nargs="+",
        metavar="TEST_FILE",
        help="run these test files whole for every mutant instead of the tests the map selects (e.g. a first run's "
        "survivors against the tests added since)",
    )
    ap.add_argument("--all-tests", action="store_true", help="run the whole unit selection for every mutant")
    ap.add_argument("--examples-scale", default="0.2", help="ADVISOR_EXAMPLES_SCALE (make mutation's 0.2)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per mutant before it counts as a timeout")
    ap.add_argument("--map-dir", type=Path, default=Path(tempfile.gettempdir()) / "semantic-mutants-map")
    ap.add_argument("--json", type=Path, help="write every outcome here")
    ap.add_argument("--jobs", type=int, default=1, help="test processes at once (map and mutants; 1 on a shared box)")
    args = ap.parse_args(argv)

    patterns = args.only.split(",")
    patches = sorted(args.set_dir.glob("*.patch"))
    mutants = [read_mutant(p) for p in patches if any(fnmatch.fnmatch(p.stem, o) for o in patterns)]
    if not mutants:
        sys.exit(f"no mutants matching {args.only!r} in {args.set_dir}")
    paths, options = unit_selection()
    scratch = scratch_copy()
    env = env_for(scratch, args.examples_scale)
    try:
        where = subprocess.run(
            [sys.executable, "-c", "import tools, advisor; print(tools.__file__)"],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not Path(where).resolve().is_relative_to(scratch.resolve()):
            sys.exit(f"the scratch copy's code is not the one imported ({where}); is PYTHONPATH honoured?")
        for m in mutants:
            m.changed = changed_lines(scratch, m)
        files = [] if args.tests else selected_files(scratch, paths, options, env)
        try:
            import coverage  # noqa: F401

            have_coverage = True
        except ImportError:
            have_coverage = False
        cmap = None
        passing: frozenset = frozenset()
        if args.tests:
            print(f"every mutant runs {', '.join(args.tests)} (whole files)", flush=True)
            base = subprocess.run(
                [sys.executable, "-m", "pytest", *args.tests, *options, "-q", "-rA", "-p", "no:randomly"],
                cwd=scratch,
                env=env,
                capture_output=True,
                text=True,
            )
            passing = frozenset(re.findall(r"^PASSED (\S+)", base.stdout, re.M))
            print(f"{len(passing)} tests pass on the unmutated copy (a kill by one of them is not re-checked)")
        elif not args.all_tests and have_coverage:
            sources = mapped_sources(scratch, mutants)
            print(f"mapping which lines of {', '.join(sources)} each of the {len(files)} test files runs", flush=True)
            cmap = coverage_map(scratch, files, sources, options, env, args.map_dir, args.jobs)
        elif not args.all_tests:
            print("coverage.py is not installed: every mutant runs the whole unit selection", flush=True)
        # each worker applies its mutants in a scratch copy of its own
        copies = [scratch] + [copy_of(scratch) for _ in range(args.jobs - 1)]
        free: queue.Queue[Path] = queue.Queue()
        for c in copies:
            free.put(c)
        counter = [0]

        def judge(m: Mutant) -> Outcome:
            where = free.get()
            try:
                targets = args.tests or (relevant_files(where, m, cmap) if cmap is not None else list(paths))
                o = run_mutant(where, m, targets, options, env_for(where, args.examples_scale), args.timeout, passing)
            finally:
                free.put(where)
            counter[0] += 1
            print(
                f"[{counter[0]}/{len(mutants)}] {m.name}: {o.verdict}"
                + (f" by {o.by}" if o.verdict in ("killed", "false_kill") else "")
                + (
                    f" ({o.tests_run} tests passed, {len(o.files)} test ids or files)"
                    if o.verdict == "survived"
                    else ""
                )
                + f" [{o.seconds:.0f} s]"
                + (f"\n    {o.by}" if o.verdict == "error" else ""),
                flush=True,
            )
            return o

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(judge, mutants))
        for c in copies[1:]:
            shutil.rmtree(c, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(report(outcomes))
    survivors = [o for o in outcomes if o.verdict not in ("killed", "timeout")]
    if cmap is not None and cmap["failing"]:
        print(f"\nleft out (failing on the unmutated tree): {', '.join(cmap['failing'])}")
    if survivors:
        print("\nnot killed:")
        for o in survivors:
            print(f"- {o.mutant.name} ({o.verdict}): {o.mutant.why}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "mutant": o.mutant.name,
                        "module": o.mutant.module,
                        "verdict": o.verdict,
                        "by": o.by,
                        "seconds": round(o.seconds, 1),
                        "test_files": o.files,
                    }
                    for o in outcomes
                ],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
