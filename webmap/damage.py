"""Damage assessment over HTTP: photos from the field, damage reports, and their roll-up.

A handheld uploads its photos first (``POST /api/photos``, the image as
the body; queued offline like any action), then sends the report naming
them (``POST /api/damage``: a ``damage_report`` event, :mod:`oms.engine.damage`).
``GET /api/damage?outage=`` gives an outage's reports and what they add up
to (repair minutes, skills, materials, photos).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from oms.authority import roles_for
from oms.engine.damage import ASSETS, roll_up
from oms.storage import schema
from webmap.api import _ANYONE, _action_event, _apply, _body, _me
from webmap.auth import require
from webmap.db import database, get_conn
from webmap.openapi.metadata import (
    ANY_OBJECT,
    IDS,
    INT,
    NUM,
    STR,
    TIME,
    Answer,
    Named,
    Param,
    array,
    nullable,
    obj,
    operation,
    path,
    query,
)

__all__ = ["DAMAGE_REPORT", "bp"]

bp = Blueprint("damage", __name__, url_prefix="/api")

#: Image types a photo may be, and the most bytes one may have.
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_KEY_PATTERN = r"[A-Za-z0-9._:-]+"
_PHOTO_ID = obj({"id": STR, "bytes": INT}, ("id",))
MAX_PHOTO_BYTES = 5 * 1024 * 1024

DAMAGE_REPORT = Named(
    "DamageReport",
    obj(
        {
            "id": STR,
            "time": TIME,
            "outage": nullable(STR),
            "crew": nullable(STR),
            "user": nullable(STR),
            "lon": NUM,
            "lat": NUM,
            "asset": {"enum": list(ASSETS)},
            "repair_minutes": NUM,
            "skills": IDS,
            "materials": IDS,
            "photos": IDS,
            "note": nullable(STR),
        },
        ("id", "time", "lon", "lat", "asset", "repair_minutes"),
    ),
)
_NEW = obj(
    {
        "id": STR,
        "time": TIME,
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "asset": {"enum": list(ASSETS)},
        "repair_minutes": {"type": "number", "minimum": 0, "maximum": 10080},
        "skills": IDS,
        "materials": IDS,
        "photos": IDS,
        "note": STR,
        "outage": STR,
    },
    ("lon", "lat", "asset", "repair_minutes"),
)


@bp.post("/damage")
@require(*roles_for("damage_report"))
@operation(
    "Report damage found in the field (rolled up into its outage's job)",
    tag="damage",
    body=Named("NewDamageReport", _NEW),
    body_required=True,
    check_body=False,  # the engine names what is wrong (422)
    ok={201: Answer("The report, with the outage it was put under.", DAMAGE_REPORT)},
    errors=(400, 403, 409, 422, 503),
)
def report() -> Any:
    event = _action_event("damage_report", _body(event=True))
    answer, status = _apply([event], "damage_report", None)
    if status != 200:
        return answer, status
    d = schema.damage_reports
    body = get_conn().execute(select(d.c.body).where(d.c.id == event["id"])).scalar()
    if body is None:  # a duplicate of a report refused when first sent
        abort(409, description=f"event {event['id']!r} recorded nothing")
    return jsonify(body), 201


@bp.get("/damage")
@require(*_ANYONE)
@operation(
    "Damage reports (of one outage), newest first, with what they add up to",
    tag="damage",
    params=[query("outage", "Only this outage's reports.")],
    ok=Answer(
        "``reports`` and ``summary`` (assets, repair minutes, skills, materials, photos).",
        obj({"reports": array(DAMAGE_REPORT), "summary": ANY_OBJECT}, ("reports", "summary")),
    ),
)
def reports() -> Any:
    d = schema.damage_reports
    q = select(d.c.body).order_by(d.c.time.desc()).limit(2000)
    if request.args.get("outage"):
        q = q.where(d.c.outage == request.args["outage"])
    found = [dict(b) for (b,) in get_conn().execute(q)]
    return jsonify({"reports": found, "summary": roll_up(found)})


@bp.post("/photos")
@require(*_ANYONE)
@operation(
    "Upload a photo from the field (the image is the body)",
    tag="damage",
    other_bodies={t: {"type": "string", "format": "binary"} for t in PHOTO_TYPES},
    params=[
        Param(
            "Idempotency-Key",
            "The handheld's id for this upload: sent again (a lost answer, an "
            "offline queue replayed), the photo is stored once and its id given again.",
            {"type": "string", "pattern": _KEY_PATTERN, "maxLength": 128},
            "header",
        )
    ],
    ok={
        201: Answer("Its id, for a damage report.", _PHOTO_ID),
        200: Answer("Sent before with this Idempotency-Key: the same photo.", _PHOTO_ID),
    },
    errors=(400, 413),
)
def upload() -> Any:
    kind = (request.content_type or "").split(";")[0].strip()
    if kind not in PHOTO_TYPES:
        abort(
            400, description=f"a photo is one of {', '.join(PHOTO_TYPES)}, not {kind or 'nothing'}"
        )
    data = request.get_data()
    if not data:
        abort(400, description="the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        abort(413, description=f"a photo has at most {MAX_PHOTO_BYTES} bytes")
    user = _me().username
    key = request.headers.get("Idempotency-Key")
    if key is None:
        photo_id = f"PH-{secrets.token_hex(8)}"
    elif not re.fullmatch(_KEY_PATTERN, key) or len(key) > 128:
        abort(400, description="Idempotency-Key must be 1-128 letters, digits or ._:-")
    else:  # the same key from the same user is the same photo
        digest = hashlib.sha256(f"{user}\x00{key}".encode()).hexdigest()
        photo_id = f"PH-{digest[:16]}"
    p = schema.photos
    try:
        with database().begin() as conn:
            conn.execute(
                insert(p).values(
                    id=photo_id,
                    content_type=kind,
                    content=data,
                    username=user,
                    uploaded_at=datetime.now(timezone.utc),
                )
            )
    except IntegrityError:
        if key is None:
            raise
        with database().connect() as conn:
            size = conn.execute(select(func.length(p.c.content)).where(p.c.id == photo_id)).scalar()
        return jsonify(id=photo_id, bytes=int(size or 0)), 200
    return jsonify(id=photo_id, bytes=len(data)), 201


@bp.get("/photos/<photo_id>")
@require(*_ANYONE)
@operation(
    "A photo from the field",
    tag="damage",
    params=[path("photo_id", "A photo id.", example="PH-0123456789abcdef")],
    ok=Answer("The image.", None, media_type="image/jpeg"),
    errors=(404,),
)
def photo(photo_id: str) -> Any:
    p = schema.photos
    row = (
        get_conn().execute(select(p.c.content_type, p.c.content).where(p.c.id == photo_id)).first()
    )
    if row is None:
        abort(404, description=f"no photo {photo_id!r}")
    response = Response(bytes(row.content), mimetype=row.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
