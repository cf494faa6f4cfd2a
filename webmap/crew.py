"""The crew handheld (``/crew``), a PWA that works offline."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from webmap.auth import require

__all__ = ["bp"]

bp = Blueprint("crew", __name__, url_prefix="/crew")


@bp.get("/")
@require("crew", "dispatcher")
def home() -> Any:
    return render_template("crew.html")
