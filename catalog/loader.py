"""Load the catalog's YAML files, validate them, and cross-check their references."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from catalog.names import normalize
from catalog.schema import (
    Adoption,
    AdoptionFile,
    ApiPrice,
    BenchmarkDef,
    BenchmarksFile,
    Evaluation,
    EvaluationsFile,
    FamiliesFile,
    Family,
    Gpu,
    GpuPricesFile,
    GpusFile,
    License,
    LicensesFile,
    Measurement,
    MeasurementsFile,
    Model,
    ModelsFile,
    Price,
    PricesFile,
    Quantization,
    QuantizationsFile,
    Rental,
)

FileT = TypeVar("FileT", bound=BaseModel)

DATA_DIR = Path(__file__).resolve().parent / "data"


def data_dir() -> Path:
    """The catalog folder: ``ADVISOR_CATALOG_DIR`` if set, else the one shipped with the package."""
    return Path(os.environ.get("ADVISOR_CATALOG_DIR") or DATA_DIR)


@dataclass
class Problem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


class CatalogError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"the catalog has {len(problems)} problem(s):\n{shown}{more}")


@dataclass
class RawCatalog:
    models: list[Model] = field(default_factory=list)
    licenses: list[License] = field(default_factory=list)
    gpus: list[Gpu] = field(default_factory=list)
    prices: list[ApiPrice] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    benchmarks: list[BenchmarkDef] = field(default_factory=list)
    quantizations: list[Quantization] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    adoption: list[Adoption] = field(default_factory=list)
    rentals: list[Rental] = field(default_factory=list)
    model_files: dict[str, str] = field(default_factory=dict)  # model id -> file name


# libyaml's parser (same safe constructor) reads the catalog about 9x faster than the pure-Python one.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _safe_load(text: str) -> Any:
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            pass  # report the problem exactly as the pure-Python parser words it
    return yaml.safe_load(text)


def _read_yaml(path: Path, problems: list[Problem], label: str) -> Any:
    try:
        return _safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.append(Problem(label, "", f"not valid YAML: {exc}"))
    except OSError as exc:
        problems.append(Problem(label, "", f"cannot be read: {exc}"))
    return None


def _entry_label(data: Any, loc: tuple) -> str:
    """Turn a pydantic error location into 'models[llama-3.1-8b].architecture.kv_heads'."""
    parts: list[str] = []
    node = data
    for _i, key in enumerate(loc):
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            label = item.get("id") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label or key}]"]
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def _parse(path: Path, schema: type[FileT], problems: list[Problem], label: str) -> FileT | None:
    data = _read_yaml(path, problems, label)
    if data is None:
        return None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(Problem(label, _entry_label(data, err["loc"]), err["msg"]))
    return None


def load_raw(directory: Path | None = None) -> tuple[RawCatalog, list[Problem]]:
    """Parse every file; return what parsed and every problem found (schema and references)."""
    root = Path(directory) if directory else data_dir()
    problems: list[Problem] = []
    raw = RawCatalog()

    singles: dict[str, tuple[type[BaseModel], str]] = {
        "licenses.yaml": (LicensesFile, "licenses"),
        "gpus.yaml": (GpusFile, "gpus"),
        "prices.yaml": (PricesFile, "prices"),
        "families.yaml": (FamiliesFile, "families"),
        "benchmarks.yaml": (BenchmarksFile, "benchmarks"),
        "quantizations.yaml": (QuantizationsFile, "quantizations"),
        "measurements.yaml": (MeasurementsFile, "measurements"),
    }
    optional: dict[str, tuple[type[BaseModel], str]] = {
        "evaluations.yaml": (EvaluationsFile, "evaluations"),
        "adoption.yaml": (AdoptionFile, "adoption"),
        "gpu_prices.yaml": (GpuPricesFile, "rentals"),
    }
    for name, (schema, attr) in {**singles, **optional}.items():
        path = root / name
        if not path.exists():
            if name in singles:
                problems.append(Problem(name, "", "file is missing"))
            continue
        parsed = _parse(path, schema, problems, name)
        if parsed is not None:
            setattr(raw, attr, list(getattr(parsed, attr)))
    raw.gpus = [device for gpu in raw.gpus for device in gpu.expand()]

    model_dir = root / "models"
    files = sorted(model_dir.glob("*.yaml")) if model_dir.is_dir() else []
    if not files:
        problems.append(Problem("models/", "", "no model files"))
    for path in files:
        label = f"models/{path.name}"
        parsed = _parse(path, ModelsFile, problems, label)
        if parsed is None:
            continue
        for model in parsed.models:
            raw.models.append(model)
            raw.model_files.setdefault(model.id, label)
        raw.families.extend(parsed.families)
        raw.licenses.extend(parsed.licenses)
        raw.benchmarks.extend(parsed.benchmarks)

    problems.extend(cross_check(raw))
    if not problems:
        raw.gpus = attach_rentals(raw.gpus, raw.rentals)
    return raw, problems


def attach_rentals(gpus: list[Gpu], rentals: list[Rental]) -> list[Gpu]:
    """Add gpu_prices.yaml's rental rows to their devices' cloud_hourly lists."""
    by_gpu: dict[str, list[Rental]] = {}
    for rental in rentals:
        by_gpu.setdefault(rental.gpu, []).append(rental)
    out = []
    for gpu in gpus:
        extra = by_gpu.get(gpu.id)
        if extra:
            prices = [
                *gpu.cloud_hourly,
                *(Price.model_validate(r.model_dump(include=set(Price.model_fields))) for r in extra),
            ]
            gpu = gpu.model_copy(update={"cloud_hourly": prices})
        out.append(gpu)
    return out


def cross_check(raw: RawCatalog) -> list[Problem]:
    """References between files, duplicate ids and aliases."""

    problems: list[Problem] = []
    license_ids = {lic.id for lic in raw.licenses}
    family_ids = {fam.id for fam in raw.families}
    bench_ids = {b.id for b in raw.benchmarks}
    model_ids = {m.id for m in raw.models}

    def dupes(kind: str, file: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for ident in ids:
            if ident in seen:
                problems.append(Problem(file, f"{kind}[{ident}]", "duplicate id"))
            seen.add(ident)

    dupes("licenses", "licenses.yaml", [x.id for x in raw.licenses])
    dupes("gpus", "gpus.yaml", [x.id for x in raw.gpus])
    dupes("prices", "prices.yaml", [x.id for x in raw.prices])
    dupes("families", "families.yaml", [x.id for x in raw.families])
    dupes("benchmarks", "benchmarks.yaml", [x.id for x in raw.benchmarks])
    dupes("models", "models/", [x.id for x in raw.models])

    for lic in raw.licenses:
        if lic.superseded_by and lic.superseded_by not in license_ids:
            problems.append(
                Problem(
                    "licenses.yaml", f"licenses[{lic.id}].superseded_by", f"unknown licence id {lic.superseded_by!r}"
                )
            )

    # Every name a model can be looked up by must lead to one model only.
    owner: dict[str, str] = {}
    for m in raw.models:
        file = raw.model_files.get(m.id, "models/")
        where = f"models[{m.id}]"
        if m.license not in license_ids:
            problems.append(Problem(file, f"{where}.license", f"unknown licence id {m.license!r}"))
        for change in m.license_history:
            if change.license not in license_ids:
                problems.append(Problem(file, f"{where}.license_history", f"unknown licence id {change.license!r}"))
        if m.family not in family_ids:
            problems.append(Problem(file, f"{where}.family", f"unknown family id {m.family!r}"))
        if m.derived_from and m.derived_from not in model_ids:
            problems.append(Problem(file, f"{where}.derived_from", f"unknown model id {m.derived_from!r}"))
        if m.snapshot_of and m.snapshot_of not in model_ids:
            problems.append(Problem(file, f"{where}.snapshot_of", f"unknown model id {m.snapshot_of!r}"))
        for score in m.benchmarks:
            if score.name not in bench_ids:
                problems.append(Problem(file, f"{where}.benchmarks", f"unknown benchmark {score.name!r}"))
        seen_scores: set[tuple[str, str]] = set()
        for score in m.benchmarks:
            score_key = (score.name, score.variant)
            if score_key in seen_scores:
                problems.append(Problem(file, f"{where}.benchmarks", f"{score.name} ({score.variant}) is given twice"))
            seen_scores.add(score_key)
        for name in model_names(m):
            key = normalize(name)
            if not key:
                continue
            if key in owner and owner[key] != m.id:
                problems.append(
                    Problem(file, f"{where}", f"name or alias {name!r} is also used by model {owner[key]!r}")
                )
            owner.setdefault(key, m.id)

    problems.extend(_snapshots_agree(raw))

    gpu_owner: dict[str, str] = {}
    for g in raw.gpus:
        for name in [g.id, g.name, *g.aliases]:
            key = normalize(name)
            if key in gpu_owner and gpu_owner[key] != g.id:
                problems.append(
                    Problem(
                        "gpus.yaml", f"gpus[{g.id}]", f"name or alias {name!r} is also used by GPU {gpu_owner[key]!r}"
                    )
                )
            gpu_owner.setdefault(key, g.id)

    for p in raw.prices:
        if p.open_model and p.open_model not in model_ids:
            problems.append(Problem("prices.yaml", f"prices[{p.id}].open_model", f"unknown model id {p.open_model!r}"))

    gpu_ids = {g.id for g in raw.gpus}
    for rental in raw.rentals:
        if rental.gpu not in gpu_ids:
            problems.append(Problem("gpu_prices.yaml", f"rentals[{rental.gpu}]", f"unknown GPU id {rental.gpu!r}"))
    dupes("evaluations", "evaluations.yaml", [e.id for e in raw.evaluations])
    for ev in raw.evaluations:
        if ev.benchmark is not None and ev.benchmark not in bench_ids:
            problems.append(
                Problem("evaluations.yaml", f"evaluations[{ev.id}].benchmark", f"unknown benchmark {ev.benchmark!r}")
            )
        seen_models: set[str] = set()
        for scored in ev.scores:
            if scored.model not in model_ids:
                problems.append(
                    Problem("evaluations.yaml", f"evaluations[{ev.id}].scores", f"unknown model id {scored.model!r}")
                )
            if scored.model in seen_models:
                problems.append(
                    Problem("evaluations.yaml", f"evaluations[{ev.id}].scores", f"{scored.model} is scored twice")
                )
            seen_models.add(scored.model)
    problems.extend(_check_adoption(raw.adoption, model_ids))
    dupes("quantizations", "quantizations.yaml", [q.id for q in raw.quantizations])
    dupes("measurements", "measurements.yaml", [x.id for x in raw.measurements])
    quant_ids = {q.id for q in raw.quantizations}
    for x in raw.measurements:
        where = f"measurements[{x.id}]"
        if x.model not in model_ids:
            problems.append(Problem("measurements.yaml", f"{where}.model", f"unknown model id {x.model!r}"))
        if x.gpu is not None and x.gpu not in gpu_ids:
            problems.append(Problem("measurements.yaml", f"{where}.gpu", f"unknown GPU id {x.gpu!r}"))
        if x.quantization not in quant_ids:
            problems.append(
                Problem("measurements.yaml", f"{where}.quantization", f"unknown quantization {x.quantization!r}")
            )
    return problems


def snapshot_base(m: Model, models: dict[str, Model]) -> Model | None:
    """The model this one is a checkpoint of with the same architecture: its snapshot_of, or the model it derives
    from when its id extends that model's ('deepseek-v4-flash-0731' of 'deepseek-v4-flash')."""
    if m.snapshot_of:
        return models.get(m.snapshot_of)
    base = models.get(m.derived_from or "")
    if base is not None and m.id.startswith(f"{base.id}-") and base.family == m.family:
        return base
    return None


