"""GET /api/tools (every tool's schema) and POST /api/tools/{name} (call one: JSON arguments in, JSON result out).
Bad arguments are 422 with the tool's structured error, an unknown tool 404."""

from __future__ import annotations

from fastapi import APIRouter, Request

import tools
from advisor.http.errors import BadJson, ErrorBody, HttpError, read_json

router = APIRouter(tags=["tools"])
ANY_ARGUMENTS = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "the tool's arguments; GET /api/tools gives each tool's JSON schema",
                }
            }
        },
    }
}


@router.get("/api/tools")
def list_tools() -> dict:
    """Every tool in OpenAI function-calling format."""
    return {"tools": tools.schemas()}


@router.post(
    "/api/tools/{name}",
    responses={404: {"model": ErrorBody, "description": "unknown tool"}},
    openapi_extra=ANY_ARGUMENTS,
)
async def call_tool(name: str, request: Request):
    """Call one tool with a JSON object of arguments."""
    tools.get(name)  # NotFound: 404, before the body is read
    args = parse_arguments(await request.body())
    try:
        return tools.call(name, args)
    except RecursionError:
        raise HttpError(422, "arguments are nested too deeply; send a JSON object of plain values") from None


def parse_arguments(raw: bytes):
    """The JSON in a request body (an empty body: no arguments), within the limits every JSON body has (read_json)."""
    try:
        return read_json(raw) if raw.strip() else {}
    except BadJson as exc:
        raise HttpError(422, f"body is not valid JSON ({exc}); send a JSON object of arguments") from None
