"""The switching desk on the dispatcher's map and the switching page (issue 15).

The layer functions (``webmap.layers``: field changes and active orders,
as built) on the two-feeder network,
as ``tests/test_layers.py`` does for the other layers; then their routes
and the page's config through the API (SQLite: the desk's API tests run on
both databases in ``tests/test_switching_api.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import User
from helpers import build, two_feeders

from webmap import layers

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _change(cid: str, kind: str, device: str, **more: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "kind": kind,
        "device": device,
        "tag": None,
        "document": None,
        "order": None,
        "step": None,
        "placed_at": "2026-03-01T10:00:00+00:00",
        "placed_by": "k1",
        "removed_at": None,
        "removed_by": None,
        **more,
    }


def _order(oid: str, state: str, steps: list[tuple[str, bool]], next_step: int | None) -> dict:
    return {
        "id": oid,
        "title": f"order {oid}",
        "state": state,
        "next_step": next_step,
        "steps": [
            {"seq": n, "action": "open", "device": d, "done": done}
            for n, (d, done) in enumerate(steps, start=1)
        ],
    }


# ------------------------------------------------------------------ layers
def test_field_layer_one_point_per_device_with_its_changes_and_active_orders() -> None:
    net = build(two_feeders())
    changes = [
        _change("FC-3", "ground", "SW2", placed_at="2026-03-01T10:01:00+00:00"),
        _change("FC-1", "tag", "SW2", tag="clearance", document="SD-1", order="SO-1", step=2),
        _change("FC-2", "cut", "L5", removed_at="2026-03-01T11:00:00+00:00", removed_by="k1"),
        _change("FC-4", "jumper", "NOPE"),
    ]
    orders = [
        _order("SO-1", "in_progress", [("SW2", True), ("TIE1", False), ("SW1", False)], 2),
        _order("SO-2", "draft", [("B1", False)], None),
        _order("SO-3", "issued", [("SW1", False), ("SW2", True)], 1),
    ]
    doc = layers.field_layer(net, changes, orders)
    by_device = {f["properties"]["device"]: f for f in doc["features"]}
    # SW2: its tag and ground (tags first), no order (its steps there are done);
    # the removed cut, the draft's device and an unknown device are not drawn.
    assert sorted(by_device) == ["SW1", "SW2", "TIE1"]
    sw2 = by_device["SW2"]["properties"]
    assert [c["id"] for c in sw2["changes"]] == ["FC-1", "FC-3"]
    assert sw2["changes"][0] == {
        "id": "FC-1",
        "kind": "tag",
        "tag": "clearance",
        "document": "SD-1",
        "order": "SO-1",
        "step": 2,
        "placed_by": "k1",
        "placed_at": "2026-03-01T10:00:00+00:00",
    }
    assert sw2["orders"] == [] and sw2["kind"] == "switch"
    # TIE1 holds SO-1's next step; SW1 a later step of SO-1 and SO-3's next.
    assert by_device["TIE1"]["properties"]["orders"] == [
        {"id": "SO-1", "title": "order SO-1", "state": "in_progress", "steps": [2], "next": True}
    ]
    sw1 = by_device["SW1"]["properties"]["orders"]
    assert [(o["id"], o["steps"], o["next"]) for o in sw1] == [
        ("SO-1", [3], False),
        ("SO-3", [1], True),
    ]
    # Drawn where the device symbol and an outage at it are.
    for device, f in by_device.items():
        assert tuple(f["geometry"]["coordinates"]) == pytest.approx(
            layers.outage_position(net, device), abs=1e-6
        )
    assert layers.field_layer(net, [], []) == {"type": "FeatureCollection", "features": []}


def test_as_built_is_the_normal_state() -> None:
    net = build(two_feeders())
    net.operate("SW2", "open")
    net.operate("TIE1", "closed")
    built = layers.as_built(net)
    assert layers.as_built(net) is built
    assert bool(built.edge_closed[net.edge("SW2")]) and not built.edge_closed[net.edge("TIE1")]
    assert not net.edge_closed[net.edge("SW2")]  # as operated, unchanged
    states = layers.edge_states(built)
    assert layers.state_counts(states)["open"] == 1  # the tie only


# ------------------------------------------------------------------ routes
def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _issued(eng: User, dora: User, steps: list[dict[str, Any]]) -> str:
    oid = str(_ok(eng.post("/api/switching/orders", {"title": "t", "steps": steps}), 201)["id"])
    _ok(eng.post(f"/api/switching/orders/{oid}/check"))
    _ok(dora.post(f"/api/switching/orders/{oid}/approve"))
    _ok(dora.post(f"/api/switching/orders/{oid}/issue"))
    return oid


def _feature(doc: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return next(f["properties"] for f in doc["features"] if f["properties"][key] == value)


@SQLITE_ONLY
def test_map_routes_draw_field_changes_orders_and_both_views(
    eng: User, dora: User, k1: User
) -> None:
    steps = [
        {"action": "cut", "device": "L6", "performer": "K1"},
        {"action": "place_tag", "device": "SW2", "tag": "caution"},
        {"action": "open", "device": "SW1"},
    ]
    oid = _issued(eng, dora, steps)
    _ok(k1.post(f"/api/switching/orders/{oid}/steps/1"))
    _ok(dora.post(f"/api/switching/orders/{oid}/steps/2"))
    doc = _ok(dora.get("/map/field.geojson"))
    assert {f["properties"]["device"] for f in doc["features"]} == {"L6", "SW2", "SW1"}
    assert [c["kind"] for c in _feature(doc, "device", "L6")["changes"]] == ["cut"]
    assert _feature(doc, "device", "SW1")["orders"][0] == {
        "id": oid,
        "title": "t",
        "state": "in_progress",
        "steps": [3],
        "next": True,
    }
    assert _ok(eng.get("/map/field.geojson")) == doc
    assert k1.get("/map/field.geojson").status_code == 403
    # As operated, the cut opens L6 and b3 is without supply; as built, nothing is cut.
    operated = _ok(dora.get("/map/network.geojson?zoom=18"))
    assert _feature(operated, "id", "L6")["state"] == "open"
    assert _feature(operated, "id", "TIE1")["state"] == "open"
    built = _ok(dora.get("/map/network.geojson?zoom=18&view=normal"))
    assert {f["properties"]["state"] for f in built["features"] if "state" in f["properties"]} == {
        "energized",
        "open",
    }
    assert _feature(built, "id", "L6")["state"] == "energized"
    # Devices: switched by the dispatcher as operated, in their normal state as built.
    _ok(dora.post("/api/switch", {"device": "B3", "state": "open", "confirm": True}))
    devices = _ok(dora.get("/map/devices.geojson?zoom=18"))
    normal = _ok(dora.get("/map/devices.geojson?zoom=18&view=normal"))
    assert _feature(devices, "id", "B3")["state"] == "open"
    b3 = _feature(normal, "id", "B3")
    assert (b3["state"], b3["reported"]) == ("closed", None)
    r = dora.get("/map/network.geojson?view=planned")
    assert r.status_code == 400
    assert "view must be one of operated, normal" in r.get_data(as_text=True)


@SQLITE_ONLY
def test_the_switching_page_says_what_its_user_may_do(app: Any, dora: User, eng: User) -> None:
    def config(user: User) -> dict[str, Any]:
        html = user.get("/switching").get_data(as_text=True)
        found: dict[str, Any] = json.loads(html.split('id="oms-config">')[1].split("</script>")[0])
        assert '<datalist id="device-ids">' in html and '<option value="TIE1">switch' in html
        return found

    d, e = config(dora), config(eng)
    assert d["orderActions"] == ["check", "approve", "issue", "cancel"]
    assert e["orderActions"] == ["check", "approve"]
    assert d["safetyActions"] == ["issue", "release", "cancel"] and e["safetyActions"] == []
    assert d["plannedActions"] == e["plannedActions"] == ["approve", "reject", "cancel"]
    assert d["may"] == {
        "write": True,
        "fromOutage": True,
        "step": True,
        "study": True,
        "safety": True,
        "plan": True,
        "edit": True,
    }
    assert e["may"]["step"] is False and e["may"]["write"] is True
    assert d["stepActions"][:2] == ["open", "close"] and d["noticeDays"] == 7.0
    # Signed out: the sign-in form; a crew: refused.
    anonymous = app.test_client().get("/switching")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    crew = User(app, "k1")
    assert crew.get("/switching").status_code == 403