SIZE_TOLERANCE = 0.02  # a size rounded differently ('3.8B' on one card, 3.84 counted on the other)


def _snapshots_agree(raw: RawCatalog) -> list[Problem]:
    """Two checkpoints of one architecture state one size and one layout."""
    models = {m.id: m for m in raw.models}
    problems: list[Problem] = []
    for m in raw.models:
        base = snapshot_base(m, models)
        if base is None:
            continue
        file, where = raw.model_files.get(m.id, "models/"), f"models[{m.id}]"
        for fact in ("params_b", "active_params_b"):
            mine, theirs = getattr(m, fact), getattr(base, fact)
            if (mine is None) != (theirs is None) or (
                mine is not None and theirs is not None and abs(mine - theirs) > SIZE_TOLERANCE * max(mine, theirs)
            ):
                problems.append(
                    Problem(
                        file,
                        f"{where}.{fact}",
                        f"{mine} disagrees with {theirs} for {base.id}, a checkpoint of the same architecture: state "
                        "both under one definition (say which in the notes)",
                    )
                )
        if m.architecture is not None and base.architecture is not None and m.architecture != base.architecture:
            differ = [
                k
                for k in type(m.architecture).model_fields
                if getattr(m.architecture, k) != getattr(base.architecture, k)
            ]
            problems.append(
                Problem(
                    file,
                    f"{where}.architecture",
                    f"differs from {base.id}'s, a checkpoint of the same architecture, in {', '.join(differ)}",
                )
            )
    return problems


