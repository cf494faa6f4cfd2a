"""Refreshing the network from the GIS while the control room runs (issue 18 item 3):
what changed, said by id (no database), and what is live kept on the ids
that still exist, with the running engine taking the new version."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from helpers import build, customers_csv, edge, node, two_feeders, write

from oms.engine import OutageEngine
from oms.storage.db import connect
from oms.storage.loading import load
from topology.diff import network_diff

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def refreshed() -> list[dict[str, Any]]:
    """The two feeders as the GIS has them a night later: SW2 is gone (b2 now
    feeds b4 through a new fuse F9), a5 moved 200 m east, L4 became a cable,
    L3 now ends at a new node a10 (reconnected) and L10 joins a10 to a6, and
    a normally open tie TIE2 joins a6 and b4."""
    features = []
    for f in two_feeders():
        p = f["properties"]
        if p["id"] == "SW2":
            continue
        if p["id"] == "a5":
            f = node("a5", 8, 0, customers=6)
        if p["id"] == "L4":
            f = edge("L4", "cable", "a7", "a8")
        if p["id"] == "L3":
            f = edge("L3", "line", "a5", "a10")
        features.append(f)
    return [
        *features,
        node("a10", 9, 0.5),
        edge("L10", "line", "a10", "a6"),
        edge("F9", "fuse", "b2", "b4"),
        edge("TIE2", "switch", "a6", "b4", normal_state="open"),
    ]


def test_the_diff_names_what_was_added_removed_moved_and_changed() -> None:
    diff = network_diff(build(two_feeders()), build(refreshed()))
    ids = diff["edges"]["ids"]
    assert ids["added"] == ["F9", "L10", "TIE2"] and ids["removed"] == ["SW2"]
    assert ids["kind"] == ["L4"] and ids["reconnected"] == ["L3"]
    assert diff["nodes"]["ids"] == {"added": ["a10"], "moved": ["a5"]}
    assert "SW1" in ids["redrawn"] and "L2" not in ids["redrawn"]  # a5's end moved
    assert diff["customers"]["added"] == 0 and diff["changed"] is True
    same = network_diff(build(two_feeders()), build(two_feeders()))
    assert same["changed"] is False and same["edges"]["ids"] == {}


def test_a_refresh_keeps_what_is_live_and_the_running_engine_takes_it(
    web_db: str, tmp_path: Path
) -> None:
    db = connect(web_db)
    running = OutageEngine(db)  # a server's engine, up before the refresh

    def at(minutes: float) -> str:
        return (T0 + timedelta(minutes=minutes)).isoformat()

    events = [
        {"id": "t1", "type": "scada", "time": at(0), "device": "B1", "state": "open",
         "lockout": True},
        {"id": "s1", "type": "switch", "time": at(1), "device": "SW2", "state": "open"},
        {"id": "s2", "type": "switch", "time": at(2), "device": "TIE1", "state": "closed"},
    ]  # fmt: skip
    assert running.ingest_objects(list(enumerate(events, 1))).to_dict()["accepted"] == 3
    features = refreshed()
    cust = tmp_path / "customers.csv"
    cust.write_text(customers_csv(features))
    report = load(db, network=write(tmp_path, features), customers=cust)
    assert report["changed"] and report["diff"]["edges"]["removed"] == 1
    warned = "\n".join(report["warnings"])
    assert "dropped the reported states of 1 device(s) no longer in the network: SW2" in warned
    # The engine that was running takes the new version at its next write, with
    # the open outage and TIE1's reported state kept.
    late = {"id": "c1", "type": "call", "time": at(5), "customer": "b4-1"}
    assert running.ingest_objects([(1, late)]).to_dict()["accepted"] == 1
    net = running.core.net
    assert "F9" in net.edge_index and "SW2" not in net.edge_index
    assert bool(net.edge_closed[net.edge_index["TIE1"]]) is True
    assert [o.device for o in running.core.outages.active("network")] == ["B1"]
    again = load(db, network=write(tmp_path, features), customers=cust)
    assert again["changed"] is False and again["diff"] is None
