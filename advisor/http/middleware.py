"""What every request passes first: credentials (when configured) and the body limit, and the image policy that
every response carries."""

from __future__ import annotations

import math
from typing import Any

import anyio
from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware

from advisor.http.errors import MAX_BODY_BYTES, BadJson, SafeJSONResponse, error, read_json
from advisor.users import ANONYMOUS, USER_HEADER, Credentials, FailedSignIns

PUBLIC_PATHS = ("/healthz",)
# Pages from this server load images and media only from itself: a remote image in a message or an answer
# (Markdown or HTML) is not fetched, so opening a conversation tells no third party about it.
CONTENT_SECURITY_POLICY = "img-src 'self' data: blob:; media-src 'self' data: blob:"
UNAUTHORIZED = "credentials required (HTTP Basic user:password, or Bearer <password>)"


def authorized(header: str, credentials: tuple[str, str]) -> bool:
    """Whether an Authorization header carries these shared credentials (advisor/users.py), as UTF-8 bytes, in
    constant time."""
    from advisor.users import _shared_match

    return _shared_match(header, credentials)


class LimitsAndAuth(BaseHTTPMiddleware):
    """Refuses bodies over MAX_BODY_BYTES (413) and, when sign-in is required, requests that do not prove a user
    (401), and a client address after too many failed sign-ins (429, advisor/users.py FailedSignIns). Every request
    that passes carries its user in ``x-advisor-user`` (a client's own value replaced), which the routes, Gradio's
    handlers and MCP read (advisor.users.user_of). Every response carries the image policy."""

    def __init__(self, app, credentials: Credentials | tuple[str, str] | None):
        super().__init__(app)
        if not isinstance(credentials, Credentials):
            credentials = Credentials(shared=credentials)
        self.credentials = credentials
        self.failures = FailedSignIns()

    async def _user(self, request: Request) -> str | None:
        if not self.credentials.required:
            return ANONYMOUS
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope.get("headers", [])}
        if self.credentials.users:  # Argon2 checks take tens of milliseconds: off the event loop
            return await anyio.to_thread.run_sync(self.credentials.user, headers)
        return self.credentials.user(headers)

    async def dispatch(self, request: Request, call_next):
        if request.url.path not in PUBLIC_PATHS:
            address = request.client.host if request.client else ""
            wait = self.failures.wait_s(address) if self.credentials.required else 0.0
            if wait:
                return error(
                    429,
                    f"too many failed sign-ins from this address; try again in {math.ceil(wait)} s",
                    kind="too_many_attempts",
                    headers={"Retry-After": str(math.ceil(wait))},
                )
            user = await self._user(request)
            if user is None:
                if request.headers.get("authorization") or self.credentials.header:
                    self.failures.failed(address)
                return error(
                    401,
                    UNAUTHORIZED,
                    kind="unauthorized",
                    headers={"WWW-Authenticate": 'Basic realm="Open LLM Advisor", charset="UTF-8"'},
                )
            request.scope["headers"] = [
                *((k, v) for k, v in request.scope.get("headers", []) if k.lower() != USER_HEADER.encode()),
                (USER_HEADER.encode(), user.encode()),
            ]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error(
                413, f"request body is {int(length):,} bytes; the limit is {MAX_BODY_BYTES:,}", kind="too_large"
            )
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class ChunkedBodyLimit:
    """The body limit for requests without Content-Length (chunked uploads), which LimitsAndAuth cannot see:
    their body is read, up to MAX_BODY_BYTES, before the app runs, and a longer one is refused with 413."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or any(k.lower() == b"content-length" for k, _ in scope.get("headers", [])):
            await self.app(scope, receive, send)
            return
        body = await _read_limited(scope, receive, send)
        if body is None:  # the client went away, or the body was refused as too large
            return
        await self.app(scope, _replay(body, receive), send)


MCP_PATH = "/gradio_api/mcp"


class McpJsonLimits:
    """MCP's requests (JSON-RPC posted to MCP_PATH) pass the JSON checks /api's do (errors.read_json: UTF-8, JSON,
    integers Python reads, MAX_JSON_DEPTH) before Gradio's MCP server sees them; a body that fails is answered with a
    JSON-RPC parse error (HTTP 400). Gradio's server answered 500, with a traceback in the log, to a body nested
    50,000 deep, a 5,000-digit integer or one that is not UTF-8 (issue 29, finding 9). The body's size is limited
    before this, as every request's is."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(MCP_PATH):
            await self.app(scope, receive, send)
            return
        body = await _read_limited(scope, receive, send)
        if body is None:  # the client went away, or the body was refused as too large
            return
        try:
            read_json(body)
        except BadJson as exc:
            message = f"Parse error: not JSON this server takes ({exc})"
            refusal = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": message}}
            await SafeJSONResponse(refusal, status_code=400)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


