"""Self-contained, offline HTML maps of a network.

:func:`network_map` draws a :class:`topology.Network` as a folium (Leaflet)
map and :func:`write_network_map` saves it as a single ``.html`` file that
works opened from disk in a control room with no internet:

- Leaflet's JavaScript and CSS come from the copies vendored in
  ``oms/static/vendor`` (see ``oms/static/vendor/README.md``) and are
  inlined into the page; the images its CSS refers to become ``data:`` URIs.
  folium's default CDN links (Leaflet, jQuery, Bootstrap, Font Awesome,
  awesome-markers) are removed from the map.
- There is no tile layer unless the caller gives a ``tiles`` URL template,
  e.g. of a tile server on the utility's own network.
- The network is a handful of GeoJSON layers (one per layer, never one
  folium object per element) drawn by one canvas renderer, so a map of
  25,000 edges stays usable; coordinates are rounded to 6 decimals
  (about 0.1 m).

Layers, bottom to top: edges (coloured by kind, open devices dashed),
customer nodes (small networks only), device markers (protective devices
and switches at their midpoint), highlighted element sets (one layer per
role, in strong colours), sources (squares). A legend and a layer switcher
are part of the page. The colours are :data:`EDGE_STYLES`,
:data:`DEVICE_COLORS` and :data:`HIGHLIGHT_COLORS`; ``docs/maps.md``
describes them.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import folium
import numpy as np
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from topology.model import EDGE_KINDS, Network

__all__ = [
    "CUSTOMER_NODE_LIMIT",
    "DEVICE_COLORS",
    "EDGE_STYLES",
    "HIGHLIGHT_COLORS",
    "HIGHLIGHT_ORDER",
    "LEAFLET_VERSION",
    "MARKERCLUSTER_VERSION",
    "VENDOR_DIR",
    "network_map",
    "vendored_asset",
    "write_network_map",
]

#: Folder of the vendored browser assets (Leaflet, Leaflet.markercluster).
VENDOR_DIR = Path(__file__).resolve().parents[1] / "static" / "vendor"
#: Version of the vendored Leaflet (``vendor/leaflet``).
LEAFLET_VERSION = "1.9.4"
#: Version of the vendored Leaflet.markercluster (``vendor/markercluster``).
MARKERCLUSTER_VERSION = "1.5.3"

#: Customer nodes are drawn only on networks with fewer nodes than this.
CUSTOMER_NODE_LIMIT = 20_000

#: Leaflet path style of the edges of each kind in their closed state.
#: An open device keeps its colour and is drawn dashed (``OPEN_DASH``).
EDGE_STYLES: dict[str, dict[str, Any]] = {
    "line": {"color": "#6b8cae", "weight": 1.5, "opacity": 0.9},
    "cable": {"color": "#8a7fb3", "weight": 1.5, "opacity": 0.9},
    "transformer": {"color": "#b07a4f", "weight": 2, "opacity": 0.9},
    "breaker": {"color": "#a94442", "weight": 2.5, "opacity": 0.95},
    "recloser": {"color": "#7d5ba6", "weight": 2.5, "opacity": 0.95},
    "sectionalizer": {"color": "#3c8d7f", "weight": 2.5, "opacity": 0.95},
    "fuse": {"color": "#c98a3a", "weight": 2.5, "opacity": 0.95},
    "switch": {"color": "#34495e", "weight": 2.5, "opacity": 0.95},
}
OPEN_DASH = "5 4"

#: Fill colour of the midpoint marker of each operable kind (open: white fill).
DEVICE_COLORS: dict[str, str] = {
    kind: EDGE_STYLES[kind]["color"]
    for kind in ("breaker", "recloser", "sectionalizer", "fuse", "switch")
}

#: Colours of the highlight roles; other role names take :data:`_EXTRA_COLORS`.
HIGHLIGHT_COLORS: dict[str, str] = {
    "deenergized": "#9400d3",
    "downstream": "#ff8c00",
    "path": "#0057ff",
    "open": "#00b050",
    "close": "#ff00aa",
    "faulted": "#ff0000",
}
#: Drawing order of the known roles, bottom to top; unknown roles go between
#: ``path`` and ``open`` in the order given.
HIGHLIGHT_ORDER = ("deenergized", "downstream", "path", "open", "close", "faulted")
_EXTRA_COLORS = ("#00bcd4", "#8b4513", "#e6c000", "#556b2f", "#1e1e1e", "#ff6f61")

SOURCE_COLOR = "#111111"
#: Page background when there is no tile layer.
BACKGROUND = "#f4f3ef"
CUSTOMER_COLOR = "#4d4d4d"
_DECIMALS = 6
#: A highlight role with more edges than this gets no device midpoint markers.
_ROLE_MARKER_LIMIT = 200

# Assets: (folder, file) inside VENDOR_DIR.
_LEAFLET_JS = ("leaflet", "leaflet.js")
_LEAFLET_CSS = ("leaflet", "leaflet.css")
_LEAFLET_IMAGES = ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")


# ---------------------------------------------------------------- assets
def vendored_asset(folder: str, name: str) -> str:
    """Text of a vendored asset, e.g. ``vendored_asset("leaflet", "leaflet.js")``.

    Parameters
    ----------
    folder : str
        Sub-folder of :data:`VENDOR_DIR` (``"leaflet"`` or ``"markercluster"``).
    name : str
        File name inside it.

    Returns
    -------
    str
        The file's text (UTF-8).

    Raises
    ------
    FileNotFoundError
        The asset is not in the package (a broken installation).
    """
    return _read_text(folder, name)


@lru_cache(maxsize=16)
def _read_text(folder: str, name: str) -> str:
    path = VENDOR_DIR / folder / name
    if not path.is_file():
        raise FileNotFoundError(
            f"vendored asset {folder}/{name} is missing from {VENDOR_DIR}; "
            "the oms package was installed without its static files"
        )
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def _data_uri(folder: str, rel: str) -> str:
    path = VENDOR_DIR / folder / rel
    if not path.is_file():
        raise FileNotFoundError(f"vendored asset {folder}/{rel} is missing from {VENDOR_DIR}")
    mime = "image/png" if rel.endswith(".png") else "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_CSS_URL = re.compile(r"url\((['\"]?)(images/[^'\")]+)\1\)")


def _inline_js(folder: str, name: str) -> str:
    """A vendored script, ready to sit inside ``<script>``."""
    text = _SOURCE_MAP.sub("", _read_text(folder, name))
    return text.replace("</script", "<\\/script")


def _inline_css(folder: str, name: str) -> str:
    """A vendored stylesheet with its ``images/...`` references as data URIs."""
    text = _read_text(folder, name)
    text = _CSS_URL.sub(lambda m: f'url("{_data_uri(folder, m.group(2))}")', text)
    return text.replace("</style", "<\\/style")


@lru_cache(maxsize=1)
def _leaflet_head() -> str:
    """Leaflet's CSS and JS inlined, plus default icons as data URIs."""
    icons = {
        "iconUrl": _data_uri("leaflet", "images/marker-icon.png"),
        "iconRetinaUrl": _data_uri("leaflet", "images/marker-icon-2x.png"),
        "shadowUrl": _data_uri("leaflet", "images/marker-shadow.png"),
    }
    return (
        f"<style>\n{_inline_css(*_LEAFLET_CSS)}\n</style>\n"
        f"<script>\n{_inline_js(*_LEAFLET_JS)}\n</script>\n"
        "<script>\n"
        "/* Default marker icons from the page itself, not from a relative path. */\n"
        'L.Icon.Default.imagePath = "";\n'
        f"L.Icon.Default.mergeOptions({json.dumps(icons)});\n"
        "</script>\n"
    )


