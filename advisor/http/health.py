"""GET /healthz: liveness, the driver, the catalog's size and whether conversations can be stored (503 when not).
It needs no credentials, so it says nothing private (no path, no credentials in a URL). It runs on the event loop,
its database check in a pool of its own (advisor/http/pools.py): no number of slow turns makes it wait."""

from __future__ import annotations

from fastapi import APIRouter, Request

from advisor.config import redact_urls
from advisor.http.errors import SafeJSONResponse
from advisor.http.pools import health_thread
from advisor.service import StorageUnavailable
from catalog.query import get_catalog

router = APIRouter(tags=["service"])


@router.get("/healthz", responses={503: {"description": "the conversation database cannot be written"}})
async def healthz(request: Request):
    """Liveness: status, driver, catalog size and whether conversations can be stored (503 when not)."""
    advisor = request.app.state.advisor
    catalog = get_catalog()
    body = {
        "status": "ok",
        "driver": advisor.info.name,
        "driver_detail": redact_urls(advisor.info.describe()),
        "catalog": {"models": len(catalog.models), "gpus": len(catalog.gpus), "licenses": len(catalog.licenses)},
        "storage": {"ok": True},
    }
    try:
        await health_thread(advisor.check_storage)
    except StorageUnavailable as exc:
        # no path in this public answer: only what kind of trouble it is
        body.update(status="storage_error", storage={"ok": False, "error": str(exc.__cause__ or exc)})
        return SafeJSONResponse(body, status_code=503)
    return body
