"""What the UI serves besides its pages: every tool through Gradio's API, and so through its MCP server, and a plain
chat endpoint (`/chat`) for gradio_client and scripts."""

from __future__ import annotations

import functools
import json

import gradio as gr

import tools
from advisor.service import Advisor, InputRejected
from advisor.users import user_of
from tools.errors import NotFound


def register(advisor: Advisor) -> None:
    """Call inside the Blocks. queue=False: MCP calls these in-process (Gradio's fast path) instead of through an HTTP
    client of its own that calls back into this server: that client sent no credentials (every MCP call failed
    behind --auth) and kept a connection open that stopped SIGTERM from ending the process."""

    def chat_api(message: str, thread_id: str = "", request: gr.Request | None = None) -> tuple[str, str]:
        """Ask the advisor one question. Returns the reply and the thread id to continue with.

        Args:
            message: The question, e.g. "Which model fits one RTX 4090 for coding?"
            thread_id: Conversation to continue (one this server returned to you); empty starts a new one.
        """
        user = user_of(request.headers if request is not None else None)
        try:
            result = advisor.ask(message, thread_id=thread_id or None, user=user)
        except (InputRejected, NotFound) as exc:  # NotFound: another user's conversation, or none
            return f"error: {exc}", thread_id
        return result.reply, result.thread_id

    gr.api(chat_api, api_name="chat", queue=False)
    for tool in tools.registry:
        gr.api(_mcp_function(tool), api_name=tool.name, api_description=tool.description, queue=False)


def _mcp_function(tool: tools.Tool):
    """The tool as a typed function Gradio can describe (its signature and docstring) that returns the JSON result,
    or the structured error."""

    @functools.wraps(tool.fn)
    def call(*args, **kwargs):
        bound = dict(zip(tool.args_model.model_fields, args))
        bound.update(kwargs)
        # JSON text, so an MCP client can parse it (Gradio would send a dict's Python repr)
        return json.dumps(tools.call_json(tool.name, {k: v for k, v in bound.items() if v is not None}))

    call.__annotations__ = {**tool.fn.__annotations__, "return": "str"}  # a copy: wraps shares the tool's own dict
    return call
