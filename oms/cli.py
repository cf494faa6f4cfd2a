"""The ``oms`` command line: the engineer's terminal.

Every command that prints results takes ``--json`` and then prints exactly
one JSON document on stdout (messages go to stderr). Exit codes: 0 when the
command did its work, 1 when it failed, 2 on a usage error (contract 4 of
the design notes).

``NETWORK`` is a network file (contract 1), or the word ``demo`` for the
demo network shipped with the package (with its customers).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from oms import __version__

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- helpers
def _emit(doc: Any, as_json: bool, text: Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False))
    else:
        click.echo(text())


def _fail(message: str, as_json: bool, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    sys.exit(code)


def handles_errors(func: F) -> F:
    """Turn the library's errors into a message and exit code 1."""
    from oms.exceptions import OMSError
    from topology.exceptions import TopologyError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (TopologyError, OMSError) as exc:
            _fail(str(exc), bool(kwargs.get("as_json")))
        except OSError as exc:
            _fail(str(exc), bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _listing(title: str, ids: Sequence[str], limit: int = 40) -> str:
    shown = ", ".join(ids[:limit])
    more = f" ... (+{len(ids) - limit})" if len(ids) > limit else ""
    return f"{title} ({len(ids)}): {shown}{more}"


def demo_path(name: str) -> Path:
    """Path of a file of the shipped demo data set (``network.geojson``, ...)."""
    from importlib.resources import files

    return Path(str(files("oms.fixtures").joinpath("demo", name)))


#: What NETWORK stands for when ``--db URL`` is given instead (see TraceCommand).
FROM_DB = "@db"


def load_network(
    network: str, customers: str | None, crs: str | None, db: str | None = None
) -> Any:
    """Read NETWORK (a file, or ``demo``) with its customers, or the network
    as operated now in database ``db``."""
    from topology.io import read_network

    if db is not None or network == FROM_DB:
        from oms.db import connect
        from oms.store import operated_network

        return operated_network(connect(db))
    if network == "demo" and not Path(network).exists():
        net_path = demo_path("network.geojson")
        customers = customers or str(demo_path("customers.csv"))
        return read_network(net_path, crs=crs, customers=customers)
    return read_network(network, crs=crs, customers=customers)


class TraceCommand(click.Command):
    """A command whose NETWORK argument may be replaced by ``--db URL``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a == "--db" or a.startswith("--db=") for a in args):
            args = [FROM_DB, *args]
        return super().parse_args(ctx, args)


def network_options(func: F) -> F:
    """The NETWORK argument with ``--customers``, ``--crs`` and ``--db``."""
    func = click.option(
        "--db",
        default=None,
        metavar="URL",
        help="Use the network as operated now in this database instead of NETWORK.",
    )(func)
    func = click.option(
        "--crs", default=None, help="CRS of the coordinates when the file names none."
    )(func)
    func = click.option(
        "--customers",
        type=click.Path(dir_okay=False),
        default=None,
        help="Customers CSV (contract 2); replaces the nodes' customer counts.",
    )(func)
    return click.argument("network")(func)


def output_options(func: F) -> F:
    """``--json``, ``--geojson FILE`` and ``--map FILE.html``."""
    func = click.option(
        "--map",
        "map_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write an HTML map of the network with the result highlighted.",
    )(func)
    func = click.option(
        "--geojson",
        "geojson_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write the result's elements as GeoJSON.",
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def _write_outputs(
    net: Any, result: Any, title: str, geojson_file: str | None, map_file: str | None
) -> None:
    if geojson_file:
        from topology.io import highlight_to_geojson

        with open(geojson_file, "w", encoding="utf-8") as fh:
            json.dump(highlight_to_geojson(net, result.highlight, result.data), fh)
        click.echo(f"wrote {geojson_file}", err=True)
    if map_file:
        from oms.mapping import write_network_map

        write_network_map(net, map_file, highlight=result.highlight, title=title)
        click.echo(f"wrote {map_file}", err=True)


# ------------------------------------------------------------------- root
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oms")
def cli() -> None:
    """Outage management and repair dispatch for electric distribution networks."""


def main(argv: Iterable[str] | None = None) -> None:
    """Entry point of the ``oms`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="oms")


# ---------------------------------------------------------------- network
@cli.group()
def network() -> None:
    """Load, check, describe, convert and import network models."""


@network.command(cls=TraceCommand)
@network_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
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
        _emit(doc, as_json, lambda: message)
        sys.exit(1)
    except NetworkFileError as exc:
        message = f"error: {exc}"
        doc = {
            "valid": False,
            "errors": [{"element": None, "severity": "error", "message": str(exc)}],
            "warnings": [],
        }
        _emit(doc, as_json, lambda: message)
        sys.exit(1)
    doc = {
        "valid": True,
        "errors": [],
        "warnings": [i.as_dict() for i in net.warnings],
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "customers": int(net.node_customers.sum()),
    }
    _emit(
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


@network.command(cls=TraceCommand)
@network_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@handles_errors
def info(
    network: str, customers: str | None, crs: str | None, db: str | None, as_json: bool
) -> None:
    """Describe NETWORK: counts by kind, feeders, customers, lengths, extent."""
    from oms.describe import describe_network

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

    _emit(doc, as_json, text)


@network.command(cls=TraceCommand)
@network_options
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--customers-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the customers CSV here.",
)
@handles_errors
def export(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    output: str,
    customers_out: str | None,
) -> None:
    """Write NETWORK to OUTPUT (.geojson, .gpkg or .parquet) in WGS84."""
    from topology.io import write_customers_csv, write_network

    net = load_network(network, customers, crs, db)
    write_network(net, output)
    click.echo(f"wrote {output}: {net.n_nodes} nodes, {net.n_edges} edges", err=True)
    if customers_out:
        write_customers_csv(net, customers_out)
        click.echo(f"wrote {customers_out}", err=True)


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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
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
    _emit(
        doc,
        as_json,
        lambda: (
            f"wrote {output}: {net.n_nodes} nodes, {net.n_edges} edges, "
            f"{doc['customers']} customers, {len(net.warnings)} warning(s)"
        ),
    )


# ------------------------------------------------------------------ trace
@cli.group()
def trace() -> None:
    """Trace the network: upstream, downstream, feeder, loops, isolate, restore..."""


@trace.command(cls=TraceCommand)
@network_options
@click.argument("element")
@output_options
@handles_errors
def upstream(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    element: str,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """Path from ELEMENT (a node or an edge) up to its source."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.upstream(net, element)
    d = result.data
    protective = set(d["protective_devices"])
    _emit(
        d,
        as_json,
        lambda: (
            f"{element} is fed from {d['source']}\n"
            + table(
                [
                    (
                        i + 1,
                        eid,
                        net.kind_of(net.edge_index[eid]),
                        "protective" if eid in protective else "",
                    )
                    for i, eid in enumerate(d["path"])
                ],
                ["#", "edge", "kind", ""],
            )
            if d["source"]
            else f"{element} has no supply"
        ),
    )
    _write_outputs(net, result, f"upstream of {element}", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.argument("device")
@output_options
@handles_errors
def downstream(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    device: str,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """What loses every path to a source when DEVICE opens."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.downstream(net, device)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: "\n".join(
            [
                f"opening {device} de-energizes {len(d['nodes'])} nodes and "
                f"{d['customers']} customers",
                _listing("devices", d["devices"]),
                _listing("nodes", d["nodes"]),
            ]
        ),
    )
    _write_outputs(net, result, f"downstream of {device}", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.argument("element")
@output_options
@handles_errors
def feeder(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    element: str,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """The feeder ELEMENT is on: its breaker, source, nodes and customers."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.feeder(net, element)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: (
            f"{element} is on feeder {d['feeder']} from {d['source']}: "
            f"{len(d['nodes'])} nodes, {d['customers']} customers"
        ),
    )
    _write_outputs(net, result, f"feeder of {element}", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.option("--open", "open_", multiple=True, metavar="ID", help="Device to open (repeat).")
@click.option("--close", multiple=True, metavar="ID", help="Device to close (repeat).")
@output_options
@handles_errors
def deenergized(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    open_: tuple[str, ...],
    close: tuple[str, ...],
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """Nodes with no supply once the given devices are opened and closed."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.deenergized(net, open=open_, close=close)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: "\n".join(
            [
                f"{len(d['nodes'])} nodes and {d['customers']} customers without supply",
                _listing("nodes", d["nodes"]),
            ]
        ),
    )
    _write_outputs(net, result, "de-energized", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@output_options
@handles_errors
def loops(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """Closed loops: a cycle basis of the closed network."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.loops(net)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: "\n".join(
            [f"{len(d['loops'])} closed loop(s)"]
            + [f"  {i + 1}: {', '.join(loop)}" for i, loop in enumerate(d["loops"])]
        ),
    )
    _write_outputs(net, result, "closed loops", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.argument("a")
@click.argument("b")
@click.option("--through-open", is_flag=True, help="Ignore switch states.")
@output_options
@handles_errors
def path(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    a: str,
    b: str,
    through_open: bool,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """The path with fewest edges between elements A and B over closed edges."""
    from topology import traces

    net = load_network(network, customers, crs, db)
    result = traces.path(net, a, b, through_open=through_open)
    d = result.data
    _emit(d, as_json, lambda: f"{len(d['edges'])} edges: " + " -> ".join(d["edges"]))
    _write_outputs(net, result, f"path {a} to {b}", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.argument("faulted_edge")
@output_options
@handles_errors
def isolate(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    faulted_edge: str,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """Devices to open to cut FAULTED_EDGE off from every source."""
    from topology import flisr

    net = load_network(network, customers, crs, db)
    result = flisr.isolate(net, faulted_edge)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: "\n".join(
            [
                f"isolate {faulted_edge}: open {', '.join(d['open']) or 'nothing'}",
                _listing("de-energized nodes", d["deenergized_nodes"]),
            ]
        ),
    )
    _write_outputs(net, result, f"isolate {faulted_edge}", geojson_file, map_file)


@trace.command(cls=TraceCommand)
@network_options
@click.argument("faulted_edge")
@output_options
@handles_errors
def restore(
    network: str,
    customers: str | None,
    crs: str | None,
    db: str | None,
    faulted_edge: str,
    as_json: bool,
    geojson_file: str | None,
    map_file: str | None,
) -> None:
    """Isolate FAULTED_EDGE and restore the healthy parts (reclose, close ties)."""
    from topology import flisr

    net = load_network(network, customers, crs, db)
    result = flisr.restore(net, faulted_edge)
    d = result.data
    _emit(
        d,
        as_json,
        lambda: "\n".join(
            [
                f"restore around {faulted_edge} (tripped: {d['tripped']})",
                table(
                    [(i + 1, s["action"], s["device"], s["why"]) for i, s in enumerate(d["steps"])],
                    ["step", "action", "device", "why"],
                ),
                f"restored {d['restored_customers']} customers, "
                f"{d['unrestored_customers']} wait for repair",
            ]
        ),
    )
    _write_outputs(net, result, f"restore {faulted_edge}", geojson_file, map_file)


# The database commands (load, ingest, outages, outage, simulate) live in
# their own module; importing it registers them on ``cli``.
from oms import (  # noqa: E402
    cli_engine,  # noqa: F401
    cli_listen,  # noqa: F401
)
