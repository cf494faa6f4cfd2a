"""Fault-location accuracy on every network style and storm scenario (issue 12 items 3-4).

For each style of :mod:`topology.synthetic.styles` and each scenario, and a
few seeds, it makes a storm with ground truth (a third of the faults at
service transformers, nested faults, single-customer noise, SCADA on the
breakers and some reclosers), replays it through the engine with the
likelihood predictor and with the classic roll-up (fresh database each,
simulated AMI head-end answering pings), computes the exact MAP reference
(:mod:`oms.simulation.reference`), and scores all three
(:func:`oms.simulation.scoring.score`). Prints one JSON document: per style
and scenario, per predictor, the summed counts (observable, right, too
high, too low, missed, predicted, false) and right/false shares,
precision, recall and F1 over all seeds; and the issue's targets checked.

Scenarios: ``ami10`` (10% of customers without supply call, every
customer metered, last gasps 80% delivered), ``ami20`` (20% calls, AMI),
``calls10`` and ``calls20`` (no meters at all).

Crews (the default, every scenario): the engine dispatches automatically
and simulated crews (:mod:`oms.simulation.crews`) work its jobs, repair
until the ground truth says supply came back, then report ``job_restored``:
a control room learns restoration from its crews, and without meters it has
no other way (the reference knows every restoration from the truth). The
crews, units and zones come from :func:`oms.simulation.companions.companions`
(no roads: straight-line travel), ``--crews-per-feeder`` (2) crews per
feeder at each substation, enough to keep up with a storm of 40 faults in
4 hours; 0.4 is a network's own staff, whose crews fall hours behind.
``--no-crews`` replays without crews, as the figures measured at 4f2e055.

Targets (issue 12 item 4): with AMI, at least 97% right and at most 3%
false; calls only, F1 at least the reference's minus 2 points and never
below the classic roll-up.

Usage::

    python bench/location.py                        # 5 styles x 4 scenarios x 3 seeds
    python bench/location.py --styles na_overhead --scenarios ami10 --seeds 1
    python bench/location.py --jobs 4 --out location.json
    python bench/location.py --no-crews              # no crews (figures at 4f2e055)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) in sys.path:  # bench/topology.py must not hide the topology package
    sys.path.remove(str(HERE))
sys.path.insert(0, str(HERE.parent))

SCENARIOS: dict[str, dict[str, float]] = {
    "ami10": {"call_rate": 0.10, "ami_rate": 0.80, "meter_share": 1.0},
    "ami20": {"call_rate": 0.20, "ami_rate": 0.80, "meter_share": 1.0},
    "calls10": {"call_rate": 0.10, "ami_rate": 0.0, "meter_share": 0.0},
    "calls20": {"call_rate": 0.20, "ami_rate": 0.0, "meter_share": 0.0},
}
PREDICTORS = ("likelihood", "classic", "reference")
COUNTS = ("observable", "right", "too_high", "too_low", "wrong", "missed", "predicted", "false")


def run_one(
    style: str, scenario: str, seed: int, nodes: int, faults: int, crews: float | None = None
) -> dict[str, Any]:
    """Score one storm: per predictor the counts of :func:`oms.simulation.scoring.score`.

    With ``crews`` (crews per feeder), the engine dispatches automatically
    and simulated crews work its jobs (companion files of
    :func:`oms.simulation.companions.companions`); the engine learns of
    restorations from their ``job_restored``.
    """
    import tempfile

    from oms.simulation.companions import companions
    from oms.simulation.replay import score_scenario
    from oms.simulation.storms import StormParams, simulate_storm
    from topology.synthetic.styles import styled_network

    s = SCENARIOS[scenario]
    net = styled_network(style, seed=seed, n_nodes=nodes, meter_share=s["meter_share"])
    params = StormParams(
        faults=faults,
        span_minutes=240.0,
        call_rate=s["call_rate"],
        ami_rate=s["ami_rate"],
        nested_share=0.15,
        transformer_share=1 / 3,
        seed=100 + seed,
    )
    scenario_ = simulate_storm(net, params)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="oms-bench-crews-") as tmp:
        paths = companions(net, tmp, seed=seed, crews_per_feeder=crews) if crews else None
        result = score_scenario(net, scenario_, predictors=PREDICTORS, companions=paths)
    out: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 1)}
    for name, r in result.items():
        out[name] = {k: r[k] for k in COUNTS}
        out[name]["customers_out_mae"] = r["customers_out"].get("mae")
        out[name]["etr_final_mae_min"] = r["etr"]["final_mae_min"]
        if "response" in r:
            resp = r["response"]
            out[name]["response"] = {
                "crews": resp["crews"],
                "jobs": resp["jobs"],
                "peak_open_jobs": resp["peak_open_jobs"],
                "arrivals_within_target": resp["arrivals_within_target"],
                "restoration_minutes": resp["restoration_minutes"],
            }
        out[name]["misses"] = [
            {"operated": p["operated"], "device": p["device"], "result": p["result"]}
            for p in r["per_fault"]
            if p["result"] not in ("right", "unobservable")
        ]
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts summed over seeds, with shares, precision, recall and F1."""
    out: dict[str, Any] = {}
    for name in PREDICTORS:
        c = {k: sum(r[name][k] for r in runs) for k in COUNTS}
        obs, pred = c["observable"], c["predicted"]
        precision = c["right"] / pred if pred else None
        recall = c["right"] / obs if obs else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if precision is not None and recall is not None else None)
        )
        out[name] = {
            **c,
            "right_share": round(recall, 4) if recall is not None else None,
            "false_share": round(c["false"] / pred, 4) if pred else None,
            "precision": round(precision, 4) if precision is not None else None,
            "recall": round(recall, 4) if recall is not None else None,
            "f1": round(f1, 4) if f1 is not None else None,
        }
    lk, cl, ref = out["likelihood"], out["classic"], out["reference"]
    if "ami" in runs[0]["scenario"]:
        out["target"] = {
            "rule": "right >= 97% and false <= 3%",
            "met": bool((lk["right_share"] or 0) >= 0.97 and (lk["false_share"] or 0) <= 0.03),
        }
    else:
        out["target"] = {
            "rule": "F1 >= reference F1 - 0.02 and >= classic F1",
            "met": bool(
                (lk["f1"] or 0) >= (ref["f1"] or 0) - 0.02 and (lk["f1"] or 0) >= (cl["f1"] or 0)
            ),
        }
    return out