class _RawHtml(Element):
    """An element rendered as the given text, untouched by the template engine."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.text = text


# ------------------------------------------------------------ map pieces
def _json(obj: Any) -> str:
    """Compact JSON that is safe inside an HTML ``<script>`` element."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


class _Setup(MacroElement):
    """Per-map JavaScript shared by the layers: the canvas renderer, styles, tooltips."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        {%- if not this.tiles %}
        .leaflet-container { background: {{ this.background }}; }
        {%- endif %}
        .oms-source { background: {{ this.source_color }}; border: 2px solid #fff;
            box-shadow: 0 0 0 1px {{ this.source_color }}; box-sizing: border-box; }
        .oms-legend { position: absolute; z-index: 1000; right: 10px; bottom: 24px;
            background: rgba(255, 255, 255, 0.92); padding: 6px 9px; border-radius: 4px;
            box-shadow: 0 1px 4px rgba(0, 0, 0, 0.4); font: 12px/1.35 sans-serif;
            max-height: 70%; overflow-y: auto; }
        .oms-legend h4 { margin: 0 0 4px; font-size: 13px; }
        .oms-legend h5 { margin: 6px 0 2px; font-size: 11px; color: #555;
            text-transform: uppercase; letter-spacing: 0.04em; }
        .oms-legend .row { white-space: nowrap; }
        .oms-legend .sw { display: inline-block; width: 22px; height: 0; margin: 0 6px 3px 0;
            vertical-align: middle; border-top-style: solid; }
        .oms-legend .dot { display: inline-block; border-radius: 50%; margin: 0 8px 0 4px;
            vertical-align: middle; box-sizing: border-box; }
        .oms-legend .sq { display: inline-block; width: 12px; height: 12px; margin: 0 9px 0 4px;
            vertical-align: middle; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var edgeStyles = {{ this.edge_styles }};
            var deviceColors = {{ this.device_colors }};
            function esc(s) {
                return String(s).replace(/[&<>"']/g, function (c) {
                    return {
                        "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"
                    }[c];
                });
            }
            function state(p) {
                if (!p.state) { return ""; }
                var s = " \\u00b7 " + p.state;
                if (p.normal) { s += " (normally " + p.normal + ")"; }
                return s;
            }
            return {
                renderer: L.canvas({padding: 0.5, tolerance: 4}),
                edgeStyle: function (f) {
                    var p = f.properties;
                    var s = Object.assign({}, edgeStyles[p.kind] || edgeStyles.line);
                    if (p.state === "open") { s.dashArray = {{ this.open_dash }}; }
                    return s;
                },
                deviceMarker: function (f, latlng) {
                    var p = f.properties, c = deviceColors[p.kind] || "#333";
                    return L.circleMarker(latlng, {
                        radius: 4, color: c, weight: 1.5, opacity: 1,
                        fillColor: p.state === "open" ? "#fff" : c, fillOpacity: 1
                    });
                },
                customerMarker: function (f, latlng) {
                    return L.circleMarker(latlng, {
                        radius: 2.5, stroke: false,
                        fillColor: {{ this.customer_color }}, fillOpacity: 0.8
                    });
                },
                sourceMarker: function (f, latlng) {
                    return L.marker(latlng, {
                        icon: L.divIcon({className: "oms-source", iconSize: [14, 14]}),
                        keyboard: false
                    });
                },
                highlightStyle: function (color) {
                    return function (f) {
                        if (f.geometry.type === "Point") { return {}; }
                        var s = {color: color, weight: 6, opacity: 0.85, lineCap: "round"};
                        if (f.properties.state === "open") {
                            s.dashArray = "10 7";
                            s.lineCap = "butt";
                        }
                        return s;
                    };
                },
                highlightMarker: function (color) {
                    return function (f, latlng) {
                        return L.circleMarker(latlng, {
                            radius: f.properties.element === "edge" ? 7 : 6,
                            color: "#fff", weight: 1.5, opacity: 1,
                            fillColor: color, fillOpacity: 1
                        });
                    };
                },
                tip: function (role) {
                    return function (layer) {
                        var p = layer.feature.properties;
                        var s = (role ? esc(role) + ": " : "") + "<b>" + esc(p.id) + "</b>";
                        if (p.kind) { s += " \\u00b7 " + esc(p.kind); }
                        if (p.name) { s += " \\u00b7 " + esc(p.name); }
                        s += esc(state(p));
                        if (p.customers) { s += " \\u00b7 " + p.customers + " customers"; }
                        return s;
                    };
                },
                front: []
            };
        })();
        {% endmacro %}
        """
    )

    def __init__(self, tiles: bool) -> None:
        super().__init__()
        self._name = "OmsSetup"
        self.tiles = tiles
        self.background = BACKGROUND
        self.edge_styles = _json(EDGE_STYLES)
        self.device_colors = _json(DEVICE_COLORS)
        self.open_dash = _json(OPEN_DASH)
        self.customer_color = _json(CUSTOMER_COLOR)
        self.source_color = SOURCE_COLOR


