"""Open LLM Advisor: the browser app, the tool-calling HTTP API, the OpenAI-compatible chat endpoint
and the MCP server, in one process on http://127.0.0.1:7860.

    python app.py                 # or: advisor serve [--driver offline|hf|openai] [--port 7860]

Routes (registered before the Gradio app is mounted at "/"):
    GET  /healthz                      liveness, driver and catalog size
    GET  /api/tools                    tools in OpenAI function-calling format
    POST /api/tools/{name}             call a tool: JSON arguments in, JSON result out (422 on bad input)
    GET  /api/threads/{thread_id}      a conversation: messages, tool steps, requirements, shortlist
    GET  /v1/models, POST /v1/chat/completions   OpenAI-compatible chat with the advisor (stream or not)
    /gradio_api/mcp/                   MCP server (streamable HTTP) with every tool
    /docs                              OpenAPI documentation
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware

log = logging.getLogger("advisor.app")
MAX_BODY_BYTES = 256 * 1024
PUBLIC_PATHS = ("/healthz",)
SERVED_MODEL_NAME = "open-llm-advisor"
GRACEFUL_SHUTDOWN_S = 3


def _json_text(content: Any) -> str:
    """JSON text that always encodes as UTF-8: a lone surrogate from a client's JSON ("\\ud800" is valid JSON, but not
    text) that is echoed back would otherwise fail the response (a 500, or a stream cut short). It becomes U+FFFD."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _json_text(content).encode("utf-8")


class ErrorDetail(BaseModel):
    type: str = Field(description="invalid_input, unauthorized, too_large, storage_unavailable or internal_error")
    message: str
    field: str | None = None
    suggestions: list[str] = []


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "credentials required (only when the server was started with --auth)"},
    413: {"model": ErrorBody, "description": f"request body over {MAX_BODY_BYTES:,} bytes"},
    422: {"model": ErrorBody, "description": "invalid input: the field, what is allowed, close valid values"},
}
NOT_FOUND = {404: {"model": ErrorBody, "description": "not found"}}


def _error(status: int, message: str, field: str | None = None, kind: str = "invalid_input", suggestions=None) -> JSONResponse:
    return SafeJSONResponse(status_code=status,
                            content={"error": {"type": kind, "message": message, "field": field, "suggestions": suggestions or []}})


# Pages from this server load images and media only from itself: a remote image in a message or an answer
# (Markdown or HTML) is not fetched, so opening a conversation tells no third party about it.
CONTENT_SECURITY_POLICY = "img-src 'self' data: blob:; media-src 'self' data: blob:"


class LimitsAndAuth(BaseHTTPMiddleware):
    """Refuses bodies over MAX_BODY_BYTES (413) and, when credentials are configured, requests without them (401).
    Credentials are compared as UTF-8 bytes, so any password works, and every response carries the image policy."""

    def __init__(self, app, credentials: tuple[str, str] | None):
        super().__init__(app)
        self.credentials = credentials

    def _authorized(self, request: Request) -> bool:
        if self.credentials is None or request.url.path in PUBLIC_PATHS:
            return True
        header = request.headers.get("authorization", "")
        user, password = self.credentials
        if header.lower().startswith("basic "):
            try:
                given = base64.b64decode(header[6:])
            except ValueError:
                return False
            return hmac.compare_digest(given, f"{user}:{password}".encode())
        if header.lower().startswith("bearer "):
            # header values arrive decoded as latin-1: encoding them back gives the bytes the client sent (UTF-8)
            return hmac.compare_digest(header[7:].strip().encode("latin-1", "replace"), password.encode())
        return False

    async def dispatch(self, request: Request, call_next):
        if not self._authorized(request):
            return SafeJSONResponse(status_code=401, headers={"WWW-Authenticate": 'Basic realm="Open LLM Advisor", charset="UTF-8"'},
                                    content={"error": {"type": "unauthorized", "message": "credentials required "
                                                       "(HTTP Basic user:password, or Bearer <password>)", "field": None,
                                                       "suggestions": []}})
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, f"request body is {int(length):,} bytes; the limit is {MAX_BODY_BYTES:,}", kind="too_large")
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
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY_BYTES:
                await _error(413, f"request body is larger than the limit of {MAX_BODY_BYTES:,} bytes",
                             kind="too_large")(scope, receive, send)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Any = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = SERVED_MODEL_NAME
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    thread_id: str | None = Field(default=None, description="Continue this advisor conversation (an extension to the OpenAI API).")
    metadata: dict | None = None


class ExerciseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)
    family: str = Field(default="llama", description="exercise 3: llama, qwen or mistral")
    model: str = Field(default="llama-3.1-8b", description="exercise 2: open model to self-host")
    gpu: str = Field(default="rtx-4090", description="exercise 2: GPU to run it on")
    gpu_usd_per_hour: float | None = Field(default=None, gt=0, le=1000, description="exercise 2: $ per GPU-hour")
    utilization: float = Field(default=0.5, gt=0, le=1, description="exercise 2: average busy share")
    input_share: float = Field(default=0.75, ge=0, le=1, description="exercise 2: share of tokens that are input")
    api_models: list[str] = Field(default=["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku-4.5"],
                                  max_length=10, description="exercise 2: APIs to compare")



def _last_user_text(req: ChatCompletionRequest) -> str:
    for msg in reversed(req.messages):
        if msg.role == "user":
            if isinstance(msg.content, str):
                return msg.content
            if isinstance(msg.content, list):  # content parts
                return "\n".join(p["text"] for p in msg.content
                                 if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


def create_app(settings=None, auth: tuple[str, str] | None = None, advisor=None) -> FastAPI:
    """Build the FastAPI app with every route and the Gradio UI mounted at "/"."""
    import gradio as gr

    import tools
    from advisor.config import Settings, redact_urls
    from advisor.service import Advisor, InputRejected, StorageUnavailable, validate_thread_id
    from advisor.ui import build_ui
    from catalog.query import get_catalog
    from tools.errors import InvalidInput

    settings = settings or Settings.from_env()
    advisor = advisor or Advisor.create(settings)
    cat = get_catalog()
    api = FastAPI(title="Open LLM Advisor API", version="0.1.0", default_response_class=SafeJSONResponse,
                  responses=ERROR_RESPONSES,
                  description="Tools for choosing and deploying open-weight LLMs, an OpenAI-compatible chat endpoint, and MCP.")
    api.add_middleware(ChunkedBodyLimit)  # inside LimitsAndAuth: credentials are checked first
    api.add_middleware(LimitsAndAuth, credentials=auth)
    api.state.advisor = advisor

    @api.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        return _error(422, f"{'.'.join(loc) or 'body'}: {err['msg']}", field=".".join(loc) or None)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8): the same error as bad JSON
            return _error(422, f"body is not valid JSON ({exc.detail}); send a JSON object", field="body")
        return _error(exc.status_code, str(exc.detail), kind="invalid_input" if exc.status_code < 500 else "internal_error")

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); the request was not completed", kind="internal_error")

    @api.get("/healthz", tags=["service"], responses={503: {"description": "the conversation database cannot be written"}})
    def healthz():
        """Liveness: status, driver, catalog size and whether conversations can be stored (503 when not)."""
        body = {"status": "ok", "driver": advisor.info.name, "driver_detail": redact_urls(advisor.info.describe()),
                "catalog": {"models": len(cat.models), "gpus": len(cat.gpus), "licenses": len(cat.licenses)},
                "storage": {"ok": True}}
        try:
            advisor.check_storage()
        except StorageUnavailable as exc:
            # no path in this public answer: only what kind of trouble it is
            body.update(status="storage_error", storage={"ok": False, "error": str(exc.__cause__ or exc)})
            return SafeJSONResponse(body, status_code=503)
        return body

    @api.get("/api/tools", tags=["tools"])
    def list_tools() -> dict:
        """Every tool in OpenAI function-calling format."""
        return {"tools": tools.schemas()}

    @api.post("/api/tools/{name}", tags=["tools"], responses={404: {"model": ErrorBody, "description": "unknown tool"}},
              openapi_extra={"requestBody": {"required": False, "content": {"application/json": {"schema": {
                  "type": "object", "description": "the tool's arguments; GET /api/tools gives each tool's JSON schema"}}}}})
    async def call_tool(name: str, request: Request):
        """Call one tool with a JSON object of arguments."""
        if name not in tools.names():
            try:
                tools.get(name)
            except InvalidInput as exc:
                return SafeJSONResponse(status_code=404, content=exc.to_dict())
        raw = await request.body()
        try:
            args = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, an integer over 4,300 digits, nested too deep
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
            return _error(422, f"body is not valid JSON ({reason}); send a JSON object of arguments")
        try:
            return tools.call(name, args)
        except InvalidInput as exc:
            return SafeJSONResponse(status_code=422, content=exc.to_dict())
        except RecursionError:
            return _error(422, "arguments are nested too deeply; send a JSON object of plain values")

    @api.get("/api/threads/{thread_id}", tags=["conversations"], responses=NOT_FOUND)
    def get_thread(thread_id: str):
        """A conversation: its messages with tool steps, the requirements gathered and the shortlist."""
        try:
            validate_thread_id(thread_id)
        except InputRejected as exc:
            return _error(422, str(exc), field="thread_id")
        if not advisor.exists(thread_id):
            return _error(404, f"no conversation with thread id {thread_id!r}", field="thread_id")
        state = advisor.state(thread_id)
        return {"thread_id": thread_id, "messages": advisor.history(thread_id), "requirements": state["requirements"],
                "shortlist": state["shortlist"]}

    @api.get("/api/threads/{thread_id}/report", tags=["conversations"], responses={**NOT_FOUND, 200: {
        "description": "the report", "content": {"text/markdown": {"schema": {"type": "string"}},
                                                 "text/html": {"schema": {"type": "string"}}}}})
    def thread_report(thread_id: str, format: str = "md"):
        """The conversation as a report: Markdown, or self-contained HTML with the charts embedded."""
        from fastapi.responses import HTMLResponse, PlainTextResponse

        from advisor import report

        try:
            validate_thread_id(thread_id)
            text = report.build(advisor, thread_id, format)
        except InputRejected as exc:
            return _error(422, str(exc), field="thread_id")
        except report.ReportError as exc:
            return _error(404 if "no conversation" in str(exc) else 422, str(exc),
                          field="thread_id" if "no conversation" in str(exc) else "format")
        disposition = {"Content-Disposition": f'attachment; filename="advisor-report-{thread_id}.{format}"'}
        if format == "html":
            return HTMLResponse(text, headers=disposition)
        return PlainTextResponse(text, media_type="text/markdown", headers=disposition)

    @api.post("/api/exercises/{number}", tags=["exercises"], responses=NOT_FOUND)
    def run_exercise(number: int, body: ExerciseRequest | None = None):
        """Run a guided exercise (1 chatbot selection, 2 cost analysis, 3 benchmark research) as a conversation."""
        from advisor import exercises
        from catalog.query import LookupFailed

        body = body or ExerciseRequest()
        if number not in exercises.EXERCISES:
            return _error(404, "exercise must be 1, 2 or 3", field="number")
        cost = None
        if number == 2:
            try:
                cost = exercises.CostAssumptions(model=cat.model(body.model).id, gpu=cat.gpu(body.gpu).id,
                                                 gpu_usd_per_hour=body.gpu_usd_per_hour, utilization=body.utilization,
                                                 input_share=body.input_share,
                                                 api_models=[cat.price(a).id for a in body.api_models])
            except LookupFailed as exc:
                return _error(422, str(exc), field={"model": "model", "GPU": "gpu"}.get(exc.kind, "api_models"),
                              suggestions=exc.suggestions)
        try:
            return exercises.run(advisor, number, family=body.family, cost=cost).as_dict()
        except ValueError as exc:
            return _error(422, str(exc), field="family")

    @api.get("/api/views/{name}", tags=["views"], responses=NOT_FOUND)
    def get_view(name: str):
        """One of the tutorial's tables computed from the catalog: families, use-cases, licenses, hardware, costs,
        quality-vs-size, heatmap."""
        from advisor import views

        try:
            v = views.get(name)
        except ValueError as exc:
            return SafeJSONResponse(status_code=404, content={"error": {"type": "invalid_input", "message": str(exc),
                                                                    "field": "name", "suggestions": list(views.VIEWS)}})
        return {"title": v["title"], "markdown": v["markdown"], "data": v["data"]}

    @api.get("/v1/models", tags=["openai"])
    def models() -> dict:
        return {"object": "list", "data": [{"id": SERVED_MODEL_NAME, "object": "model", "created": 0, "owned_by": "open-llm-advisor"}]}

    @api.post("/v1/chat/completions", tags=["openai"], responses={200: {
        "description": "a chat.completion object, or with stream=true a text/event-stream of chat.completion.chunk objects",
        "content": {"application/json": {}, "text/event-stream": {"schema": {"type": "string"}}}},
        503: {"model": ErrorBody, "description": "the message was not saved: the conversation database cannot be written"}})
    async def chat_completions(req: ChatCompletionRequest):
        """OpenAI-compatible chat with the advisor. Pass `thread_id` (or metadata.thread_id) to continue a conversation;
        the reply carries `thread_id` and the X-Advisor-Thread header."""
        text = _last_user_text(req)
        thread_id = req.thread_id or (req.metadata or {}).get("thread_id")
        try:
            thread_id = validate_thread_id(thread_id) if thread_id else uuid.uuid4().hex
            events = advisor.stream(text, thread_id=thread_id)
            # validates the message (size, emptiness) and the database, and starts the turn, before answering: from
            # here the turn runs to its end and is stored even if this client goes away
            await _turn_thread(next, events)
        except InputRejected as exc:
            return _error(422, str(exc), field="messages" if exc.field == "message" else exc.field)
        except StorageUnavailable as exc:
            log.error("turn refused: %s", exc)
            return _error(503, "your message was not saved: the conversation database cannot be written; "
                               "try again later", kind="storage_unavailable")
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        headers = {"X-Advisor-Thread": thread_id}

        def chunk(delta: dict, finish: str | None = None) -> str:
            body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": req.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "thread_id": thread_id}
            return f"data: {_json_text(body)}\n\n"

        if req.stream:
            async def gen():
                yield chunk({"role": "assistant", "content": ""})
                sent = ""
                # each wait for the turn's next event is a thread of its own pool: a client that drops the stream
                # only stops reading (the turn goes on), and slow turns never hold the threads other routes need
                while (event := await _turn_thread(next, events, None)) is not None:
                    if event["type"] == "token":
                        sent += event["text"]
                        yield chunk({"content": event["text"]})
                    elif event["type"] == "error":
                        yield chunk({"content": f"\n[error: {event['message']}]"})
                    elif event["type"] == "final":
                        rest = event["text"][len(sent):] if event["text"].startswith(sent) else "\n\n" + event["text"]
                        for i in range(0, len(rest), 400):
                            yield chunk({"content": rest[i:i + 400]})
                yield chunk({}, finish="stop")
                yield "data: [DONE]\n\n"

            return StreamingResponse(gen(), media_type="text/event-stream", headers=headers)

        reply, steps = "", []
        for event in await _turn_thread(list, events):
            if event["type"] == "final":
                reply = event["text"]
            elif event["type"] == "tool_result":
                steps.append({"name": event["name"], "arguments": event["args"], "result": event["result"]})
            elif event["type"] == "error":
                reply = event["message"]
        body = {"id": completion_id, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "thread_id": thread_id, "advisor_tool_calls": steps}
        return SafeJSONResponse(body, headers=headers)

    _warm_caches()
    demo = build_ui(advisor)
    return gr.mount_gradio_app(api, demo, path="/", mcp_server=True, footer_links=["api"], show_error=False)


