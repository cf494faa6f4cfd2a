"""The pandapower importer: mapping, switch placement, and agreement with pandapower.

The agreement tests toggle every switch of pandapower's example networks in
both models and compare the de-energized buses with
:func:`pandapower.topology.unsupplied_buses`.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as pptop
import pandas as pd
import pytest

from topology import Network, NetworkFileError
from topology.pandapower import from_pandapower, to_pandapower_bus_id, to_pandapower_element

CABLE = "NA2XS2Y 1x95 RM/25 12/20 kV"  # std type "cs"
OVERHEAD = "149-AL1/24-ST1A 20.0"  # std type "ol"
LON, LAT = 8.0, 48.0
STEP = 0.001  # degrees between neighbouring test buses


# ------------------------------------------------------------------ helpers
def expected_counts(p: Any) -> dict[str, int]:
    """Node and edge counts the importer must produce, derived from the tables."""
    buses = set(p.bus.index[p.bus.in_service.astype(bool)])

    def kept(table: Any, *columns: str) -> Any:
        mask = table.in_service.astype(bool)
        for c in columns:
            mask &= table[c].isin(buses)
        return table[mask]

    lines = kept(p.line, "from_bus", "to_bus")
    lines = lines[lines.from_bus != lines.to_bus]
    trafos = kept(p.trafo, "hv_bus", "lv_bus")
    t3w = kept(p.trafo3w, "hv_bus", "mv_bus", "lv_bus")
    imps = kept(p.impedance, "from_bus", "to_bus")
    sw = p.switch[p.switch.bus.isin(buses)]
    bus_bus = sw[(sw.et == "b") & sw.element.isin(buses) & (sw.element != sw.bus)]
    on_elements = (
        ((sw.et == "l") & sw.element.isin(lines.index)).sum()
        + ((sw.et == "t") & sw.element.isin(trafos.index)).sum()
        + ((sw.et == "t3") & sw.element.isin(t3w.index)).sum()
    )
    n_switches = len(bus_bus) + int(on_elements)
    return {
        "nodes": len(buses) + len(t3w) + int(on_elements),
        "edges": len(lines) + len(trafos) + 3 * len(t3w) + len(imps) + n_switches,
        "switch_edges": n_switches,
        "cables": int((lines.type == "cs").sum()),
        "breakers": int((sw.type.loc[bus_bus.index.union(sw.index[sw.et != "b"])] == "CB").sum()),
        "open": int((~sw.closed.loc[bus_bus.index.union(sw.index[sw.et != "b"])]).sum()),
        "sources": p.ext_grid.bus[p.ext_grid.in_service.astype(bool)].nunique(),
        "loads": int(p.load.in_service.astype(bool).sum()),
    }


def pp_dead(p: Any) -> set[str]:
    return {f"bus{b}" for b in pptop.unsupplied_buses(p)}


def our_dead(net: Network) -> set[str]:
    dead = np.flatnonzero(~net.supply.energized)
    return {net.node_ids[v] for v in dead if net.node_ids[v].startswith("bus")}


def toggle_and_compare(p: Any, net: Network, switches: Any) -> tuple[list[Any], int]:
    """Toggle each switch alone in both models; (mismatches, non-trivial count)."""
    mismatches = []
    nontrivial = 0
    for idx in switches:
        was_closed = bool(p.switch.at[idx, "closed"])
        p.switch.at[idx, "closed"] = not was_closed
        net.operate(f"switch{idx}", "open" if was_closed else "closed")
        try:
            expected, got = pp_dead(p), our_dead(net)
        finally:
            p.switch.at[idx, "closed"] = was_closed
            net.reset_to_normal()
        nontrivial += bool(expected)
        if expected != got:
            mismatches.append((idx, sorted(expected - got), sorted(got - expected)))
    return mismatches, nontrivial


def small_net() -> tuple[Any, dict[str, int]]:
    """ext grid - trafo - MV bus - cable - b1 - overhead line - b2 (load)."""
    p = pp.create_empty_network()
    b = {
        "hv": pp.create_bus(p, 110, name="HV", geodata=(LON, LAT)),
        "mv": pp.create_bus(p, 20, name="MV", geodata=(LON + STEP, LAT)),
        "b1": pp.create_bus(p, 20, name="B1", geodata=(LON + 2 * STEP, LAT)),
        "b2": pp.create_bus(p, 20, name="B2", geodata=(LON + 3 * STEP, LAT)),
    }
    pp.create_ext_grid(p, b["hv"])
    b["trafo"] = pp.create_transformer(p, b["hv"], b["mv"], "25 MVA 110/20 kV")
    b["l1"] = pp.create_line(
        p,
        b["mv"],
        b["b1"],
        0.1,
        CABLE,
        geodata=[(LON + STEP, LAT), (LON + 1.5 * STEP, LAT + STEP), (LON + 2 * STEP, LAT)],
    )
    b["l2"] = pp.create_line(p, b["b1"], b["b2"], 0.2, OVERHEAD)
    pp.create_load(p, b["b2"], p_mw=0.05)
    return p, b


def edge_ends(net: Network, edge_id: str) -> tuple[str, str]:
    e = net.edge(edge_id)
    return net.node_ids[net.edge_from[e]], net.node_ids[net.edge_to[e]]


# ------------------------------------------------------------ shipped nets
@pytest.fixture(scope="module")
def oberrhein() -> tuple[Any, Network]:
    p = pn.mv_oberrhein()
    return p, from_pandapower(p)


@pytest.fixture(scope="module")
def schutterwald() -> tuple[Any, Network]:
    p = pn.lv_schutterwald()
    return p, from_pandapower(p)


@pytest.fixture(scope="module")
def cigre_mv() -> tuple[Any, Network]:
    p = pn.create_cigre_network_mv()
    return p, from_pandapower(p)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["oberrhein", "schutterwald", "cigre_mv"])
def test_shipped_networks_import_with_expected_counts(
    name: str, request: pytest.FixtureRequest
) -> None:
    p, net = request.getfixturevalue(name)
    want = expected_counts(p)
    assert net.n_nodes == want["nodes"]
    assert net.n_edges == want["edges"]
    assert int(net.kind_mask("switch", "breaker").sum()) == want["switch_edges"]
    assert int(net.kind_mask("cable").sum()) == want["cables"]
    assert int(net.kind_mask("breaker").sum()) == want["breakers"]
    assert int((~net.edge_normal_closed).sum()) == want["open"]
    assert len(net.sources) == want["sources"]
    assert int(net.node_customers.sum()) == want["loads"]
    # every bus sits where pandapower draws it, in WGS84 range
    assert np.isfinite(net.node_xy).all()
    assert (np.abs(net.node_xy[:, 0]) <= 180).all() and (np.abs(net.node_xy[:, 1]) <= 90).all()
    # lengths: lines from length_km, devices zero
    for k in p.line.index[:20]:
        e = net.edge(f"line{k}")
        assert net.edge_length_m[e] == pytest.approx(p.line.at[k, "length_km"] * 1000)
    assert (net.edge_length_m[net.kind_mask("switch", "breaker", "transformer")] == 0).all()


@pytest.mark.slow
def test_oberrhein_counts_and_geometry(oberrhein: tuple[Any, Network]) -> None:
    p, net = oberrhein
    # 179 buses + one node per line switch; 181 lines + 2 trafos + 322 switches
    assert (net.n_nodes, net.n_edges) == (179 + 322, 181 + 2 + 322)
    assert int((~net.edge_normal_closed).sum()) == 6
    # drawn lines keep pandapower's geometry
    e = net.edge("line0")
    coords = net.geom_coords[net.geom_offsets[e] : net.geom_offsets[e + 1]]
    assert len(coords) == 3 and coords[0] == pytest.approx([7.8947079593416, 48.40549007606241])
    # names and voltages carried over
    v = net.node("bus0")
    assert net.node_name[v] == p.bus.at[0, "name"] and net.node_voltage_kv[v] == 20.0


# ------------------------------------------------------------- agreement
@pytest.mark.slow
def test_normal_state_agrees(
    oberrhein: tuple[Any, Network], schutterwald: tuple[Any, Network]
) -> None:
    for p, net in (oberrhein, schutterwald):
        assert our_dead(net) == pp_dead(p)


@pytest.mark.slow
def test_opening_every_closed_switch_of_oberrhein_agrees(oberrhein: tuple[Any, Network]) -> None:
    p, net = oberrhein
    closed = p.switch.index[p.switch.closed.astype(bool)]
    assert len(closed) == 316
    mismatches, nontrivial = toggle_and_compare(p, net, closed)
    assert mismatches == []
    assert nontrivial > 100  # most switches cut something off: the check has teeth


@pytest.mark.slow
def test_closing_every_open_tie_of_oberrhein_agrees(oberrhein: tuple[Any, Network]) -> None:
    p, net = oberrhein
    ties = p.switch.index[~p.switch.closed.astype(bool)]
    assert len(ties) == 6
    mismatches, _ = toggle_and_compare(p, net, ties)
    assert mismatches == []
    # and with every tie closed (meshed), opening each other switch still agrees
    for idx in ties:
        p.switch.at[idx, "closed"] = True
        net.operate(f"switch{idx}", "closed")
    try:
        meshed = net.copy_state()
        others = p.switch.index[~p.switch.index.isin(ties)]
        cut_off = 0
        for idx in others:
            p.switch.at[idx, "closed"] = False
            net.operate(f"switch{idx}", "open")
            try:
                expected = pp_dead(p)
                assert our_dead(net) == expected, idx
                cut_off += bool(expected)
            finally:
                p.switch.at[idx, "closed"] = True
                net.set_states(meshed)
        assert 0 < cut_off < len(others)  # some are backed up by a closed tie, some not
    finally:
        for idx in ties:
            p.switch.at[idx, "closed"] = False
        net.reset_to_normal()


@pytest.mark.slow
def test_toggling_every_switch_of_schutterwald_agrees(schutterwald: tuple[Any, Network]) -> None:
    p, net = schutterwald
    mismatches, nontrivial = toggle_and_compare(p, net, p.switch.index)
    assert len(p.switch) == 378
    assert mismatches == []
    assert nontrivial > 50


def test_toggling_every_switch_of_cigre_mv_agrees(cigre_mv: tuple[Any, Network]) -> None:
    p, net = cigre_mv
    mismatches, nontrivial = toggle_and_compare(p, net, p.switch.index)
    assert mismatches == []
    assert nontrivial >= 2


# ------------------------------------------------------------ the mapping
def test_small_network_mapping() -> None:
    p, b = small_net()
    net = from_pandapower(p)
    assert list(net.node_ids) == [f"bus{b[k]}" for k in ("hv", "mv", "b1", "b2")]
    assert list(net.node_name) == ["HV", "MV", "B1", "B2"]
    assert list(net.node_voltage_kv) == [110, 20, 20, 20]
    assert net.node_source.tolist() == [True, False, False, False]
    assert net.kind_of(net.edge(f"trafo{b['trafo']}")) == "transformer"
    assert edge_ends(net, f"trafo{b['trafo']}") == (f"bus{b['hv']}", f"bus{b['mv']}")
    assert net.kind_of(net.edge(f"line{b['l1']}")) == "cable"
    assert net.kind_of(net.edge(f"line{b['l2']}")) == "line"
    assert net.edge_length_m[net.edge(f"line{b['l2']}")] == pytest.approx(200.0)
    # l1 is drawn, l2 is not (an empty geometry range)
    drawn = np.diff(net.geom_offsets)
    assert drawn[net.edge(f"line{b['l1']}")] == 3
    assert drawn[net.edge(f"line{b['l2']}")] == drawn[net.edge(f"trafo{b['trafo']}")] == 0
    assert net.node_customers.tolist() == [0, 0, 0, 1]
    assert net.supply.energized.all()


def test_line_switch_gets_an_intermediate_node() -> None:
    p, b = small_net()
    s_far = pp.create_switch(p, b["b1"], b["l1"], et="l", type="LBS")
    s_near = pp.create_switch(p, b["mv"], b["l1"], et="l", type="CB", closed=False)
    net = from_pandapower(p)
    line = f"line{b['l1']}"
    # the line now runs between the two switch nodes; each switch joins its bus
    assert edge_ends(net, line) == (f"sw{s_near}-n", f"sw{s_far}-n")
    assert edge_ends(net, f"switch{s_near}") == (f"bus{b['mv']}", f"sw{s_near}-n")
    assert edge_ends(net, f"switch{s_far}") == (f"bus{b['b1']}", f"sw{s_far}-n")
    assert net.kind_of(net.edge(f"switch{s_near}")) == "breaker"
    assert net.kind_of(net.edge(f"switch{s_far}")) == "switch"
    assert not net.edge_normal_closed[net.edge(f"switch{s_near}")]
    assert net.edge_length_m[net.edge(f"switch{s_near}")] == 0.0
    # the switch node sits at its bus
    np.testing.assert_allclose(net.node_xy[net.node(f"sw{s_near}-n")], (LON + STEP, LAT))
    # the open breaker de-energizes the line and what lies beyond, not the MV bus
    assert our_dead(net) == {f"bus{b['b1']}", f"bus{b['b2']}"}
    net.operate(f"switch{s_near}", "closed")
    assert net.supply.energized.all()
    net.operate(f"switch{s_far}", "open")
    # the line stays live up to the open end; what lies beyond it does not
    assert net.supply.energized[net.node(f"sw{s_far}-n")]
    assert our_dead(net) == {f"bus{b['b1']}", f"bus{b['b2']}"}


def test_trafo_switch_and_bus_bus_switches() -> None:
    p, b = small_net()
    s_trafo = pp.create_switch(p, b["mv"], b["trafo"], et="t", type="CB")
    b3 = pp.create_bus(p, 20, geodata=(LON + 3 * STEP, LAT + STEP))
    s_bb = pp.create_switch(p, b["b2"], b3, et="b", type="LBS", closed=False)
    net = from_pandapower(p)
    assert edge_ends(net, f"trafo{b['trafo']}") == (f"bus{b['hv']}", f"sw{s_trafo}-n")
    assert edge_ends(net, f"switch{s_trafo}") == (f"bus{b['mv']}", f"sw{s_trafo}-n")
    assert edge_ends(net, f"switch{s_bb}") == (f"bus{b['b2']}", f"bus{b3}")
    assert net.kind_of(net.edge(f"switch{s_bb}")) == "switch"
    assert not net.edge_normal_closed[net.edge(f"switch{s_bb}")]
    assert our_dead(net) == pp_dead(p) == {f"bus{b3}"}
    net.operate(f"switch{s_trafo}", "open")
    p.switch.at[s_trafo, "closed"] = False
    assert our_dead(net) == pp_dead(p)


def test_trafo3w_makes_a_star_node() -> None:
    p, b = small_net()
    mv2 = pp.create_bus(p, 20, geodata=(LON, LAT + STEP))
    lv = pp.create_bus(p, 10, geodata=(LON, LAT - STEP))
    t3 = pp.create_transformer3w(p, b["hv"], mv2, lv, "63/25/38 MVA 110/20/10 kV")
    sw = pp.create_switch(p, mv2, t3, et="t3", type="CB")
    net = from_pandapower(p)
    star = f"trafo3w{t3}"
    np.testing.assert_allclose(net.node_xy[net.node(star)], (LON, LAT))  # at the hv bus
    assert net.node_voltage_kv[net.node(star)] == 110
    assert edge_ends(net, f"trafo3w{t3}-hv") == (f"bus{b['hv']}", star)
    assert edge_ends(net, f"trafo3w{t3}-mv") == (star, f"sw{sw}-n")
    assert edge_ends(net, f"trafo3w{t3}-lv") == (star, f"bus{lv}")
    assert all(net.kind_of(net.edge(f"trafo3w{t3}-{s}")) == "transformer" for s in ("hv", "mv"))
    net.operate(f"switch{sw}", "open")
    p.switch.at[sw, "closed"] = False
    assert our_dead(net) == pp_dead(p) == {f"bus{mv2}"}
    assert to_pandapower_element(f"trafo3w{t3}-lv") == ("trafo3w", t3)


def test_impedance_and_slack_gen() -> None:
    p, b = small_net()
    far = pp.create_bus(p, 20, geodata=(LON + 5 * STEP, LAT))
    island = pp.create_bus(p, 20, geodata=(LON + 6 * STEP, LAT))
    imp = pp.create_impedance(p, b["b2"], far, rft_pu=0.01, xft_pu=0.01, sn_mva=1)
    pp.create_line(p, far, island, 0.1, CABLE, in_service=False)
    pp.create_gen(p, island, p_mw=0.1, slack=True)
    net = from_pandapower(p)
    assert edge_ends(net, f"impedance{imp}") == (f"bus{b['b2']}", f"bus{far}")
    assert net.kind_of(net.edge(f"impedance{imp}")) == "line"
    # no length in pandapower: measured geodesically (2 x 0.001 deg of longitude at 48 N)
    assert net.edge_length_m[net.edge(f"impedance{imp}")] == pytest.approx(149.2, abs=0.5)
    assert net.node_source[net.node(f"bus{island}")]
    assert our_dead(net) == pp_dead(p) == set()


def test_out_of_service_elements_are_left_out() -> None:
    p, b = small_net()
    spare = pp.create_line(p, b["mv"], b["b2"], 0.3, CABLE, in_service=False)
    s_spare = pp.create_switch(p, b["mv"], spare, et="l")
    dead_bus = pp.create_bus(p, 20, geodata=(LON, LAT + STEP), in_service=False)
    l_dead = pp.create_line(p, b["b2"], dead_bus, 0.1, CABLE)
    s_dead = pp.create_switch(p, b["b2"], l_dead, et="l")
    s_bb = pp.create_switch(p, b["b1"], dead_bus, et="b")
    pp.create_load(p, dead_bus, p_mw=0.01)
    pp.create_load(p, b["b1"], p_mw=0.01, in_service=False)
    pp.create_ext_grid(p, b["b2"], in_service=False)
    net = from_pandapower(p)
    for gone in (f"line{spare}", f"switch{s_spare}", f"line{l_dead}", f"switch{s_dead}"):
        assert gone not in net.edge_index
    assert f"switch{s_bb}" not in net.edge_index
    assert f"bus{dead_bus}" not in net.node_index
    assert f"sw{s_spare}-n" not in net.node_index
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert net.node_customers.sum() == 1
    assert net.node_source.sum() == 1


def test_customers_from_loads() -> None:
    p, b = small_net()
    pp.create_load(p, b["b2"], p_mw=0.012)
    pp.create_load(p, b["b1"], p_mw=0.0)
    at = {k: b[k] for k in ("b1", "b2")}
    net = from_pandapower(p, customers_per_load=2.6)
    assert net.node_customers[net.node(f"bus{at['b2']}")] == 6
    assert net.node_customers[net.node(f"bus{at['b1']}")] == 3
    net = from_pandapower(p, customers_per_load=0.2)  # at least one per load
    assert int(net.node_customers.sum()) == 3
    net = from_pandapower(p, kw_per_customer=5.0)
    # ceil(50 / 5) + ceil(12 / 5) at b2; a 0 kW load still counts one
    assert net.node_customers[net.node(f"bus{at['b2']}")] == 10 + math.ceil(12 / 5)
    assert net.node_customers[net.node(f"bus{at['b1']}")] == 1
    with pytest.raises(ValueError, match="kw_per_customer"):
        from_pandapower(p, kw_per_customer=0)
    with pytest.raises(ValueError, match="customers_per_load"):
        from_pandapower(p, customers_per_load=-1)


# ------------------------------------------------------------- coordinates
def test_bus_without_coordinates_takes_the_mean_of_its_neighbours() -> None:
    p, b = small_net()
    p.bus.at[b["b1"], "geo"] = None
    middle = pp.create_bus(p, 20)  # two hops from any placed bus
    pp.create_line(p, b["b2"], middle, 0.1, CABLE)
    net = from_pandapower(p)
    np.testing.assert_allclose(net.node_xy[net.node(f"bus{b['b1']}")], (LON + 2 * STEP, LAT))
    np.testing.assert_allclose(net.node_xy[net.node(f"bus{middle}")], (LON + 3 * STEP, LAT))


def test_bus_without_coordinates_or_placed_neighbour_is_an_error() -> None:
    p, _ = small_net()
    lonely = pp.create_bus(p, 20, name="lonely")
    other = pp.create_bus(p, 20)
    pp.create_line(p, lonely, other, 0.1, CABLE)
    with pytest.raises(NetworkFileError, match=rf"bus{lonely}, bus{other}"):
        from_pandapower(p)


@pytest.mark.slow
def test_coordinates_not_in_wgs84_are_an_error() -> None:
    p, b = small_net()
    p.bus.at[b["b1"], "geo"] = '{"type": "Point", "coordinates": [3456789.0, 5432100.0]}'
    with pytest.raises(NetworkFileError, match=rf"bus{b['b1']} .*longitude/latitude"):
        from_pandapower(p)
    # a shipped network drawn in a projected CRS
    with pytest.raises(NetworkFileError, match="bus0 "):
        from_pandapower("ieee_european_lv_asymmetric")


def test_old_bus_geodata_table_is_used() -> None:
    p, b = small_net()
    p.bus["geo"] = None
    p["bus_geodata"] = pd.DataFrame(
        {"x": [LON, LON + STEP, LON + 2 * STEP, LON + 3 * STEP], "y": [LAT] * 4},
        index=[b["hv"], b["mv"], b["b1"], b["b2"]],
    )
    net = from_pandapower(p)
    np.testing.assert_allclose(net.node_xy[:, 0], LON + STEP * np.arange(4))


# ------------------------------------------------------------- loading
@pytest.mark.slow
def test_loads_json_files_and_network_names(tmp_path: Path) -> None:
    p, _ = small_net()
    path = tmp_path / "net.json"
    pp.to_json(p, str(path))
    from_file = from_pandapower(path)
    assert from_file.node_ids == from_pandapower(p).node_ids
    assert from_pandapower(str(path)).n_edges == 3
    assert (
        from_pandapower("simple_mv_open_ring_net").n_nodes
        == len(pn.simple_mv_open_ring_net().bus) + 12
    )
    with pytest.raises(NetworkFileError, match="no such file"):
        from_pandapower(tmp_path / "missing.json")
    with pytest.raises(NetworkFileError, match=r"pandapower\.networks"):
        from_pandapower("no_such_network")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(NetworkFileError, match=r"bad\.json"):
        from_pandapower(tmp_path / "bad.json")
    with pytest.raises(TypeError):
        from_pandapower(42)


def test_missing_pandapower_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandapower", None)
    with pytest.raises(NetworkFileError, match=r"\[pandapower\]"):
        from_pandapower("mv_oberrhein")


def test_id_helpers() -> None:
    assert to_pandapower_bus_id("bus42") == 42
    assert to_pandapower_bus_id("sw3-n") is None
    assert to_pandapower_bus_id("trafo3w1") is None
    assert to_pandapower_element("switch17") == ("switch", 17)
    assert to_pandapower_element("line3") == ("line", 3)
    assert to_pandapower_element("bus3") is None
