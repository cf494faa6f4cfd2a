"""Fault location on the supply tree: the likelihood DP and the classic roll-up."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, two_feeders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.config import ClassicRules, PredictionParams
from oms.engine.prediction import DeviceTree, classic_rollup, most_likely_faults
from topology import Network

P = PredictionParams()


@pytest.fixture
def tree() -> DeviceTree:
    net: Network = build(two_feeders())
    return DeviceTree(net, net.supply)


def devices(tree: DeviceTree, positions: list[int]) -> list[str]:
    return sorted(tree.net.edge_ids[tree.candidate[p]] for p in positions)


def predict(
    tree: DeviceTree,
    calls: dict[str, int],
    forced: tuple[str, ...] = (),
    barred: tuple[str, ...] = (),
) -> list[str]:
    net = tree.net
    nodes = np.array(
        [net.node_index[n] for n, k in calls.items() for _ in range(k)], dtype=np.int64
    )
    delta = np.full(len(nodes), P.llr_call - P.llr_no_call)
    result = most_likely_faults(
        tree,
        nodes,
        delta,
        base_call=P.llr_no_call,
        base_meter=0.0,
        fault_cost=P.fault_cost,
        forced=[tree.position[net.edge_index[d]] for d in forced],
        barred=[tree.position[net.edge_index[d]] for d in barred],
    )
    return devices(tree, result.devices)


def test_candidates_are_protective_devices_that_cut_someone_off(tree: DeviceTree) -> None:
    assert devices(tree, list(range(len(tree)))) == ["B1", "B2", "B3", "F1", "R1"]
    r1 = tree.position[tree.net.edge_index["R1"]]
    b1 = tree.position[tree.net.edge_index["B1"]]
    assert tree.parent[r1] == b1
    assert tree.customers[r1] == 20 and tree.customers[b1] == 27


def test_most_likely_faults(tree: DeviceTree) -> None:
    assert predict(tree, {}) == []
    assert predict(tree, {"a9": 2}) == ["F1"]
    assert predict(tree, {"a9": 1}) == []  # one call alone: a single customer's problem
    assert predict(tree, {"b1": 1}) == []  # 1 call of 26: a single customer's problem
    assert predict(tree, {"a3": 1, "a5": 1, "a6": 1}) == ["R1"]
    # Calls on both sides of the recloser roll up to the breaker...
    assert predict(tree, {"a1": 1, "a4": 1, "a6": 1, "a9": 1}) == ["B1"]
    # ...but two separate faults stay two outages.
    assert predict(tree, {"a9": 3, "c2": 3}) == ["B3", "F1"]


def test_forced_devices_win_and_stay_nested(tree: DeviceTree) -> None:
    assert predict(tree, {}, forced=("R1",)) == ["R1"]
    assert predict(tree, {"a3": 1, "a4": 1, "a5": 2, "a6": 2}, forced=("B1",)) == ["B1"]
    assert predict(tree, {"a1": 2, "a9": 2}, forced=("B1", "F1")) == ["B1", "F1"]


def test_barred_devices_never_operate_unless_forced(tree: DeviceTree) -> None:
    # B1 is SCADA-monitored and reported no trip: the calls fall to what lies below.
    calls = {"a1": 1, "a4": 1, "a6": 1, "a9": 2}
    assert predict(tree, calls) == ["B1"]
    assert predict(tree, calls, barred=("B1",)) == ["F1", "R1"]
    assert predict(tree, {"a3": 1, "a5": 1, "a6": 1}, barred=("B1", "R1")) == []
    assert predict(tree, {}, forced=("R1",), barred=("R1",)) == ["R1"]


def test_evidence_of_supply_keeps_a_device_closed(tree: DeviceTree) -> None:
    net = tree.net
    supplied = -P.supplied_evidence - P.llr_no_call
    called = P.llr_call - P.llr_no_call

    def with_reports(reports: dict[str, float]) -> list[str]:
        nodes = np.array([net.node_index[n] for n in reports])
        result = most_likely_faults(
            tree,
            nodes,
            np.array(list(reports.values())),
            base_call=P.llr_no_call,
            base_meter=0.0,
            fault_cost=P.fault_cost,
        )
        return devices(tree, result.devices)

    assert with_reports({"a3": called, "a6": called}) == ["R1"]
    assert with_reports({"a3": called, "a6": called, "a4": supplied}) == []


def test_classic_rollup_rules(tree: DeviceTree) -> None:
    net = tree.net

    def classic(calls: dict[str, int], rules: ClassicRules | None = None) -> list[str]:
        nodes = np.array(
            [net.node_index[n] for n, k in calls.items() for _ in range(k)], dtype=np.int64
        )
        rules = rules or ClassicRules()
        return devices(tree, classic_rollup(tree, nodes, np.ones(len(nodes)), rules).devices)

    assert classic({"a9": 1}) == []
    assert classic({"a9": 2}) == ["F1"]
    assert classic({"a9": 2, "a4": 2}) == ["B1"]  # two children out: roll up
    assert classic({"a9": 2, "a4": 1}) == ["F1"]
    assert classic({"a4": 2}, ClassicRules(min_share=0.5)) == []


@pytest.mark.parametrize("service_cost", [P.service_fault_cost, None])
@pytest.mark.parametrize("style", ["na_fused", "eu_ring", "urban_mesh"])
def test_faults_kept_up_row_by_row_are_those_found_on_everything(
    style: str, service_cost: float | None
) -> None:
    """:class:`FeederFaults` adds only what changed along the paths above it;
    after every step of a random sequence (rows appear, go and change their
    ratio; devices forced, barred and released; meters added; the AMI base
    rate switched; a ratio too large for fixed point, and back) it gives
    what :func:`most_likely_faults` finds on all rows."""
    from oms.engine.prediction import FeederFaults
    from topology.synthetic.styles import styled_network

    net = styled_network(style, 4, n_nodes=2500, meter_share=0.6)
    tree = DeviceTree(net, net.supply)
    units = net.customers.node if net.customers is not None else np.arange(net.n_nodes)
    tin = tree.supply.tree.tin[units]
    metered = np.zeros(len(units), dtype=bool)
    rng = np.random.default_rng(11)
    ratios = np.array(
        [P.llr_call - P.llr_no_call, P.llr_gasp - P.llr_no_gasp, P.llr_ping, -P.supplied_evidence]
    )
    faults = FeederFaults(tree, len(units))
    rows: dict[int, float] = {}
    forced: set[int] = set()
    barred: set[int] = set()
    base_meter = P.llr_no_gasp
    for step in range(60):
        # A storm's batch: some customers under a few devices report, others come back.
        for d in rng.integers(0, len(tree), rng.integers(0, 4)).tolist():
            below = np.flatnonzero((tin >= tree.lo[d]) & (tin < tree.hi[d]))
            for u in rng.choice(below, min(len(below), int(rng.integers(1, 8))), replace=False):
                rows[int(u)] = float(rng.choice(ratios))
        for u in [u for u in rows if rng.random() < 0.05]:
            del rows[u]
        if rng.random() < 0.2:
            forced ^= {int(rng.integers(0, len(tree)))}
        if rng.random() < 0.2:
            barred ^= {int(rng.integers(0, len(tree)))}
        if step in (10, 20):  # meters of customers who said nothing (their rows unchanged)
            for u in rng.choice(len(units), len(units) // 3, replace=False).tolist():
                if not metered[u] and u not in rows:
                    metered[u] = True
                    tree.add_meter(int(units[u]))
        if step in (29, 44):  # the meters with something to say fall silent
            rows = {u: r for u, r in rows.items() if not metered[u]}
        if step in (30, 45):  # and the AMI head-end's last gasps stop (or start again)
            base_meter = 0.0 if base_meter else P.llr_no_gasp
        if step in (35, 50):  # a ratio out of fixed point's range (floats), gone the next step
            rows[int(rng.integers(0, len(units)))] = 1e12
        if step in (36, 51):
            rows = {u: r for u, r in rows.items() if r != 1e12}
        keys = np.array(sorted(rows), dtype=np.int64)
        delta = np.array([rows[u] for u in keys.tolist()])
        row_base = P.llr_no_call + np.where(metered[keys], base_meter, 0.0)
        args = {
            "base_call": P.llr_no_call,
            "base_meter": base_meter,
            "fault_cost": P.fault_cost,
            "forced": forced,
            "barred": barred,
            "service_cost": service_cost,
        }
        everything = most_likely_faults(tree, units[keys], delta, row_base=row_base, **args)
        kept = faults.update(keys, units[keys], delta, row_base, **args)
        assert kept == everything.devices, f"step {step}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["row", "row", "row", "gone", "force", "bar"]),
            st.integers(0, 10_000),
            st.sampled_from([-6.0, -2.0, 1.5, 2.0, 3.5, 4.0, 5.0, 6.0]),
        ),
        min_size=1,
        max_size=40,
    ),
    base_call=st.sampled_from([-0.1, 0.0, 0.1]),
    fault_cost=st.sampled_from([0.5, 2.0]),
)
def test_faults_kept_up_on_the_two_feeders_at_every_step(
    steps: list[tuple[str, int, float]], base_call: float, fault_cost: float
) -> None:
    """On the two-feeder network, any sequence of rows set and gone, devices
    forced and barred: the kept search equals the search of everything
    after every step. With no base ratio a device and the one below it
    explaining the same rows tie exactly; with a positive one (calls rarer
    than noise: an odd setting) a device with no rows would gain by
    operating, and is still not searched; own-service values change
    between positive ones (ratios 5 and 6)."""
    from oms.engine.prediction import FeederFaults

    net: Network = build(two_feeders())
    tree = DeviceTree(net, net.supply)
    supplied = np.flatnonzero(tree.node_device >= 0)
    # A dozen units spread over the nodes (each at one), so steps meet often.
    faults = FeederFaults(tree, 12)
    node_of = supplied[np.linspace(0, len(supplied) - 1, 12).astype(np.int64)]
    rows: dict[int, float] = {}
    forced: set[int] = set()
    barred: set[int] = set()
    for step, (what, pick, ratio) in enumerate(steps):
        unit = pick % 12
        if what == "row":
            rows[unit] = ratio
        elif what == "gone":
            rows.pop(unit, None)
        elif what == "force":
            forced ^= {pick % len(tree)}
        else:
            barred ^= {pick % len(tree)}
        keys = np.array(sorted(rows), dtype=np.int64)
        delta = np.array([rows[u] for u in keys.tolist()])
        row_base = np.full(len(keys), base_call)
        args = {
            "base_call": base_call,
            "base_meter": 0.0,
            "fault_cost": fault_cost,
            "forced": forced,
            "barred": barred,
            "service_cost": 4.0,
        }
        everything = most_likely_faults(tree, node_of[keys], delta, row_base=row_base, **args)
        kept = faults.update(keys, node_of[keys], delta, row_base, **args)
        assert kept == everything.devices, f"step {step}"


def test_a_device_forced_below_a_chosen_one_is_kept_up_too(tree: DeviceTree) -> None:
    """Calls all over B1 choose B1; R1 forced below it (a SCADA lockout) is
    a device of its own too, and is not once released; the kept search
    follows, though neither change flips what the search chose at R1."""
    from oms.engine.prediction import FeederFaults

    net = tree.net
    nodes = np.array([net.node_index[n] for n in ("a1", "a2", "a3", "a4", "a9")] * 3)
    units = np.arange(len(nodes), dtype=np.int64)
    delta = np.full(len(nodes), P.llr_call - P.llr_no_call)
    faults = FeederFaults(tree, len(nodes))
    r1 = tree.position[net.edge_index["R1"]]
    for forced, expected in [((), ["B1"]), ((r1,), ["B1", "R1"]), ((), ["B1"])]:
        args = {
            "base_call": P.llr_no_call,
            "base_meter": 0.0,
            "fault_cost": P.fault_cost,
            "forced": forced,
            "service_cost": P.service_fault_cost,
        }
        row_base = np.full(len(nodes), P.llr_no_call)
        everything = most_likely_faults(tree, nodes, delta, row_base=row_base, **args)
        assert devices(tree, everything.devices) == expected
        assert faults.update(units, nodes, delta, row_base, **args) == everything.devices


def test_a_device_barred_hands_its_calls_to_the_one_above(tree: DeviceTree) -> None:
    """Calls all under R1 choose R1; SCADA then says R1 did not trip, so B1
    above it explains them. The kept search decides B1 again though none
    of its rows changed, and R1 freed again takes them back."""
    from oms.engine.prediction import FeederFaults

    net = tree.net
    nodes = np.array([net.node_index[n] for n in ("a3", "a4", "a5", "a6")] * 3)
    units = np.arange(len(nodes), dtype=np.int64)
    delta = np.full(len(nodes), P.llr_call - P.llr_no_call)
    row_base = np.full(len(nodes), P.llr_no_call)
    faults = FeederFaults(tree, len(nodes))
    r1 = tree.position[net.edge_index["R1"]]
    for barred, expected in [((), ["R1"]), ((r1,), ["B1"]), ((), ["R1"])]:
        args = {
            "base_call": P.llr_no_call,
            "base_meter": 0.0,
            "fault_cost": P.fault_cost,
            "barred": barred,
            "service_cost": P.service_fault_cost,
        }
        everything = most_likely_faults(tree, nodes, delta, row_base=row_base, **args)
        assert devices(tree, everything.devices) == expected
        assert faults.update(units, nodes, delta, row_base, **args) == everything.devices


def test_a_customers_own_trouble_is_kept_up_as_its_ratio_changes(tree: DeviceTree) -> None:
    """One customer of B1's own (under no device below it) reports, more
    and more strongly: its own service failing explains it better than B1
    operating, at every ratio, and the kept search, which adds only what
    changed, keeps that one customer's own trouble counted once."""
    from oms.engine.prediction import FeederFaults

    nodes = np.array([tree.net.node_index["a1"]])
    units = np.array([0])
    faults = FeederFaults(tree, 1)
    args = {"base_call": -0.1, "base_meter": 0.0, "fault_cost": 2.0, "service_cost": 4.0}
    for ratio in (5.0, 6.0, 5.5):
        delta, row_base = np.array([ratio]), np.array([-0.1])
        everything = most_likely_faults(tree, nodes, delta, row_base=row_base, **args)
        assert everything.devices == []
        assert faults.update(units, nodes, delta, row_base, **args) == []


