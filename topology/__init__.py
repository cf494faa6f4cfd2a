"""Pure network library for electric distribution networks.

Model, loaders and validation, energization, traces, and fault isolation and
service restoration (FLISR). No database, no web, no outage concepts: the
``oms`` package builds on this one, never the reverse.

>>> import topology
>>> net = topology.read_network("network.geojson", customers="customers.csv")  # doctest: +SKIP
>>> topology.downstream(net, "F12-R1").data["customers"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each public name lives; imported on first use (numpy, scipy and
#: pyproj take a while to load, and ``oms --help`` needs none of them).
_LOCATIONS = {
    "Customers": "topology.model",
    "EDGE_KINDS": "topology.model",
    "ElementNotFound": "topology.exceptions",
    "IsolationError": "topology.exceptions",
    "Issue": "topology.exceptions",
    "NODE_KINDS": "topology.model",
    "Network": "topology.model",
    "NetworkFileError": "topology.exceptions",
    "NetworkValidationError": "topology.exceptions",
    "NotEnergizedError": "topology.exceptions",
    "NotOperableError": "topology.exceptions",
    "OPERABLE_KINDS": "topology.model",
    "PROTECTIVE_KINDS": "topology.model",
    "SpanningTree": "topology.supply",
    "Supply": "topology.supply",
    "SwitchOperationError": "topology.exceptions",
    "SwitchStateError": "topology.exceptions",
    "TopologyError": "topology.exceptions",
    "TraceResult": "topology.traces",
    "attach_customers": "topology.io",
    "deenergized": "topology.traces",
    "downstream": "topology.traces",
    "feeder": "topology.traces",
    "highlight_to_geojson": "topology.io",
    "isolate": "topology.flisr",
    "loops": "topology.traces",
    "network_from_features": "topology.io",
    "network_to_geojson": "topology.io",
    "path": "topology.traces",
    "read_customers": "topology.io",
    "read_network": "topology.io",
    "restore": "topology.flisr",
    "structural_warnings": "topology.validation",
    "upstream": "topology.traces",
    "write_customers_csv": "topology.io",
    "write_network": "topology.io",
}


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if name in _LOCATIONS:
        value = getattr(import_module(_LOCATIONS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'topology' has no attribute {name!r}")
