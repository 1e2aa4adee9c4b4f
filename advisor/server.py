"""Open LLM Advisor: the browser app, the tool-calling HTTP API, the OpenAI-compatible chat endpoint and the MCP
server, in one process on http://127.0.0.1:7860, or in several (``--workers N``, conversations in PostgreSQL).

    python app.py                 # or: advisor serve [--driver offline|hf|openai] [--port 7860]
    advisor serve --workers 4 --db postgresql://advisor@db/advisor --driver openai --base-url http://vllm:8000/v1

:func:`create_app` only wires: the routers of advisor/http (one file per concern, listed in its docstring), the
error map, the limits, then the browser UI (advisor/ui) and its MCP server mounted at "/" (routes registered after
that mount would never be reached). OpenAPI documentation is at /docs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from dataclasses import asdict

from fastapi import FastAPI

from advisor.http.errors import ERROR_RESPONSES, MAX_BODY_BYTES, SafeJSONResponse
from advisor.http.middleware import (
    ChunkedBodyLimit,
    HostAndOrigin,
    LimitsAndAuth,
    McpJsonLimits,
    RefuseUploads,
    parse_allowed_hosts,
)
from advisor.users import Credentials

log = logging.getLogger("advisor.app")
GRACEFUL_SHUTDOWN_S = 3
WORKER_CONFIG_ENV = "ADVISOR_WORKER_CONFIG"  # serve --workers: what each worker process starts with (JSON)
PORT_IN_USE = 3  # the exit status when another process listens on the port (the Makefile's run target knows it)
__all__ = ["MAX_BODY_BYTES", "LimitsAndAuth", "create_app", "main", "parse_auth", "serve", "worker_app"]


def create_app(
    settings=None,
    auth: Credentials | tuple[str, str] | None = None,
    advisor=None,
    stateless_ui: bool = False,
    allowed_hosts: tuple[str, ...] | None = None,
) -> FastAPI:
    """Build the FastAPI app with every route and the Gradio UI mounted at "/" (``stateless_ui``: each UI event
    answered in one request, for several processes; advisor/ui/__init__.py). ``allowed_hosts``: the Host names it
    answers to (:func:`serve` gives the bind address and localhost by default); None, any. Requests from pages of
    another origin are refused either way (advisor/http/middleware.py HostAndOrigin). ``auth``: how requests sign
    in (advisor/users.py; a pair is one shared credential); with several users, each sees only their own
    conversations, and conversations nobody owns are closed to all."""
    import gradio as gr

    from advisor.config import Settings
    from advisor.http import errors, exercises, health, openai_compatible, threads, tools, views
    from advisor.service import Advisor
    from advisor.ui import build_ui, takes_files
    from advisor.ui.style import CSS

    settings = settings or Settings.from_env()
    advisor = advisor or Advisor.create(settings)
    if isinstance(auth, Credentials) and auth.several_users:
        advisor.unowned_open = False
    api = FastAPI(
        lifespan=_lifespan,
        title="Open LLM Advisor API",
        version="0.1.0",
        default_response_class=SafeJSONResponse,
        responses=ERROR_RESPONSES,
        description="Tools for choosing and deploying open-weight LLMs, an OpenAI-compatible chat endpoint, and MCP.",
    )
    ui = build_ui(advisor, stateless=stateless_ui)
    _add_middleware(api, auth, uploads=takes_files(ui), allowed_hosts=allowed_hosts)
    api.state.advisor = advisor
    errors.install(api)
    for module in (health, tools, threads, exercises, views, openai_compatible):
        api.include_router(module.router)
    app = gr.mount_gradio_app(
        api,
        ui,
        path="/",
        mcp_server=True,
        footer_links=["api"],
        show_error=False,
        css=CSS,
    )
    _build_routes(app.router)
    return app


def _add_middleware(
    api: FastAPI, auth: Credentials | tuple[str, str] | None, uploads: bool, allowed_hosts: tuple[str, ...] | None
) -> None:
    """What every request passes, outermost first: the Host allow-list and same-origin check (HostAndOrigin),
    credentials and the body limit (LimitsAndAuth), the limit of chunked bodies, Gradio's upload route refused
    unless a component takes files, and MCP's JSON checks."""
    api.add_middleware(McpJsonLimits)  # innermost: MCP's bodies are read whole once their size is known to be within
    if not uploads:
        api.add_middleware(RefuseUploads)
    api.add_middleware(ChunkedBodyLimit)  # inside LimitsAndAuth: credentials are checked first
    api.add_middleware(LimitsAndAuth, credentials=auth)
    api.add_middleware(HostAndOrigin, allowed_hosts=allowed_hosts)


