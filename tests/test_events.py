"""Parsing and validating events (contract 3 and dispatcher actions)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import build, customers_csv, two_feeders

from oms.exceptions import EventError
from oms.intake.events import Directory, digest, parse_event, read_lines
from topology import attach_customers, read_customers

T = "2026-03-01T10:00:00+01:00"


@pytest.fixture
def directory(tmp_path: Any) -> Directory:
    features = two_feeders()
    net = build(features)
    path = tmp_path / "c.csv"
    path.write_text(customers_csv(features))
    attach_customers(net, read_customers(path, net))
    return Directory(net, crews=["K1"])


def test_times_are_utc_and_need_an_offset(directory: Directory) -> None:
    e = parse_event({"id": "a", "type": "call", "time": T, "customer": "a1-1"}, directory)
    assert e.time.isoformat() == "2026-03-01T09:00:00+00:00"
    with pytest.raises(EventError, match="no UTC offset"):
        parse_event(
            {"id": "a", "type": "call", "time": "2026-03-01T10:00:00", "customer": "a1-1"},
            directory,
        )
    with pytest.raises(EventError, match="not an ISO 8601"):
        parse_event({"id": "a", "type": "call", "time": "yesterday", "customer": "a1-1"}, directory)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"type": "call", "time": T, "customer": "a1-1"}, "'id'"),
        ({"id": "a", "type": "teleport", "time": T}, "unknown event type"),
        ({"id": "a", "type": "call", "customer": "a1-1"}, "'time'"),
        ({"id": "a", "type": "call", "time": T}, "needs 'customer'"),
        ({"id": "a", "type": "call", "time": T, "customer": "zz"}, "unknown customer 'zz'"),
        ({"id": "a", "type": "call", "time": T, "phone": "+999"}, "no customer has phone"),
        ({"id": "a", "type": "call", "time": T, "node": "q"}, "unknown node 'q'"),
        ({"id": "a", "type": "call", "time": T, "lon": 200, "lat": 0}, "lon 200"),
        (
            {"id": "a", "type": "call", "time": T, "customer": "a1-1", "power": "dim"},
            "power must be",
        ),
        ({"id": "a", "type": "ami_last_gasp", "time": T, "meter": "M-nope"}, "unknown meter"),
        ({"id": "a", "type": "ami_ping_reply", "time": T, "customer": "a1-1"}, "'energized'"),
        ({"id": "a", "type": "scada", "time": T, "device": "L1", "state": "open"}, "is a line"),
        ({"id": "a", "type": "scada", "time": T, "device": "B1", "state": "ajar"}, "state must be"),
        (
            {
                "id": "a",
                "type": "scada",
                "time": T,
                "device": "B1",
                "state": "open",
                "lockout": "yes",
            },
            "lockout",
        ),
        ({"id": "a", "type": "fci", "time": T, "device": "ZZ", "fault": True}, "unknown device"),
        (
            {"id": "a", "type": "crew_gps", "time": T, "crew": "K9", "lon": 8, "lat": 49},
            "unknown crew",
        ),
        (
            {"id": "a", "type": "crew_gps", "time": T, "crew": "K1", "lon": "8", "lat": 49},
            "lon must be a number",
        ),
        (
            {"id": "a", "type": "outage_split", "time": T, "outage": "O", "devices": ["B1"]},
            "at least two",
        ),
        (
            {"id": "a", "type": "outage_merge", "time": T, "outages": [], "into": "O"},
            "non-empty list",
        ),
    ],
)
def test_invalid_events_name_the_field(
    directory: Directory, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventError, match=message):
        parse_event(event, directory)


def test_callers_are_found_every_way(directory: Directory) -> None:
    net = directory.net
    by_id = parse_event({"id": "a", "type": "call", "time": T, "customer": "b2-3"}, directory)
    assert net.customers.ids[by_id.customer] == "b2-3"  # type: ignore[union-attr]
    by_phone = parse_event({"id": "a", "type": "call", "time": T, "phone": "+10015 03"}, directory)
    assert net.customers.ids[by_phone.customer] == "b2-4"  # type: ignore[union-attr]
    by_meter = parse_event(
        {"id": "a", "type": "ami_restore", "time": T, "meter": "M-c2-2"}, directory
    )
    assert net.customers.ids[by_meter.customer] == "c2-2"  # type: ignore[union-attr]
    lon, lat = net.node_xy[net.node_index["a6"]]
    near = parse_event(
        {"id": "a", "type": "call", "time": T, "lon": lon + 1e-5, "lat": lat}, directory
    )
    assert net.node_ids[near.node] == "a6"


def test_a_call_naming_a_node_stands_for_its_first_customer_in_the_file(tmp_path: Any) -> None:
    features = two_feeders()
    net = build(features)
    header, *rows = customers_csv(features).splitlines()
    path = tmp_path / "c.csv"
    path.write_text("\n".join([header, *reversed(rows)]) + "\n")  # last customer of a node first
    attach_customers(net, read_customers(path, net))
    directory = Directory(net)
    ids, nodes = net.customers.ids, net.customers.node  # type: ignore[union-attr]
    for n, node_id in enumerate(net.node_ids):
        at = [i for i in range(len(ids)) if nodes[i] == n]
        call = parse_event({"id": "a", "type": "call", "time": T, "node": node_id}, directory)
        assert call.node == n
        assert call.customer == (at[0] if at else -1), node_id
    assert any(len([i for i in range(len(ids)) if nodes[i] == n]) > 1 for n in set(nodes))


def test_digest_ignores_key_order() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})


def test_read_lines_numbers_lines_and_skips_blanks() -> None:
    got = list(read_lines(['{"a": 1}', "", "  ", "{oops", '{"b": 2}']))
    assert [n for n, _, _ in got] == [1, 4, 5]
    assert got[2][2] == '{"b": 2}'
    assert isinstance(got[1][1], EventError)
