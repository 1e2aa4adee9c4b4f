"""The shape the code keeps (issue 15): no function in app.py or advisor/ runs past about a screen, no import cycle
between the project's modules (counting imports inside functions), and no package reaches into another's private
names. ruff (lint and format) and mypy, which `make test` runs before pytest, keep the rest."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app.py", "advisor", "tools", "catalog", "prompts")
SCREEN = 60  # lines of formatted code (ruff format): a function longer than this is split into named steps


def _modules() -> dict[str, Path]:
    found = {}
    for entry in PACKAGES:
        path = ROOT / entry
        for file in [path] if path.suffix == ".py" else sorted(path.rglob("*.py")):
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


MODULES = _modules()
TOPS = {name.split(".")[0] for name in MODULES}


def _imports(name: str, file: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in the file, at any depth."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                out.append((submodule, []) if submodule in MODULES else (base, [alias.name]))
    return out


def test_no_import_runs_up_to_the_entry_point():
    """app.py is only the entry point (`python app.py`): the server is advisor/server.py, and no package imports app."""
    upward = [
        name for name, file in MODULES.items() if name != "app" for base, _ in _imports(name, file) if base == "app"
    ]
    assert upward == []


def test_no_function_in_app_or_advisor_runs_past_a_screen():
    long = []
    for name, file in MODULES.items():
        if not (name == "app" or name.startswith("advisor")):
            continue
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > SCREEN:
                    long.append(f"{file.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these into named steps:\n" + "\n".join(long)


def test_no_import_cycles():
    graph = {name: {m for m, _ in _imports(name, file) if m in MODULES and m != name} for name, file in MODULES.items()}
    cycles = []
    for start in graph:  # a cycle through start: start reaches a module that reaches start
        seen, todo = set(), list(graph[start])
        while todo:
            current = todo.pop()
            if current == start:
                cycles.append(start)
                break
            if current not in seen:
                seen.add(current)
                todo += graph[current]
    assert not cycles, f"modules on an import cycle: {sorted(cycles)}"


def test_no_private_names_taken_across_packages():
    taken = []
    for name, file in MODULES.items():
        for module, names in _imports(name, file):
            if module.split(".")[0] in TOPS and module.split(".")[0] != name.split(".")[0]:
                taken += [f"{name} takes {module}.{n}" for n in names if n.startswith("_")]
                taken += [f"{name} imports {module}" for part in module.split(".") if part.startswith("_")]
    assert not taken, taken
