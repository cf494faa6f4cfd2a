"""The units evidence is kept for: customers, or nodes for a network without a customers file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topology.model import Network

__all__ = ["Units"]


class Units:
    """Per unit: its node, id, whether it has an AMI meter, whether it is critical.

    A network with a customers file has one unit per customer; one without
    has one unit per node (calls then name nodes). A unit whose meter is
    heard from (a last gasp, a restore, a ping answer) is metered from then
    on (:meth:`heard`).
    """

    def __init__(self, net: Network, metered_default: bool = False) -> None:
        cust = net.customers
        if cust is not None:
            self.node = cust.node
            self.ids: Sequence[str] | None = cust.ids
            meters = cust.fields.get("meter")
            # The file's meter column says who has AMI; without one, the default.
            self.metered = (
                np.array([bool(m) for m in meters], dtype=bool)
                if meters is not None
                else np.full(len(cust.ids), metered_default, dtype=bool)
            )
            self.critical = cust.critical_mask()
            self.meters: Sequence[str | None] | None = meters
            self._index = cust.index
        else:
            self.node = np.arange(net.n_nodes)
            self.ids = None
            self.metered = np.zeros(net.n_nodes, dtype=bool)
            self.critical = np.zeros(net.n_nodes, dtype=bool)
            self.meters = None
            self._index = net.node_index
        self._node_ids = net.node_ids
        self._id_array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.node)

    @property
    def are_customers(self) -> bool:
        return self.ids is not None

    def id(self, unit: int) -> str:
        """The customer id (or node id) of a unit."""
        return self.ids[unit] if self.ids is not None else self._node_ids[unit]

    def ids_of(self, units: np.ndarray | list[int]) -> list[str]:
        """:meth:`id` of each of ``units``, gathered in C. O(len(units)), after
        the ids as an array are built at the first call (O(units) once)."""
        if self._id_array is None:
            ids = self.ids if self.ids is not None else self._node_ids
            self._id_array = np.empty(len(ids), dtype=object)
            self._id_array[:] = list(ids)
        found: list[str] = self._id_array[units].tolist()
        return found

    def of(self, key: str) -> int:
        """The unit of a customer id (or node id), -1 when unknown."""
        return self._index.get(key, -1)

    def heard(self, unit: int) -> bool:
        """Its meter sent an AMI message: metered from now on. True when that is news."""
        if self.metered[unit]:
            return False
        self.metered[unit] = True
        return True
