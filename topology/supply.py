"""Energization and the supply tree of a network's current state.

Who has supply, and who loses it when an edge opens, are answered from
arrays built once per switching state, in O(n + m) with numpy and
``scipy.sparse.csgraph``; queries then cost O(1) (customer counts) or
O(depth) (upstream paths) instead of a graph search.

How it works
------------
A virtual root joins every source. A breadth-first search from it over the
closed edges gives the energized nodes and a spanning tree in which every
node's path to the root has the fewest edges (so "upstream" in a meshed
part is the shortest path to the nearest source). The tree is laid out in
depth-first pre-order: each node's subtree is the contiguous slice
``pre[tin[v]:tin[v] + size[v]]``, and prefix sums of customers over that
order give any subtree's customers by one subtraction.

Substations are often meshed (parallel transformers, bus ties) and feeders
are briefly paralleled during switching, so a tree edge is not necessarily
a bridge. Every closed edge that is not in the tree closes a cycle through
the tree; marking +1 at its two ends and -2 at their lowest common ancestor
and summing the marks over subtrees tells which tree edges lie on some
cycle (sum > 0). The others are the bridges: opening a bridge de-energizes
exactly the subtree below it, and opening any other edge de-energizes
nothing. This is the bridge tree of the design notes, kept implicit.

After a switch operation the analysis is updated in place, not rebuilt:
the pre-order is kept in one piece per source, and each tree edge counts
the cycles running through it, so that an operation rewrites only the
pieces and paths it touches (:mod:`topology.incremental`, issue 17).

Memory is a handful of int64 arrays of length n (about 100 bytes a node).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

__all__ = ["SpanningTree", "Supply", "SupplyTree", "SwitchedNetwork", "reachable_from"]


class SwitchedNetwork(Protocol):
    """What :class:`Supply` reads of a network in one switching state.

    :class:`topology.model.Network` is one. Knowing networks only through
    this protocol keeps the dependency one way: the model owns its supply
    analysis and imports this module, never the reverse.
    """

    @property
    def n_nodes(self) -> int: ...

    @property
    def n_edges(self) -> int: ...

    @property
    def edge_from(self) -> np.ndarray: ...

    @property
    def edge_to(self) -> np.ndarray: ...

    @property
    def edge_closed(self) -> np.ndarray: ...

    @property
    def node_customers(self) -> np.ndarray: ...

    @property
    def sources(self) -> np.ndarray: ...

    @property
    def incidence(self) -> tuple[np.ndarray, np.ndarray]: ...


def reachable_from(
    n_nodes: int, a: np.ndarray, b: np.ndarray, roots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first search from a virtual root joined to ``roots``.

    Parameters
    ----------
    n_nodes : int
        Number of nodes; the virtual root gets position ``n_nodes``.
    a, b : ndarray of int
        End nodes of the undirected edges to traverse.
    roots : ndarray of int
        Nodes joined to the virtual root.

    Returns
    -------
    order : ndarray
        Reached positions in BFS order, the virtual root first.
    pred : ndarray
        BFS predecessor of every position (negative where unreached or for
        the root).

    Notes
    -----
    O(n + m) in ``scipy.sparse.csgraph``.
    """
    root = n_nodes
    rows = np.concatenate([a, b, np.full(len(roots), root), roots])
    cols = np.concatenate([b, a, roots, np.full(len(roots), root)])
    graph = csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes + 1, n_nodes + 1)
    )
    return breadth_first_order(graph, root, directed=True, return_predecessors=True)


