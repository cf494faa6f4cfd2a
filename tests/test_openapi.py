"""The OpenAPI description is generated from the routes, and loses nothing.

- What the hand-written description of commit 687d0d0 documented (every
  path and method, its roles, security, parameters, answers and request
  body types) is still documented: :data:`BEFORE` is that description,
  summarised.
- The document is valid OpenAPI 3.1, and its roles are the ones the views
  enforce (:func:`webmap.auth.require`) and the pages are told.
- No import cycle: the API modules import the description's metadata, the
  document imports no API module.
- Engine results carry a machine-readable ``code``, which the API maps to
  status codes (never by reading messages).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import sign_in
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[1]
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ROLES = ("dispatcher", "engineer", "crew", "admin")

#: The hand-written description before it was generated: (method, path) ->
#: (x-roles or None, security: public/read/write, parameters "in:name",
#: response codes, request body media types).
BEFORE: dict[tuple[str, str], tuple[Any, ...]] = {
    ("get", "/api/alerts"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:limit", "query:level", "query:unit", "query:zone", "query:acknowledged"),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/alerts/summary"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:level", "query:unit", "query:zone"),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/alerts/ack"): (
        ("dispatcher",),
        "write",
        (),
        (200, 400, 401, 403, 404, 409, 422),
        ("application/json",),
    ),
    ("post", "/api/outages/bulk/close"): (
        ("dispatcher",),
        "write",
        (),
        (200, 400, 401, 403, 404, 409, 422),
        ("application/json",),
    ),
    ("get", "/api/audit"): (("admin",), "read", ("query:limit",), (200, 400, 401, 403), ()),
    ("get", "/api/clock"): (None, "public", (), (200,), ()),
    ("get", "/api/crew/feeder"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:element",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/callbacks"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:hours", "query:limit"),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/critical"): (("dispatcher", "engineer"), "read", (), (200, 401, 403), ()),
    ("put", "/api/critical/{customer}"): (
        ("dispatcher", "engineer"),
        "write",
        ("path:customer",),
        (200, 400, 401, 403, 409, 422, 503),
        ("application/json",),
    ),
    ("post", "/api/customers/{customer}/contacts"): (
        ("dispatcher",),
        "write",
        ("path:customer",),
        (200, 400, 401, 403, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/crews"): (("dispatcher", "engineer", "crew"), "read", (), (200, 401, 403), ()),
    ("post", "/api/crews/import"): (
        ("dispatcher",),
        "write",
        (),
        (200, 400, 401, 403, 409, 413, 422, 503),
        ("application/json", "text/csv"),
    ),
    ("post", "/api/crews/{crew_id}/checkin"): (
        ("dispatcher", "crew"),
        "write",
        ("path:crew_id",),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("post", "/api/crews/{crew_id}/gps"): (
        ("dispatcher", "crew"),
        "write",
        ("path:crew_id",),
        (200, 400, 401, 403, 409, 422),
        ("application/json",),
    ),
    ("post", "/api/crews/{crew_id}/status"): (
        ("dispatcher", "crew"),
        "write",
        ("path:crew_id",),
        (200, 400, 401, 403, 409, 422),
        ("application/json",),
    ),
    ("get", "/api/devices"): (("admin",), "read", (), (200, 401, 403), ()),
    ("post", "/api/devices"): (
        ("admin",),
        "write",
        (),
        (201, 400, 401, 403),
        ("application/json",),
    ),
    ("post", "/api/devices/{device_id}/revoke"): (
        ("admin",),
        "write",
        ("path:device_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/events"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (200, 400, 401, 403, 409, 413, 422),
        ("application/json", "application/x-ndjson"),
    ),
    ("get", "/api/health"): (None, "public", (), (200,), ()),
    ("get", "/api/jobs"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:open",),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/jobs/{job_id}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("path:job_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/jobs/{job_id}/suggest"): (
        ("dispatcher",),
        "read",
        ("path:job_id",),
        (200, 400, 401, 403, 404, 409),
        (),
    ),
    ("post", "/api/jobs/{job_id}/{action}"): (
        ("dispatcher", "crew"),
        "write",
        ("path:job_id", "path:action"),
        (200, 400, 401, 403, 404, 409, 422),
        ("application/json",),
    ),
    ("post", "/api/login"): (None, "public", (), (200, 400, 401, 429), ("application/json",)),
    ("get", "/api/openapi.json"): (None, "public", (), (200,), ()),
    ("get", "/api/outages"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:state", "query:open"),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/outages/{outage_id}"): (
        ("dispatcher", "engineer"),
        "read",
        ("path:outage_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/outages/{outage_id}/detail"): (
        ("dispatcher", "engineer"),
        "read",
        ("path:outage_id", "query:customers", "query:timeline"),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/search"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:q", "query:limit"),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/overview"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:hours",),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/outages/{outage_id}/{action}"): (
        ("dispatcher",),
        "write",
        ("path:outage_id", "path:action"),
        (200, 400, 401, 403, 404, 409, 422),
        ("application/json",),
    ),
    ("get", "/api/public/areas"): (None, "public", (), (200,), ()),
    ("get", "/api/public/case"): (
        None,
        "public",
        ("query:case", "query:phone"),
        (200, 400, 404, 429),
        (),
    ),
    ("get", "/api/public/outages"): (None, "public", (), (200,), ()),
    # Control regions (issue 17): the combined read models (webmap/regions.py).
    ("get", "/api/regions"): (("dispatcher", "engineer"), "read", (), (200, 401, 403, 404), ()),
    ("get", "/api/regions/outages"): (
        ("dispatcher", "engineer"),
        "read",
        (),
        (200, 304, 401, 403, 404),
        (),
    ),
    ("get", "/api/regions/overview"): (
        ("dispatcher", "engineer"),
        "read",
        (),
        (200, 304, 401, 403, 404),
        (),
    ),
    ("get", "/api/regions/public/areas"): (None, "public", (), (200, 304, 404), ()),
    ("get", "/api/regions/public/case"): (
        None,
        "public",
        ("query:case", "query:phone"),
        (200, 400, 404, 429),
        (),
    ),
    ("get", "/api/regions/public/outages"): (None, "public", (), (200, 304, 404), ()),
    ("get", "/api/regions/reports/indices"): (
        ("dispatcher", "engineer"),
        "read",
        ("query:start", "query:end"),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/regions/stream"): (
        ("dispatcher", "engineer"),
        "read",
        ("header:Last-Event-ID", "query:since"),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/reports/{name}"): (
        ("dispatcher", "engineer"),
        "read",
        ("path:name", "query:start", "query:end", "query:day"),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("get", "/api/session"): (None, "public", (), (200, 401), ()),
    ("post", "/api/switch"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (200, 400, 401, 403, 409, 422),
        ("application/json",),
    ),
    ("get", "/api/trace/{kind}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        (
            "path:kind",
            "query:element",
            "query:device",
            "query:open",
            "query:close",
            "query:a",
            "query:b",
        ),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/users"): (("admin",), "write", (), (201, 400, 401, 403), ("application/json",)),
    ("get", "/stream"): (
        ("dispatcher", "engineer", "crew", "admin"),
        "read",
        ("header:Last-Event-ID", "query:since"),
        (200, 400, 401, 403),
        (),
    ),
    # The switching desk (issue 15).
    ("post", "/api/outages/{outage_id}/order"): (
        ("dispatcher", "engineer"),
        "write",
        ("path:outage_id",),
        (201, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/planned"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:open",),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/planned"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (201, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/planned/{planned_id}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("path:planned_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/planned/{planned_id}/{action}"): (
        ("dispatcher", "engineer"),
        "write",
        ("path:planned_id", "path:action"),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/switching/field"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:all",),
        (200, 400, 401, 403),
        (),
    ),
    ("get", "/api/switching/orders"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:state", "query:open"),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/switching/orders"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (201, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/switching/orders/{order_id}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("path:order_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/switching/orders/{order_id}/edit"): (
        ("dispatcher", "engineer"),
        "write",
        ("path:order_id",),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("post", "/api/switching/orders/{order_id}/steps/{seq}"): (
        ("dispatcher", "crew"),
        "write",
        ("path:order_id", "path:seq"),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/switching/orders/{order_id}/study"): (
        ("dispatcher", "engineer"),
        "read",
        ("path:order_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/switching/orders/{order_id}/{action}"): (
        ("dispatcher", "engineer"),
        "write",
        ("path:order_id", "path:action"),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/switching/safety"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:open",),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/switching/safety"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (201, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("get", "/api/switching/safety/{document_id}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("path:document_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
    ("post", "/api/switching/safety/{document_id}/{action}"): (
        ("dispatcher", "crew"),
        "write",
        ("path:document_id", "path:action"),
        (200, 400, 401, 403, 404, 409, 422, 503),
        ("application/json",),
    ),
    ("post", "/api/switching/study"): (
        ("dispatcher", "engineer"),
        "write",
        (),
        (200, 400, 401, 403),
        ("application/json",),
    ),
    # Storm mode (issue 16).
    ("get", "/api/storm"): (("dispatcher", "engineer", "crew"), "read", (), (200, 401, 403), ()),
    ("post", "/api/storm"): (
        ("dispatcher",),
        "write",
        (),
        (200, 400, 401, 403, 409, 422, 503),
        ("application/json",),
    ),
    # Damage assessment (issue 16).
    ("get", "/api/damage"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("query:outage",),
        (200, 400, 401, 403),
        (),
    ),
    ("post", "/api/damage"): (
        ("dispatcher", "crew"),
        "write",
        (),
        (201, 400, 401, 403, 409, 422, 503),
        ("application/json",),
    ),
    ("post", "/api/photos"): (
        ("dispatcher", "engineer", "crew"),
        "write",
        ("header:Idempotency-Key",),
        (200, 201, 400, 401, 403, 413),
        ("image/jpeg", "image/png", "image/webp"),
    ),
    ("get", "/api/photos/{photo_id}"): (
        ("dispatcher", "engineer", "crew"),
        "read",
        ("path:photo_id",),
        (200, 400, 401, 403, 404),
        (),
    ),
}


def _summary(op: dict[str, Any]) -> tuple[Any, ...]:
    roles = tuple(sorted(op["x-roles"], key=ROLES.index)) if "x-roles" in op else None
    security = op["security"]
    kind = "public" if not security else "write" if any("csrf" in s for s in security) else "read"
    params = tuple(f"{p['in']}:{p['name']}" for p in op.get("parameters", ()))
    codes = tuple(int(c) for c in sorted(op["responses"]))
    body = tuple(sorted(op.get("requestBody", {}).get("content", {})))
    return roles, kind, params, codes, body


@pytest.fixture
def doc(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


@SQLITE_ONLY
def test_everything_documented_before_still_is(doc: dict[str, Any]) -> None:
    now = {
        (method, path): _summary(op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    assert set(now) == set(BEFORE)
    for key, (roles, kind, params, codes, body) in BEFORE.items():
        new_roles, new_kind, new_params, new_codes, new_body = now[key]
        assert (new_roles, new_kind, new_body) == (roles, kind, body), key
        assert set(new_params) == set(params), key
        assert set(new_codes) >= set(codes), key
    old_schemas = {
        "Alert", "AuditEntry", "Conflict", "Crew", "CrewStatus", "Decision", "Device",
        "DeviceRequest", "Error", "Event", "GpsReport", "IngestReport", "Job", "JobAction",
        "JobDetail", "Login", "NewDevice", "NewUser", "Outage", "OutageAction", "OutageDetail",
        "Rejection", "Report", "Session", "Switching", "Trace", "User",
    }  # fmt: skip
    assert set(doc["components"]["schemas"]) >= old_schemas


@SQLITE_ONLY
def test_the_document_is_valid_and_refers_only_to_what_it_describes(doc: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(doc)
    text = json.dumps(doc)
    refs = {r.split('"')[0] for r in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs <= set(doc["components"]["schemas"])
    assert refs == set(doc["components"]["schemas"])  # nothing described for nobody


@SQLITE_ONLY
def test_roles_are_the_views_own(app: Flask, doc: dict[str, Any]) -> None:
    """``x-roles`` is what ``require`` checks: asked of :func:`webmap.auth.may` for
    each role, the answer is the document's."""
    from webmap.accounts import User
    from webmap.auth import may

    endpoints = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    guarded = 0
    with app.test_request_context():
        for endpoint, op in endpoints.items():
            for role in ROLES:
                user = User("someone", role, "K1" if role == "crew" else None)
                listed = "x-roles" not in op or role in op["x-roles"] or role == "admin"
                assert may(user, endpoint) is listed, (endpoint, role)
                for action, roles in op.get("x-action-roles", {}).items():
                    allowed = role in roles or role == "admin"
                    assert may(user, endpoint, action) is allowed, (endpoint, action, role)
            guarded += "x-roles" in op
            assert may(None, endpoint) is ("x-roles" not in op)
    assert guarded == 63
    actions = endpoints["api.job_action"]["x-action-roles"]
    assert {a for a, roles in actions.items() if "crew" not in roles} == {
        "assign",
        "callback",
        "recall",
    }


