"""A planned outage from request to completion (issue 15): its customers are
told ahead, at its start and at its end; the public page in headless
Chromium shows the planned work (announced, then under way) and no fault;
the meters and callers it cuts off never make a fault outage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import T0, Clock, User, kept_on_server
from sqlalchemy import select

from oms.storage import schema

pytestmark = pytest.mark.browser

#: The customers beyond SW2 (b4: 2, b3: 4) on the two-feeder network.
BEYOND_SW2 = ["b4-1", "b4-2", "b3-1", "b3-2", "b3-3", "b3-4"]


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.get_json()
    doc: dict[str, Any] = response.get_json()
    return doc


def _notices(app: Any) -> set[tuple[str, str]]:
    db = app.extensions["oms.storage.db"]
    with db.connect() as conn:
        rows = conn.execute(
            select(schema.notifications.c.kind, schema.notifications.c.customer)
        ).all()
    return {(k, c) for k, c in rows if k.startswith("planned_")}


def test_browser_a_planned_outage_is_announced_and_never_a_fault(
    app: Any, clock: Clock, eng: User, dora: User, live_server: str, page: Any
) -> None:
    start, end = T0 + timedelta(days=3), T0 + timedelta(days=3, hours=4)
    po = _ok(
        eng.post(
            "/api/planned",
            {
                "applicant": "Line maintenance",
                "reason": "replace two poles on L6",
                "devices": ["SW2"],
                "start": start.isoformat(),
                "end": end.isoformat(),
                "crews": ["K1"],
            },
        )
    )
    assert po["customers"] == sorted(BEYOND_SW2)
    _ok(dora.post(f"/api/planned/{po['id']}/approve"))
    # Approved inside its 7 days' notice: the customers are told at once.
    assert {c for k, c in _notices(app) if k == "planned_notice"} == set(BEYOND_SW2)

    with kept_on_server(page, live_server):
        page.goto(f"{live_server}/public/")
        item = f"li.planned[data-notice='{po['id']}']"
        page.wait_for_selector(item)
        text = page.inner_text(item)  # found again: the page redraws its list
        assert "Planned work" in text and "6 customers" in text and "under way" not in text
        assert "b3-1" not in page.content()  # no customer ids on the public page

        # The day comes: the order drafted from the request runs.
        clock.now = start
        order = _ok(eng.post("/api/switching/orders", {"title": "L6 poles", "planned": po["id"]}))
        oid = order["id"]
        _ok(eng.post(f"/api/switching/orders/{oid}/check"))
        _ok(dora.post(f"/api/switching/orders/{oid}/approve"))
        _ok(dora.post(f"/api/switching/orders/{oid}/issue"))
        _ok(dora.post(f"/api/switching/orders/{oid}/steps/1"))
        _ok(dora.post(f"/api/switching/orders/{oid}/steps/2"))
        # The meters cut off send their last gasps; two customers call anyway.
        when = (start + timedelta(seconds=40)).isoformat()
        events = [
            {"id": f"g-{c}", "type": "ami_last_gasp", "time": when, "customer": c}
            for c in BEYOND_SW2
        ] + [{"id": f"c-{c}", "type": "call", "time": when, "customer": c} for c in BEYOND_SW2[:2]]
        assert _ok(dora.post("/api/events", events))["accepted"] == len(events)
        clock.now = start + timedelta(minutes=30)
        app.extensions["oms.service"].tick()
        outages = _ok(dora.get("/api/outages"))
        assert [(o["kind"], o["customers_out"], o["calls"]) for o in outages] == [("planned", 6, 2)]
        page.reload()
        page.wait_for_selector(item)
        assert "under way" in page.inner_text(item)
        assert page.inner_text("#t-outages") == "1"

        # The work done, the order puts everything back.
        clock.now = start + timedelta(hours=3)
        for n in (3, 4):
            _ok(dora.post(f"/api/switching/orders/{oid}/steps/{n}"))
        assert _ok(dora.get(f"/api/planned/{po['id']}"))["state"] == "completed"
        page.reload()
        page.wait_for_selector("#areas .area")
        assert page.query_selector(f"li.planned[data-notice='{po['id']}']") is None
    outages = _ok(dora.get("/api/outages"))
    assert [(o["kind"], o["state"]) for o in outages] == [("planned", "restored")]
    kinds = {k for k, _ in _notices(app)}
    assert kinds == {"planned_notice", "planned_start", "planned_end"}