def _path_sums(values: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Sum of ``values`` along each node's path to the root (root included).

    ``parent[root] == root``; pointer jumping, O(n log depth).
    """
    acc = values.copy()
    anc = parent.copy()
    root = len(parent) - 1
    while True:
        active = anc != root
        if not active.any():
            return acc
        acc = np.where(active, acc + acc[anc], acc)
        anc = anc[anc]


class _TreeWalks:
    """Walks over a tree's parent pointers, shared by :class:`SpanningTree`
    and :class:`SupplyTree` (which provide ``root``, ``parent``,
    ``parent_edge`` and ``depth``)."""

    root: int
    parent: np.ndarray
    parent_edge: np.ndarray
    depth: np.ndarray
    _walk: tuple[list[int], list[int]] | None

    def _lists(self) -> tuple[list[int], list[int]]:
        # Walking Python lists is several times faster than indexing numpy
        # scalars one step at a time; built once, on the first upward walk.
        if self._walk is None:
            self._walk = (self.parent.tolist(), self.parent_edge.tolist())
        return self._walk

    def climb(self, v: int) -> tuple[list[int], int]:
        """Tree edges from ``v`` up to its root node (nearest first), and that root. O(depth)."""
        parent, parent_edge = self._lists()
        root = self.root
        path: list[int] = []
        while parent[v] != root:
            path.append(parent_edge[v])
            v = parent[v]
        return path, v

    def path_to_root(self, v: int) -> list[int]:
        """Tree edges from ``v`` up to its root node, nearest first. O(depth)."""
        return self.climb(int(v))[0]

    def top(self, v: int) -> int:
        """The root node (depth 1) above ``v``. O(depth)."""
        return self.climb(int(v))[1]

    def lca(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Lowest common ancestors of node pairs, vectorised over the pairs.

        O(depth) numpy steps, each over the pairs still apart.
        """
        u = np.array(u, dtype=np.int64)
        v = np.array(v, dtype=np.int64)
        depth, parent = self.depth, self.parent
        while True:
            apart = u != v
            if not apart.any():
                return u
            du, dv = depth[u], depth[v]
            up_u = apart & (du >= dv)
            up_v = apart & (dv >= du)
            u[up_u] = parent[u[up_u]]
            v[up_v] = parent[v[up_v]]

    def cycle(self, e: int, edge_from: np.ndarray, edge_to: np.ndarray) -> list[int]:
        """The fundamental cycle of non-tree edge ``e``, as edge positions.

        In order around the cycle, starting with ``e``. O(cycle length).
        """
        u, v = int(edge_from[e]), int(edge_to[e])
        w = int(self.lca(np.array([u]), np.array([v]))[0])
        left: list[int] = []
        while u != w:
            left.append(int(self.parent_edge[u]))
            u = int(self.parent[u])
        right: list[int] = []
        while v != w:
            right.append(int(self.parent_edge[v]))
            v = int(self.parent[v])
        return [e, *right, *reversed(left)]


class SpanningTree(_TreeWalks):
    """A BFS spanning tree (forest under a virtual root) of selected edges.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    edges : ndarray of int
        Positions of the edges to span (e.g. the closed ones).
    edge_from, edge_to : ndarray of int
        End nodes of *all* edges, indexed by edge position.
    roots : ndarray of int
        The nodes hung under the virtual root (sources, or one node per
        connected component).

    Attributes
    ----------
    root : int
        Position of the virtual root (``n_nodes``).
    reached : ndarray of bool, length n_nodes
    parent : ndarray of int, length n_nodes + 1
        Tree parent (``root`` for roots and unreached nodes).
    parent_edge : ndarray of int
        Edge position joining a node to its parent, -1 for roots and
        unreached nodes.
    depth : ndarray of int
        Edges to the virtual root (roots have 1, unreached 0).
    tin, size : ndarray of int
        Pre-order position and subtree size; the subtree of ``v`` is
        ``pre[tin[v]:tin[v] + size[v]]``. ``tin`` is -1 for unreached.
    pre : ndarray of int
        Reached positions in depth-first pre-order, the root first.
    edge_child : ndarray of int, length m
        For a tree edge, the node below it; -1 for non-tree edges.
    nontree : ndarray of int
        Spanned edges not in the tree; each closes one cycle.
    """

    def __init__(
        self,
        n_nodes: int,
        edges: np.ndarray,
        edge_from: np.ndarray,
        edge_to: np.ndarray,
        roots: np.ndarray,
    ) -> None:
        n = n_nodes
        root = n
        self.root = root
        a, b = edge_from[edges], edge_to[edges]
        order, pred = reachable_from(n, a, b, roots)
        parent = np.where(pred < 0, root, pred).astype(np.int64)
        parent[root] = root
        self.parent = parent
        self.reached = np.zeros(n + 1, dtype=bool)
        self.reached[order] = True

        # The tree edge of each node: the first spanned edge (by position)
        # joining it to its BFS parent. Found by matching sorted pair keys.
        m = len(edge_from)
        key = np.minimum(a, b) * (n + 1) + np.maximum(a, b)
        by_key = np.argsort(key, kind="stable")
        sorted_key = key[by_key]
        child = order[1:]
        par = parent[child]
        parent_edge = np.full(n + 1, -1, dtype=np.int64)
        inner = par != root
        ckey = np.minimum(child[inner], par[inner]) * (n + 1) + np.maximum(child[inner], par[inner])
        pos = np.searchsorted(sorted_key, ckey)
        parent_edge[child[inner]] = edges[by_key[pos]]
        self.parent_edge = parent_edge
        self.edge_child = np.full(m, -1, dtype=np.int64)
        self.edge_child[parent_edge[child[inner]]] = child[inner]
        in_tree = np.zeros(m, dtype=bool)
        in_tree[parent_edge[child[inner]]] = True
        self.nontree = edges[~in_tree[edges]]

        ones = np.ones(n + 1, dtype=np.int64)
        ones[root] = 0
        ones[~self.reached] = 0
        self.depth = _path_sums(ones, parent)

        # Subtree sizes bottom-up, one deepest level at a time.
        size = self.reached.astype(np.int64)
        by_depth = child[np.argsort(-self.depth[child], kind="stable")]
        depths = self.depth[by_depth]
        cuts = np.flatnonzero(np.diff(depths)) + 1
        for level in np.split(by_depth, cuts):
            np.add.at(size, parent[level], size[level])
        self.size = size

        # Pre-order: tin[v] = tin[parent] + 1 + sizes of the earlier siblings.
        sib = child[np.argsort(parent[child], kind="stable")]
        csum = np.cumsum(size[sib]) - size[sib]
        group_start = np.r_[0, np.flatnonzero(np.diff(parent[sib])) + 1]
        first = np.repeat(csum[group_start], np.diff(np.r_[group_start, len(sib)]))
        step = np.zeros(n + 1, dtype=np.int64)
        step[sib] = 1 + csum - first
        tin = _path_sums(step, parent)
        tin[~self.reached] = -1
        self.tin = tin
        self._walk: tuple[list[int], list[int]] | None = None
        pre = np.empty(len(order), dtype=np.int64)
        pre[tin[order]] = order
        self.pre = pre

    def subtree(self, v: int) -> np.ndarray:
        """Positions in the subtree of ``v`` (``v`` first), in pre-order. O(size)."""
        t = self.tin[v]
        return self.pre[t : t + self.size[v]]


class SupplyTree(_TreeWalks):
    """The supply tree of a :class:`Supply`, kept up to date as edges switch.

    Has the attributes of a :class:`SpanningTree` (see there). ``parent``,
    ``parent_edge``, ``depth``, ``size``, ``edge_child`` and ``reached``
    are arrays updated in place by each switch operation (so a reference
    to one of them follows the network's state). The pre-order ``tin`` and
    ``pre`` number the whole forest: they are put together from the
    per-source pieces the supply keeps, on first use after a change
    (O(n)), so hold them only until the next operation. ``nontree`` is
    derived on each use (O(m)).
    """

    def __init__(self, supply: Supply, built: SpanningTree) -> None:
        self._supply = supply
        self.root = built.root
        self.reached = built.reached
        self.parent = built.parent
        self.parent_edge = built.parent_edge
        self.edge_child = built.edge_child
        self.depth = built.depth
        self.size = built.size
        self._walk = None

    @property
    def tin(self) -> np.ndarray:
        """Pre-order position of every node (-1 where unreached)."""
        return self._supply._layout()[0]

    @property
    def pre(self) -> np.ndarray:
        """Reached positions in depth-first pre-order, the root first."""
        return self._supply._layout()[1]

    @property
    def nontree(self) -> np.ndarray:
        """Closed edges not in the tree, ascending; each closes one cycle."""
        return np.flatnonzero(self._supply.net.edge_closed & (self.edge_child < 0))

    def subtree(self, v: int) -> np.ndarray:
        """Positions in the subtree of ``v`` (``v`` first), in pre-order. O(size)."""
        if v == self.root:
            return self.pre
        return self._supply._subtree(int(v))


class Supply:
    """Who is energized in the network's current state, and what depends on what.

    Built by :attr:`topology.model.Network.supply`, of a network or of a
    view of it in another state (:meth:`~topology.model.Network.with_states`);
    O(n + m) to build, queries as noted. See the module docstring for the
    method. :meth:`switch` updates it in place after one edge of the network
    changed state (:mod:`topology.incremental`), touching only the part of
    the tree the change affects.

    Attributes
    ----------
    net : SwitchedNetwork
        The network (in the state) analysed.
    tree : SupplyTree
        Over the closed edges, rooted at the sources.
    energized : ndarray of bool, length n_nodes
        Reachable from a source through closed edges.
    bridge : ndarray of bool, length n_edges
        Opening this edge de-energizes something.

    Notes
    -----
    The pre-order is kept in one piece per source (its supply subtree):
    ``_blocks[s]`` lists the nodes fed from source ``s`` in pre-order,
    ``_cum[s]`` the prefix sums of their customers, and every reached node
    has its source (``_top``) and its position in that piece (``_ltin``).
    A switch operation rewrites only the pieces it touches; subtree queries
    read them directly, and the whole-forest ``tree.tin`` / ``tree.pre`` are
    put together on demand.
    """

    def __init__(self, net: SwitchedNetwork) -> None:
        self.net = net
        closed = np.flatnonzero(net.edge_closed)
        built = SpanningTree(net.n_nodes, closed, net.edge_from, net.edge_to, net.sources)
        self.tree = SupplyTree(self, built)
        n = net.n_nodes
        self.energized = built.reached[:n]
        customers = np.zeros(n + 1, dtype=np.int64)
        customers[:n] = net.node_customers
        self._customers = customers

        # Tree edges on a cycle: the subtree below them holds a positive mark
        # sum, the number of non-tree edges whose cycle runs through the edge
        # (``_cover``, kept up to date by switch operations).
        pre, tin, size = built.pre, built.tin, built.size
        nt = built.nontree[built.reached[net.edge_from[built.nontree]]]
        marks = np.zeros(n + 1, dtype=np.int64)
        if len(nt):
            u, v = net.edge_from[nt], net.edge_to[nt]
            np.add.at(marks, u, 1)
            np.add.at(marks, v, 1)
            np.add.at(marks, built.lca(u, v), -2)
        cum_marks = np.r_[0, np.cumsum(marks[pre])]
        inner = pre[1:]
        self._cover = np.zeros(n + 1, dtype=np.int64)
        self._cover[inner] = cum_marks[tin[inner] + size[inner]] - cum_marks[tin[inner]]
        tree_edges = np.flatnonzero(built.edge_child >= 0)
        self.bridge = np.zeros(net.n_edges, dtype=bool)
        self.bridge[tree_edges] = self._cover[built.edge_child[tree_edges]] == 0

        # One piece of the pre-order per source: the sources are the root's
        # children, so their subtrees follow one another in ``pre``.
        cum = np.r_[0, np.cumsum(customers[pre])]
        tops = inner[built.depth[inner] == 1]
        self._top = np.full(n + 1, -1, dtype=np.int64)
        self._top[inner] = np.repeat(tops, size[tops])
        self._ltin = np.full(n + 1, -1, dtype=np.int64)
        self._ltin[inner] = tin[inner] - np.repeat(tin[tops], size[tops])
        self._blocks: dict[int, np.ndarray] = {}
        self._cum: dict[int, np.ndarray] = {}
        for s, t, k in zip(tops.tolist(), tin[tops].tolist(), size[tops].tolist(), strict=True):
            self._blocks[s] = pre[t : t + k]
            self._cum[s] = cum[t : t + k + 1] - cum[t]
        self._whole: tuple[np.ndarray, np.ndarray] | None = (tin, pre)
        # Built on the first switch operation that needs them (topology.incremental).
        self._scratch: np.ndarray | None = None
        self._adjacency: Any = None

    def switch(self, e: int) -> None:
        """Follow a change of state of edge ``e`` (already made in ``net.edge_closed``).

        Updates everything in place, touching the nodes whose supply path
        changes, their sources' pieces of the pre-order, and the tree paths
        of the cycles through them. See :mod:`topology.incremental`.
        """
        from topology.incremental import switch  # the update rules, loaded on first use

        self._whole = None
        switch(self, int(e))

    def _layout(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole forest's pre-order ``(tin, pre)``: the root, then each
        source's piece. O(n) after a change, then kept until the next."""
        if self._whole is None:
            root = self.tree.root
            pre = np.concatenate([np.array([root], dtype=np.int64), *self._blocks.values()])
            tin = np.full(root + 1, -1, dtype=np.int64)
            tin[pre] = np.arange(len(pre))
            self._whole = (tin, pre)
        return self._whole

    def _subtree(self, v: int) -> np.ndarray:
        t = int(self._ltin[v])
        if t < 0:
            return np.empty(0, dtype=np.int64)
        return self._blocks[int(self._top[v])][t : t + int(self.tree.size[v])]

    # --------------------------------------------------------------- queries
    def subtree_customers(self, v: int) -> int:
        """Customers in the supply subtree of node ``v``. O(1)."""
        t = int(self._ltin[v])
        if t < 0:
            return 0
        cum = self._cum[int(self._top[v])]
        return int(cum[t + self.tree.size[v]] - cum[t])

    def downstream_nodes(self, e: int) -> np.ndarray:
        """Nodes that lose every path to a source when edge ``e`` opens.

        Empty for an open edge, a dead one, or one on a closed loop.
        O(1) to locate, O(result) to list.
        """
        if not self.bridge[e]:
            return np.empty(0, dtype=np.int64)
        return self._subtree(int(self.tree.edge_child[e]))

    def downstream_customers(self, e: int) -> int:
        """Customers who lose supply when edge ``e`` opens. O(1)."""
        if not self.bridge[e]:
            return 0
        return self.subtree_customers(int(self.tree.edge_child[e]))

    def downstream_edges(self, e: int, nodes: np.ndarray | None = None) -> np.ndarray:
        """Edges (``e`` excluded) fed only through ``e``: every end of theirs is dead once it opens.

        O(degree sum of the dead nodes).
        """
        net = self.net
        if nodes is None:
            nodes = self.downstream_nodes(e)
        if not len(nodes):
            return np.empty(0, dtype=np.int64)
        indptr, inc = net.incidence
        starts, ends = indptr[nodes], indptr[nodes + 1]
        lengths = ends - starts
        idx = np.repeat(ends - np.cumsum(lengths), lengths) + np.arange(lengths.sum())
        cand = np.unique(inc[idx])
        alive = self.energized.copy()
        alive[nodes] = False
        keep = ~alive[net.edge_from[cand]] & ~alive[net.edge_to[cand]] & (cand != e)
        return cand[keep]

    def upper_end(self, e: int) -> int | None:
        """The energized end of edge ``e`` nearer a source, or None if both are dead."""
        tree = self.tree
        if tree.edge_child[e] >= 0:
            return int(tree.parent[tree.edge_child[e]])
        ends = [int(self.net.edge_from[e]), int(self.net.edge_to[e])]
        live = [v for v in ends if self.energized[v]]
        if not live:
            return None
        return min(live, key=lambda v: tree.depth[v])

    def upstream_edges(self, v: int) -> list[int]:
        """Edges from node ``v`` up to its source, nearest first. O(depth)."""
        if not self.energized[v]:
            return []
        return self.tree.path_to_root(v)

    def source_of(self, v: int) -> int | None:
        """The source feeding node ``v`` (the nearest in edges), or None. O(1)."""
        if not self.energized[v]:
            return None
        return int(self._top[v])