def _build_routes(router) -> None:
    """Have FastAPI build every route's matching state now. It builds an included router's routes when the first
    request passes through it, on the event loop: when 40 turns arrived at once on a fresh server, that work,
    slowed by their threads, held every other request (/healthz included) for seconds (issue 29, finding 2)."""
    nowhere = {"type": "http", "path": "/.advisor-route-warm-up", "method": "GET", "root_path": "", "headers": []}
    for route in router.routes:
        route.matches(nowhere)  # matches nothing; the router it passes through builds its candidates
        inner = getattr(getattr(route, "app", None), "router", None)  # a mounted app (Gradio's)
        if inner is not None and inner is not router:
            _build_routes(inner)


@contextlib.asynccontextmanager
async def _lifespan(api: FastAPI):
    """The server's start: the graph (LangGraph, LangChain, the offline driver) is built and the caches are warmed in
    a thread once it serves (advisor/warmup.py), not before its first /healthz (issue #25, Build 9: the caches were
    5.4 of the 7.4 s create_app took on a loaded 2-core machine)."""
    from advisor import warmup

    advisor = api.state.advisor

    def warm() -> None:
        advisor.graph  # noqa: B018  (built on first use)
        _warm_caches()

    warmup.start(warm)
    yield


def _warm_caches() -> None:
    """Pay the one-off per-catalog work (throughput calibration, rankings, name patterns, the message reader's linker,
    classifier and patterns) once, not in the first turns: when 40 arrived at once, each built them again, and
    the event loop, /healthz included, waited seconds for the interpreter (issue 29, finding 2). Turns wait for it
    (advisor.warmup.wait)."""
    import tools
    from advisor.grounding import find_ungrounded
    from advisor.nlu import read

    read("We have two RTX 4090s; can we use Llama 3.1 8B commercially for 5M tokens a month in Germany?")

    tools.call("estimate_throughput", {"model": "llama-3.1-8b", "gpu": "h100-sxm"})
    tools.call("select_models", {"use_case": "general"})
    tools.call("find_models", {"query": "llama"})
    find_ungrounded("Llama 3.1 8B fits 16 GB.", {16.0})


def worker_app() -> FastAPI:
    """One worker process of `serve --workers N`: uvicorn imports this by name in each worker it starts (or restarts
    after a crash) and calls it. The settings come from the process that checked them (:func:`serve`)."""
    from advisor.config import Settings, redact_urls
    from advisor.drivers import DriverError
    from advisor.storage import StorageUnavailable
    from advisor.workers import STARTUP_FAILURE, STORAGE_UNAVAILABLE

    _configure_logging()
    from advisor.workers import worker_config

    # from the supervisor on stdin (advisor/workers.py); the environment only where uvicorn's workers are used
    config = json.loads(worker_config() or os.environ.get(WORKER_CONFIG_ENV) or "{}")
    hosts = config.get("allowed_hosts")
    try:
        settings = Settings(**config.get("settings", {}))
        credentials = worker_credentials(config)
        allowed = tuple(hosts) if hosts is not None else None
        return create_app(settings, auth=credentials, stateless_ui=True, allowed_hosts=allowed)
    except (DriverError, StorageUnavailable, ValueError) as exc:  # ValueError: an unusable ADVISOR_SECRET
        print(f"error: {redact_urls(str(exc))}", file=sys.stderr, flush=True)
        # the database away is an outage the supervisor waits out; the rest cannot pass by waiting
        sys.exit(STORAGE_UNAVAILABLE if isinstance(exc, StorageUnavailable) else STARTUP_FAILURE)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)  # its start-up notice would follow the URL line
    for handler in logging.getLogger().handlers:
        handler.addFilter(_redact_record)


def _redact_record(record: logging.LogRecord) -> bool:
    """A log filter: URLs in the message lose their credentials (httpx logs every upstream request's URL)."""
    from advisor.config import redact_urls

    message = record.getMessage()
    if "://" in message:
        record.msg, record.args = redact_urls(message), ()
    return True


