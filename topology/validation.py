"""Structural checks of a loaded network: what loads but deserves a look.

Errors (unknown kind, dangling ends, duplicate ids, ...) are found by the
readers in :mod:`topology.io`, which refuse the file. What is left here are
warnings, listed so an engineer can fix the data, while the network still
loads and every answer stays correct:

- closed loops, one per independent cycle, with their edge ids (a loop in a
  radial feeder is usually a data error; a meshed substation is not);
- nodes no source can reach through closed edges;
- edges whose drawn geometry does not start and end at their nodes.
"""

from __future__ import annotations

import numpy as np

from topology.exceptions import Issue
from topology.model import Network

__all__ = ["GEOMETRY_TOLERANCE_M", "structural_warnings", "validate"]

#: How far (metres) an edge's drawn end may sit from its node before a warning.
GEOMETRY_TOLERANCE_M = 25.0
#: At most this many unreachable nodes are listed by id in one warning.
_MAX_LISTED = 50


def structural_warnings(net: Network) -> list[Issue]:
    """Warnings about a network that is valid but suspicious.

    O(n + m + total loop length).
    """
    from topology.traces import loops

    issues: list[Issue] = []
    for cycle in loops(net).data["loops"]:
        issues.append(
            Issue(
                cycle[0],
                f"closed loop of {len(cycle)} edges: {', '.join(cycle[:12])}"
                + (" ..." if len(cycle) > 12 else ""),
                "warning",
                tuple(cycle),
            )
        )
    dead = np.flatnonzero(~net.supply.energized)
    if len(dead) and net.node_source.any():
        listed = [net.node_ids[v] for v in dead[:_MAX_LISTED]]
        more = f" and {len(dead) - _MAX_LISTED} more" if len(dead) > _MAX_LISTED else ""
        issues.append(
            Issue(
                listed[0],
                f"{len(dead)} node(s) no source can reach through closed edges: "
                f"{', '.join(listed)}{more}",
                "warning",
                tuple(net.node_ids[v] for v in dead),
            )
        )
    issues.extend(_geometry_warnings(net))
    return issues


def _geometry_warnings(net: Network) -> list[Issue]:
    from pyproj import Geod

    counts = np.diff(net.geom_offsets)
    drawn = np.flatnonzero(counts >= 2)
    if not len(drawn):
        return []
    geod = Geod(ellps="WGS84")
    first = net.geom_coords[net.geom_offsets[drawn]]
    last = net.geom_coords[net.geom_offsets[drawn + 1] - 1]
    out: list[Issue] = []
    for end, coords, nodes in (
        ("start", first, net.edge_from[drawn]),
        ("end", last, net.edge_to[drawn]),
    ):
        xy = net.node_xy[nodes]
        _, _, dist = geod.inv(coords[:, 0], coords[:, 1], xy[:, 0], xy[:, 1])
        for k in np.flatnonzero(dist > GEOMETRY_TOLERANCE_M)[:_MAX_LISTED]:
            e = int(drawn[k])
            node = "from" if end == "start" else "to"
            out.append(
                Issue(
                    net.edge_ids[e],
                    f"geometry {end}s {dist[k]:.0f} m from its '{node}' node "
                    f"{net.node_ids[nodes[k]]}",
                    "warning",
                )
            )
    return out


def validate(net: Network) -> list[Issue]:
    """All warnings of a network that has already loaded (alias of :func:`structural_warnings`)."""
    return structural_warnings(net)