# Threads that wait for turns (a model call can take minutes): their own pool, so that any number of slow or
# abandoned turns leaves the default pool, which serves /healthz and the other synchronous routes, free.
_TURN_THREADS = anyio.CapacityLimiter(1000)


async def _turn_thread(fn, *args):
    """Run a blocking step of a turn in a worker thread; if the request is cancelled (the client went away), stop
    waiting for it at once: the thread finishes on its own and its result is dropped."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=_TURN_THREADS, abandon_on_cancel=True)


def _warm_caches() -> None:
    """Pay the one-off per-catalog work (throughput calibration, rankings, name patterns) at start, not in the first turn."""
    import tools
    from advisor.grounding import find_ungrounded

    tools.call("estimate_throughput", {"model": "llama-3.1-8b", "gpu": "h100-sxm"})
    tools.call("select_models", {"use_case": "general"})
    tools.call("find_models", {"query": "llama"})
    find_ungrounded("Llama 3.1 8B fits 16 GB.", {16.0})


def _redact_record(record: logging.LogRecord) -> bool:
    """A log filter: URLs in the message lose their credentials (httpx logs every upstream request's URL)."""
    from advisor.config import redact_urls

    message = record.getMessage()
    if "://" in message:
        record.msg, record.args = redact_urls(message), ()
    return True


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    if ":" not in value:
        raise ValueError("auth must be USER:PASSWORD")
    user, password = value.split(":", 1)
    if not user or not password:
        raise ValueError("auth must be USER:PASSWORD with both parts non-empty")
    return user, password


def serve(host: str = "127.0.0.1", port: int = 7860, settings=None, auth: str | None = None, insecure: bool = False) -> int:
    """Start the server. Binding beyond localhost needs credentials (--auth / ADVISOR_AUTH) or --insecure."""
    import uvicorn

    from advisor.config import redact_urls
    from advisor.drivers import DriverError
    from advisor.storage import StorageUnavailable

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_redact_record)
    try:
        credentials = parse_auth(auth or os.environ.get("ADVISOR_AUTH"))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    local = host in ("127.0.0.1", "localhost", "::1")
    if not local and credentials is None:
        if not insecure:
            print(f"error: binding to {host} exposes the advisor to the network; pass --auth USER:PASSWORD "
                  "(or set ADVISOR_AUTH), or --insecure if you really mean it", file=sys.stderr)
            return 2
        print(f"WARNING: --insecure: the advisor on {host}:{port} answers anyone who can reach it, without credentials "
              "(its conversations, its model and MCP included); use --auth USER:PASSWORD unless the network is yours "
              "alone", file=sys.stderr, flush=True)
    try:
        app = create_app(settings, auth=credentials)
    except (DriverError, StorageUnavailable) as exc:
        print(f"error: {redact_urls(str(exc))}", file=sys.stderr)
        return 2
    print(f"Open LLM Advisor on http://{host}:{port}  (driver: {redact_urls(app.state.advisor.info.describe())})",
          flush=True)
    # Open connections (a browser's event stream, an MCP session) get this long to finish on SIGTERM, then are closed.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    return 0


def main(argv: list[str] | None = None) -> int:
    from advisor.cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
