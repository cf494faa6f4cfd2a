"""Each edge's state as the maps and the GIS layers show it. No I/O.

:func:`edge_states` gives every edge one of :data:`STATES`:

``energized``
    both ends reachable from a source through closed edges;
``deenergized``
    not energized, counting the device of every active (predicted or
    confirmed) network outage as open, so a fuse predicted from calls shows
    its dead lateral although no telemetry reported it open;
``open``
    an operable device open in the network as operated (a normally-open tie,
    a tripped breaker, a switch the operator opened);
``faulted``
    in the faulted section (``section``) of an active network outage.

The dispatcher's map (:mod:`webmap.layers`), the PostGIS layers and the
GeoPackage export (:mod:`oms.storage.gis`) read them from here, and where
an outage is drawn (:func:`outage_position`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from oms.outages import ACTIVE_STATES
from topology.model import Network
from topology.traces import dead_nodes

__all__ = [
    "DEENERGIZED",
    "ENERGIZED",
    "FAULTED",
    "OPEN",
    "STATES",
    "edge_states",
    "outage_position",
]

#: Edge states, by code (the position in this tuple), bottom to top when drawn.
STATES = ("energized", "open", "deenergized", "faulted")
ENERGIZED, OPEN, DEENERGIZED, FAULTED = range(4)

_states: weakref.WeakKeyDictionary[Network, tuple[Any, np.ndarray]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _outage_marks(net: Network, outages: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
    """(device, section) of the active network outages, as positions; sorted."""
    marks = []
    for o in outages:
        if o.get("kind", "network") != "network" or o.get("state") not in ACTIVE_STATES:
            continue
        dev = net.edge_index.get(str(o.get("device")))
        section = tuple(
            sorted(net.edge_index[s] for s in (o.get("section") or []) if s in net.edge_index)
        )
        marks.append((-1 if dev is None else dev, section))
    return tuple(sorted(marks))


def edge_states(net: Network, outages: Iterable[Mapping[str, Any]] = ()) -> np.ndarray:
    """State code (position in :data:`STATES`) of every edge of ``net`` as operated.

    Parameters
    ----------
    net : Network
        The network with its devices in their operated state.
    outages : iterable of mappings
        Outages as the API gives them (``kind``, ``state``, ``device``,
        ``section``); only active network outages count.

    Returns
    -------
    ndarray of int8, length n_edges

    Notes
    -----
    O(n + m) (one breadth-first search), cached per network object and set
    of active outages, so repeated map requests cost O(1) here.
    """
    marks = _outage_marks(net, outages)
    key = (marks, net.edge_closed.tobytes())
    with _lock:
        cached = _states.get(net)
    if cached is not None and cached[0] == key:
        return cached[1]
    closed = net.edge_closed.copy()
    faulted = np.zeros(net.n_edges, dtype=bool)
    for dev, section in marks:
        if dev >= 0:
            closed[dev] = False
        faulted[list(section)] = True
    # One breadth-first search (not net.supply, which also builds the bridge tree).
    alive = np.ones(net.n_nodes, dtype=bool)
    alive[dead_nodes(net, closed)] = False
    states = np.where(alive[net.edge_from] & alive[net.edge_to], ENERGIZED, DEENERGIZED).astype(
        np.int8
    )
    states[~net.edge_closed] = OPEN
    states[faulted] = FAULTED
    with _lock:
        _states[net] = (key, states)
    return states


def outage_position(net: Network, device: str | None) -> tuple[float, float] | None:
    """Where an outage is drawn: the middle of its device. O(1)."""
    e = net.edge_index.get(str(device)) if device else None
    if e is None:
        return None
    xy = net.edge_coords(e)
    mid = xy[len(xy) // 2] if len(xy) > 2 else xy.mean(axis=0)
    return float(mid[0]), float(mid[1])
