"""Device states as reported: trips and lockouts, switching, fault indicators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from oms.engine.timebase import to_seconds
from oms.intake.events import as_utc
from topology.model import Network

__all__ = ["DeviceStates"]


class DeviceStates:
    """What devices reported: the last row per device, trips, lockouts, indicators.

    A protective device that opened on its own has *tripped*: the question
    is why, so fault location treats it as closed and asks which devices
    operated. Any other opening (a switch, a commanded operation) changes
    the switching state itself.

    Attributes
    ----------
    rows : dict
        The last state row per device id (``device_states`` rows).
    tripped : dict of int to float
        Edge position -> when it tripped (epoch seconds).
    lockout : set of int
        Tripped devices that locked out.
    fci : dict of int to (bool, float)
        Fault indicators: edge position -> (saw fault current, when).
    """

    def __init__(self, rows: Mapping[str, Mapping[str, Any]]) -> None:
        self.rows: dict[str, dict[str, Any]] = {k: dict(v) for k, v in rows.items()}
        self.tripped: dict[int, float] = {}
        self.lockout: set[int] = set()
        self.fci: dict[int, tuple[bool, float]] = {}

    def read_rows(self, net: Network) -> np.ndarray:
        """Note the trips of the rows; return the switching state they describe.

        Tripped devices keep their normal state there. O(devices reported).
        """
        closed = net.edge_normal_closed.copy()
        for device, row in self.rows.items():
            e = net.edge_index.get(device)
            if e is None:
                continue
            if row["tripped"]:
                changed = as_utc(row["changed_at"])
                assert changed is not None
                self.tripped[e] = to_seconds(changed)
            else:
                closed[e] = row["state"] == "closed"
        return closed

    def prediction_states(self, closed: np.ndarray) -> np.ndarray:
        """``closed`` with every tripped device closed (where fault location looks)."""
        state = closed.copy()
        state[list(self.tripped)] = True
        return state