def load_credentials(
    auth: str | None = None, users_file: str | None = None, user_header: str | None = None
) -> Credentials:
    """How requests sign in (advisor/users.py), from the arguments or the environment: one shared ``user:password``
    (ADVISOR_AUTH, or the file ADVISOR_AUTH_FILE names), a users file of Argon2 hashes (--users-file,
    ADVISOR_USERS_FILE), or a trusted proxy's header (--user-header, ADVISOR_USER_HEADER). At most one; ValueError
    says what is wrong."""
    from advisor.users import NAME, read_users_file

    auth = auth or os.environ.get("ADVISOR_AUTH") or None
    if not auth and os.environ.get("ADVISOR_AUTH_FILE"):
        path = os.environ["ADVISOR_AUTH_FILE"]
        try:
            auth = open(path, encoding="utf-8").read().strip()
        except OSError as exc:
            raise ValueError(f"ADVISOR_AUTH_FILE: cannot read {path} ({exc.strerror})") from None
    users_file = users_file or os.environ.get("ADVISOR_USERS_FILE") or None
    user_header = user_header or os.environ.get("ADVISOR_USER_HEADER") or None
    if sum(bool(x) for x in (auth, users_file, user_header)) > 1:
        raise ValueError(
            "choose one way to sign in: ADVISOR_AUTH (one shared user:password), --users-file (several users) or "
            "--user-header (a trusted proxy names the user)"
        )
    if user_header and not NAME.fullmatch(user_header):
        raise ValueError(f"--user-header: {user_header!r} is not a header name (e.g. X-Remote-User)")
    return Credentials(
        shared=parse_auth(auth),
        users=read_users_file(users_file) if users_file else None,
        header=user_header,
        users_file=users_file,
    )


def worker_credentials(config: dict) -> Credentials:
    """A worker's sign-in, from what :func:`_serve_workers` handed it (the users file is read again)."""
    from advisor.users import read_users_file

    shared, users_file = config.get("auth"), config.get("users_file")
    return Credentials(
        shared=(shared[0], shared[1]) if shared else None,
        users=read_users_file(users_file) if users_file else None,
        header=config.get("user_header"),
        users_file=users_file,
    )


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    if ":" not in value:
        raise ValueError("auth must be USER:PASSWORD")
    user, password = value.split(":", 1)
    if not user or not password:
        raise ValueError("auth must be USER:PASSWORD with both parts non-empty")
    return user, password


def _exposure_refused(host: str, port: int, credentials, insecure: bool) -> bool:
    """Binding beyond localhost needs credentials or --insecure (which is warned about); True if refused."""
    if host in ("127.0.0.1", "localhost", "::1") or credentials is not None:
        return False
    if not insecure:
        print(
            f"error: binding to {host} exposes the advisor to the network; set ADVISOR_AUTH=USER:PASSWORD (or "
            "ADVISOR_AUTH_FILE), give --users-file or --user-header, or pass --insecure if you really mean it",
            file=sys.stderr,
        )
        return True
    print(
        f"WARNING: --insecure: the advisor on {host}:{port} answers anyone who can reach it, without credentials "
        "(its conversations, its model and MCP included); set ADVISOR_AUTH or --users-file unless the network is yours "
        "alone",
        file=sys.stderr,
        flush=True,
    )
    return False


def serve(
    host: str = "127.0.0.1",
    port: int = 7860,
    settings=None,
    auth: str | None = None,
    insecure: bool = False,
    workers: int = 1,
    stateless_ui: bool = False,
    allowed_hosts: str | None = None,
    users_file: str | None = None,
    user_header: str | None = None,
) -> int:
    """Start the server. Binding beyond localhost needs credentials (--auth / ADVISOR_AUTH) or --insecure.
    ``workers`` > 1 runs that many processes on one socket, conversations in PostgreSQL (:func:`_serve_workers`).
    ``allowed_hosts`` (or ADVISOR_ALLOWED_HOSTS): the Host names answered, commas between; by default the bind
    address and localhost. Sign-in: :func:`load_credentials`."""
    import uvicorn

    from advisor.config import redact_urls
    from advisor.drivers import DriverError
    from advisor.storage import StorageUnavailable

    _configure_logging()
    try:
        credentials = load_credentials(auth, users_file, user_header)
        hosts = parse_allowed_hosts(allowed_hosts or os.environ.get("ADVISOR_ALLOWED_HOSTS"), host)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if _exposure_refused(host, port, credentials if credentials.required else None, insecure):
        return 2
    if workers > 1:
        return _serve_workers(host, port, settings, credentials, workers, hosts)
    if _port_taken(host, port):
        print(
            f"error: port {port} is in use on {host} (is the advisor already running?); choose another: "
            f"make run PORT={_free_port_after(host, port)}, or advisor serve --port {_free_port_after(host, port)}",
            file=sys.stderr,
        )
        return PORT_IN_USE
    try:
        app = create_app(settings, auth=credentials, stateless_ui=stateless_ui, allowed_hosts=hosts)
    except (DriverError, StorageUnavailable, ValueError) as exc:  # ValueError: an unusable ADVISOR_SECRET
        print(f"error: {redact_urls(str(exc))}", file=sys.stderr)
        return 2
    print(
        f"Open LLM Advisor on http://{host}:{port}  (driver: {redact_urls(app.state.advisor.info.describe())})",
        flush=True,
    )
    # Open connections (a browser's event stream, an MCP session) get this long to finish on SIGTERM, then are closed.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    return 0


