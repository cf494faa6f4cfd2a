"""Offline HTML maps (oms.reports.maps): self-contained page, layers, highlights.

These tests read the written HTML; they do not start a browser.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pytest

from oms.reports import maps as mapping
from oms.reports.maps import (
    LEAFLET_VERSION,
    VENDOR_DIR,
    network_map,
    write_network_map,
)
from topology.exceptions import ElementNotFound
from topology.model import Network

LON0, LAT0, D = 8.4, 49.0, 0.0012345678

# S1 -T1- BUS -B1- a1 -L1(bent)- a2 -SW1- a3 -L2- a4 ·TIE(open)· b2 -L3- b1 -B2- S2
#                               \-F1- c1 -C1(cable)- c2
NODES = {
    "S1": (0, 0),
    "BUS": (1, 0),
    "a1": (2, 0),
    "a2": (3, 0),
    "a3": (4, 0),
    "a4": (5, 0),
    "c1": (3, -1),
    "c2": (3, -2),
    "b2": (6, 0),
    "b1": (7, 0),
    "S2": (8, 0),
}
EDGES = [
    ("T1", "transformer", "S1", "BUS"),
    ("B1", "breaker", "BUS", "a1"),
    ("L1", "line", "a1", "a2"),
    ("SW1", "switch", "a2", "a3"),
    ("L2", "line", "a3", "a4"),
    ("F1", "fuse", "a2", "c1"),
    ("C1", "cable", "c1", "c2"),
    ("TIE", "switch", "a4", "b2"),
    ("L3", "line", "b2", "b1"),
    ("B2", "breaker", "S2", "b1"),
]
CUSTOMERS = {"a1": 2, "a3": 3, "a4": 4, "c2": 5, "b1": 6}
HIGHLIGHT = {
    "faulted": ["F1"],
    "deenergized": ["c1", "c2", "C1"],
    "open": ["F1"],
    "close": ["TIE"],
    "path": ["S1", "T1", "BUS", "B1", "a1", "L1", "a2"],
}
OPERABLE = {"B1", "SW1", "F1", "TIE", "B2"}

_BLOCK = re.compile(
    r'<script type="application/geo\+json" id="([^"]+)"\s+data-layer="([^"]*)"'
    r'(?: data-role="([^"]*)")?>(.*?)</script>',
    re.DOTALL,
)


def small_network() -> Network:
    ids = list(NODES)
    index = {n: i for i, n in enumerate(ids)}
    xy = [[LON0 + x * D, LAT0 + y * D * 0.66] for x, y in NODES.values()]
    # L1 (third edge) has a bent geometry; the others are straight.
    a, b = xy[index["a1"]], xy[index["a2"]]
    bent = [a, [(a[0] + b[0]) / 2, a[1] + 0.0004], b]
    offsets = [0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3]
    return Network(
        node_ids=ids,
        node_xy=xy,
        node_source=[n.startswith("S") for n in ids],
        edge_ids=[e[0] for e in EDGES],
        edge_kind=[e[1] for e in EDGES],
        edge_from=[index[e[2]] for e in EDGES],
        edge_to=[index[e[3]] for e in EDGES],
        edge_normal_closed=[e[0] != "TIE" for e in EDGES],
        edge_length_m=[100.0] * len(EDGES),
        node_customers=[CUSTOMERS.get(n, 0) for n in ids],
        geom_offsets=offsets,
        geom_coords=np.array(bent),
        node_name=["Substation 1" if n == "S1" else None for n in ids],
    )


def layers(page: str) -> dict[str, dict[str, Any]]:
    """Embedded GeoJSON blocks by layer name (role layers also by ``role:NAME``)."""
    out: dict[str, dict[str, Any]] = {}
    for _, name, role, data in _BLOCK.findall(page):
        collection = json.loads(data)
        assert collection["type"] == "FeatureCollection"
        out[html.unescape(name)] = collection
        if role:
            out[f"role:{html.unescape(role)}"] = collection
    return out


def ids_of(collection: dict[str, Any], geometry: str | None = None) -> list[str]:
    return [
        f["properties"]["id"]
        for f in collection["features"]
        if geometry is None or f["geometry"]["type"] == geometry
    ]


@pytest.fixture
def page(tmp_path: Path) -> str:
    net = small_network()
    net.operate("SW1", "open")
    path = tmp_path / "map.html"
    write_network_map(net, path, highlight=HIGHLIGHT, title="Feeder A <test>")
    return path.read_text(encoding="utf-8")


def test_leaflet_is_inlined_and_nothing_comes_from_a_cdn(page: str) -> None:
    assert f"Leaflet {LEAFLET_VERSION}" in page  # the version banner of leaflet.js
    assert ".leaflet-pane" in page  # leaflet.css
    assert "L.map(" in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//", page, re.IGNORECASE)
    for cdn in ("jsdelivr", "cdnjs", "jquery", "bootstrap", "unpkg", "fontawesome"):
        assert cdn not in page.lower(), cdn
    # Leaflet's CSS images are data URIs, not files next to the page.
    assert "url(images/" not in page
    assert "sourceMappingURL" not in page
    assert "L.tileLayer" not in page  # no tiles unless asked for


def test_no_remote_url_outside_vendored_leaflet(page: str) -> None:
    start = page.index(f"Leaflet {LEAFLET_VERSION}")
    end = page.index("</script>", start)
    ours = page[:start] + page[end:]
    # Leaflet's own CSS carries two bug-tracker links in comments.
    ours = re.sub(r"/\*.*?\*/", "", ours, flags=re.DOTALL)
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", ours, re.IGNORECASE) == []


def test_layers_hold_every_element(page: str) -> None:
    found = layers(page)
    net = small_network()
    assert len(found["Lines and devices"]["features"]) == net.n_edges
    assert sorted(ids_of(found["Lines and devices"])) == sorted(net.edge_ids)
    assert sorted(ids_of(found["Device markers"], "Point")) == sorted(OPERABLE)
    assert sorted(ids_of(found["Customers"], "Point")) == sorted(CUSTOMERS)
    assert sorted(ids_of(found["Sources"], "Point")) == ["S1", "S2"]
    states = {
        f["properties"]["id"]: f["properties"].get("state")
        for f in found["Lines and devices"]["features"]
    }
    assert states["SW1"] == "open"
    assert states["TIE"] == "open"
    assert states["B1"] == "closed"
    assert states["L1"] is None  # conductors have no state
    sw1 = next(f for f in found["Device markers"]["features"] if f["properties"]["id"] == "SW1")
    assert sw1["properties"]["normal"] == "closed"
    bent = next(f for f in found["Lines and devices"]["features"] if f["properties"]["id"] == "L1")
    assert len(bent["geometry"]["coordinates"]) == 3


def test_highlights_are_drawn_per_role(page: str) -> None:
    found = layers(page)
    for role, ids in HIGHLIGHT.items():
        collection = found[f"role:{role}"]
        for element_id in ids:
            assert element_id in ids_of(collection), (role, element_id)
            assert f'"id":"{element_id}"' in page
    path = found["role:path"]
    assert sorted(ids_of(path, "LineString")) == ["B1", "L1", "T1"]
    # nodes as points, plus the midpoint of the one device (B1)
    assert sorted(ids_of(path, "Point")) == ["B1", "BUS", "S1", "a1", "a2"]
    assert len(path["features"]) == 8
    assert len(found["role:deenergized"]["features"]) == 3
    assert len(found["role:faulted"]["features"]) == 2  # F1 line and midpoint
    # The legend names every role with its count, faulted on top.
    legend = page[page.index('id="oms-legend"') :]
    assert "path (7)" in legend
    assert legend.index('data-role="faulted"') < legend.index('data-role="deenergized"')


def test_highlight_layers_are_drawn_above_the_network(page: str) -> None:
    order = [name for _, name, _, _ in _BLOCK.findall(page)]
    assert order.index("Lines and devices") < order.index("Highlight: deenergized")
    assert order.index("Highlight: path") < order.index("Highlight: faulted")
    assert order[-1] == "Sources"


def test_coordinates_are_rounded_to_six_decimals(page: str) -> None:
    for collection in layers(page).values():
        for feature in collection["features"]:
            coords = np.asarray(feature["geometry"]["coordinates"], dtype=float).ravel()
            assert np.allclose(coords, np.round(coords, 6), rtol=0, atol=1e-12)
    # the raw input had 10 significant decimals
    assert "8.4012345678" not in page


def test_title_and_roles_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "m.html"
    write_network_map(
        small_network(), path, highlight={"<b>odd</b>": ["a1"]}, title="<script>x</script>"
    )
    page = path.read_text(encoding="utf-8")
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>odd</b>" not in page
    assert layers(page)["role:<b>odd</b>"]["features"][0]["properties"]["id"] == "a1"


def test_unknown_highlight_id_is_an_error() -> None:
    with pytest.raises(ElementNotFound):
        network_map(small_network(), highlight={"path": ["nope"]})


def test_single_string_counts_as_one_id() -> None:
    m = network_map(small_network(), highlight={"faulted": "F1"})
    page = m.get_root().render()
    assert ids_of(layers(page)["role:faulted"]) == ["F1", "F1"]


def test_folium_defaults_are_left_alone() -> None:
    network_map(small_network())
    assert any("leaflet" in name for name, _ in folium.Map.default_js)
    page = folium.Map(tiles=None).get_root().render()
    assert "cdn.jsdelivr.net" in page  # other folium users keep their defaults


def test_optional_local_tiles(tmp_path: Path) -> None:
    url = "http://tiles.control.local/{z}/{x}/{y}.png"
    path = tmp_path / "tiles.html"
    write_network_map(small_network(), path, tiles=url, tiles_attribution="Utility GIS")
    page = path.read_text(encoding="utf-8")
    assert "L.tileLayer" in page
    assert url in page
    assert "Utility GIS" in page


def test_customer_nodes_only_on_small_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    net = small_network()
    assert "Customers" in layers(network_map(net).get_root().render())
    assert "Customers" not in layers(network_map(net, show_customers=False).get_root().render())
    monkeypatch.setattr(mapping, "CUSTOMER_NODE_LIMIT", 5)
    assert "Customers" not in layers(network_map(net).get_root().render())


def test_map_fits_the_network_bounds() -> None:
    page = network_map(small_network()).get_root().render()
    match = re.search(r"map_\w+\.fitBounds\(\s*(\[\[.*?\]\])", page, re.DOTALL)
    assert match
    (lat0, lon0), (lat1, lon1) = json.loads(match.group(1))
    assert lon0 == pytest.approx(LON0)
    assert lon1 == pytest.approx(LON0 + 8 * D)
    assert lat0 == pytest.approx(LAT0 - 2 * D * 0.66)
    assert lat1 == pytest.approx(LAT0 + 0.0004)  # the bent line's top vertex


def test_vendored_assets_are_present() -> None:
    for rel in (
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "leaflet/LICENSE",
        "leaflet/images/marker-icon.png",
        "leaflet/images/layers.png",
        "markercluster/leaflet.markercluster.js",
        "markercluster/MarkerCluster.css",
        "markercluster/MarkerCluster.Default.css",
        "markercluster/LICENSE",
    ):
        assert (VENDOR_DIR / rel).is_file(), rel
    banner = (VENDOR_DIR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert f"Leaflet {LEAFLET_VERSION}" in banner
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    assert LEAFLET_VERSION in readme
    assert mapping.MARKERCLUSTER_VERSION in readme
