"""Network styles (topology.synthetic.styles): contract-valid, seeded, and storms work on them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from oms.config import PredictionParams
from oms.engine.prediction import DeviceTree
from oms.simulation.reference import reference_outages
from oms.simulation.scoring import score
from oms.simulation.storms import StormParams, normal_supply, simulate_storm
from topology import Network
from topology.synthetic.styles import STYLES, styled_network


@pytest.fixture(scope="module", params=STYLES)
def styled(request: pytest.FixtureRequest) -> tuple[str, Network]:
    return request.param, styled_network(request.param, seed=3, n_nodes=1200, meter_share=0.5)


def test_unknown_style_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown style"):
        styled_network("nowhere")


def test_styles_are_seeded() -> None:
    a = styled_network("eu_ring", seed=5, n_nodes=800)
    b = styled_network("eu_ring", seed=5, n_nodes=800)
    c = styled_network("eu_ring", seed=6, n_nodes=800)
    assert a.node_ids == b.node_ids and a.edge_ids == b.edge_ids
    assert a.node_ids != c.node_ids or not np.array_equal(a.node_customers, c.node_customers)


def test_style_is_a_valid_radial_network_with_customers(styled: tuple[str, Network]) -> None:
    style, net = styled
    assert 1000 <= net.n_nodes <= 2000
    assert not net.warnings, net.warnings[:3]
    supply = net.supply
    assert supply.energized.all()
    customers = net.customers
    assert customers is not None and len(customers) == int(net.node_customers.sum()) > 100
    metered = np.mean([bool(m) for m in customers.fields["meter"]])
    assert 0.4 < metered < 0.6
    kinds = Counter(net.kind_of(e) for e in range(net.n_edges))
    assert kinds["breaker"] >= 2 and kinds["transformer"] >= 20
    assert net.edge_scada[net.kind_mask("breaker")].all()
    # Every customer sits below an outage point of the engine's candidate set.
    tree = DeviceTree(net, normal_supply(net))
    assert (tree.node_device[customers.node] >= 0).all()
    expect = {
        "na_overhead": ("recloser", "fuse"),
        "na_fused": ("recloser", "fuse"),
        "eu_ring": ("switch", "fuse"),
        "urban_mesh": ("switch", "fuse"),
        "rural_long": ("recloser", "sectionalizer", "fuse"),
    }[style]
    assert all(kinds[k] > 0 for k in expect), kinds


def test_transformer_fusing_differs_between_na_styles() -> None:
    for style, fused in (("na_overhead", False), ("na_fused", True)):
        net = styled_network(style, seed=1, n_nodes=800)
        tx = np.flatnonzero(net.kind_mask("transformer") & net.supply.bridge)
        tx = [e for e in tx.tolist() if not net.edge_ids[e].startswith("S")]
        above = net.kind_mask("fuse")[
            [int(net.supply.tree.parent_edge[net.edge_from[e]]) for e in tx]
        ]
        assert above.all() if fused else above.mean() < 0.5, style


def test_urban_mesh_is_operated_radially() -> None:
    net = styled_network("urban_mesh", seed=2, n_nodes=1500)
    open_ = ~net.edge_normal_closed
    assert open_.sum() > 20
    assert set(net.kind_of(e) for e in np.flatnonzero(open_)) == {"switch"}
    assert not net.warnings


def test_storm_and_reference_on_a_style(styled: tuple[str, Network]) -> None:
    style, net = styled
    scenario = simulate_storm(
        net, StormParams(faults=10, transformer_share=1 / 3, call_rate=0.2, seed=4)
    )
    kinds = Counter(f["kind"] for f in scenario.truth["faults"] if not f["momentary"])
    assert kinds["transformer"] >= 1, (style, kinds)
    outages = reference_outages(net, scenario.truth, scenario.events, PredictionParams())
    r = score(net, scenario.truth, outages, evidence=scenario.events)
    assert r["observable"] >= 5
    assert r["recall"] >= 0.7, (style, r["per_fault"])


@pytest.mark.slow
def test_score_scenario_on_a_style_reports_all_three_predictors() -> None:
    from oms.simulation.replay import score_scenario

    net = styled_network("na_overhead", seed=2, n_nodes=800)
    scenario = simulate_storm(net, StormParams(faults=6, transformer_share=0.5, seed=1))
    out = score_scenario(net, scenario)
    assert list(out) == ["likelihood", "classic", "reference"]
    for r in out.values():
        assert {"precision", "recall", "f1", "too_high", "too_low", "customers_out", "etr"} <= set(
            r
        )
    assert out["reference"]["recall"] >= out["classic"]["recall"]