def _port_taken(host: str, port: int) -> bool:
    """Whether binding the port fails (as uvicorn would bind it, SO_REUSEADDR set): checked before the app is built,
    so that a busy port is one line at once rather than a traceback after the start-up."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _free_port_after(host: str, port: int) -> int:
    """The next port above ``port`` that is free (the suggestion in the busy-port message)."""
    return next((p for p in range(port + 1, min(port + 100, 65536)) if not _port_taken(host, p)), port + 1)


def _serve_workers(
    host: str, port: int, settings, credentials: Credentials, workers: int, hosts: tuple[str, ...] | None
) -> int:
    """`serve --workers N`: the settings are checked once, here (:func:`_check_for_workers`), then N worker processes
    listen on the port, each with a socket of its own so that the kernel spreads connections over them
    (advisor/workers.py), each building its app with :func:`worker_app`; one that dies is replaced. Any of them
    serves any request: conversations are in PostgreSQL and the UI is stateless."""
    import uvicorn

    from advisor.config import Settings, redact_url, redact_urls
    from advisor.drivers import DriverError
    from advisor.storage import StorageUnavailable
    from advisor.workers import Supervisor, listening_socket, reuseport_available

    settings = settings or Settings.from_env()
    try:
        driver = _check_for_workers(settings)
        if reuseport_available():
            listening_socket(host, port).close()  # the port is free (or another server's of this user, sharing)
    except (DriverError, StorageUnavailable, ValueError, OSError) as exc:
        print(f"error: {redact_urls(str(exc))}", file=sys.stderr)
        return 2
    config = json.dumps(
        {
            "settings": asdict(settings),
            "auth": credentials.shared,
            "users_file": credentials.users_file,
            "user_header": credentials.header,
            "allowed_hosts": hosts,
        }
    )
    print(
        f"Open LLM Advisor on http://{host}:{port}  ({workers} worker processes, driver: {driver}, conversations in "
        f"{redact_url(settings.db)})",
        flush=True,
    )
    if not reuseport_available():  # elsewhere than Linux: uvicorn's workers, on one shared socket
        os.environ[WORKER_CONFIG_ENV] = config  # (only there: uvicorn's workers can be handed nothing else)
        uvicorn.run(
            "advisor.server:worker_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
        )
        return 0
    return Supervisor("advisor.server:worker_app", host, port, workers, GRACEFUL_SHUTDOWN_S, config.encode()).run()


def _check_for_workers(settings) -> str:
    """What several worker processes need, checked before any starts: a shared database (PostgreSQL: reachable, set
    up, writable) and a driver they can share. Returns the driver's name; ValueError, DriverError or
    StorageUnavailable say what is wrong."""
    from advisor.config import is_postgres
    from advisor.drivers import make_driver, resolve_driver
    from advisor.signing import configured_secret
    from advisor.storage_postgres import open_postgres

    if not is_postgres(settings.db):
        raise ValueError(
            "--workers needs conversations in PostgreSQL (--db postgresql://..., or ADVISOR_DB): several "
            "processes cannot share a SQLite file or ':memory:'. See docs/deploy.md"
        )
    name, _ = resolve_driver(settings)
    if name == "hf":
        raise ValueError(
            "--workers with the hf driver would load the model once per worker: serve it with vLLM and use --driver "
            "openai --base-url URL (docs/deploy.md), or run one worker"
        )
    make_driver(settings)  # an openai driver without --base-url is refused here, once
    configured_secret()  # an unusable ADVISOR_SECRET (ValueError), once
    open_postgres(settings.db).close()  # reachable, set up (once, before the workers race to) and writable
    return name


def main(argv: list[str] | None = None) -> int:
    """`python app.py [options]`: the same options as `advisor serve`."""
    from advisor import options

    parser = argparse.ArgumentParser(prog="app.py", description="Serve the Open LLM Advisor (as `advisor serve`).")
    options.add_serve_options(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return serve(**options.serve_arguments(args))


if __name__ == "__main__":
    sys.exit(main())
