"""Incremental update of a :class:`~topology.supply.Supply` after one switch operation.

Rebuilding the supply analysis costs O(n + m) (half a second at a million
nodes); one switch operation changes only a small part of it. The update
keeps the arrays a full rebuild gives (energized, bridges, a breadth-first
spanning tree with its depths and subtree sizes, and the pre-order the
subtree queries slice) and rewrites only what the operation changes.

What changes, by case (edge ``e`` joins ``a`` and ``b``)
--------------------------------------------------------
Opening ``e``:

- ``e`` was dead, or joined two live nodes outside the tree (it closed a
  cycle): depths and the tree stay; only the tree edges on its cycle lose
  one covering cycle (``_cover``) and may become bridges. O(cycle).
- ``e`` was a bridge: the subtree below it dies. Its slice of the
  pre-order is cut out, its ancestors' sizes shrink. O(subtree + depth).
- ``e`` was a tree edge on a cycle: the subtree ``X`` below it stays fed
  but may get farther from a source. Nodes outside ``X`` keep their paths
  (none runs through ``e``); the new depths in ``X`` are a shortest-path
  search inside ``X`` from its boundary (scipy's Dijkstra on the small
  graph of ``X`` and a super source, each boundary entry weighted by its
  outside depth). ``X`` is then hung where its new paths go.

Closing ``e``:

- both ends dead: nothing is fed; nothing changes (dead nodes have no tree).
- one end ``a`` live, ``b`` dead: the dead island behind ``b`` is fed
  through ``e`` alone. A breadth-first search from ``b`` (scipy, on an
  adjacency whose open edges point to a sink, built on first use and kept
  in step) gives the island and its tree in one pass; it is hung under
  ``a``.
- both live, depths within one: no depth changes; ``e`` closes a cycle and
  covers the tree edges on it.
- both live, ``b`` two or more deeper than ``a``: nodes around ``b`` get
  nearer a source. A breadth-first relaxation from ``b`` visits exactly the
  nodes whose depth drops (they form whole subtrees of the old tree) and
  hangs them under ``a``.

Moving a set of nodes ``Z`` in the tree (:func:`_move`) cuts its old slices
out of the sources' pieces of the pre-order, lays out its new subtrees
(scipy's depth-first order on the small forest; sizes by last-descendant
pointer jumping) and splices each in as the last child of its new parent.
The cycle cover of the tree edges is repaired by taking off the cycles of
the non-tree edges at ``Z`` before the move and putting them back after: no
other cycle's tree path runs through ``Z``, which holds whole subtrees.

Cost: O(k + depth) numpy work for the k nodes whose supply path changes,
plus one pass over the pieces of the pre-order of the sources involved
(one substation's worth of nodes), plus O(cycle length) per cycle through
the moved nodes. The first island search builds the adjacency (O(m)); the
island search itself allocates O(n) in scipy (about a millisecond at a
million nodes).

Breadth-first ties (a node with two parents at the same depth) may be
broken differently from a rebuild; depths, the energized set, bridges and
everything below a bridge are the same.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, depth_first_order, dijkstra

if TYPE_CHECKING:
    from topology.supply import Supply

__all__ = ["switch"]


def switch(sup: Supply, e: int) -> None:
    """Bring ``sup`` in line with the current state of edge ``e`` (just changed)."""
    net = sup.net
    closed = bool(net.edge_closed[e])
    a, b = int(net.edge_from[e]), int(net.edge_to[e])
    if closed:
        _close(sup, e, a, b)
    else:
        _open(sup, e, a, b)
    if sup._adjacency is not None:
        sup._adjacency.set(e, closed)


# ---------------------------------------------------------------- the cases
def _open(sup: Supply, e: int, a: int, b: int) -> None:
    tree = sup.tree
    c = int(tree.edge_child[e])
    if c < 0:
        if tree.reached[a]:  # it closed a cycle between live nodes
            _cover_path(sup, a, b, -1)
        return
    tree.edge_child[e] = -1
    sup.bridge[e] = False
    if sup._cover[c] == 0:
        _kill(sup, c)
    else:
        _rehang(sup, c)


def _close(sup: Supply, e: int, a: int, b: int) -> None:
    reached, depth = sup.tree.reached, sup.tree.depth
    if not reached[a] and not reached[b]:
        return
    if reached[a] and reached[b]:
        if depth[a] > depth[b]:
            a, b = b, a
        if depth[b] - depth[a] <= 1:
            _cover_path(sup, a, b, +1)
        else:
            _nearer(sup, e, a, b)
        return
    if not reached[a]:
        a, b = b, a
    _energize(sup, e, a, b)


def _kill(sup: Supply, c: int) -> None:
    """The bridge above ``c`` opened: the subtree of ``c`` loses supply."""
    tree = sup.tree
    k = int(tree.size[c])
    _add_up(sup, int(tree.parent[c]), -k)
    dead = _cut_slice(sup, c)
    inner = tree.parent_edge[dead]
    tree.edge_child[inner] = -1
    sup.bridge[inner] = False
    tree.reached[dead] = False
    tree.parent[dead] = tree.root
    tree.parent_edge[dead] = -1
    tree.depth[dead] = 0
    tree.size[dead] = 0
    sup._cover[dead] = 0
    sup._top[dead] = -1
    sup._ltin[dead] = -1
    _touch(sup, dead)


def _rehang(sup: Supply, c: int) -> None:
    """The tree edge above ``c`` opened, but a cycle keeps the subtree of ``c`` fed."""
    tree, net = sup.tree, sup.net
    n = net.n_nodes
    x = _subtree_copy(sup, c)
    k = len(x)
    _cover_around(sup, x, -1)
    loc = _scratch(sup)
    loc[x] = np.arange(k)
    ex, ee = _incident(sup, x)
    live = net.edge_closed[ee]
    ex, ee = ex[live], ee[live]
    ew = net.edge_from[ee] + net.edge_to[ee] - ex
    inside = loc[ew] >= 0
    # Entries from the boundary: each node of X next to a live node outside.
    bx, bw = loc[ex[~inside]], ew[~inside]
    bd = tree.depth[bw] + 1
    init = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(init, bx, bd)
    entry = np.flatnonzero(init < np.iinfo(np.int64).max)
    base = int(init[entry].min())
    # Dijkstra from a super source (local id k): weight 1 inside X, and
    # ``init - base + 1`` from the super source to each entry.
    ix, iw = loc[ex[inside]], loc[ew[inside]]
    pairs = np.sort(ix * (k + 1) + iw)
    pairs = pairs[np.diff(pairs, prepend=-1) != 0]  # parallel edges count once
    rows = np.r_[pairs // (k + 1), np.full(len(entry), k)]
    cols = np.r_[pairs % (k + 1), entry]
    weight = np.r_[np.ones(len(pairs)), (init[entry] - base + 1).astype(np.float64)]
    graph = csr_matrix((weight, (rows, cols)), shape=(k + 1, k + 1))
    dist, pred = dijkstra(graph, directed=True, indices=k, return_predecessors=True)
    loc[x] = -1
    new_depth = dist[:k].astype(np.int64) - 1 + base
    from_outside = pred[:k] == k
    new_parent = np.where(from_outside, n, x[np.where(from_outside, 0, pred[:k])])
    # The outside parent of an entry: a boundary node at the best depth.
    best = bd == init[bx]
    first = np.unique(bx[best], return_index=True)
    outside_of = np.full(k, -1, dtype=np.int64)
    outside_of[first[0]] = bw[best][first[1]]
    new_parent[from_outside] = outside_of[from_outside]
    _move(sup, x, new_parent, new_depth, np.array([c]))


def _energize(sup: Supply, e: int, a: int, b: int) -> None:
    """``e`` closed between live ``a`` and dead ``b``: the island of ``b`` gets supply."""
    tree = sup.tree
    adjacency = _adjacency(sup, e)
    order, pred = breadth_first_order(adjacency.graph, b, directed=True, return_predecessors=True)
    island = order[order != tree.root].astype(np.int64)
    parent = pred[island].astype(np.int64)
    parent[0] = a  # the search started at b
    # Depth below b by pointer jumping over the island's own tree.
    loc = _scratch(sup)
    loc[island] = np.arange(len(island))
    up = loc[parent]
    loc[island] = -1
    steps = np.ones(len(island), dtype=np.int64)
    while True:
        active = up >= 0
        if not active.any():
            break
        steps = np.where(active, steps + steps[np.maximum(up, 0)], steps)
        up = np.where(active, up[np.maximum(up, 0)], up)
    _move(sup, island, parent, tree.depth[a] + steps, np.empty(0, dtype=np.int64))


def _nearer(sup: Supply, e: int, a: int, b: int) -> None:
    """``e`` closed between live ``a`` and ``b``, ``b`` at least two deeper:
    the nodes whose depth drops are hung under ``a`` through ``e``."""
    tree, net = sup.tree, sup.net
    depth = tree.depth
    indptr, inc = net.incidence
    ends = net.edge_from, net.edge_to
    closed = net.edge_closed
    new_depth = {b: int(depth[a]) + 1}
    new_parent = {b: a}
    queue = deque([b])
    while queue:
        v = queue.popleft()
        dv = new_depth[v] + 1
        for f in inc[indptr[v] : indptr[v + 1]].tolist():
            if not closed[f]:
                continue
            w = int(ends[0][f]) + int(ends[1][f]) - v
            if dv < new_depth.get(w, int(depth[w])):
                new_depth[w] = dv
                new_parent[w] = v
                queue.append(w)
    moved = np.fromiter(new_depth, dtype=np.int64, count=len(new_depth))
    parent = np.fromiter(new_parent.values(), dtype=np.int64, count=len(moved))
    dnew = np.fromiter(new_depth.values(), dtype=np.int64, count=len(moved))
    # The nodes that drop are whole subtrees of the old tree: cut out the
    # top of each (those whose old parent does not drop).
    loc = _scratch(sup)
    loc[moved] = np.arange(len(moved))
    tops = moved[loc[tree.parent[moved]] < 0]
    loc[moved] = -1
    _cover_around(sup, moved, -1, skip=e)
    _move(sup, moved, parent, dnew, tops)


# ------------------------------------------------------------ moving nodes
def _move(
    sup: Supply, z: np.ndarray, parent: np.ndarray, depth: np.ndarray, old_tops: np.ndarray
) -> None:
    """Hang nodes ``z`` under new ``parent`` s at new ``depth`` s.

    ``old_tops`` are the tops of the old subtrees ``z`` consists of (empty
    when ``z`` was dead). The cycles of the non-tree edges at ``z`` must
    already be taken off; they are put back here.
    """
    tree = sup.tree
    for r in old_tops.tolist():
        k = int(tree.size[r])
        _add_up(sup, int(tree.parent[r]), -k)
        _cut_slice(sup, r)
    old = tree.parent_edge[z]
    old = old[old >= 0]
    tree.edge_child[old] = -1
    sup.bridge[old] = False
    edges = _parent_edges(sup, z, parent)
    tree.parent[z] = parent
    tree.parent_edge[z] = edges
    tree.depth[z] = depth
    tree.reached[z] = True
    tree.edge_child[edges] = z
    sup.bridge[edges] = True
    sup._cover[z] = 0

    # Lay out the new forest of z: pre-order by scipy's depth-first search
    # from a super node (local id k) above the nodes hung from outside.
    k = len(z)
    loc = _scratch(sup)
    loc[z] = np.arange(k)
    up = loc[parent]
    loc[z] = -1
    up = np.where(up < 0, k, up)
    forest = csr_matrix((np.ones(k), (up, np.arange(k))), shape=(k + 1, k + 1))
    order = depth_first_order(forest, k, directed=True, return_predecessors=False)
    pos = np.empty(k + 1, dtype=np.int64)
    pos[order] = np.arange(k + 1)
    # Sizes: the last descendant of a node is the last descendant of its
    # last child (pointer jumping, O(k log depth)).
    last = np.arange(k + 1)
    np.maximum.at(last, pos[up], pos[:k])
    while True:
        further = last[last]
        if np.array_equal(further, last):
            break
        last = further
    size = last - np.arange(k + 1) + 1  # by pre-order position
    tree.size[z[order[1:]]] = size[1:]
    in_order = z[order[1:]]
    for i in np.flatnonzero(up[order[1:]] == k).tolist():
        piece = in_order[i : i + int(size[i + 1])]
        y = int(parent[order[i + 1]])
        _splice(sup, y, piece)
        _add_up(sup, y, len(piece))
    _cover_around(sup, z, +1)
    _touch(sup, z)


# --------------------------------------------------- pieces of the pre-order
def _subtree_copy(sup: Supply, c: int) -> np.ndarray:
    t = int(sup._ltin[c])
    return sup._blocks[int(sup._top[c])][t : t + int(sup.tree.size[c])]


def _cut_slice(sup: Supply, r: int) -> np.ndarray:
    """Take the subtree of ``r`` out of its source's piece; returns its nodes.

    Sizes must still be those of before the cut. O(piece)."""
    s, t, k = int(sup._top[r]), int(sup._ltin[r]), int(sup.tree.size[r])
    block, cum = sup._blocks[s], sup._cum[s]
    nodes = block[t : t + k]
    tail = block[t + k :]
    sup._ltin[tail] -= k
    sup._blocks[s] = np.concatenate([block[:t], tail])
    lost = cum[t + k] - cum[t]
    sup._cum[s] = np.concatenate([cum[: t + 1], cum[t + k + 1 :] - lost])
    return nodes


def _splice(sup: Supply, y: int, piece: np.ndarray) -> None:
    """Put ``piece`` (a subtree in pre-order) in as the last child of ``y``. O(piece)."""
    s = int(sup._top[y])
    q = int(sup._ltin[y]) + int(sup.tree.size[y])
    block, cum = sup._blocks[s], sup._cum[s]
    k = len(piece)
    tail = block[q:]
    sup._ltin[tail] += k
    sup._ltin[piece] = q + np.arange(k)
    sup._top[piece] = s
    sup._blocks[s] = np.concatenate([block[:q], piece, tail])
    added = np.cumsum(sup._customers[piece])
    total = added[-1] if k else 0
    sup._cum[s] = np.concatenate([cum[: q + 1], cum[q] + added, cum[q + 1 :] + total])


# ----------------------------------------------------------------- helpers
def _add_up(sup: Supply, x: int, delta: int) -> None:
    """Add ``delta`` to the size of ``x`` and of every ancestor. O(depth)."""
    size, parent, root = sup.tree.size, sup.tree.parent, sup.tree.root
    while x != root:
        size[x] += delta
        x = int(parent[x])
    size[root] += delta


def _cover_path(sup: Supply, u: int, v: int, delta: int) -> None:
    """Add ``delta`` to the cover of the tree edges between ``u`` and ``v``
    (the cycle a non-tree edge ``u``-``v`` closes) and mark them bridges or
    not. O(cycle)."""
    tree, cover, bridge = sup.tree, sup._cover, sup.bridge
    parent, parent_edge, depth = tree.parent, tree.parent_edge, tree.depth
    while u != v:
        if depth[u] >= depth[v]:
            x, u = u, int(parent[u])
        else:
            x, v = v, int(parent[v])
        cover[x] += delta
        pe = int(parent_edge[x])
        if pe >= 0:
            bridge[pe] = cover[x] == 0


def _cover_around(sup: Supply, z: np.ndarray, delta: int, skip: int = -1) -> None:
    """:func:`_cover_path` for every live non-tree edge at a node of ``z``."""
    net, tree = sup.net, sup.tree
    _, f = _incident(sup, z)
    u, v = net.edge_from[f], net.edge_to[f]
    keep = net.edge_closed[f] & tree.reached[u] & tree.reached[v] & (tree.edge_child[f] < 0)
    keep &= f != skip
    # An edge with both ends in z is listed twice; there are few such edges.
    for e in sorted(set(f[keep].tolist())):
        _cover_path(sup, int(net.edge_from[e]), int(net.edge_to[e]), delta)


def _incident(sup: Supply, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (node of ``z``, incident edge) pair, whatever the edge's state."""
    indptr, inc = sup.net.incidence
    starts = indptr[z]
    lengths = indptr[z + 1] - starts
    idx = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    return np.repeat(z, lengths), inc[idx]