@SQLITE_ONLY
def test_the_dispatcher_page_is_told_what_its_user_may_do(app: Flask) -> None:
    def config(username: str) -> dict[str, Any]:
        client = app.test_client()
        sign_in(client, username)
        html = client.get("/").get_data(as_text=True)
        found: dict[str, Any] = json.loads(html.split('id="oms-config">')[1].split("</script>")[0])
        return found

    dora, eng, ada = config("dora"), config("eng"), config("ada")
    assert (dora["canDispatch"], dora["canSwitch"]) == (True, True)
    assert (eng["canDispatch"], eng["canSwitch"]) == (False, True)
    assert ada["canDispatch"] and ada["canSwitch"]
    assert "assign" in dora["jobActions"] and "accept" in dora["jobActions"]
    assert dora["jobActions"] == ada["jobActions"]
    assert eng["jobActions"] == []


# ------------------------------------------------------------------ imports
def _webmap_imports(path: Path) -> set[str]:
    """The ``webmap`` modules ``path`` imports, anywhere in it."""
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "webmap").rglob("*.py")
    }
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
    return {n for n in found if n in modules and n != "webmap"}


def test_no_import_cycle_between_the_api_and_its_description() -> None:
    graph = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): (
            _webmap_imports(p)
        )
        for p in (ROOT / "webmap").rglob("*.py")
    }
    assert "webmap.api" not in graph["webmap.openapi.document"]
    assert not any(m.startswith("webmap.openapi") for m in graph["webmap.openapi"])

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert cycles == []


