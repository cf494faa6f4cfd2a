"""Damage reports on the dispatcher's map and in the outage panel (issue 16 item 2).

The layer function (``webmap.layers.damage_layer``) as ``tests/test_layers.py``
does for the other layers; then its route and the outage panel's ``damage``
section through the API, on both databases; and the pages' lists of asset
kinds and skills, which must be the engine's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, User
from test_api import outage_at, trip

from oms.engine.damage import ASSETS
from oms.storage.inputs import SKILLS
from webmap import layers

STATIC = Path(__file__).resolve().parent.parent / "webmap" / "static"
T = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _report(rid: str, minutes_ago: float, outage: str | None, **more: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "time": (T - timedelta(minutes=minutes_ago)).isoformat(),
        "outage": outage,
        "crew": "K1",
        "user": "k1",
        "lon": 8.4,
        "lat": 49.0,
        "asset": "pole",
        "repair_minutes": 90.0,
        "skills": ["line"],
        "materials": ["pole 12 m"],
        "photos": [],
        "note": None,
        **more,
    }


def _ids(doc: dict[str, Any]) -> list[str]:
    return [f["properties"]["id"] for f in doc["features"]]


def test_damage_layer_keeps_open_outages_reports_and_recent_ones_without_an_outage() -> None:
    reports = [
        _report("new", 5, "OUT-1", asset="tree_on_line"),
        _report("old", 60 * 24 * 3, "OUT-1"),  # old, but its outage is open
        _report("closed", 10, "OUT-9"),  # its outage is no longer shown: history
        _report("loose", 30, None, asset="conductor"),
        _report("stale", 60 * 25, None),
    ]
    doc = layers.damage_layer(reports, {"OUT-1", "OUT-2"}, T - timedelta(hours=24))
    assert doc["type"] == "FeatureCollection"
    assert _ids(doc) == ["old", "loose", "new"]  # oldest first: the newest drawn on top
    f = doc["features"][-1]
    assert f["geometry"] == {"type": "Point", "coordinates": [8.4, 49.0]}
    assert f["properties"]["asset"] == "tree_on_line"
    assert "lon" not in f["properties"] and f["properties"]["materials"] == ["pole 12 m"]
    # Without a time limit every report under no outage is kept.
    assert _ids(layers.damage_layer(reports, (), None)) == ["stale", "loose"]
    assert layers.DAMAGE_ASSETS == ASSETS


def test_damage_layer_skips_a_report_without_a_place() -> None:
    doc = layers.damage_layer([_report("x", 1, None, lon=None)], [], None)
    assert doc["features"] == []


def test_damage_route_and_the_outage_panels_damage_section(dora: User, k1: User) -> None:
    trip(dora, "t1", "R1")
    outage = outage_at(dora, "R1")["id"]
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
    r = k1.client.post(
        "/api/photos", data=jpeg, headers={**k1.headers, "Content-Type": "image/jpeg"}
    )
    photo = r.get_json()["id"]
    # Short repairs: the job's own estimate stays (that path is test_storm_ops.py's).
    body = {"lon": 8.4, "lat": 49.0, "outage": outage, "repair_minutes": 30}
    first = {**body, "time": (T0 + timedelta(minutes=6)).isoformat(), "asset": "crossarm"}
    second = {**body, "time": (T0 + timedelta(minutes=7)).isoformat(), "asset": "pole"}
    ids = []
    for report in (
        {**first, "photos": [photo], "skills": ["line"]},
        {**second, "materials": ["x"]},
    ):
        r = k1.post("/api/damage", report)
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json()["id"])
    doc = dora.get("/map/damage.geojson").get_json()
    assert _ids(doc) == ids  # oldest first
    assert doc["features"][0]["properties"]["photos"] == [photo]
    assert k1.get("/map/damage.geojson").status_code == 403
    panel = dora.get(f"/api/outages/{outage}/detail").get_json()["damage"]
    assert [x["asset"] for x in panel["reports"]] == ["pole", "crossarm"]  # newest first
    assert panel["more"] == 0
    assert panel["summary"]["repair_minutes"] == 60 and panel["summary"]["photos"] == [photo]
    assert panel["summary"]["assets"] == {"crossarm": 1, "pole": 1}


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("js/crew/vocab.js", ("ASSETS", "SKILLS")),
        ("js/dispatcher/damage.js", ("GLYPH",)),
    ],
)
def test_the_pages_know_every_asset_kind_and_skill(module: str, names: tuple[str, ...]) -> None:
    """The pages keep their own copies (the handheld starts without a server):
    they must list the engine's asset kinds and the crews files' skills."""
    src = (STATIC / module).read_text(encoding="utf-8")
    for name in names:
        block = re.search(rf"export const {name} = [\[{{](.*?)[\]}}];", src, re.S)
        assert block, f"{module} has no {name}"
        # Object keys (pole: ...) and quoted words ('line'), in order, once each.
        keys = list(dict.fromkeys(a or b for a, b in re.findall(r"(\w+):|'(\w+)'", block[1])))
        wanted = SKILLS if name == "SKILLS" else ASSETS
        assert [k for k in keys if k in wanted] == list(wanted), f"{module} {name}: {keys}"