def _parent_edges(sup: Supply, z: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """The closed edge joining each node of ``z`` to its ``parent`` (the first by position)."""
    net = sup.net
    width = net.n_nodes + 1
    ex, ee = _incident(sup, z)
    live = net.edge_closed[ee]
    ex, ee = ex[live], ee[live]
    key = ex * width + net.edge_from[ee] + net.edge_to[ee] - ex
    order = np.lexsort((ee, key))
    where = np.searchsorted(key[order], z * width + parent)
    return ee[order[where]]


def _touch(sup: Supply, z: np.ndarray) -> None:
    """Keep the upward-walk lists (when built) in step for nodes ``z``."""
    walk = sup.tree._walk
    if walk is None:
        return
    parent, parent_edge = walk
    pz, pe = sup.tree.parent[z].tolist(), sup.tree.parent_edge[z].tolist()
    for v, p, f in zip(z.tolist(), pz, pe, strict=True):
        parent[v] = p
        parent_edge[v] = f


def _scratch(sup: Supply) -> np.ndarray:
    """A node-indexed int array of -1, lent to one step at a time (which
    sets entries and puts them back to -1)."""
    if sup._scratch is None:
        sup._scratch = np.full(sup.net.n_nodes + 1, -1, dtype=np.int64)
    return sup._scratch


class _Adjacency:
    """The network's node adjacency as a scipy graph, open edges pointing to a sink.

    Row ``v`` lists one entry per edge at ``v`` (the other end when the edge
    is closed, else the sink: the virtual root's position, a row of its
    own with no entries). Switching an edge rewrites its two entries.
    O(m) to build, O(1) per switch.
    """

    def __init__(self, sup: Supply) -> None:
        net = sup.net
        n = net.n_nodes
        indptr, inc = net.incidence
        node = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        self.other = (net.edge_from[inc] + net.edge_to[inc] - node).astype(np.int32)
        self.sink = n
        self.entries = np.argsort(inc, kind="stable").reshape(-1, 2)
        indices = np.where(net.edge_closed[inc], self.other, self.sink).astype(np.int32)
        ptr = np.r_[indptr, indptr[-1]].astype(np.int32)
        self.graph = csr_matrix((np.ones(len(inc)), indices, ptr), shape=(n + 1, n + 1))

    def set(self, e: int, closed: bool) -> None:
        j = self.entries[e]
        self.graph.indices[j] = self.other[j] if closed else self.sink


def _adjacency(sup: Supply, e: int) -> _Adjacency:
    """The adjacency with edge ``e`` still open (it is closed after the search)."""
    if sup._adjacency is None:
        sup._adjacency = _Adjacency(sup)
    sup._adjacency.set(e, False)
    return sup._adjacency