# -------------------------------------------------------------------- codes
def test_exceptions_carry_a_code() -> None:
    from oms import exceptions as e

    codes = {
        e.OMSError: "error",
        e.StorageError: "unavailable",
        e.NotLoadedError: "unavailable",
        e.EventError: "invalid",
        e.EventConflict: "conflict",
        e.OutageNotFound: "not_found",
        e.JobNotFound: "not_found",
        e.Forbidden: "forbidden",
        e.ActionError: "refused",
    }
    assert {cls: cls("x").code for cls in codes} == codes


def test_an_ingest_report_keeps_the_code_out_of_contract_4() -> None:
    from oms.engine import IngestReport
    from oms.exceptions import ActionError, EventConflict, EventError

    report = IngestReport(accepted=1)
    report.reject(2, EventError("bad"))
    report.reject(3, EventConflict("seen"))
    report.reject(4, ActionError("no"))
    assert report.codes() == {"invalid", "conflict", "refused"}
    assert report.rejected[1] == {"line": 3, "error": "seen", "code": "conflict"}
    assert report.to_dict() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [
            {"line": 2, "error": "bad"},
            {"line": 3, "error": "seen"},
            {"line": 4, "error": "no"},
        ],
    }
    # A line recorded without a code (by another writer) counts as invalid.
    assert IngestReport(rejected=[{"line": 1, "error": "x"}]).codes() == {"invalid"}