UPLOAD_PATH = "/gradio_api/upload"


class RefuseUploads:
    """Gradio's upload route, refused (404): it stores any file posted to it, and never deletes it, whether or not a
    component takes files (issue 29, finding 10). Installed when none of the UI's components does."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/") == UPLOAD_PATH:
            await error(404, "this server takes no file uploads", field="path")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replay(body: bytes, receive):
    """A receive that gives the body already read, then whatever the client sends next (its disconnect)."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _read_limited(scope, receive, send) -> bytes | None:
    """The request's body, or None once a body over MAX_BODY_BYTES was answered with 413 (or the client left)."""
    body = await _read_body(receive)
    if body is not None and len(body) > MAX_BODY_BYTES:
        await error(413, f"request body is larger than the limit of {MAX_BODY_BYTES:,} bytes", kind="too_large")(
            scope, receive, send
        )
        return None
    return body


async def _read_body(receive) -> bytes | None:
    """The body, read up to one message past MAX_BODY_BYTES; None if the client disconnected."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= MAX_BODY_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    return b"".join(chunks)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def default_allowed_hosts(bind: str) -> tuple[str, ...]:
    """The Host names a server bound to ``bind`` answers by default: the bind address (unless it is a wildcard, which
    no client names) and localhost. Behind a proxy that passes the public name (deploy/nginx.conf), the operator
    names it with --allowed-hosts."""
    extra = () if bind.strip("[]") in WILDCARD_BINDS else (bind.strip("[]").lower(),)
    return tuple(dict.fromkeys(extra + LOCAL_HOSTS))


def parse_allowed_hosts(value: str | None, bind: str) -> tuple[str, ...] | None:
    """--allowed-hosts (or ADVISOR_ALLOWED_HOSTS): host names separated by commas, each without scheme or port;
    ``*`` answers any Host (None). Unset: :func:`default_allowed_hosts`. ValueError names what is wrong."""
    if value is None or not value.strip():
        return default_allowed_hosts(bind)
    names = [name.strip().lower().strip("[]") for name in value.split(",") if name.strip()]
    if "*" in names:
        return None
    for name in names:
        if not name or any(c in name for c in "/:@ ") and not _is_ipv6(name):
            raise ValueError(
                f"--allowed-hosts: {name!r} is not a host name; give names or addresses separated by commas, without "
                "scheme, port or path (for example advisor.example.com,localhost), or * for any"
            )
    return tuple(dict.fromkeys(names + list(LOCAL_HOSTS)))


def _is_ipv6(name: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(name).version == 6
    except ValueError:
        return False


def hostname(value: str) -> str:
    """The host name of a Host header (``name:port``, ``[::1]:port``) or an Origin (``scheme://name:port``), lower
    case, without port or brackets."""
    value = value.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.split(":", 1)[0]


class HostAndOrigin:
    """A Host allow-list and same-origin requests only (issue 29, finding 11). A request whose Host is not one the
    server answers to (a DNS-rebinding name, a proxy passing a name the operator did not list) is refused with 400;
    one from a page of another origin (its Origin header names another host, or ``null``) with 403, before any
    route, so that no route answers a foreign origin, and none with ``Access-Control-Allow-Credentials``. Gradio's
    CORS middleware echoed any Origin with credentials allowed whenever the Host was not localhost. ``/healthz``
    answers any Host (probes name the container's address); ``allowed_hosts`` None: any Host, still same-origin."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None):
        self.app = app
        self.allowed = None if allowed_hosts is None else frozenset(allowed_hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = hostname(headers.get(b"host", ""))
        if self.allowed is not None and host not in self.allowed and scope["path"] not in PUBLIC_PATHS:
            message = (
                f"Host {host!r} is not a name this server answers to (allowed: {', '.join(sorted(self.allowed))}); "
                "its operator can add it with --allowed-hosts (or ADVISOR_ALLOWED_HOSTS)"
            )
            await _refuse(400, message, "bad_host", "Host", scope, receive, send)
            return
        origin = headers.get(b"origin")
        if origin is not None and not self._same_site(hostname(origin), host):
            message = "requests from pages of another origin are refused: open the advisor at its own address"
            await _refuse(403, message, "cross_origin", "Origin", scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _same_site(self, origin_host: str, host: str) -> bool:
        if origin_host in ("", "null"):
            return False
        return origin_host == host or (self.allowed is not None and origin_host in self.allowed)


async def _refuse(status: int, message: str, kind: str, field: str, scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await error(status, message, field=field, kind=kind)(scope, receive, send)
