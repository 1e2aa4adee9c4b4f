"""Errors over HTTP: one body shape, ``{"error": {"type", "message", "field", "suggestions"}}``, and one map from
each exception class to its status. Routes raise the core's exceptions (or HttpError) and never build error
responses themselves."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from advisor.service import InputRejected, StorageUnavailable
from tools.errors import InvalidInput, NotFound

log = logging.getLogger("advisor.app")
MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 64  # nesting of arrays and objects a JSON body may have (/api/tools, MCP)


class BadJson(ValueError):
    """A request body that is not JSON this server takes; the message says why."""


def read_json(raw: bytes) -> Any:
    """The JSON in a request body, or BadJson: not UTF-8, not JSON, an integer over 4,300 digits, or nested deeper
    than MAX_JSON_DEPTH (a body nested 50,000 deep made a RecursionError, a 500, on the way to a tool or MCP)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadJson(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # not JSON, not UTF-8 (UnicodeDecodeError), an integer too long to read
        raise BadJson(str(exc)[:200]) from None
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def json_text(content: Any) -> str:
    """JSON text that always encodes as UTF-8: a lone surrogate from a client's JSON ("\\ud800" is valid JSON, but not
    text) that is echoed back would otherwise fail the response (a 500, or a stream cut short). It becomes U+FFFD."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")


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
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "not found"}}


def error(
    status: int,
    message: str,
    field: str | None = None,
    kind: str = "invalid_input",
    suggestions: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"type": kind, "message": message, "field": field, "suggestions": suggestions or []}}
    return SafeJSONResponse(status_code=status, content=body, headers=headers)


class HttpError(Exception):
    """An error only HTTP has (a body that is not JSON, say), raised by a route and answered as it says."""

    def __init__(self, status: int, message: str, field: str | None = None, kind: str = "invalid_input"):
        super().__init__(message)
        self.status, self.message, self.field, self.kind = status, message, field, kind


STORAGE_MESSAGE = "your message was not saved: the conversation database cannot be written; try again later"
# exception class -> status and error type; the most specific class listed wins (Starlette walks the MRO)
STATUS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "invalid_input"),
    InvalidInput: (422, "invalid_input"),
    InputRejected: (422, "invalid_input"),
    StorageUnavailable: (503, "storage_unavailable"),
}


async def _known(request: Request, exc: Exception) -> JSONResponse:
    status, kind = next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)
    if isinstance(exc, StorageUnavailable):
        log.error("turn refused: %s", exc)
        return error(status, STORAGE_MESSAGE, kind=kind)
    return error(status, str(exc), getattr(exc, "field", None), kind, getattr(exc, "suggestions", None))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HttpError)
    return error(exc.status, exc.message, exc.field, exc.kind)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(x) for x in err.get("loc", ()) if x != "body"]
    return error(422, f"{'.'.join(loc) or 'body'}: {err['msg']}", field=".".join(loc) or None)


async def _starlette(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not read the body (e.g. not UTF-8): the same error as bad JSON
        return error(422, f"body is not valid JSON ({exc.detail}); send a JSON object", field="body")
    return error(exc.status_code, str(exc.detail), kind="invalid_input" if exc.status_code < 500 else "internal_error")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return error(500, f"internal error ({type(exc).__name__}); the request was not completed", kind="internal_error")


def install(api: FastAPI) -> None:
    """Answer every exception with the error body and the status STATUS gives its class."""
    for cls in STATUS:
        api.add_exception_handler(cls, _known)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(RequestValidationError, _validation)
    api.add_exception_handler(StarletteHTTPException, _starlette)
    api.add_exception_handler(Exception, _unexpected)
