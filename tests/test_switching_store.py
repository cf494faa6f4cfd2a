"""The switching desk's documents and field changes survive a restart (SQLite and
PostgreSQL): the engine reloaded from the database has the same orders, the
same tags and the same network as operated (a cut conductor stays cut)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from oms.config import EngineConfig
from oms.engine import OutageEngine
from oms.storage import schema
from oms.storage.db import connect

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _engine(url: str) -> OutageEngine:
    return OutageEngine(connect(url), EngineConfig.from_dict({"pings": False}))


def _events(*specs: tuple[str, str, dict[str, Any]], prefix: str = "x") -> list[str]:
    return [
        json.dumps(
            {
                "id": f"{prefix}{n}",
                "type": etype,
                "time": (T0 + timedelta(minutes=n)).isoformat(),
                "user": user,
                **payload,
            }
        )
        for n, (etype, user, payload) in enumerate(specs, start=1)
    ]


def test_orders_tags_and_cuts_are_stored_and_read_back(web_db: str) -> None:
    engine = _engine(web_db)
    steps = [
        {"action": "cut", "device": "L3"},
        {"action": "place_tag", "device": "SW1", "tag": "caution"},
        {"action": "remove_cut", "device": "L3"},
    ]
    report = engine.ingest(
        _events(
            ("order_create", "eng", {"title": "L3 splice", "kind": "planned", "steps": steps}),
            ("order_check", "eng", {"order": "SO-000001"}),
            ("order_approve", "dora", {"order": "SO-000001"}),
            ("order_issue", "dora", {"order": "SO-000001"}),
            ("order_step", "dora", {"order": "SO-000001", "step": 1}),
            ("order_step", "dora", {"order": "SO-000001", "step": 2}),
        )
    )
    assert report.accepted == 6, report.to_dict()
    before = engine.core.net.edge_closed.copy()
    # A second process (or a restart) reads the same state back.
    again = _engine(web_db)
    core = again.core
    e = core.net.edge_index["L3"]
    assert core.net.edge_cut[e] and not core.net.edge_closed[e]
    assert (core.net.edge_closed == before).all()
    [tag] = core.desk.temporary.on("SW1", "tag")
    assert tag.tag == "caution" and tag.order == "SO-000001" and tag.step == 2
    order = core.desk.orders["SO-000001"]
    assert order.state == "in_progress" and [s.done for s in order.steps] == [True, True, False]
    assert [o.kind for o in core.outages.active()] == ["switching"]
    # The last step, in the reloaded engine: the cut is mended, supply is back.
    report = again.ingest(
        [
            json.dumps(
                {
                    "id": "x9",
                    "type": "order_step",
                    "time": (T0 + timedelta(minutes=9)).isoformat(),
                    "user": "dora",
                    "order": "SO-000001",
                    "step": 3,
                }
            )
        ]
    )
    assert report.accepted == 1, report.to_dict()
    assert not core.net.edge_cut[e] and core.net.edge_closed[e]
    assert core.outages.active() == []
    with again.repository.db.connect() as conn:
        docs = conn.execute(select(schema.switching_documents)).mappings().all()
        changes = conn.execute(select(schema.field_changes)).mappings().all()
        feed = conn.execute(select(schema.changes.c.kind, schema.changes.c.ref)).all()
    assert [(d["id"], d["kind"], d["state"]) for d in docs] == [("SO-000001", "order", "completed")]
    assert sorted((c["kind"], c["active"]) for c in changes) == [("cut", False), ("tag", True)]
    assert ("order", "SO-000001") in feed and ("field", "FC-000001") in feed
    # Numbering goes on where it stopped.
    third = _engine(web_db)
    third.ingest(
        _events(("order_create", "eng", {"title": "next", "steps": steps[:1]}), prefix="y")
    )
    assert "SO-000002" in third.core.desk.orders


def test_a_planned_outage_counts_apart_in_ieee_1366(web_db: str) -> None:
    from oms.reports.reliability import indices

    engine = _engine(web_db)
    start, end = (T0 + timedelta(hours=1)).isoformat(), (T0 + timedelta(hours=3)).isoformat()
    steps = [{"action": "open", "device": "SW2"}, {"action": "close", "device": "SW2"}]
    request = {"applicant": "Lines", "reason": "poles", "devices": ["SW2"], "start": start}
    report = engine.ingest(
        _events(
            ("planned_request", "eng", {**request, "end": end, "notice_days": 0}),
            ("planned_approve", "dora", {"planned": "PO-000001"}),
            ("order_create", "eng", {"title": "poles", "steps": steps, "planned": "PO-000001"}),
            ("order_check", "eng", {"order": "SO-000001"}),
            ("order_approve", "dora", {"order": "SO-000001"}),
            ("order_issue", "dora", {"order": "SO-000001"}),
            # Before the window (T0 + 1 h): acknowledged.
            ("order_step", "dora", {"order": "SO-000001", "step": 1, "acknowledge": ["window"]}),
        )
    )
    assert report.accepted == 7, report.to_dict()
    report = engine.ingest(
        [
            json.dumps(
                {
                    "id": "p9",
                    "type": "order_step",
                    "time": (T0 + timedelta(hours=2)).isoformat(),
                    "user": "dora",
                    "order": "SO-000001",
                    "step": 2,
                }
            )
        ]
    )
    assert report.accepted == 1, report.to_dict()
    with engine.repository.db.connect() as conn:
        figures = indices(conn, T0, T0 + timedelta(days=1))
        sent = conn.execute(
            select(schema.notifications.c.kind, schema.notifications.c.customer)
        ).all()
    assert figures["all"]["interruptions"] == 0
    assert figures["planned"]["interruptions"] == 1
    assert figures["planned"]["customers_interrupted"] == 6
    kinds = {k for k, _ in sent}
    assert {"planned_notice", "planned_start", "planned_end"} <= kinds