def test_the_api_maps_codes_not_messages() -> None:
    from oms.engine import IngestReport
    from oms.exceptions import ActionError, EventConflict, EventError, Forbidden, OutageNotFound
    from webmap import api

    assert {c: api.STATUS[c] for c in ("invalid", "conflict", "refused", "not_found")} == {
        "invalid": 422,
        "conflict": 409,
        "refused": 409,
        "not_found": 404,
    }
    assert api.STATUS["forbidden"] == 403

    def status(*errors: Exception, one_action: bool = False) -> int:
        report = IngestReport()
        for n, exc in enumerate(errors, start=1):
            report.reject(n, exc)  # type: ignore[arg-type]
        return api._report_status(report, one_action)

    assert status() == 200
    assert status(EventError("x"), ActionError("y"), OutageNotFound("z")) == 422
    assert status(OutageNotFound("z")) == 422  # a line of /api/events
    assert status(OutageNotFound("z"), one_action=True) == 404  # the URL names nothing
    assert status(Forbidden("z"), Forbidden("y")) == 403
    # Worded like anything at all: the code decides.
    assert status(EventError("x"), EventConflict("nothing about content")) == 409
    assert status(EventError("event id 's1' was seen before with different content")) == 422
    source = (ROOT / "webmap" / "api.py").read_text(encoding="utf-8")
    assert "different content" not in source and '["error"] in' not in source


