"""Companion files made for any network (:mod:`oms.simulation.companions`).

The crews, units and zones files load with :func:`oms.storage.loading.load`
without errors, the zones cover the network, the crews sit at the
substations in the number asked for, and the same seed gives the same files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from shapely import contains_xy
from shapely.geometry import shape

from oms.simulation.companions import companions
from oms.storage.db import connect
from oms.storage.inputs import SKILLS, read_crews, read_units, read_zones
from oms.storage.loading import load, load_model
from topology.model import Network
from topology.synthetic.styles import STYLES, styled_network


@pytest.fixture(scope="module", params=STYLES)
def net(request: pytest.FixtureRequest) -> Network:
    return styled_network(request.param, seed=3, n_nodes=400, meter_share=0.0)


def test_the_files_load_without_errors(net: Network, tmp_path: Path) -> None:
    paths = companions(net, tmp_path / "c", seed=1)
    assert set(paths) == {"crews", "units", "zones"}
    db = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    load_model(db, net, "styled")
    report = load(db, **paths)
    n_sources = len(net.sources)
    assert report["zones"] == n_sources
    assert report["crews"] >= n_sources
    db.dispose()


def test_zones_cover_the_network_and_crews_sit_at_substations(net: Network, tmp_path: Path) -> None:
    paths = companions(net, tmp_path, seed=1)
    units = read_units(paths["units"])
    unit_ids = {u["id"] for u in units}
    zones = read_zones(paths["zones"], unit_ids)
    crews = read_crews(paths["crews"], unit_ids, {z["id"] for z in zones})
    covered = np.zeros(net.n_nodes, dtype=bool)
    for z in zones:
        covered |= contains_xy(shape(z["geometry"]), net.node_xy[:, 0], net.node_xy[:, 1])
        assert z["area_class"] in ("urban", "rural", "remote")
    assert covered.all()
    bases = {(round(float(x), 6), round(float(y), 6)) for x, y in net.node_xy[net.sources]}
    for c in crews:
        assert (round(c["lon"], 6), round(c["lat"], 6)) in bases
        assert {"line", "cable", "service"} <= set(c["skills"]) <= set(SKILLS)
        assert c["shift_start"] is None and c["voltage_kv"] == []
    feeders = int(net.kind_mask("breaker").sum())
    assert len(crews) >= math.ceil(feeders * 0.4)
    assert all(u["first_contact"] and u["second_contact"] for u in units)


def test_crews_per_feeder_and_determinism(tmp_path: Path) -> None:
    net = styled_network("eu_ring", seed=2, n_nodes=400, meter_share=0.0)
    a = companions(net, tmp_path / "a", seed=5, crews_per_feeder=2.0)
    b = companions(net, tmp_path / "b", seed=5, crews_per_feeder=2.0)
    for part in ("crews", "units", "zones"):
        assert Path(a[part]).read_bytes() == Path(b[part]).read_bytes()
    feeders = int(net.kind_mask("breaker").sum())
    assert len(read_crews(a["crews"])) >= 2 * feeders
    with pytest.raises(ValueError):
        companions(net, tmp_path / "c", crews_per_feeder=0)
