"""The ``advisor`` command line.

Each subcommand imports what it needs when it runs, so ``advisor catalog …`` and
``advisor tool …`` start fast and never load torch, transformers or gradio.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- catalog


def cmd_catalog_validate(args: argparse.Namespace) -> int:
    from catalog.loader import load_raw

    raw, problems = load_raw(args.dir)
    if problems:
        print(f"catalog has {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_ERROR
    lineages = {f.lineage for f in raw.families}
    unverified = sum(len(m.unverified) for m in raw.models) + sum(len(g.unverified) for g in raw.gpus)
    print(
        f"catalog OK: {len(raw.models)} models in {len(raw.families)} families ({len(lineages)} lineages), "
        f"{len(raw.licenses)} licences, {len(raw.gpus)} GPUs, {len(raw.prices)} API prices, "
        f"{sum(len(m.benchmarks) for m in raw.models)} benchmark scores; "
        f"{unverified} facts marked unverified"
    )
    return EXIT_OK


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from catalog.query import LookupFailed, get_catalog

    cat = get_catalog()
    try:
        if args.kind == "models":
            models = list(cat.models.values())
            if args.family:
                fam = cat.family(args.family)
                models = [m for m in models if m.family == fam.id]
            if args.license:
                lic = cat.license(args.license)
                models = [m for m in models if m.license == lic.id]
            rows = [
                {
                    "id": m.id,
                    "name": m.name,
                    "params_b": m.params_b,
                    "active_params_b": m.active_params_b,
                    "context": m.context_length,
                    "license": m.license,
                    "released": m.release_date.isoformat(),
                }
                for m in sorted(models, key=lambda m: (m.family, m.params_b))
            ]
        elif args.kind == "gpus":
            rows = [
                {"id": g.id, "name": g.name, "memory_gb": g.memory_gb, "bandwidth_gbps": g.memory_bandwidth_gbps}
                for g in cat.gpus.values()
            ]
        elif args.kind == "licenses":
            rows = [
                {"id": x.id, "name": x.name, "commercial": x.terms.commercial_use.value, "category": x.category}
                for x in cat.licenses.values()
            ]
        elif args.kind == "families":
            rows = [
                {"id": f.id, "name": f.name, "vendor": f.vendor, "models": len(cat.family_models(f.id))}
                for f in cat.families.values()
            ]
        else:  # prices
            rows = [
                {
                    "id": p.id,
                    "provider": p.provider,
                    "model": p.model_name,
                    "in_usd_per_mtok": p.usd_per_mtok_input,
                    "out_usd_per_mtok": p.usd_per_mtok_output,
                    "as_of": p.source.as_of.isoformat(),
                }
                for p in cat.prices.values()
            ]
    except LookupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows)
    return EXIT_OK


def _print_table(rows: list[dict]) -> None:
    if not rows:
        print("(nothing matches)")
        return
    cols = list(rows[0])
    cells = [[("" if r[c] is None else str(r[c])) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def cmd_catalog_show(args: argparse.Namespace) -> int:
    from catalog.query import LookupFailed, get_catalog

    cat = get_catalog()
    try:
        model = cat.model(args.model)
    except LookupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    _print_json(model.model_dump(mode="json", exclude_none=True))
    return EXIT_OK


def cmd_catalog_import(args: argparse.Namespace) -> int:
    from catalog.refresh import ImportFailed, draft_entry

    try:
        draft = draft_entry(args.repo_id, offline_dir=args.from_dir)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    import yaml

    text = yaml.safe_dump({"models": [draft]}, sort_keys=False, allow_unicode=True, width=100)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"draft written to {args.output}; review every field before adding it to catalog/data/models/")
    else:
        print("# DRAFT: review every field against the model card before adding it to catalog/data/models/")
        print(text, end="")
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Open LLM Advisor: which open-weight LLM to deploy, and how.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cat = sub.add_parser("catalog", help="inspect, validate and extend the model catalog")
    cat_sub = cat.add_subparsers(dest="catalog_command", metavar="ACTION")

    p = cat_sub.add_parser("validate", help="check every catalog file against the schema and its references")
    p.add_argument("--dir", default=None, help="catalog folder (default: the shipped one, or $ADVISOR_CATALOG_DIR)")
    p.set_defaults(func=cmd_catalog_validate)

    p = cat_sub.add_parser("list", help="list models, gpus, licenses, families or prices")
    p.add_argument("kind", nargs="?", default="models", choices=["models", "gpus", "licenses", "families", "prices"])
    p.add_argument("--family", help="only models of this family (e.g. qwen3)")
    p.add_argument("--license", help="only models under this licence (e.g. apache-2.0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_catalog_list)

    p = cat_sub.add_parser("show", help="show one model with every fact and its source")
    p.add_argument("model", help='id, name, alias or Hugging Face repo id, e.g. "llama 3.1 8b"')
    p.set_defaults(func=cmd_catalog_show)

    p = cat_sub.add_parser(
        "import",
        help="draft a catalog entry from a Hugging Face repo (config.json, parameter count, licence tag)",
    )
    p.add_argument("repo_id", help="e.g. Qwen/Qwen3-8B")
    p.add_argument("--from-dir", default=None, help="read config.json and metadata from this folder instead of the Hub")
    p.add_argument("-o", "--output", default=None, help="write the draft YAML here")
    p.set_defaults(func=cmd_catalog_import)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # `advisor` or `advisor catalog` alone: show the relevant help.
        target = parser
        if args.command:
            target = next(
                a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(args.command)
            )
        target.print_help()
        return EXIT_OK
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