class _GeoJsonLayer(Layer):
    """One GeoJSON FeatureCollection drawn by the shared canvas renderer.

    The data sits in a ``<script type="application/geo+json">`` block in the
    page body (parsed with ``JSON.parse``, faster than a JS literal) and one
    tooltip is bound to the whole layer.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <script type="application/geo+json" id="{{ this.get_name() }}_data"
            data-layer="{{ this.layer_name }}"
            {%- if this.role is not none %} data-role="{{ this.role|e }}"{% endif %}>
            {{- this.data_json }}</script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON(
            JSON.parse(document.getElementById("{{ this.get_name() }}_data").textContent),
            {
                {%- if this.style_js %}
                style: {{ this.style_js }},
                {%- endif %}
                {%- if this.point_js %}
                pointToLayer: {{ this.point_js }},
                {%- endif %}
                renderer: {{ this.setup.get_name() }}.renderer
            }
        );
        {{ this.get_name() }}.bindTooltip({{ this.tooltip_js }}, {sticky: true});
        {%- if this.in_front %}
        {{ this.setup.get_name() }}.front.push({{ this.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        setup: _Setup,
        features: list[dict[str, Any]],
        name: str,
        *,
        style_js: str | None = None,
        point_js: str | None = None,
        tooltip_js: str,
        in_front: bool = False,
        role: str | None = None,
    ) -> None:
        # The layer switcher shows names as HTML: escape them here.
        super().__init__(name=html.escape(name), overlay=True, control=True, show=True)
        self._name = "OmsGeoJson"
        self.role = role
        self.setup = setup
        self.data_json = _json({"type": "FeatureCollection", "features": features})
        self.n_features = len(features)
        self.style_js = style_js
        self.point_js = point_js
        self.tooltip_js = tooltip_js
        self.in_front = in_front


class _KeepInFront(MacroElement):
    """Bring the highlight layers back on top when a base layer is re-enabled."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd", function () {
            {{ this.setup.get_name() }}.front.forEach(function (l) {
                if ({{ this._parent.get_name() }}.hasLayer(l)) { l.bringToFront(); }
            });
        });
        {% endmacro %}
        """
    )

    def __init__(self, setup: _Setup) -> None:
        super().__init__()
        self._name = "OmsKeepInFront"
        self.setup = setup


# --------------------------------------------------------------- features
def _point(xy: np.ndarray, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(xy[0]), float(xy[1])]},
        "properties": props,
    }


def _line(coords: list[list[float]], props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": props,
    }


class _Geometry:
    """Rounded coordinates of a network's nodes and edges."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.node_xy = np.round(net.node_xy, _DECIMALS)
        self.geom = np.round(net.geom_coords, _DECIMALS)

    def coords(self, e: int) -> np.ndarray:
        a, b = self.net.geom_offsets[e], self.net.geom_offsets[e + 1]
        if b - a >= 2:
            return self.geom[a:b]
        return self.node_xy[[self.net.edge_from[e], self.net.edge_to[e]]]

    def midpoint(self, e: int) -> np.ndarray:
        """Point halfway along edge ``e`` (planar in lon/lat: devices are short)."""
        c = self.coords(e)
        seg = np.hypot(*np.diff(c, axis=0).T)
        total = float(seg.sum())
        if total == 0.0:
            return c[0]
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        k = int(np.searchsorted(cum, total / 2, side="right")) - 1
        k = min(max(k, 0), len(seg) - 1)
        t = (total / 2 - cum[k]) / seg[k] if seg[k] else 0.0
        return np.round(c[k] + t * (c[k + 1] - c[k]), _DECIMALS)


