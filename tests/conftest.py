"""Shared fixtures: hand-built networks with known answers."""

from __future__ import annotations

import pytest
from helpers import build, two_feeders

from topology import Network


@pytest.fixture
def net() -> Network:
    """A fresh copy of the two-feeder network of :func:`helpers.two_feeders`."""
    return build(two_feeders())
