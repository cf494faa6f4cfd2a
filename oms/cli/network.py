"""``oms network``: load, check, describe, convert and import network models."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from oms.cli.options import (
    NetworkCommand,
    emit,
    handles_errors,
    json_option,
    load_network,
    network_argument,
    table,
)

if TYPE_CHECKING:
    from topology.model import Network

__all__ = ["network"]


@click.group()
def network() -> None:
    """Load, check, describe, convert and import network models."""


@network.command(cls=NetworkCommand)
@network_argument
@json_option
def validate(
    network: str, customers: str | None, crs: str | None, db: str | None, as_json: bool
) -> None:
    """Check NETWORK and list every problem; exit 1 when there are errors.

    Errors (the file would be rejected) name the feature and what is wrong;
    warnings (closed loops, nodes no source reaches) do not stop loading.
    """
    from topology.exceptions import NetworkFileError, NetworkValidationError

    try:
        net = load_network(network, customers, crs, db)
    except NetworkValidationError as exc:
        issues = exc.issues
        doc = {
            "valid": False,
            "errors": [i.as_dict() for i in exc.errors],
            "warnings": [i.as_dict() for i in issues if i.severity == "warning"],
        }
        message = "\n".join(str(i) for i in issues) + f"\n{len(exc.errors)} error(s): not valid"
        emit(doc, as_json, lambda: message)
        sys.exit(1)
    except NetworkFileError as exc:
        message = f"error: {exc}"
        doc = {
            "valid": False,
            "errors": [{"element": None, "severity": "error", "message": str(exc)}],
            "warnings": [],
        }
        emit(doc, as_json, lambda: message)
        sys.exit(1)
    doc = {
        "valid": True,
        "errors": [],
        "warnings": [i.as_dict() for i in net.warnings],
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
    }
    emit(
        doc,
        as_json,
        lambda: "\n".join(
            [str(i) for i in net.warnings]
            + [
                f"valid: {net.n_nodes} nodes, {net.n_edges} edges, "
                f"{doc['customers']} customers, {len(net.warnings)} warning(s)"
            ]
        ),
    )


@network.command(cls=NetworkCommand)
@network_argument
@json_option
@handles_errors
def info(
    network: str, customers: str | None, crs: str | None, db: str | None, as_json: bool
) -> None:
    """Describe NETWORK: counts by kind, feeders, customers, lengths, extent."""
    from oms.reports.describe import describe_network

    net = load_network(network, customers, crs, db)
    doc = describe_network(net)

    def text() -> str:
        rows = [(k, v["count"], round(v["length_km"], 2)) for k, v in doc["edges_by_kind"].items()]
        return "\n".join(
            [
                f"{doc['nodes']} nodes ({doc['sources']} sources), {doc['edges']} edges, "
                f"{doc['customers']} customers ({doc['critical_customers']} critical)",
                f"feeders: {doc['feeders']}, normally open: {doc['normally_open']}, "
                f"loops: {doc['loops']}, unreachable nodes: {doc['unreachable_nodes']}",
                f"extent (lon/lat): {doc['bbox']}",
                table(rows, ["kind", "count", "km"]),
            ]
        )

    emit(doc, as_json, text)


@network.command(cls=NetworkCommand)
@network_argument
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--customers-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the customers CSV here.",
)
@json_option
@handles_errors
def export(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    output: str,
    customers_out: str | None,
    as_json: bool,
) -> None:
    """Write NETWORK to OUTPUT (.geojson, .gpkg or .parquet) in WGS84."""
    from topology.io import write_customers_csv, write_network

    net = load_network(network, customers, crs, db)
    write_network(net, output)
    if customers_out:
        write_customers_csv(net, customers_out)
    doc = {
        "output": output,
        "customers_output": customers_out,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
    }
    emit(doc, as_json, lambda: f"wrote {output}: {net.n_nodes} nodes, {net.n_edges} edges")


@network.command("import-pandapower")
@click.argument("source")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--customers-per-load",
    type=float,
    default=1.0,
    show_default=True,
    help="Customers counted for each load.",
)
@click.option(
    "--kw-per-customer",
    type=float,
    default=None,
    help="Derive customers from load power instead (kW per customer).",
)
@json_option
@handles_errors
def import_pandapower(
    source: str,
    output: str,
    customers_per_load: float,
    kw_per_customer: float | None,
    as_json: bool,
) -> None:
    """Convert a pandapower network to a network file.

    SOURCE is a pandapower JSON file or the name of one of pandapower's
    example networks (e.g. mv_oberrhein). Needs the [pandapower] extra.
    """
    from topology.io import write_network
    from topology.pandapower import from_pandapower

    net = from_pandapower(
        source, customers_per_load=customers_per_load, kw_per_customer=kw_per_customer
    )
    write_network(net, output)
    doc = {
        "output": output,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
        "warnings": [i.as_dict() for i in net.warnings],
    }
    emit(
        doc,
        as_json,
        lambda: (
            f"wrote {output}: {net.n_nodes} nodes, {net.n_edges} edges, "
            f"{doc['customers']} customers, {len(net.warnings)} warning(s)"
        ),
    )


@network.command("import-opendss")
@click.argument("master", type=click.Path(dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--crs",
    default=None,
    help="CRS of the bus coordinates when they are projected or local "
    "(EPSG:NNNN or a PROJ string); without it they must be lon/lat.",
)
@click.option(
    "--customers-per-kw",
    type=float,
    default=None,
    help="Spot loads (NumCust=1) count ceil(kW x this) customers instead of one.",
)
@json_option
@handles_errors
def import_opendss(
    master: str, out_dir: str, crs: str | None, customers_per_kw: float | None, as_json: bool
) -> None:
    """Convert an OpenDSS circuit to a network file and a customers file.

    MASTER is the .dss file OpenDSS would compile; OpenDSS itself compiles
    it (needs the [opendss] extra). Writes OUT_DIR/network.geojson and
    OUT_DIR/customers.csv (one customer per load at its bus), nothing when
    the circuit cannot be imported. Mapping: docs/formats.md, "OpenDSS".
    """

    from topology.opendss import from_opendss

    if customers_per_kw is not None and not customers_per_kw > 0:
        raise click.BadParameter("must be positive", param_hint="--customers-per-kw")
    net = from_opendss(master, crs=crs, customers_per_kw=customers_per_kw)
    _write_imported(net, out_dir, as_json)


@network.command("import-cim")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option(
    "--crs",
    default=None,
    help="CRS of the PositionPoints when they are projected or local "
    "(EPSG:NNNN or a PROJ string); without it a CoordinateSystem.crsUrn pyproj "
    "knows is used, else they must be lon/lat.",
)
@json_option
@handles_errors
def import_cim(files: tuple[str, ...], out_dir: str, crs: str | None, as_json: bool) -> None:
    """Convert a CIM feeder model (RDF/XML) to a network file and a customers file.

    FILES is the CIM XML file (CIMHub, GridAPPS-D; several files of one model
    split by profile are read together). Needs the [cim] extra. Writes
    OUT_DIR/network.geojson and OUT_DIR/customers.csv, nothing when the model
    cannot be imported. Ids are mRIDs. Mapping: docs/formats.md, "CIM".
    """

    from topology.cim import from_cim

    net = from_cim(list(files), crs=crs)
    _write_imported(net, out_dir, as_json)


def _write_imported(net: Network, out_dir: str, as_json: bool) -> None:
    """Write an imported network and its customers into OUT_DIR; report them."""
    import os
    from pathlib import Path

    from topology.io import write_customers_csv, write_network

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    network_out, customers_out = folder / "network.geojson", folder / "customers.csv"
    # Both files written aside first, then moved in: never one new and one old.
    network_tmp, customers_tmp = folder / ".network.tmp.geojson", folder / ".customers.tmp.csv"
    try:
        write_network(net, network_tmp)
        write_customers_csv(net, customers_tmp)
        os.replace(network_tmp, network_out)
        os.replace(customers_tmp, customers_out)
    finally:
        network_tmp.unlink(missing_ok=True)
        customers_tmp.unlink(missing_ok=True)
    doc = {
        "output": str(network_out),
        "customers_output": str(customers_out),
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "sources": int(net.node_source.sum()),
        "customers": int(net.node_customers.sum()),
        "warnings": [i.as_dict() for i in net.warnings],
    }
    emit(
        doc,
        as_json,
        lambda: "\n".join(
            [str(i) for i in net.warnings]
            + [
                f"wrote {network_out} and {customers_out}: {net.n_nodes} nodes, "
                f"{net.n_edges} edges, {doc['customers']} customers, "
                f"{len(net.warnings)} warning(s)"
            ]
        ),
    )