def _edge_props(net: Network, e: int) -> dict[str, Any]:
    props: dict[str, Any] = {"id": net.edge_ids[e], "kind": net.kind_of(e)}
    if net.is_operable(e):
        closed = bool(net.edge_closed[e])
        props["state"] = "closed" if closed else "open"
        if closed != bool(net.edge_normal_closed[e]):
            props["normal"] = "closed" if net.edge_normal_closed[e] else "open"
    return props


def _edge_features(geo: _Geometry) -> list[dict[str, Any]]:
    net = geo.net
    return [_line(geo.coords(e).tolist(), _edge_props(net, e)) for e in range(net.n_edges)]


def _device_features(geo: _Geometry) -> list[dict[str, Any]]:
    net = geo.net
    return [
        _point(geo.midpoint(int(e)), _edge_props(net, int(e))) for e in np.flatnonzero(net.operable)
    ]


def _customer_features(geo: _Geometry) -> list[dict[str, Any]]:
    net = geo.net
    nodes = np.flatnonzero((net.node_customers > 0) & ~net.node_source)
    return [
        _point(geo.node_xy[v], {"id": net.node_ids[v], "customers": int(net.node_customers[v])})
        for v in nodes
    ]


def _source_features(geo: _Geometry) -> list[dict[str, Any]]:
    net = geo.net
    features = []
    for v in net.sources:
        props: dict[str, Any] = {"id": net.node_ids[v], "kind": "source"}
        if net.node_name[v]:
            props["name"] = str(net.node_name[v])
        if net.node_customers[v]:
            props["customers"] = int(net.node_customers[v])
        features.append(_point(geo.node_xy[v], props))
    return features