def _check_adoption(rows: list[Adoption], model_ids: set[str]) -> list[Problem]:
    """Adoption readings name a catalog model, have unique ids, and count one thing once per date."""
    problems: list[Problem] = []
    seen_ids: set[str] = set()
    seen_readings: set[tuple] = set()
    for row in rows:
        where = f"adoption[{row.id}]"
        if row.model not in model_ids:
            problems.append(Problem("adoption.yaml", f"{where}.model", f"unknown model id {row.model!r}"))
        if row.id in seen_ids:
            problems.append(Problem("adoption.yaml", where, f"duplicate id {row.id!r}"))
        reading = (row.model, row.kind, row.entry, row.source.published or row.source.as_of)
        if reading in seen_readings:
            problems.append(Problem("adoption.yaml", where, f"{row.kind} of {row.entry} on that date is given twice"))
        seen_ids.add(row.id)
        seen_readings.add(reading)
    return problems


def model_names(m: Model) -> list[str]:
    """Every name a model answers to: id, display name, repo ids (with and without owner), aliases."""
    names = [m.id, m.name, *m.aliases]
    for repo in m.repos.values():
        names.append(repo)
        names.append(repo.split("/", 1)[-1])
    return names


def load(directory: Path | None = None) -> RawCatalog:
    """Load and validate; raise CatalogError listing every problem."""
    raw, problems = load_raw(directory)
    if problems:
        raise CatalogError(problems)
    return raw