def test_faults_kept_up_read_rows_as_the_search_of_everything_does(tree: DeviceTree) -> None:
    """Rows given in float32 are read in float64 by both searches: a
    customer's own service value (ratio + base - cost) rounds alike, and
    the kept search finds what the search of everything does (review)."""
    from oms.engine.prediction import FeederFaults

    nodes = np.array([tree.net.node_index["a9"]])
    delta = np.array([2.999906063079834], dtype=np.float32)
    row_base = np.array([1.999998927116394], dtype=np.float32)
    args = {"base_call": 0.0, "base_meter": 0.0, "fault_cost": 2.0, "service_cost": 4.0}
    everything = most_likely_faults(tree, nodes, delta, row_base=row_base, **args)
    assert everything.devices
    kept = FeederFaults(tree, 1).update(np.array([0]), nodes, delta, row_base, **args)
    assert kept == everything.devices


def test_at_a_tie_the_devices_below_stay_whatever_the_rounding(tree: DeviceTree) -> None:
    """B1's own rows outside R1 and F1 say +x and +y, F1's say -x and -y:
    B1 operated explains exactly what R1 operated does, so R1 stays (the
    smaller outage), however the sums round (taken in another order, the
    same terms round otherwise), and when they are +0.15, +0.15 and -0.3,
    whose sum in fixed point is one step, not nought (the margin decides)."""
    net = tree.net
    at = {n: net.node_index[n] for n in ("a1", "a2", "a3", "a4", "a9", "b1", "b2")}
    rng = np.random.default_rng(3)
    found = set()
    for _ in range(200):
        x, y = (float(v) for v in rng.uniform(1e2, 1e4, 2))
        if not found:
            x, y = 0.15, 0.15  # rounded up each, while 0.3 rounds down
        mine = [("a3", float(rng.uniform(2, 9))), ("a4", float(rng.uniform(2, 9)))]
        others = [("b1", float(rng.uniform(-1e3, 1e3))), ("b2", float(rng.uniform(-1e3, 1e3)))]
        theirs = [("a9", -x), ("a9", -y)] if found else [("a9", -(x + y))]
        rows = [*others, ("a1", x), ("a2", y), *mine, *theirs]
        nodes = np.array([at[n] for n, _ in rows], dtype=np.int64)
        delta = np.array([v for _, v in rows])
        got = most_likely_faults(tree, nodes, delta, base_call=0.0, base_meter=0.0, fault_cost=1.0)
        found.add(tuple(d for d in devices(tree, got.devices) if d.startswith(("B1", "R1"))))
    assert found == {("R1",)}


def test_faults_kept_per_feeder_with_no_device_to_find() -> None:
    """Every source breaker opened (or a network of lines and switches only):
    no candidate, no fault, whatever the evidence."""
    from helpers import edge, node

    from oms.engine.prediction import FeederFaults

    net = build(
        [
            node("S", 0, 0, "source"),
            node("a", 1, 0, customers=3),
            node("b", 2, 0, customers=2),
            edge("L1", "line", "S", "a"),
            edge("SW", "switch", "a", "b"),
        ]
    )
    tree = DeviceTree(net, net.supply)
    assert len(tree) == 0
    faults = FeederFaults(tree, net.n_nodes)
    nodes = np.array([net.node_index["a"], net.node_index["b"]], dtype=np.int64)
    delta = np.full(2, P.llr_call - P.llr_no_call)
    got = faults.update(
        nodes,
        nodes,
        delta,
        np.full(2, P.llr_no_call),
        base_call=P.llr_no_call,
        base_meter=0.0,
        fault_cost=P.fault_cost,
    )
    assert got == []