def _highlight_features(geo: _Geometry, ids: list[str]) -> list[dict[str, Any]]:
    """Edges of the role as lines, its nodes as points.

    Devices also get a point at their midpoint (a zero-length device is
    otherwise invisible), unless the role holds more than
    :data:`_ROLE_MARKER_LIMIT` edges: a large set (downstream, de-energized)
    reads better as lines alone.
    """
    net = geo.net
    lines, points = [], []
    n_edges = sum(1 for element_id in ids if element_id in net.edge_index)
    markers = n_edges <= _ROLE_MARKER_LIMIT
    for element_id in ids:
        what, i = net.element(element_id)
        if what == "edge":
            props = _edge_props(net, i)
            lines.append(_line(geo.coords(i).tolist(), props))
            if markers and net.is_operable(i):
                points.append(_point(geo.midpoint(i), {**props, "element": "edge"}))
        else:
            props = {"id": element_id, "element": "node"}
            if net.node_customers[i]:
                props["customers"] = int(net.node_customers[i])
            points.append(_point(geo.node_xy[i], props))
    return lines + points


def _role_order(roles: Iterable[str]) -> list[str]:
    roles = list(roles)
    known = [r for r in HIGHLIGHT_ORDER if r in roles]
    unknown = [r for r in roles if r not in HIGHLIGHT_COLORS]
    cut = sum(1 for r in known if HIGHLIGHT_ORDER.index(r) <= HIGHLIGHT_ORDER.index("path"))
    return known[:cut] + unknown + known[cut:]


def _role_colors(roles: Iterable[str]) -> dict[str, str]:
    colors: dict[str, str] = {}
    extra = 0
    for role in roles:
        if role in HIGHLIGHT_COLORS:
            colors[role] = HIGHLIGHT_COLORS[role]
        else:
            colors[role] = _EXTRA_COLORS[extra % len(_EXTRA_COLORS)]
            extra += 1
    return colors


def _normalise_highlight(
    net: Network, highlight: Mapping[str, Iterable[str]] | None
) -> dict[str, list[str]]:
    """Role -> ids without duplicates; checks every id names an element."""
    out: dict[str, list[str]] = {}
    for role, ids in (highlight or {}).items():
        if not isinstance(role, str) or not role:
            raise ValueError(f"highlight role names must be non-empty strings, not {role!r}")
        seq = [ids] if isinstance(ids, str) else list(ids)
        unique = list(dict.fromkeys(str(x) for x in seq))
        for element_id in unique:
            net.element(element_id)  # raises ElementNotFound
        out[role] = unique
    return out