def _task(
    args: tuple[str, str, int, int, int, float | None],
) -> tuple[tuple[str, str, int], dict[str, Any]]:
    style, scenario, seed, nodes, faults, crews = args
    r = run_one(style, scenario, seed, nodes, faults, crews)
    r["scenario"] = scenario
    return (style, scenario, seed), r


def main(argv: list[str] | None = None) -> None:
    from topology.synthetic.styles import STYLES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--styles", nargs="*", default=list(STYLES))
    ap.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    ap.add_argument("--seeds", type=int, default=3, help="Seeds 1..N per style and scenario.")
    ap.add_argument("--nodes", type=int, default=3000)
    ap.add_argument("--faults", type=int, default=40, help="Sustained faults per storm (4 h).")
    ap.add_argument("--jobs", type=int, default=1, help="Processes in parallel.")
    ap.add_argument("--out", default=None, help="Also write the JSON here.")
    ap.add_argument("--details", action="store_true", help="Keep per-storm results and misses.")
    ap.add_argument(
        "--crews",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Simulated crews work the jobs the engine dispatches (the default);\n"
        "--no-crews: no crews at all, as measured at 4f2e055.",
    )
    ap.add_argument(
        "--crews-per-feeder",
        type=float,
        default=2.0,
        help="With --crews: crews per substation = ceil(its feeders x this).",
    )
    a = ap.parse_args(argv)
    crews = a.crews_per_feeder if a.crews else None
    tasks = [
        (st, sc, seed, a.nodes, a.faults, crews)
        for st in a.styles
        for sc in a.scenarios
        for seed in range(1, a.seeds + 1)
    ]
    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            results = dict(pool.map(_task, tasks))
    else:
        results = dict(map(_task, tasks))
    doc: dict[str, Any] = {
        "params": {
            "nodes": a.nodes,
            "faults": a.faults,
            "span_minutes": 240,
            "transformer_share": round(1 / 3, 4),
            "nested_share": 0.15,
            "seeds": a.seeds,
            "crews": a.crews,
            "crews_per_feeder": crews,
        },
        "styles": {},
    }
    for st in a.styles:
        doc["styles"][st] = {}
        for sc in a.scenarios:
            runs = [results[(st, sc, seed)] for seed in range(1, a.seeds + 1)]
            entry = summarise(runs)
            if a.details:
                entry["runs"] = runs
            doc["styles"][st][sc] = entry
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(doc, indent=1)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
