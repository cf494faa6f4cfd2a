"""Pure network library for electric distribution networks.

Model, loaders and validation, energization, traces, and fault isolation and
service restoration (FLISR). No database, no web, no outage concepts: the
``oms`` package builds on this one, never the reverse.

>>> import topology
>>> net = topology.read_network("network.geojson", customers="customers.csv")  # doctest: +SKIP
>>> topology.downstream(net, "F12-R1").data["customers"]  # doctest: +SKIP
"""

from topology.exceptions import (
    ElementNotFound,
    IsolationError,
    Issue,
    NetworkFileError,
    NetworkValidationError,
    NotEnergizedError,
    NotOperableError,
    SwitchOperationError,
    SwitchStateError,
    TopologyError,
)
from topology.flisr import isolate, restore
from topology.io import (
    attach_customers,
    highlight_to_geojson,
    network_from_features,
    network_to_geojson,
    read_customers,
    read_network,
    write_customers_csv,
    write_network,
)
from topology.model import (
    EDGE_KINDS,
    NODE_KINDS,
    OPERABLE_KINDS,
    PROTECTIVE_KINDS,
    Customers,
    Network,
)
from topology.supply import SpanningTree, Supply
from topology.traces import (
    TraceResult,
    deenergized,
    downstream,
    feeder,
    loops,
    path,
    upstream,
)
from topology.validation import structural_warnings

__all__ = [
    "EDGE_KINDS",
    "NODE_KINDS",
    "OPERABLE_KINDS",
    "PROTECTIVE_KINDS",
    "Customers",
    "ElementNotFound",
    "IsolationError",
    "Issue",
    "Network",
    "NetworkFileError",
    "NetworkValidationError",
    "NotEnergizedError",
    "NotOperableError",
    "SpanningTree",
    "Supply",
    "SwitchOperationError",
    "SwitchStateError",
    "TopologyError",
    "TraceResult",
    "attach_customers",
    "deenergized",
    "downstream",
    "feeder",
    "highlight_to_geojson",
    "isolate",
    "loops",
    "network_from_features",
    "network_to_geojson",
    "path",
    "read_customers",
    "read_network",
    "restore",
    "structural_warnings",
    "upstream",
    "write_customers_csv",
    "write_network",
]
