"""Energization and the supply tree, checked against networkx on random networks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from helpers import random_network

from topology import Network


def nx_energized(net: Network, skip: int | None = None) -> set[int]:
    g = nx.MultiGraph()
    g.add_nodes_from(range(net.n_nodes))
    for e in np.flatnonzero(net.edge_closed):
        if e != skip:
            g.add_edge(int(net.edge_from[e]), int(net.edge_to[e]), key=int(e))
    out: set[int] = set()
    for s in net.sources:
        out |= nx.node_connected_component(g, int(s))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_downstream_matches_networkx_on_random_networks(seed: int) -> None:
    net = random_network(seed, extra=seed % 6, sources=1 + seed % 3)
    supply = net.supply
    alive = nx_energized(net)
    assert set(np.flatnonzero(supply.energized)) == alive
    for e in range(net.n_edges):
        expected = alive - nx_energized(net, skip=e) if net.edge_closed[e] else set()
        got = set(supply.downstream_nodes(e).tolist())
        assert got == expected, f"edge {net.edge_ids[e]}"
        assert supply.downstream_customers(e) == int(net.node_customers[list(expected)].sum())


@pytest.mark.parametrize("seed", range(10))
def test_subtrees_are_contiguous_preorder_slices(seed: int) -> None:
    net = random_network(seed, n=200, extra=0, sources=3)
    tree = net.supply.tree
    for v in np.flatnonzero(net.supply.energized):
        members = set(tree.subtree(int(v)).tolist())
        # every member's path to the root passes through v
        for w in members:
            x = w
            while x != v:
                x = int(tree.parent[x])
                assert x != tree.root
        assert len(members) == tree.size[v]


@pytest.mark.parametrize("seed", range(10))
def test_upstream_path_is_a_shortest_path_to_a_source(seed: int) -> None:
    net = random_network(seed, extra=5, sources=2)
    g = net.to_networkx(closed_only=True)
    sources = [net.node_ids[s] for s in net.sources]
    for v in np.flatnonzero(net.supply.energized):
        path = net.supply.upstream_edges(int(v))
        best = min(
            nx.shortest_path_length(g, net.node_ids[v], s)
            for s in sources
            if nx.has_path(g, net.node_ids[v], s)
        )
        assert len(path) == best


def test_dead_node_has_no_path(net: Network) -> None:
    net.operate("B2", "open")
    b1 = net.node("b1")
    assert not net.supply.energized[b1]
    assert net.supply.upstream_edges(b1) == []
    assert net.supply.source_of(b1) is None


def test_operate_updates_supply_and_checks_states(net: Network) -> None:
    from topology import NotOperableError, SwitchStateError

    before = net.supply
    a6 = net.node("a6")
    assert before.tree.depth[a6] == 8 and before.bridge[net.edge("L6")]
    net.operate("TIE1", "closed")
    # Updated in place (issue 17): the same object, in the new state; a6 is
    # now nearer S2 (through TIE1) and L6 lies on the loop TIE1 closes.
    assert net.supply is before
    assert before.tree.depth[a6] == 6 and before.source_of(a6) == net.node("S2")
    assert not before.bridge[net.edge("L6")]
    with pytest.raises(SwitchStateError, match="already closed"):
        net.operate("TIE1", "closed")
    with pytest.raises(NotOperableError, match="line"):
        net.operate("L1", "open")
    net.reset_to_normal()
    assert not net.edge_closed[net.edge("TIE1")]
