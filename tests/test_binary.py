"""The stored binary model gives back the network it was made from."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import two_feeders

from topology import NetworkFileError, network_from_features
from topology.binary import dumps, loads


def test_a_network_comes_back_whole() -> None:
    features = two_feeders()
    features[0]["properties"]["feeder"] = "F1"
    features[1]["properties"]["rating"] = float("nan")
    net = network_from_features(features)
    back = loads(dumps(net))
    for name in ("node_ids", "edge_ids", "node_name", "edge_name"):
        assert getattr(back, name) == getattr(net, name), name
    for name in ("node_xy", "edge_kind", "edge_from", "edge_to", "edge_length_m", "node_customers"):
        assert np.array_equal(getattr(back, name), getattr(net, name)), name
    assert back.node_props[0] == {"feeder": "F1"}
    assert math.isnan(back.node_props[1]["rating"])


def test_other_bytes_are_refused() -> None:
    with pytest.raises(NetworkFileError, match="not a stored network model"):
        loads(b"not an archive")
