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
from datetime import datetime, timezone
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
    tick_s: float = 30.0,
) -> tuple[IngestReport, list[dict[str, Any]]]:
    """Apply ``events`` (sorted by time) with ping replies merged in.

    Between events more than ``tick_s`` apart the engine's clock ticks on,
    as the live server's does. Returns the ingest report and the ping
    replies the head-end sent.
    O(events log events) besides the engine's own work.
    """
    heap: list[tuple[float, int, dict[str, Any]]] = []
    for k, e in enumerate(events):
        heap.append((parse_time(e["time"]).timestamp(), k, e))
    heapq.heapify(heap)
    replies: list[dict[str, Any]] = []
    total = IngestReport()
    size = engine.config.batch_size
    while heap:
        clock = engine.clock.timestamp() if engine.clock is not None else None
        if clock is not None and heap[0][0] > clock + tick_s:
            # Nothing happens for a while: the live engine's clock ticks on.
            engine.tick(datetime.fromtimestamp(clock + tick_s, tz=timezone.utc))
            _answer_pings(engine, head_end, heap, replies)
            continue
        first = heap[0][0]
        batch: list[tuple[float, int, dict[str, Any]]] = []
        while heap and len(batch) < size and heap[0][0] - first <= engine.config.batch_seconds:
            batch.append(heapq.heappop(heap))
        report = engine.ingest_objects((k + 1, e) for _, k, e in batch)
        total.accepted += report.accepted
        total.duplicates += report.duplicates
        total.rejected += report.rejected
        if progress:
            progress(len(batch))
        _answer_pings(engine, head_end, heap, replies)
    return total, replies


def _answer_pings(
    engine: OutageEngine,
    head_end: HeadEnd | None,
    heap: list[tuple[float, int, dict[str, Any]]],
    replies: list[dict[str, Any]],
) -> None:
    if head_end is None or engine.clock is None:
        return
    requests = engine.take_ping_requests()
    if not requests:
        return
    for reply in head_end.answer([r["customer"] for r in requests], engine.clock):
        # Keys after every scenario event keep the heap order total.
        heapq.heappush(heap, (parse_time(reply["time"]).timestamp(), 10**9 + len(replies), reply))
        replies.append(reply)


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