# ----------------------------------------------------------------- legend
def _legend_html(
    net: Network,
    title: str | None,
    roles: dict[str, list[str]],
    colors: dict[str, str],
    customers_drawn: bool,
) -> str:
    esc = html.escape
    present = {EDGE_KINDS[k] for k in np.unique(net.edge_kind)} if net.n_edges else set()
    rows: list[str] = ['<div class="oms-legend" id="oms-legend">']
    if title:
        rows.append(f"<h4>{esc(title)}</h4>")
    rows.append("<h5>Network</h5>")
    for kind in ("line", "cable", "transformer"):
        if kind in present:
            st = EDGE_STYLES[kind]
            rows.append(
                f'<div class="row"><span class="sw" style="border-top-width:{st["weight"] + 1}px;'
                f'border-top-color:{st["color"]}"></span>{kind}</div>'
            )
    for kind, color in DEVICE_COLORS.items():
        if kind in present:
            rows.append(
                f'<div class="row"><span class="dot" style="width:10px;height:10px;'
                f'background:{color}"></span>{kind}</div>'
            )
    if net.operable.any():
        rows.append(
            '<div class="row"><span class="dot" style="width:10px;height:10px;background:#fff;'
            'border:2px solid #555"></span>open device</div>'
        )
        rows.append(
            '<div class="row"><span class="sw" style="border-top-width:3px;'
            'border-top-color:#555;border-top-style:dashed"></span>open device (line)</div>'
        )
    if net.node_source.any():
        rows.append(
            f'<div class="row"><span class="sq" style="background:{SOURCE_COLOR}"></span>'
            "source</div>"
        )
    if customers_drawn:
        rows.append(
            f'<div class="row"><span class="dot" style="width:6px;height:6px;margin-left:6px;'
            f'margin-right:10px;background:{CUSTOMER_COLOR}"></span>customers</div>'
        )
    if roles:
        rows.append("<h5>Highlighted</h5>")
        for role in reversed(_role_order(roles)):
            rows.append(
                f'<div class="row" data-role="{esc(role)}"><span class="sw" '
                f'style="border-top-width:6px;border-top-color:{colors[role]}"></span>'
                f"{esc(role)} ({len(roles[role])})</div>"
            )
    rows.append("</div>")
    return "\n".join(rows)


# -------------------------------------------------------------------- API
def _bounds(net: Network) -> list[list[float]] | None:
    pts = [net.node_xy, net.geom_coords] if len(net.geom_coords) else [net.node_xy]
    xy = np.concatenate(pts)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return None
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return [[float(lo[1]), float(lo[0])], [float(hi[1]), float(hi[0])]]


