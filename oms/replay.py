"""Replaying a storm scenario through the engine, and scoring what it predicted.

:func:`replay` feeds a scenario's events to an :class:`~oms.engine.OutageEngine`
in time order, one batch at a time. After each batch it hands the engine's
ping requests to a simulated AMI head-end (:class:`oms.simulate.HeadEnd`),
whose replies join the stream at their own time, as a real head-end's
would. :func:`score_scenario` runs the replay on fresh databases for each
predictor asked for and scores each against the ground truth.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from oms.config import EngineConfig, PredictionParams
from oms.db import connect
from oms.engine import IngestReport, OutageEngine
from oms.events import parse_time
from oms.scoring import score
from oms.simulate import HeadEnd, Scenario
from oms.store import load_model
from topology.model import Network

__all__ = ["replay", "score_scenario"]


def replay(
    engine: OutageEngine,
    events: Sequence[dict[str, Any]],
    head_end: HeadEnd | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[IngestReport, list[dict[str, Any]]]:
    """Apply ``events`` (sorted by time) with ping replies merged in.

    Returns the ingest report and the ping replies the head-end sent.
    O(events log events) besides the engine's own work.
    """
    heap: list[tuple[float, int, dict[str, Any]]] = []
    for k, e in enumerate(events):
        heap.append((parse_time(e["time"]).timestamp(), k, e))
    heapq.heapify(heap)
    extra = len(events)
    replies: list[dict[str, Any]] = []
    total = IngestReport()
    size = engine.config.batch_size
    while heap:
        first = heap[0][0]
        batch = []
        while heap and len(batch) < size and heap[0][0] - first <= engine.config.batch_seconds:
            batch.append(heapq.heappop(heap))
        report = engine.ingest_objects((k + 1, e) for _, k, e in batch)
        total.accepted += report.accepted
        total.duplicates += report.duplicates
        total.rejected += report.rejected
        if progress:
            progress(len(batch))
        if head_end is None:
            continue
        requests = engine.take_ping_requests()
        if not requests or engine.clock is None:
            continue
        for reply in head_end.answer([r["customer"] for r in requests], engine.clock):
            heapq.heappush(heap, (parse_time(reply["time"]).timestamp(), extra, reply))
            replies.append(reply)
            extra += 1
    return total, replies


def score_scenario(
    net: Network,
    scenario: Scenario,
    *,
    predictors: Sequence[str] = ("likelihood", "classic"),
    config: EngineConfig | None = None,
    pings: bool = True,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Replay ``scenario`` once per predictor on a fresh database and score it.

    The engine is told the scenario's AMI delivery rate (as a utility knows
    its head-end's). Pings are answered by a simulated head-end when ``pings``
    is true and the network has metered customers.

    Returns ``{predictor: score dict (see oms.scoring.score), ...}``, each
    score with ``events`` (accepted), ``ping_replies`` and ``seconds`` (wall
    clock of the replay) added.
    """
    import time

    base = config or EngineConfig()
    ami = float(scenario.truth.get("params", {}).get("ami_rate", base.prediction.ami_delivery))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="oms-score-") as tmp:
        for name in predictors:
            url = f"sqlite:///{Path(tmp) / (name + '.sqlite')}"
            params: PredictionParams = replace(base.prediction, ami_delivery=min(ami, 0.99))
            cfg = replace(base, predictor=name, prediction=params, pings=pings)
            db = connect(url)
            load_model(db, net, "scenario")
            engine = OutageEngine(db, cfg)
            head = HeadEnd(net, scenario.truth) if pings else None
            t0 = time.perf_counter()
            report, replies = replay(engine, scenario.events, head, progress=progress)
            seconds = time.perf_counter() - t0
            result = score(
                net, scenario.truth, engine.snapshot(), evidence=[*scenario.events, *replies]
            )
            result.update(
                events=report.accepted, ping_replies=len(replies), seconds=round(seconds, 2)
            )
            out[name] = result
            db.dispose()
    return out
