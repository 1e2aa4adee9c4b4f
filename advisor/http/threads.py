"""GET /api/threads/{thread_id} (a conversation) and GET /api/threads/{thread_id}/report (it as a report)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from advisor import report
from advisor.http.errors import NOT_FOUND
from advisor.service import validate_thread_id
from advisor.users import user_of
from tools.errors import NotFound

router = APIRouter(tags=["conversations"])
REPORT_TYPES = {
    "description": "the report",
    "content": {"text/markdown": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}},
}


def stored_thread(request: Request, thread_id: str) -> str:
    """The thread id, if it is valid (InputRejected: 422) and a conversation of the requesting user is stored under
    it (NotFound: 404, the same for another user's as for none)."""
    validate_thread_id(thread_id)
    advisor = request.app.state.advisor
    if not advisor.exists(thread_id) or not advisor.owns(thread_id, user_of(request.headers)):
        raise NotFound(f"no conversation with thread id {thread_id!r}", field="thread_id")
    return thread_id


@router.get("/api/threads/{thread_id}", responses=NOT_FOUND)
def get_thread(thread_id: str, request: Request):
    """A conversation: its messages with tool steps, the requirements gathered and the shortlist."""
    advisor = request.app.state.advisor
    state = advisor.state(stored_thread(request, thread_id))
    return {
        "thread_id": thread_id,
        "messages": advisor.history(thread_id),
        "requirements": state["requirements"],
        "shortlist": state["shortlist"],
    }


@router.get("/api/threads/{thread_id}/report", responses={**NOT_FOUND, 200: REPORT_TYPES})
def thread_report(thread_id: str, request: Request, format: str = "md"):
    """The conversation as a report: Markdown, or self-contained HTML with the charts embedded."""
    stored_thread(request, thread_id)
    text = report.build(request.app.state.advisor, thread_id, format)  # ReportError: 422, ThreadNotFound: 404
    disposition = {"Content-Disposition": f'attachment; filename="advisor-report-{thread_id}.{format}"'}
    if format == "html":
        return HTMLResponse(text, headers=disposition)
    return PlainTextResponse(text, media_type="text/markdown", headers=disposition)
