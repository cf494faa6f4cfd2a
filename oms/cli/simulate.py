"""``oms simulate``: a storm on a network, and with ``--score`` how well it is located."""

from __future__ import annotations

import sys
from typing import Any

import click

from oms.cli.options import (
    config_option,
    emit,
    engine_config,
    handles_errors,
    json_option,
    load_network,
    table,
)

__all__ = ["simulate"]


# --------------------------------------------------------------- simulate
@click.command()
@click.argument("network")
@click.option("--customers", type=click.Path(dir_okay=False), default=None, help="Customers CSV.")
@click.option("--crs", default=None, help="CRS of the coordinates when the file names none.")
@click.option(
    "--events",
    "events_out",
    type=click.Path(dir_okay=False),
    default="storm-events.jsonl",
    show_default=True,
    help="Write the events here (JSON lines).",
)
@click.option(
    "--truth",
    "truth_out",
    type=click.Path(dir_okay=False),
    default="storm-truth.json",
    show_default=True,
    help="Write the ground truth here.",
)
@click.option(
    "--faults", type=int, default=None, help="Sustained faults (default scales with the network)."
)
@click.option(
    "--span",
    "span_minutes",
    type=float,
    default=60.0,
    show_default=True,
    help="Minutes over which faults start.",
)
@click.option(
    "--call-rate",
    type=float,
    default=0.10,
    show_default=True,
    help="Share of affected customers who call.",
)
@click.option(
    "--ami-rate",
    type=float,
    default=0.80,
    show_default=True,
    help="Last-gasp delivery rate (0: no AMI).",
)
@click.option("--noise-calls", type=int, default=None, help="Single-customer problems elsewhere.")
@click.option("--momentaries", type=int, default=None, help="Momentary interruptions.")
@click.option(
    "--nested-share",
    type=float,
    default=0.15,
    show_default=True,
    help="Share of faults nested below another.",
)
@click.option(
    "--fci-share",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of conductors with fault indicators.",
)
@click.option(
    "--transformer-share",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of faults at service transformers.",
)
@click.option("--start", default=None, help="Storm start (ISO 8601 with offset).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--score", is_flag=True, help="Replay through the engine and score its predictions.")
@click.option("--no-pings", is_flag=True, help="Do not let the engine ping meters while scoring.")
@click.option(
    "--crews-file",
    "crews_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Crews CSV: with --score, crews are dispatched and simulated (demo: its own).",
)
@click.option(
    "--units", type=click.Path(exists=True, dir_okay=False), default=None, help="Units CSV."
)
@click.option(
    "--zones", type=click.Path(exists=True, dir_okay=False), default=None, help="Zones GeoJSON."
)
@click.option(
    "--roads", type=click.Path(exists=True, dir_okay=False), default=None, help="Roads GeoJSON."
)
@click.option("--no-crews", is_flag=True, help="Score fault location only, without crews.")
@click.option(
    "--restoration",
    type=click.Choice(["truth", "crews"]),
    default="truth",
    show_default=True,
    help="With --score: supply back when the truth says, or when simulated crews "
    "have done the work (needs crews).",
)
@click.option(
    "--storm-dispatch",
    type=click.Choice(["suggest", "batch", "automatic"]),
    default=None,
    help="With --score: storm mode on at the start with this dispatch policy.",
)
@config_option
@json_option
@handles_errors
def simulate(
    network: str,
    customers: str | None,
    crs: str | None,
    events_out: str,
    truth_out: str,
    faults: int | None,
    span_minutes: float,
    call_rate: float,
    ami_rate: float,
    noise_calls: int | None,
    momentaries: int | None,
    nested_share: float,
    fci_share: float,
    transformer_share: float,
    start: str | None,
    seed: int,
    score: bool,
    no_pings: bool,
    crews_file: str | None,
    units: str | None,
    zones: str | None,
    roads: str | None,
    no_crews: bool,
    restoration: str,
    storm_dispatch: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Make a storm on NETWORK: contract-3 events plus the ground truth.

    With --score, replay the events through the engine (the likelihood
    predictor and the classic roll-up, each on a fresh database), compute
    the exact maximum-a-posteriori reference beside them, and report on the
    observable faults: right, too high, too low, missed, false outages,
    precision, recall and F1, the error in customers out, ETR accuracy and
    the simulated time from first evidence to the right prediction.

    With crews, --restoration crews brings supply back only when a simulated
    crew has done a fault's work, so that the restoration figures (50%, 90%
    and 100% of customers back, critical customers' minutes, truck rolls
    with no repair, ETR accuracy) compare crews and storm rules on the same
    storm.
    """
    from oms.intake.events import parse_time
    from oms.simulation.storms import StormParams, simulate_storm

    net = load_network(network, customers, crs, None)
    kwargs: dict[str, Any] = {
        "faults": faults,
        "span_minutes": span_minutes,
        "call_rate": call_rate,
        "ami_rate": ami_rate,
        "noise_calls": noise_calls,
        "momentaries": momentaries,
        "nested_share": nested_share,
        "fci_share": fci_share,
        "transformer_share": transformer_share,
        "seed": seed,
    }
    if start:
        kwargs["start"] = parse_time(start, "--start")
    params = StormParams(**kwargs)
    scenario = simulate_storm(net, params)
    scenario.write(events_out, truth_out)
    click.echo(f"wrote {events_out} ({len(scenario.events)} events) and {truth_out}", err=True)
    truth = scenario.truth
    doc: dict[str, Any] = {
        "events": len(scenario.events),
        "faults": sum(1 for f in truth["faults"] if not f.get("momentary")),
        "momentaries": sum(1 for f in truth["faults"] if f.get("momentary")),
        "single_customer": len(truth.get("single_customer", [])),
        "events_file": events_out,
        "truth_file": truth_out,
    }
    if score:
        from oms.demodata import demo_files, is_demo
        from oms.simulation.replay import score_scenario

        companions = {"crews": crews_file, "units": units, "zones": zones, "roads": roads}
        if is_demo(network) and not crews_file:
            demo = demo_files()
            companions = {part: demo[part] for part in ("crews", "units", "zones", "roads")}
        chosen = {k: v for k, v in companions.items() if v}
        use = None if no_crews or "crews" not in chosen else chosen
        if restoration == "crews" and use is None:
            raise click.UsageError(
                "--restoration crews needs crews (--crews-file, or the demo's own)"
            )
        with click.progressbar(
            length=2 * len(scenario.events),
            label="replay",
            file=sys.stderr,
            hidden=not sys.stderr.isatty(),
        ) as bar:
            results = score_scenario(
                net,
                scenario,
                config=engine_config(config_file),
                pings=not no_pings,
                progress=bar.update,
                companions=use,
                restoration=restoration,
                storm_dispatch=storm_dispatch,
            )
        doc["score"] = results

    def text() -> str:
        lines = [
            f"{doc['events']} events: {doc['faults']} faults, {doc['momentaries']} momentaries, "
            f"{doc['single_customer']} single-customer problems"
        ]
        if score:
            keys = ["observable", "right", "too_high", "too_low", "wrong", "missed"]
            keys += ["predicted", "false"]
            rows = []
            for name, s in doc["score"].items():
                t = s["time_to_right_s"]
                rows.append(
                    [
                        name,
                        *(s[k] for k in keys),
                        *(_pct(s.get(k)) for k in ("accuracy", "false_rate", "precision", "f1")),
                        s["customers_out"].get("mae"),
                        s["etr"]["final_mae_min"],
                        t["median"],
                    ]
                )
            head = ["predictor", *keys, "right %", "false %", "precision", "F1"]
            head += ["cust. out MAE", "final ETR MAE min", "median s to right"]
            lines.append(table(rows, head))
            for name, s in doc["score"].items():
                for what in ("truth", "recorded"):
                    rs = s.get("restoration", {}).get(what)
                    crewed = s.get("restoration", {}).get("mode") == "crews"
                    if not rs or (
                        what == "truth" and not crewed and name != next(iter(doc["score"]))
                    ):
                        continue  # the truth is the same for every predictor (not by crews)
                    c = rs["critical"]
                    by = ", by crews" if s["restoration"].get("mode") == "crews" else ""
                    label = "truth" if what == "truth" else name + ", recorded"
                    if what == "truth" and crewed:
                        label = name + ", truth"  # each replay's crews restore in their own time
                    lines.append(
                        f"restoration ({label}{by}): "
                        f"{rs['customers_interrupted']} customers interrupted; 50% back at "
                        f"{rs['t50_min']} min, 90% at {rs['t90_min']}, all at {rs['t100_min']}; "
                        f"critical customers: {c['interrupted']} out for {c['minutes']} min "
                        f"in all (longest {c['max_minutes']})"
                    )
            for name, s in doc["score"].items():
                if "response" in s:
                    r, ix = s["response"], s["indices"]
                    lines.append(
                        f"{name}: {r['jobs']} jobs, arrivals within target "
                        f"{r['arrivals_within_target']:.1%}, arrival mean/p90 "
                        f"{r['arrival_minutes']['mean']}/{r['arrival_minutes']['p90']} min, "
                        f"restoration mean/p90 {r['restoration_minutes']['mean']}/"
                        f"{r['restoration_minutes']['p90']} min; SAIFI {ix['SAIFI']}, "
                        f"SAIDI {ix['SAIDI']} min, MAIFI {ix['MAIFI']}; truck rolls "
                        f"{r['truck_rolls']}, to no fault {r['truck_rolls_no_repair']}"
                    )
        return "\n".join(lines)

    emit(doc, as_json, text)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
