"""``oms trace``: the eight traces of contract 4, made by one factory.

Each trace is a :class:`Trace`: its extra arguments and options, the
library call that computes it, and its readable text. :func:`trace_command`
turns one into a click command with NETWORK (or ``--db``), ``--json``,
``--geojson FILE`` and ``--map FILE.html``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from oms.cli.options import (
    NetworkCommand,
    emit,
    handles_errors,
    json_option,
    listing,
    load_network,
    network_argument,
    params_of,
    table,
)

if TYPE_CHECKING:
    from topology.model import Network
    from topology.traces import TraceResult

__all__ = ["TRACES", "Trace", "trace", "trace_command"]


@dataclass(frozen=True)
class Trace:
    """One trace command: what it takes, computes and says."""

    name: str
    help: str
    compute: Callable[..., TraceResult]  # (net, **params) -> result
    text: Callable[..., str]  # (net, data, **params) -> readable answer
    title: Callable[..., str]  # (**params) -> map title
    params: list[click.Parameter] = field(default_factory=list)


def _output_options(func: Any) -> Any:
    func = click.option(
        "--map",
        "map_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write an HTML map of the network with the result highlighted.",
    )(func)
    return click.option(
        "--geojson",
        "geojson_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write the result's elements as GeoJSON.",
    )(func)


def _write_outputs(
    net: Network, result: TraceResult, title: str, geojson_file: str | None, map_file: str | None
) -> None:
    if geojson_file:
        from topology.io import highlight_to_geojson

        with open(geojson_file, "w", encoding="utf-8") as fh:
            json.dump(highlight_to_geojson(net, result.highlight, result.data), fh)
        click.echo(f"wrote {geojson_file}", err=True)
    if map_file:
        from oms.reports.maps import write_network_map

        write_network_map(net, map_file, highlight=result.highlight, title=title)
        click.echo(f"wrote {map_file}", err=True)


def trace_command(spec: Trace) -> click.Command:
    """A click command running ``spec`` on NETWORK."""

    @handles_errors
    def run(
        network: str,
        customers: str | None,
        crs: str | None,
        db: str | None,
        as_json: bool,
        geojson_file: str | None,
        map_file: str | None,
        **params: Any,
    ) -> None:
        net = load_network(network, customers, crs, db)
        result = spec.compute(net, **params)
        emit(result.data, as_json, lambda: spec.text(net, result.data, **params))
        _write_outputs(net, result, spec.title(**params), geojson_file, map_file)

    shared = params_of(network_argument)
    outputs = params_of(json_option, _output_options)
    return NetworkCommand(
        spec.name,
        callback=run,
        help=spec.help,
        params=[*shared[:1], *spec.params, *shared[1:], *outputs],
    )


# ------------------------------------------------------------- the traces
def _upstream_text(net: Network, d: dict[str, Any], element: str) -> str:
    if not d["source"]:
        return f"{element} has no supply"
    protective = set(d["protective_devices"])
    rows = [
        (i + 1, eid, net.kind_of(net.edge_index[eid]), "protective" if eid in protective else "")
        for i, eid in enumerate(d["path"])
    ]
    return f"{element} is fed from {d['source']}\n" + table(rows, ["#", "edge", "kind", ""])


def _restore_text(net: Network, d: dict[str, Any], faulted_edge: str) -> str:
    steps = [(i + 1, s["action"], s["device"], s["why"]) for i, s in enumerate(d["steps"])]
    return "\n".join(
        [
            f"restore around {faulted_edge} (tripped: {d['tripped']})",
            table(steps, ["step", "action", "device", "why"]),
            f"restored {d['restored_customers']} customers, "
            f"{d['unrestored_customers']} wait for repair",
        ]
    )


def _lib(module: str) -> Any:
    """``topology.<module>``, imported when a trace runs (numpy and scipy are slow to load)."""
    from importlib import import_module

    return import_module(f"topology.{module}")


def _traces() -> list[Trace]:
    element = click.Argument(["element"])
    device = click.Argument(["device"])
    faulted = click.Argument(["faulted_edge"])
    return [
        Trace(
            "upstream",
            "Path from ELEMENT (a node or an edge) up to its source.",
            lambda net, element: _lib("traces").upstream(net, element),
            _upstream_text,
            lambda element: f"upstream of {element}",
            [element],
        ),
        Trace(
            "downstream",
            "What loses every path to a source when DEVICE opens.",
            lambda net, device: _lib("traces").downstream(net, device),
            lambda net, d, device: "\n".join(
                [
                    f"opening {device} de-energizes {len(d['nodes'])} nodes and "
                    f"{d['customers']} customers",
                    listing("devices", d["devices"]),
                    listing("nodes", d["nodes"]),
                ]
            ),
            lambda device: f"downstream of {device}",
            [device],
        ),
        Trace(
            "feeder",
            "The feeder ELEMENT is on: its breaker, source, nodes and customers.",
            lambda net, element: _lib("traces").feeder(net, element),
            lambda net, d, element: (
                f"{element} is on feeder {d['feeder']} from {d['source']}: "
                f"{len(d['nodes'])} nodes, {d['customers']} customers"
            ),
            lambda element: f"feeder of {element}",
            [element],
        ),
        Trace(
            "deenergized",
            "Nodes with no supply once the given devices are opened and closed.",
            lambda net, open_, close: _lib("traces").deenergized(net, open=open_, close=close),
            lambda net, d, **_: "\n".join(
                [
                    f"{len(d['nodes'])} nodes and {d['customers']} customers without supply",
                    listing("nodes", d["nodes"]),
                ]
            ),
            lambda **_: "de-energized",
            [
                click.Option(
                    ["--open", "open_"],
                    multiple=True,
                    metavar="ID",
                    help="Device to open (repeat).",
                ),
                click.Option(
                    ["--close"], multiple=True, metavar="ID", help="Device to close (repeat)."
                ),
            ],
        ),
        Trace(
            "loops",
            "Closed loops: a cycle basis of the closed network.",
            lambda net: _lib("traces").loops(net),
            lambda net, d: "\n".join(
                [f"{len(d['loops'])} closed loop(s)"]
                + [f"  {i + 1}: {', '.join(loop)}" for i, loop in enumerate(d["loops"])]
            ),
            lambda: "closed loops",
        ),
        Trace(
            "path",
            "The path with fewest edges between elements A and B over closed edges.",
            lambda net, a, b, through_open: _lib("traces").path(
                net, a, b, through_open=through_open
            ),
            lambda net, d, **_: f"{len(d['edges'])} edges: " + " -> ".join(d["edges"]),
            lambda a, b, **_: f"path {a} to {b}",
            [
                click.Argument(["a"]),
                click.Argument(["b"]),
                click.Option(["--through-open"], is_flag=True, help="Ignore switch states."),
            ],
        ),
        Trace(
            "isolate",
            "Devices to open to cut FAULTED_EDGE off from every source.",
            lambda net, faulted_edge: _lib("flisr").isolate(net, faulted_edge),
            lambda net, d, faulted_edge: "\n".join(
                [
                    f"isolate {faulted_edge}: open {', '.join(d['open']) or 'nothing'}",
                    listing("de-energized nodes", d["deenergized_nodes"]),
                ]
            ),
            lambda faulted_edge: f"isolate {faulted_edge}",
            [faulted],
        ),
        Trace(
            "restore",
            "Isolate FAULTED_EDGE and restore the healthy parts (reclose, close ties).",
            lambda net, faulted_edge: _lib("flisr").restore(net, faulted_edge),
            _restore_text,
            lambda faulted_edge: f"restore {faulted_edge}",
            [faulted],
        ),
    ]


@click.group()
def trace() -> None:
    """Trace the network: upstream, downstream, feeder, loops, isolate, restore..."""


#: The trace commands by name.
TRACES = {spec.name: spec for spec in _traces()}
for _spec in TRACES.values():
    trace.add_command(trace_command(_spec))