def network_map(
    net: Network,
    highlight: Mapping[str, Iterable[str]] | None = None,
    title: str | None = None,
    *,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    show_customers: bool | None = None,
) -> folium.Map:
    """A folium map of the network that needs no network connection.

    Parameters
    ----------
    net : Network
        The network, drawn in its current switch state.
    highlight : mapping of str to iterable of str, optional
        Element sets to draw on top, by role: ``{"path": [...],
        "downstream": [...], "open": [...], "close": [...],
        "deenergized": [...], "faulted": [...]}`` or any other role name
        (it gets a colour of its own). Values are node ids and/or edge ids:
        nodes are drawn as dots, edges as thick lines (devices also get a
        dot at their midpoint while the role has at most 200 edges). A
        single string counts as one id.
    title : str, optional
        Page title and legend heading.
    tiles : str, optional
        Leaflet URL template of a base-map tile server, e.g.
        ``"http://tiles.control.local/{z}/{x}/{y}.png"``. Default: no base
        map, since tiles need a server. Names of public tile providers
        known to folium work too, but need the internet.
    tiles_attribution : str, optional
        Attribution shown for ``tiles`` (default ``"Local tiles"``).
    show_customers : bool, optional
        Draw nodes with customers as small dots. Default: only when the
        network has fewer than :data:`CUSTOMER_NODE_LIMIT` nodes.

    Returns
    -------
    folium.Map
        A map with Leaflet inlined and no CDN links, fitted to the network.
        Adding folium plugins to it may bring CDN links back.

    Raises
    ------
    topology.exceptions.ElementNotFound
        A highlighted id names no node or edge of the network.
    ValueError
        A highlight role is not a non-empty string.
    """
    roles = _normalise_highlight(net, highlight)
    if show_customers is None:
        show_customers = net.n_nodes < CUSTOMER_NODE_LIMIT

    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_start=2)
    # Instance attributes, so folium's module-level CDN lists stay untouched.
    m.default_js = []
    m.default_css = []
    m.options["maxZoom"] = 22
    # A folium.Map's root is the branca Figure it makes; get_root() is typed Element.
    figure = cast(Figure, m.get_root())
    if title:
        figure.title = html.escape(title)
    figure.header.add_child(_RawHtml(_leaflet_head()), name="oms_leaflet")

    if tiles:
        folium.TileLayer(
            tiles=tiles,
            attr=tiles_attribution or "Local tiles",
            name="Base map",
            max_zoom=22,
            max_native_zoom=19,
        ).add_to(m)

    setup = _Setup(tiles=bool(tiles))
    m.add_child(setup)
    geo = _Geometry(net)

    def layer(features: list[dict[str, Any]], name: str, **kw: Any) -> None:
        m.add_child(_GeoJsonLayer(setup, features, name, **kw))

    layer(
        _edge_features(geo),
        "Lines and devices",
        style_js=f"{setup.get_name()}.edgeStyle",
        tooltip_js=f"{setup.get_name()}.tip(null)",
    )
    if show_customers:
        layer(
            _customer_features(geo),
            "Customers",
            point_js=f"{setup.get_name()}.customerMarker",
            tooltip_js=f"{setup.get_name()}.tip(null)",
        )
    layer(
        _device_features(geo),
        "Device markers",
        point_js=f"{setup.get_name()}.deviceMarker",
        tooltip_js=f"{setup.get_name()}.tip(null)",
    )
    colors = _role_colors(roles)
    for role in _role_order(roles):
        color = _json(colors[role])
        layer(
            _highlight_features(geo, roles[role]),
            f"Highlight: {role}",
            style_js=f"{setup.get_name()}.highlightStyle({color})",
            point_js=f"{setup.get_name()}.highlightMarker({color})",
            tooltip_js=f"{setup.get_name()}.tip({_json(role)})",
            in_front=True,
            role=role,
        )
    layer(
        _source_features(geo),
        "Sources",
        point_js=f"{setup.get_name()}.sourceMarker",
        tooltip_js=f"{setup.get_name()}.tip(null)",
    )
    m.add_child(_KeepInFront(setup))
    folium.LayerControl(collapsed=True).add_to(m)
    figure.html.add_child(
        _RawHtml(_legend_html(net, title, roles, colors, bool(show_customers))),
        name="oms_legend",
    )

    bounds = _bounds(net)
    if bounds is not None:
        m.fit_bounds(bounds, padding=(20, 20), max_zoom=19)
    return m


_REMOTE_ASSET = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE
)


def write_network_map(
    net: Network,
    path: str | Path,
    highlight: Mapping[str, Iterable[str]] | None = None,
    title: str | None = None,
    *,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    show_customers: bool | None = None,
) -> None:
    """Write :func:`network_map` as one self-contained HTML file.

    The file opens from disk (``file://``) in any current browser with no
    network; nothing is loaded from elsewhere except the optional tiles.

    Parameters
    ----------
    net : Network
        The network.
    path : str or Path
        The ``.html`` file to write (UTF-8); its folder must exist.
    highlight, title, tiles, tiles_attribution, show_customers
        As for :func:`network_map`.

    Raises
    ------
    topology.exceptions.ElementNotFound
        A highlighted id names no node or edge of the network.
    RuntimeError
        The page would load a script or stylesheet from the network (a
        folium upgrade brought a CDN link back); nothing is written.
    """
    m = network_map(
        net,
        highlight,
        title,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        show_customers=show_customers,
    )
    page = m.get_root().render()
    bad = _REMOTE_ASSET.search(page)
    if bad:
        raise RuntimeError(
            f"the map would load an asset from the network ({bad.group(0)!r}); "
            "refusing to write a map that does not work offline"
        )
    Path(path).write_text(page, encoding="utf-8")
