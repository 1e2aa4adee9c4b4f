"""GET /api/views/{name}: one of the tutorial's tables computed from the catalog (advisor/views.py)."""

from __future__ import annotations

from fastapi import APIRouter

from advisor import views
from advisor.http.errors import NOT_FOUND

router = APIRouter(tags=["views"])


@router.get("/api/views/{name}", responses=NOT_FOUND)
def get_view(name: str):
    """One of the tutorial's tables computed from the catalog: families, use-cases, licenses, hardware, costs,
    quality-vs-size, heatmap."""
    view = views.get(name)  # NotFound: 404, with the views as suggestions
    return {"title": view["title"], "markdown": view["markdown"], "data": view["data"]}