def test_the_description_is_the_check() -> None:
    """A query parameter is read by its schema; what the schema forbids is an error."""
    from werkzeug.datastructures import MultiDict

    from webmap.openapi.metadata import INT, STR, TIME, Operation, Param, problem, query

    limit = query("limit", "rows", {**INT, "minimum": 1, "maximum": 5000})
    assert limit.read([]) is None and limit.read(["7"]) == 7
    for bad in (["x"], ["0"], ["-1"], ["5001"], ["1", "2"], ["1.5"]):
        with pytest.raises(ValueError):
            limit.read(bad)
    state = query("state", "s", {"type": "string", "enum": ["open", "closed"]})
    with pytest.raises(ValueError, match="one of"):
        state.read(["false"])
    with pytest.raises(ValueError, match="required"):
        Param("element", "e", {**STR, "minLength": 1}, required=True).read([])
    assert problem(STR, "a\x00b") and problem(STR, "ab") is None
    assert problem(TIME, "0152-06-01T04:35:21+02:30") and problem(TIME, "2026-03-01T10:00:00")
    assert problem(TIME, "2026-03-01T10:00:00+00:00") is None
    op = Operation("x", tag="t", ok={}, params=(limit,), body={"type": "object", "required": ["a"]})
    assert op.refusal(MultiDict({"limit": "2"}), b'{"a": 1}', {"a": 1}) is None
    assert "required" in (op.refusal(MultiDict(), b"{}", {}) or "")
    assert "limit" in (op.refusal(MultiDict({"limit": "x"}), b"", None) or "")


def test_405_says_what_is_allowed(client: FlaskClient) -> None:
    for method, url, allowed in (
        ("delete", "/api/alerts", {"GET", "HEAD", "OPTIONS"}),
        ("post", "/api/jobs/J1/suggest", {"GET", "HEAD", "OPTIONS"}),
        ("get", "/api/jobs/J1/accept", {"POST", "OPTIONS"}),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 405, url
        assert response.mimetype == "application/json"
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed, url
