"""The network model: nodes, edges, customers and switch states as arrays.

A :class:`Network` is a multigraph whose nodes are connection points (buses,
poles, junctions, service points) and whose edges are every conductor and
device (line, cable, breaker, recloser, sectionalizer, fuse, switch,
transformer). Everything is stored column-wise in numpy arrays indexed by
position, with dictionaries from id to position, so that a network of a
million elements stays compact and the supply analysis in
:mod:`topology.supply` can work on whole arrays.

Coordinates are WGS84 longitude/latitude. Edge geometry is kept the way
GeoArrow keeps it: one coordinate array for all edges and an offsets array
(edge ``i`` owns ``coords[offsets[i]:offsets[i + 1]]``; an empty range means
"drawn straight between its end nodes").
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from topology.exceptions import (
    ElementNotFound,
    Issue,
    NotOperableError,
    SwitchStateError,
)

if TYPE_CHECKING:
    # The one dependency between the two modules: a network owns its supply
    # analysis; topology.supply knows networks only through a protocol.
    from topology.supply import Supply

__all__ = [
    "CRITICAL_FIELDS",
    "CUSTOMER_FIELDS",
    "EDGE_KINDS",
    "NODE_KINDS",
    "OPERABLE_KINDS",
    "PROTECTIVE_KINDS",
    "Customers",
    "Network",
    "geodesic_lengths",
]

NODE_KINDS = ("source", "node")
EDGE_KINDS = (
    "line",
    "cable",
    "breaker",
    "recloser",
    "sectionalizer",
    "fuse",
    "switch",
    "transformer",
)
PROTECTIVE_KINDS = frozenset({"breaker", "recloser", "sectionalizer", "fuse"})
OPERABLE_KINDS = PROTECTIVE_KINDS | {"switch"}

_KIND_CODE = {k: i for i, k in enumerate(EDGE_KINDS)}
_PROTECTIVE_CODES = np.array([k in PROTECTIVE_KINDS for k in EDGE_KINDS])
_OPERABLE_CODES = np.array([k in OPERABLE_KINDS for k in EDGE_KINDS])

#: Optional columns of the customers file (contract 2), besides id and node.
#: ``emergency_plan`` is free text: what to do for a critical customer in an
#: outage (backup supply, whom to call, priority instructions).
CUSTOMER_FIELDS = (
    "name",
    "phone",
    "address",
    "lon",
    "lat",
    "meter",
    "account",
    "critical",
    "emergency_plan",
)
#: Reasons commonly given in the ``critical`` column; any non-empty text is allowed.
CRITICAL_FIELDS = ("life_support", "hospital", "water")


def _positions(ids: Sequence[str]) -> dict[str, int]:
    """Each id's position in ``ids``. O(len(ids)); ``dict(zip())`` builds a
    million-entry index a fifth faster than a comprehension."""
    return dict(zip(ids, range(len(ids)), strict=True))


@dataclass
class Customers:
    """The customers of a network (contract 2), one row per customer.

    Attributes
    ----------
    ids : sequence of str
        Customer ids, unique (kept as a tuple).
    node : ndarray of int64
        Position of each customer's supply node in the network.
    fields : mapping of str to sequence
        The optional columns (:data:`CUSTOMER_FIELDS`), as tuples
        (:meth:`edit` replaces one); a missing value is None (``lon``/``lat``
        are floats or None).
    """

    ids: Sequence[str]
    node: np.ndarray
    fields: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Tuples, which the collector stops looking into (see Network).
        self.ids = tuple(self.ids)
        self.fields = {name: tuple(column) for name, column in self.fields.items()}
        self.node = np.asarray(self.node, dtype=np.int64)
        self._index: dict[str, int] | None = None

    @property
    def index(self) -> dict[str, int]:
        """Customer id to number. Built at the first lookup, O(n): at a million
        customers a third of a second that opening a stored model does not pay
        for a process that never looks a customer up by id. Two threads
        building it at once build the same dictionary."""
        # getattr: a Customers pickled before the index was lazy has no _index.
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = _positions(self.ids)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def edit(self, name: str, values: Mapping[int, Any]) -> None:
        """Set column ``name`` of customer number ``i`` to ``values[i]`` for
        each ``i`` (the column is added, None elsewhere, if missing). O(n):
        the column is a new tuple, which the collector does not look into
        (edits are a dispatcher's, one at a time)."""
        column = list(self.fields.get(name) or (None,) * len(self.ids))
        for i, value in values.items():
            column[i] = value
        self.fields = {**self.fields, name: tuple(column)}

    def get(self, name: str, i: int) -> Any:
        """Value of optional column ``name`` for customer number ``i``."""
        column = self.fields.get(name)
        return None if column is None else column[i]

    def critical_mask(self) -> np.ndarray:
        """Boolean array: True for customers with a ``critical`` reason."""
        column = self.fields.get("critical")
        if column is None:
            return np.zeros(len(self.ids), dtype=bool)
        return np.array([bool(c) for c in column], dtype=bool)


def geodesic_lengths(
    node_xy: np.ndarray,
    edge_from: np.ndarray,
    edge_to: np.ndarray,
    geom_offsets: np.ndarray,
    geom_coords: np.ndarray,
) -> np.ndarray:
    """Length in metres of every edge on the WGS84 ellipsoid.

    An edge with geometry is measured along it; one without is the straight
    geodesic between its end nodes. Vectorised: O(total vertices).
    """
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    n_edges = len(edge_from)
    lengths = np.zeros(n_edges, dtype=np.float64)
    counts = np.diff(geom_offsets)
    straight = counts < 2
    if straight.any():
        a = node_xy[edge_from[straight]]
        b = node_xy[edge_to[straight]]
        _, _, dist = geod.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        lengths[straight] = dist
    if (~straight).any():
        # Segment k joins coords[k] and coords[k + 1]; drop the segments that
        # would join the last vertex of one edge to the first of the next.
        starts = geom_offsets[:-1][~straight]
        ends = geom_offsets[1:][~straight]
        seg_ok = np.ones(len(geom_coords) - 1, dtype=bool)
        # Where one edge's vertices end and the next one's begin; edges with
        # no geometry at the end of the file leave offsets at the very end.
        inner = geom_offsets[1:-1]
        seg_ok[inner[(inner > 0) & (inner < len(geom_coords))] - 1] = False
        _, _, seg = geod.inv(
            geom_coords[:-1, 0], geom_coords[:-1, 1], geom_coords[1:, 0], geom_coords[1:, 1]
        )
        seg = np.where(seg_ok, seg, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        lengths[~straight] = cum[ends - 1] - cum[starts]
    return lengths


#: The numpy arrays a :meth:`Network.with_states` view shares (read-only).
_FIXED_ARRAYS = (
    "node_xy",
    "node_source",
    "node_customers",
    "node_voltage_kv",
    "edge_kind",
    "edge_from",
    "edge_to",
    "edge_normal_closed",
    "edge_scada",
    "edge_capacity",
    "edge_length_m",
    "geom_offsets",
    "geom_coords",
)


@dataclass
class _Derived:
    """What follows from a network's fixed arrays alone, shared with its views."""

    incidence: tuple[np.ndarray, np.ndarray] | None = None
    node_index: dict[str, int] | None = None
    edge_index: dict[str, int] | None = None


class Network:
    """A distribution network: nodes, edges, customers and switch states.

    Build one with the loaders (:func:`topology.read_network`), the
    generator (:mod:`topology.synthetic`), the pandapower importer, or
    directly from arrays with this constructor.

    Parameters
    ----------
    node_ids : sequence of str
        Unique node ids.
    node_xy : array_like, shape (n_nodes, 2)
        Longitude, latitude (WGS84) of every node.
    node_source : array_like of bool
        True where the node is a source (substation infeed).
    edge_ids : sequence of str
        Unique edge ids (also distinct from the node ids).
    edge_kind : sequence of str or array of int8
        One of :data:`EDGE_KINDS` per edge (or its position in that tuple).
    edge_from, edge_to : array_like of int
        Positions of the end nodes of every edge.
    edge_normal_closed : array_like of bool, optional
        Normal state (default all closed). The current state starts equal.
    edge_length_m : array_like of float, optional
        Lengths in metres; NaN or missing entries are measured geodesically.
    edge_scada, edge_capacity : optional
        SCADA flag per edge; customer capacity of a breaker's feeder after a
        transfer (NaN when unknown).
    node_customers : array_like of int, optional
        Customer count per node, used when ``customers`` is not given.
    customers : Customers, optional
        Individual customers; when given the counts come from them alone.
    geom_offsets, geom_coords : ndarray, optional
        Edge geometry in GeoArrow layout (see the module docstring).
    node_name, edge_name, node_voltage_kv : optional
        Names and nominal voltages; None / NaN where unknown.
    node_props, edge_props : dict of int to dict, optional
        Further feature properties to carry through export, by position.

    Notes
    -----
    Everything but the switching state is fixed once the network is built
    (ids, kinds, ends, normal states, lengths, geometry; the customers too,
    once attached with :meth:`set_customers`). The switching state is
    ``edge_closed`` (True where closed), and :attr:`supply` answers for it.
    There are two ways to another state:

    - :meth:`with_states` (and :meth:`normal`) give a *view*: a network that
      shares every fixed array (read-only through the view) and owns its
      ``edge_closed`` and its :attr:`supply`; O(n_edges), the supply built on
      first use. Use a view for every "in that state" or "what if" question,
      and always on a network that others hold too (a per-process cache, a
      model read by several threads): the original is untouched.
    - :meth:`operate`, :meth:`set_states` and :meth:`reset_to_normal` change
      this network's own state in place. They are for the owner of an
      instance that follows the live state (a model kept up to date with the
      reported switching, a test's own network); never to flip a shared
      network to another state and back: take a view instead.
    """

    def __init__(
        self,
        *,
        node_ids: Sequence[str],
        node_xy: Any,
        node_source: Any,
        edge_ids: Sequence[str],
        edge_kind: Any,
        edge_from: Any,
        edge_to: Any,
        edge_normal_closed: Any = None,
        edge_length_m: Any = None,
        edge_scada: Any = None,
        edge_capacity: Any = None,
        node_customers: Any = None,
        customers: Customers | None = None,
        geom_offsets: Any = None,
        geom_coords: Any = None,
        node_name: Sequence[str | None] | None = None,
        edge_name: Sequence[str | None] | None = None,
        node_voltage_kv: Any = None,
        node_props: Mapping[int, dict[str, Any]] | None = None,
        edge_props: Mapping[int, dict[str, Any]] | None = None,
    ) -> None:
        # Tuples of strings: the collector stops looking into them after its
        # first pass, while it reads a list's every item at each full
        # collection (at a million nodes these and the customers' lists made
        # a full collection take about 280 ms instead of 110-150).
        self.node_ids: tuple[str, ...] = tuple(node_ids)
        self.edge_ids: tuple[str, ...] = tuple(edge_ids)
        n, m = len(self.node_ids), len(self.edge_ids)
        self.node_xy = np.asarray(node_xy, dtype=np.float64).reshape(n, 2)
        self.node_source = np.asarray(node_source, dtype=bool).reshape(n)
        kind = np.asarray(edge_kind)
        if kind.dtype.kind in "UO":
            kind = np.array([_KIND_CODE[k] for k in kind], dtype=np.int8)
        self.edge_kind = kind.astype(np.int8).reshape(m)
        self.edge_from = np.asarray(edge_from, dtype=np.int64).reshape(m)
        self.edge_to = np.asarray(edge_to, dtype=np.int64).reshape(m)
        self.edge_normal_closed = (
            np.ones(m, dtype=bool)
            if edge_normal_closed is None
            else np.asarray(edge_normal_closed, dtype=bool).reshape(m)
        )
        self.edge_closed = self.edge_normal_closed.copy()
        # Conductors cut in the field (a temporary change): open whatever their kind.
        self.edge_cut = np.zeros(m, dtype=bool)
        self.edge_scada = (
            np.zeros(m, dtype=bool) if edge_scada is None else np.asarray(edge_scada, dtype=bool)
        )
        self.edge_capacity = (
            np.full(m, np.nan) if edge_capacity is None else np.asarray(edge_capacity, dtype=float)
        )
        if geom_offsets is None:
            self.geom_offsets = np.zeros(m + 1, dtype=np.int64)
            self.geom_coords = np.zeros((0, 2), dtype=np.float64)
        else:
            self.geom_offsets = np.asarray(geom_offsets, dtype=np.int64).reshape(m + 1)
            self.geom_coords = np.asarray(geom_coords, dtype=np.float64).reshape(-1, 2)
        length = None if edge_length_m is None else np.asarray(edge_length_m, dtype=float)
        if length is None or np.isnan(length).any():
            measured = geodesic_lengths(
                self.node_xy, self.edge_from, self.edge_to, self.geom_offsets, self.geom_coords
            )
            length = measured if length is None else np.where(np.isnan(length), measured, length)
        self.edge_length_m = length
        self.node_name: tuple[str | None, ...] = (
            tuple(node_name) if node_name is not None else (None,) * n
        )
        self.edge_name: tuple[str | None, ...] = (
            tuple(edge_name) if edge_name is not None else (None,) * m
        )
        self.node_voltage_kv = (
            np.full(n, np.nan) if node_voltage_kv is None else np.asarray(node_voltage_kv, float)
        )
        self.node_props: dict[int, dict[str, Any]] = dict(node_props or {})
        self.edge_props: dict[int, dict[str, Any]] = dict(edge_props or {})
        self.customers = customers
        if customers is not None:
            self.node_customers = np.bincount(customers.node, minlength=n).astype(np.int64)
        elif node_customers is not None:
            self.node_customers = np.asarray(node_customers, dtype=np.int64).reshape(n)
        else:
            self.node_customers = np.zeros(n, dtype=np.int64)
        self.warnings: list[Issue] = []
        self._supply: Supply | None = None
        # Derived from the fixed arrays alone: shared with every view.
        self._derived = _Derived()

    # ------------------------------------------------------------------ sizes
    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        return len(self.edge_ids)

    def __repr__(self) -> str:
        return (
            f"<Network {self.n_nodes} nodes, {self.n_edges} edges, "
            f"{int(self.node_customers.sum())} customers>"
        )

    # ------------------------------------------------------------- lookups
    # The id indexes are built at their first lookup and shared with every
    # view: at a million ids each costs a third of a second, most of what
    # opening a stored model would cost otherwise. Two threads building one
    # at once build the same dictionary.
    @property
    def node_index(self) -> dict[str, int]:
        """Node id to position. O(n) at the first use, O(1) a lookup."""
        derived = self._derived
        if derived.node_index is None:
            derived.node_index = _positions(self.node_ids)
        return derived.node_index

    @property
    def edge_index(self) -> dict[str, int]:
        """Edge id to position. O(m) at the first use, O(1) a lookup."""
        derived = self._derived
        if derived.edge_index is None:
            derived.edge_index = _positions(self.edge_ids)
        return derived.edge_index

    def node(self, node_id: str) -> int:
        """Position of node ``node_id``; raises :class:`ElementNotFound`."""
        try:
            return self.node_index[node_id]
        except KeyError:
            raise ElementNotFound(node_id, "node") from None

    def edge(self, edge_id: str) -> int:
        """Position of edge ``edge_id``; raises :class:`ElementNotFound`."""
        try:
            return self.edge_index[edge_id]
        except KeyError:
            raise ElementNotFound(edge_id, "edge") from None

    def element(self, element_id: str) -> tuple[str, int]:
        """``("node", i)`` or ``("edge", i)`` for an id of either kind."""
        if element_id in self.node_index:
            return "node", self.node_index[element_id]
        if element_id in self.edge_index:
            return "edge", self.edge_index[element_id]
        raise ElementNotFound(element_id)

    def kind_of(self, e: int) -> str:
        """Kind name of edge position ``e``."""
        return EDGE_KINDS[self.edge_kind[e]]

    @property
    def protective(self) -> np.ndarray:
        """Boolean mask of protective edges (breaker, recloser, sectionalizer, fuse)."""
        return _PROTECTIVE_CODES[self.edge_kind]

    @property
    def operable(self) -> np.ndarray:
        """Boolean mask of operable edges (the protective kinds and switch)."""
        return _OPERABLE_CODES[self.edge_kind]

    def is_protective(self, e: int) -> bool:
        """Whether edge position ``e`` is of a protective kind. O(1), where
        :attr:`protective` builds the mask of every edge."""
        return bool(_PROTECTIVE_CODES[self.edge_kind[e]])

    def is_operable(self, e: int) -> bool:
        """Whether edge position ``e`` is of an operable kind. O(1), where
        :attr:`operable` builds the mask of every edge."""
        return bool(_OPERABLE_CODES[self.edge_kind[e]])

    def kind_mask(self, *kinds: str) -> np.ndarray:
        """Boolean mask of the edges of the given kinds."""
        return np.isin(self.edge_kind, [_KIND_CODE[k] for k in kinds])

    @property
    def sources(self) -> np.ndarray:
        """Positions of the source nodes."""
        return np.flatnonzero(self.node_source)

    @property
    def incidence(self) -> tuple[np.ndarray, np.ndarray]:
        """Node-to-edge incidence in CSR form ``(indptr, edges)``.

        The edges at node ``v`` are ``edges[indptr[v]:indptr[v + 1]]``,
        whatever their state. Built once in O(n + m).
        """
        derived = self._derived
        if derived.incidence is None:
            ends = np.concatenate([self.edge_from, self.edge_to])
            edges = np.concatenate([np.arange(self.n_edges)] * 2)
            order = np.argsort(ends, kind="stable")
            indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
            np.cumsum(np.bincount(ends, minlength=self.n_nodes), out=indptr[1:])
            derived.incidence = (indptr, edges[order])
        return derived.incidence

    def edges_at(self, v: int) -> np.ndarray:
        """Positions of the edges incident to node position ``v``."""
        indptr, edges = self.incidence
        return edges[indptr[v] : indptr[v + 1]]

    def other_end(self, e: int, v: int) -> int:
        """The end of edge ``e`` that is not node ``v``."""
        return int(self.edge_to[e] if self.edge_from[e] == v else self.edge_from[e])

    def edge_coords(self, e: int) -> np.ndarray:
        """Coordinates of edge ``e``: its geometry, or its two end nodes."""
        a, b = self.geom_offsets[e], self.geom_offsets[e + 1]
        if b - a >= 2:
            return self.geom_coords[a:b]
        return self.node_xy[[self.edge_from[e], self.edge_to[e]]]

    # ------------------------------------------------------ switch states
    @property
    def supply(self) -> Supply:
        """The :class:`~topology.supply.Supply` analysis of the current state.

        Computed on first use. :meth:`operate` and :meth:`set_states` (a few
        changes) then update it in place (:mod:`topology.incremental`): the
        same object, and the same arrays, follow this network's state. To
        keep the analysis of a state, take a :meth:`with_states` view.
        """
        if self._supply is None:
            from topology.supply import Supply  # scipy, loaded on first use

            self._supply = Supply(self)
        return self._supply

    def with_states(self, closed: Any, *, cut: Any = None) -> Network:
        """This network in the switching state ``closed``, as a view.

        The view shares every fixed array of this network (read-only through
        the view) and owns a copy of ``closed`` and its own :attr:`supply`,
        built on first use. Operating the view's devices, or this network's,
        leaves the other as it was. O(n_edges).

        Parameters
        ----------
        closed : array_like of bool, length n_edges
            True where the edge is closed.
        cut : array_like of bool, length n_edges, optional
            Conductors cut in the field (temporary network changes): these
            may be open whatever their kind. Default: this network's cuts.

        Raises
        ------
        NotOperableError
            An edge that is neither an operable device nor cut is open in ``closed``.
        """
        cuts = (
            self.edge_cut.copy() if cut is None else np.array(cut, dtype=bool).reshape(self.n_edges)
        )
        state = self._checked(closed, cuts)
        view = copy.copy(self)
        for name in _FIXED_ARRAYS:
            array = getattr(self, name).view()
            array.flags.writeable = False
            setattr(view, name, array)
        view.edge_closed = state
        view.edge_cut = cuts
        view._supply = None
        return view

    def normal(self) -> Network:
        """This network with every device in its normal state and nothing cut, as a view
        (:meth:`with_states`)."""
        return self.with_states(self.edge_normal_closed, cut=np.zeros(self.n_edges, dtype=bool))

    def operate(self, edge_id: str, state: str) -> None:
        """Open or close an operable device in this network's own state.

        Parameters
        ----------
        edge_id : str
            The device.
        state : {"open", "closed"}
            The state to put it in.

        Raises
        ------
        NotOperableError
            The edge is a conductor or transformer.
        SwitchStateError
            The device is already in that state.

        Notes
        -----
        The :attr:`supply` analysis, once built, is updated in place for
        the part of the tree the operation affects (milliseconds at a
        million nodes) instead of being rebuilt.
        """
        if state not in ("open", "closed"):
            raise ValueError(f"state must be 'open' or 'closed', not {state!r}")
        e = self.edge(edge_id)
        if not _OPERABLE_CODES[self.edge_kind[e]]:  # one edge, not the O(m) mask
            raise NotOperableError(
                f"{edge_id} is a {self.kind_of(e)}, not an operable device; "
                "only breakers, reclosers, sectionalizers, fuses and switches operate"
            )
        closed = state == "closed"
        if bool(self.edge_closed[e]) == closed:
            raise SwitchStateError(f"{edge_id} is already {state}")
        self.edge_closed[e] = closed
        if self._supply is not None:
            self._supply.switch(e)

    def set_states(self, closed: Any, *, cut: Any = None) -> None:
        """Replace this network's own state (e.g. as read from a database).

        ``cut`` replaces the conductors cut in the field (default: kept). To
        look at another state without changing this one, use :meth:`with_states`.
        Up to ``max(8, n_nodes // 1000)`` changed edges are followed one by one
        in the :attr:`supply` analysis (as :meth:`operate` does); more, and it
        is rebuilt on next use.
        """
        cuts = self.edge_cut if cut is None else np.array(cut, dtype=bool).reshape(self.n_edges)
        state = self._checked(closed, cuts)
        changed = np.flatnonzero(state != self.edge_closed)
        self.edge_cut = cuts
        if self._supply is None or len(changed) > max(8, self.n_nodes // 1000):
            self.edge_closed = state
            self._supply = None
            return
        # A few changes: follow them one at a time (the supply reads each
        # intermediate state), in a new array as before.
        self.edge_closed = self.edge_closed.copy()
        for e in changed.tolist():
            self.edge_closed[e] = state[e]
            self._supply.switch(e)

    def reset_to_normal(self) -> None:
        """Put every device of this network back in its normal state, nothing cut."""
        self.set_states(self.edge_normal_closed, cut=np.zeros(self.n_edges, dtype=bool))

    def copy_state(self) -> np.ndarray:
        """A copy of the current closed mask (for :meth:`with_states` or :meth:`set_states`)."""
        return self.edge_closed.copy()

    def _checked(self, closed: Any, cut: np.ndarray) -> np.ndarray:
        """``closed`` as a new boolean array, checked: only operable devices and
        cut conductors may be open."""
        state = np.array(closed, dtype=bool).reshape(self.n_edges)
        bad = np.flatnonzero(~state & ~self.operable & ~cut)
        if len(bad):
            raise NotOperableError(
                f"{self.edge_ids[bad[0]]} is a {self.kind_of(int(bad[0]))} and cannot be open"
            )
        return state

    def set_customers(self, customers: Customers) -> None:
        """Make ``customers`` this network's customers; the counts come from them alone.

        Views taken earlier keep the customers they had.
        """
        self.customers = customers
        self.node_customers = np.bincount(customers.node, minlength=self.n_nodes).astype(np.int64)
        self._supply = None

    def customers_at(self, nodes: Iterable[int]) -> int:
        """Number of customers supplied at the given node positions."""
        idx = np.fromiter(nodes, dtype=np.int64)
        return int(self.node_customers[idx].sum()) if len(idx) else 0

    def to_networkx(self, closed_only: bool = False) -> Any:
        """A ``networkx.MultiGraph`` view keyed by the edge ids.

        Nodes are the node ids with their attributes; each edge carries
        ``id``, ``kind``, ``closed`` and ``length_m``. O(n + m); build it on
        demand, do not keep it beside the arrays on a large network.
        """
        import networkx as nx

        g = nx.MultiGraph()
        for i, nid in enumerate(self.node_ids):
            g.add_node(
                nid,
                source=bool(self.node_source[i]),
                customers=int(self.node_customers[i]),
            )
        for e, eid in enumerate(self.edge_ids):
            if closed_only and not self.edge_closed[e]:
                continue
            g.add_edge(
                self.node_ids[self.edge_from[e]],
                self.node_ids[self.edge_to[e]],
                key=eid,
                id=eid,
                kind=self.kind_of(e),
                closed=bool(self.edge_closed[e]),
                length_m=float(self.edge_length_m[e]),
            )
        return g
