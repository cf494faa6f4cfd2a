"""Seeded generators of realistic distribution networks (network fixtures).

Everything here is network generation: nodes, edges, devices, geometry and
customer counts, deterministic for a seed (same numpy and Python versions).
One module per concern:

=====================  ====================================================
:mod:`.feeders`        :func:`synthetic_network`: a radial 10 kV system of
                       any size (tested past 1,000,000 nodes), for
                       benchmarks and tests
:mod:`.customers`      :func:`synthetic_customers`: placeholder customer
                       rows (contract 2) for the counts of such a network
:mod:`.roads`          the road network of the demo area (a fictional
                       county town, its suburbs, villages and hills)
:mod:`.demo_network`   the demo network strung along those roads: poles,
                       feeders, devices, transformers, service points, ties
:mod:`.geometry`       the local metric frame and polylines in it
=====================  ====================================================

The demo data set as a whole (the network with its customers, zones, repair
units and crews) is built by :mod:`oms.demo_build`, which uses
:mod:`.roads` and :mod:`.demo_network`. ``python -m topology.synthetic DIR
--nodes N`` writes a synthetic network to ``DIR/network.geojson``.
"""

from __future__ import annotations

from topology.synthetic.customers import synthetic_customers
from topology.synthetic.feeders import synthetic_network
from topology.synthetic.geometry import DEMO_CENTER

__all__ = ["DEMO_CENTER", "synthetic_customers", "synthetic_network"]
