"""Incremental supply (issue 17): after every switch operation, the supply
updated in place answers as one built from scratch (the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topology import Network
from topology.supply import Supply
from topology.synthetic import synthetic_network


def check_against_rebuild(net: Network) -> None:
    """``net.supply`` (kept up to date) against ``Supply(net)`` built afresh."""
    inc, fresh = net.supply, Supply(net)
    t, f = inc.tree, fresh.tree
    root = t.root
    np.testing.assert_array_equal(inc.energized, fresh.energized)
    np.testing.assert_array_equal(t.reached, f.reached)
    np.testing.assert_array_equal(inc.bridge, fresh.bridge)
    # Breadth-first distances are unique (the trees may break ties apart).
    np.testing.assert_array_equal(t.depth, f.depth)
    assert t.size[root] == f.size[root]
    assert len(t.nontree) == len(f.nontree)
    for e in range(net.n_edges):
        assert set(inc.downstream_nodes(e).tolist()) == set(fresh.downstream_nodes(e).tolist())
        assert inc.downstream_customers(e) == fresh.downstream_customers(e)
        np.testing.assert_array_equal(inc.downstream_edges(e), fresh.downstream_edges(e))
        ours, theirs = inc.upper_end(e), fresh.upper_end(e)
        assert (ours is None) == (theirs is None)
        if ours is not None and theirs is not None:  # the same end, or one as near a source
            assert t.depth[ours] == f.depth[theirs]

    # The tree itself: a shortest-path tree over closed edges.
    live = np.flatnonzero(inc.energized)
    sources = set(net.sources.tolist())
    for v in live.tolist():
        path = inc.upstream_edges(v)
        assert len(path) == len(fresh.upstream_edges(v)) == t.depth[v] - 1
        if v in sources:
            assert t.parent[v] == root and t.parent_edge[v] == -1
            continue
        pe, p = int(t.parent_edge[v]), int(t.parent[v])
        assert net.edge_closed[pe] and {int(net.edge_from[pe]), int(net.edge_to[pe])} == {v, p}
        assert t.edge_child[pe] == v and t.depth[v] == t.depth[p] + 1
        # the source at the top of the path is the one named
        x = v
        for edge in path:
            x = net.other_end(edge, x)
        assert x == inc.source_of(v) and x in sources
    dead = np.flatnonzero(~inc.energized)
    assert (t.parent[dead] == root).all() and (t.parent_edge[dead] == -1).all()
    assert (t.depth[dead] == 0).all() and (t.size[dead] == 0).all()
    assert int((t.edge_child >= 0).sum()) == len(live) - len(sources)

    # Subtrees: the pieces and the whole-forest pre-order agree with the
    # parent pointers, and the customer sums with the subtrees.
    children: dict[int, list[int]] = {}
    for v in live.tolist():
        children.setdefault(int(t.parent[v]), []).append(v)
    tin, pre = t.tin, t.pre
    assert pre[0] == root and sorted(pre[1:].tolist()) == live.tolist()
    np.testing.assert_array_equal(tin[pre], np.arange(len(pre)))
    assert (tin[dead] == -1).all()
    for v in live.tolist():
        below, stack = [], [v]
        while stack:
            x = stack.pop()
            below.append(x)
            stack.extend(children.get(x, []))
        assert t.size[v] == len(below)
        assert set(t.subtree(v).tolist()) == set(below) == set(pre[tin[v] : tin[v] + t.size[v]])
        assert t.subtree(v)[0] == v
        assert inc.subtree_customers(v) == int(net.node_customers[below].sum())
        if t.parent_edge[v] >= 0 and inc.bridge[t.parent_edge[v]]:
            assert inc.subtree_customers(v) == fresh.subtree_customers(v)


def flip(net: Network, e: int, *, through_states: bool) -> None:
    """Switch edge ``e`` to the other state, by operate() or by set_states()."""
    closed = bool(net.edge_closed[e])
    if through_states or not net.operable[e]:
        state = net.copy_state()
        state[e] = not closed
        net.set_states(state, cut=np.ones(net.n_edges, dtype=bool))
    else:
        net.operate(net.edge_ids[e], "open" if closed else "closed")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 40),
    extra=st.integers(0, 12),
    sources=st.integers(1, 3),
    steps=st.lists(st.tuples(st.integers(0, 10_000), st.booleans()), min_size=1, max_size=25),
)
def test_incremental_equals_rebuild_after_every_step(
    seed: int, n: int, extra: int, sources: int, steps: list[tuple[int, bool]]
) -> None:
    net = random_network(seed, n=n, extra=extra, sources=min(sources, n))
    net.supply  # noqa: B018 - built now, then kept up to date
    for pick, through_states in steps:
        flip(net, pick % net.n_edges, through_states=through_states)
        check_against_rebuild(net)


@pytest.mark.parametrize("seed", range(6))
def test_synthetic_feeders_ties_and_parallel_transformers(seed: int) -> None:
    """Opening sectionalizers, closing ties, parallel transformers: a real
    feeder layout, a random sequence of operations of every operable kind."""
    net = synthetic_network(1500, seed=seed)
    rng = np.random.default_rng(seed)
    net.supply  # noqa: B018
    operable = np.flatnonzero(net.operable)
    ties = np.flatnonzero(net.operable & ~net.edge_closed)
    for k in range(12):
        pool = ties if k % 3 == 2 and len(ties) else operable
        flip(net, int(rng.choice(pool)), through_states=k % 4 == 3)
        check_against_rebuild(net)


def test_many_changes_at_once_rebuild() -> None:
    net = random_network(3, n=40, extra=6, sources=2)
    before = net.supply
    state = net.copy_state()
    changed = np.flatnonzero(net.operable)[:20]
    state[changed] = ~state[changed]
    net.set_states(state)
    assert net.supply is not before
    check_against_rebuild(net)


def test_operate_updates_the_supply_in_place() -> None:
    net = synthetic_network(800, seed=2)
    supply = net.supply
    energized = supply.energized
    e = int(np.flatnonzero(net.operable & supply.bridge & net.kind_mask("switch"))[0])
    below = supply.downstream_nodes(e).copy()
    net.operate(net.edge_ids[e], "open")
    assert net.supply is supply
    assert not energized[below].any()  # the same array, following the state
    net.operate(net.edge_ids[e], "closed")
    assert energized[below].all()
    check_against_rebuild(net)


def test_a_view_keeps_its_own_supply() -> None:
    net = random_network(5, n=30, extra=3, sources=2)
    view = net.with_states(net.edge_closed)
    theirs = view.supply.energized.copy()
    e = int(np.flatnonzero(net.operable & net.supply.bridge)[0])
    net.operate(net.edge_ids[e], "open")
    np.testing.assert_array_equal(view.supply.energized, theirs)
    check_against_rebuild(net)
