"""The demo data set shipped with the package, and the one place that knows its files.

The word ``demo`` stands for it wherever a network file is expected (unless
a file or folder of that name exists in the working directory): the demo
network with its customers, and for commands that load a whole data set,
its crews, units, zones and roads too (``docs/demo-network.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from topology.model import Network

__all__ = ["DEMO", "FILES", "DemoFiles", "demo_files", "demo_network", "demo_path", "is_demo"]

#: The word that names the demo data set on the command line.
DEMO = "demo"

#: Each part of the data set and its file.
FILES = {
    "network": "network.geojson",
    "customers": "customers.csv",
    "crews": "crews.csv",
    "units": "units.csv",
    "zones": "zones.geojson",
    "roads": "roads.geojson",
}


def demo_path(name: str) -> Path:
    """Path of a file of the demo data set (``network.geojson``, ``crews.csv``, ...)."""
    from importlib.resources import files

    return Path(str(files("oms.fixtures").joinpath("demo", name)))


class DemoFiles(TypedDict):
    """The path of every part of the data set (``oms load``'s arguments)."""

    network: str
    customers: str
    crews: str
    units: str
    zones: str
    roads: str


def demo_files() -> DemoFiles:
    """Every part of the data set (``network``, ``customers``, ...) with its path."""
    return cast(DemoFiles, {part: str(demo_path(name)) for part, name in FILES.items()})


def is_demo(argument: str | None) -> bool:
    """Whether a NETWORK argument names the demo (and no file of that name exists)."""
    return argument == DEMO and not Path(argument).exists()


def demo_network() -> Network:
    """The demo network with its customers, in its normal state."""
    from topology.io import read_network

    return read_network(demo_path(FILES["network"]), customers=demo_path(FILES["customers"]))
