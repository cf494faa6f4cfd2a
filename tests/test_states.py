"""Another switching state as a view (``Network.with_states``), checked against fresh networks.

A view must answer like a network built from scratch in that state, and
neither the view nor the network it was taken from may change the other.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from helpers import build, random_network, two_feeders
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.simulation.storms import normal_supply
from oms.storage.loading import with_reported_states
from topology import Network, NotOperableError
from topology.model import _FIXED_ARRAYS


def from_scratch(net: Network, closed: np.ndarray) -> Network:
    """A new network from ``net``'s arrays with ``closed`` as its normal state."""
    return Network(
        node_ids=net.node_ids,
        node_xy=net.node_xy,
        node_source=net.node_source,
        edge_ids=net.edge_ids,
        edge_kind=net.edge_kind,
        edge_from=net.edge_from,
        edge_to=net.edge_to,
        edge_normal_closed=closed,
        edge_length_m=net.edge_length_m,  # not measured again
        node_customers=net.node_customers,
    )


@functools.cache
def small_random(seed: int) -> Network:
    """A few small random networks, built once (each example only takes views)."""
    return random_network(seed, n=25, extra=seed % 4, sources=1 + seed % 2)


def answers(net: Network) -> dict[str, object]:
    """Everything the supply analysis says, as plain values."""
    s = net.supply
    return {
        "energized": np.flatnonzero(s.energized).tolist(),
        "downstream": [sorted(s.downstream_nodes(e).tolist()) for e in range(net.n_edges)],
        "customers": [s.downstream_customers(e) for e in range(net.n_edges)],
        "edges_below": [sorted(s.downstream_edges(e).tolist()) for e in range(net.n_edges)],
        "upstream": [s.upstream_edges(v) for v in range(net.n_nodes)],
        "source": [s.source_of(v) for v in range(net.n_nodes)],
    }


def snapshot(net: Network) -> dict[str, np.ndarray]:
    """Copies of the state and of every fixed array."""
    arrays = {name: getattr(net, name).copy() for name in _FIXED_ARRAYS}
    return {"edge_closed": net.edge_closed.copy(), **arrays}


def assert_same(net: Network, before: dict[str, np.ndarray]) -> None:
    for name, value in snapshot(net).items():
        assert np.array_equal(value, before[name], equal_nan=True), name


def switched(features: list[dict[str, Any]], states: dict[str, str]) -> Network:
    """The two-feeder network read from features whose normal states are ``states``."""
    changed = []
    for f in features:
        p = f["properties"]
        if p["id"] in states:
            f = {**f, "properties": {**p, "normal_state": states[p["id"]]}}
        changed.append(f)
    return build(changed)


# ------------------------------------------------------------ the answers
@pytest.mark.parametrize(
    "states",
    [
        {"TIE1": "closed"},  # a loop across the two substations
        {"TIE1": "closed", "SW1": "open"},  # a5, a6 fed from substation 2
        {"B1": "open", "SW2": "open"},  # two dead parts
        {"T1": "closed", "F1": "open", "B3": "open"},
    ],
)
def test_view_answers_like_a_network_loaded_in_that_state(
    net: Network, states: dict[str, str]
) -> None:
    closed = net.edge_closed.copy()
    for eid, state in states.items():
        closed[net.edge(eid)] = state == "closed"
    view = net.with_states(closed)
    assert answers(view) == answers(switched(two_feeders(), states))


def test_normal_is_the_normal_state_whatever_the_current_one(net: Network) -> None:
    net.operate("TIE1", "closed")
    net.operate("SW1", "open")
    normal = net.normal()
    assert np.array_equal(normal.edge_closed, net.edge_normal_closed)
    assert answers(normal) == answers(build(two_feeders()))
    assert normal_supply(net).energized.tolist() == normal.supply.energized.tolist()
    assert net.edge_closed[net.edge("TIE1")] and not net.edge_closed[net.edge("SW1")]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 5), data=st.data())
def test_random_states_answer_like_a_network_built_in_them(seed: int, data: st.DataObject) -> None:
    net = small_random(seed)
    drawn = data.draw(st.lists(st.booleans(), min_size=net.n_edges, max_size=net.n_edges))
    closed = np.array(drawn, dtype=bool) | ~net.operable  # only devices open
    view = net.with_states(closed)
    fresh = from_scratch(net, closed)
    dead = np.flatnonzero(~view.supply.energized).tolist()
    assert dead == np.flatnonzero(~fresh.supply.energized).tolist()
    for e in range(net.n_edges):  # what dies when each edge opens
        assert sorted(view.supply.downstream_nodes(e)) == sorted(fresh.supply.downstream_nodes(e))


# ------------------------------------------------------- nothing is shared
def test_views_and_their_operation_leave_the_network_as_it_was(net: Network) -> None:
    supply = net.supply
    before = snapshot(net)
    expected = answers(net)
    view = net.with_states(net.edge_closed)
    view.operate("TIE1", "closed")
    view.operate("B1", "open")
    other = view.with_states(view.edge_normal_closed)
    other.set_states(np.ones(net.n_edges, dtype=bool))
    other.reset_to_normal()
    assert view.supply.source_of(view.node("a1")) == view.node("S2")  # over the tie
    assert_same(net, before)
    assert net.supply is supply
    assert answers(net) == expected


def test_operating_the_network_leaves_its_views_as_they_were(net: Network) -> None:
    view = net.with_states(net.edge_closed)
    expected = answers(view)
    net.operate("B2", "open")
    net.operate("TIE1", "closed")
    assert answers(view) == expected
    assert view.edge_closed[view.edge("B2")] and not view.edge_closed[view.edge("TIE1")]


def test_a_view_shares_the_fixed_arrays_read_only_and_owns_its_state(net: Network) -> None:
    incidence = net.incidence
    view = net.with_states(net.edge_closed)
    for name in _FIXED_ARRAYS:
        shared, own = getattr(view, name), getattr(net, name)
        assert np.shares_memory(shared, own) or own.size == 0, name
        assert not shared.flags.writeable, name
    assert view.node_ids is net.node_ids and view.edge_index is net.edge_index
    assert view.incidence is incidence  # built once, for the network and its views
    assert not np.shares_memory(view.edge_closed, net.edge_closed)
    with pytest.raises(ValueError, match="read-only"):
        view.edge_from[0] = 3
    assert net.edge_from.flags.writeable  # the network's own arrays stay as they were


def test_a_view_is_checked_like_switching(net: Network) -> None:
    closed = net.edge_closed.copy()
    closed[net.edge("L1")] = False
    with pytest.raises(NotOperableError, match="L1 is a line"):
        net.with_states(closed)
    with pytest.raises(ValueError):
        net.with_states(closed[:-1])


def test_reported_states_are_a_view(net: Network) -> None:
    before = snapshot(net)
    rows = {"SW1": {"state": "open"}, "TIE1": {"state": "closed"}, "gone": {"state": "open"}}
    operated = with_reported_states(net, rows)
    assert not operated.edge_closed[net.edge("SW1")] and operated.edge_closed[net.edge("TIE1")]
    assert_same(net, before)


def test_attached_customers_reach_the_network_not_its_earlier_views(net: Network) -> None:
    from topology import Customers

    view = net.with_states(net.edge_closed)
    a1 = net.node("a1")
    net.set_customers(Customers(ids=["x", "y", "z"], node=np.array([a1, a1, a1])))
    assert net.supply.downstream_customers(net.edge("B1")) == 3
    assert view.supply.downstream_customers(view.edge("B1")) == 2 + 3 + 4 + 6 + 7 + 5
