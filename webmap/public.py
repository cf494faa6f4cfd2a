"""The public outage page (``/public``): no login, no one else's personal data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

__all__ = ["bp"]

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.get("/")
def home() -> Any:
    return render_template("public.html")
