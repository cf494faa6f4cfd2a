"""The dispatcher's live map (``/``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from webmap.auth import require

__all__ = ["bp"]

bp = Blueprint("dispatcher", __name__)


@bp.get("/")
@require("dispatcher", "engineer")
def home() -> Any:
    return render_template("dispatcher.html")
