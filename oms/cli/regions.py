"""``oms regions ...``: control regions as schemas of one PostgreSQL (docs/scaling.md).

- ``oms regions views --db URL --region NAME=SCHEMA ...`` makes (or remakes)
  the schema ``oms_all`` of views over the regions' schemas
  (:func:`oms.storage.regions.create_views`);
- ``oms regions status --db URL`` lists the regions those views name, with
  their schema revision, network version, engine clock, events, open
  outages and customers out;
- ``oms regions ingest --db URL EVENTS_FILE|-`` routes a file of events for
  all regions to the region owning each (:mod:`oms.intake.router`) and
  applies each region's share through that region's engine, as
  ``oms ingest`` with the region's URL would.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oms.cli.options import (
    config_option,
    db_option,
    emit,
    given_config,
    handles_errors,
    json_option,
    table,
)

if TYPE_CHECKING:
    from oms.engine import IngestReport
    from oms.intake.router import Ownership

__all__ = ["regions"]


@click.group()
def regions() -> None:
    """Control regions (schemas of one PostgreSQL): the views across them, their status,
    the intake routed to them."""


@regions.command("views")
@click.option(
    "--region",
    "specs",
    multiple=True,
    required=True,
    metavar="NAME=SCHEMA",
    help="A region and the schema holding its data set (repeat for each region).",
)
@db_option
@json_option
@handles_errors
def regions_views(specs: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Make the schema oms_all of views over every region named (replacing earlier ones)."""
    from oms.storage.db import connect
    from oms.storage.regions import create_views, parse_region

    parsed = [parse_region(s) for s in specs]
    engine = connect(db, upgrade=False)
    try:
        doc = create_views(engine, parsed)
    finally:
        engine.dispose()

    def text() -> str:
        rows = [(r["region"], r["schema"], r["revision"]) for r in doc["regions"]]
        views = ", ".join(f"{doc['schema']}.{v}" for v in doc["views"])
        return table(rows, ["region", "schema", "revision"]) + f"\nviews: {views}"

    emit(doc, as_json, text)


@regions.command("status")
@db_option
@json_option
@handles_errors
def regions_status(db: str | None, as_json: bool) -> None:
    """Each region: revision, network version, engine clock, events, open outages."""
    from oms.storage.db import connect
    from oms.storage.regions import STATUS_FIELDS as keys
    from oms.storage.regions import status

    engine = connect(db, upgrade=False)
    try:
        rows = status(engine)
    finally:
        engine.dispose()
    emit(rows, as_json, lambda: table([[r[k] for k in keys] for r in rows], keys))


@regions.command("ingest")
@click.argument("events_file", type=click.Path(allow_dash=True, dir_okay=False))
@click.option(
    "--region",
    "only",
    multiple=True,
    metavar="NAME",
    help="apply only this region's share (repeatable): one process per region "
    "applies the regions in parallel",
)
@db_option
@config_option
@json_option
@handles_errors
def regions_ingest(
    events_file: str,
    only: tuple[str, ...],
    db: str | None,
    config_file: str | None,
    as_json: bool,
) -> None:
    """Route the events of EVENTS_FILE (JSON lines, contract 3; - for stdin) to their regions.

    Each event goes to the region that owns the customer, meter, phone,
    device, crew, job, outage or document it names (a boundary device's to
    each region holding it) and is applied by that region's engine, in file
    order, as `oms ingest` with the region's URL applies it: as it is read,
    so on a pipe each region's batches are applied as they complete. A line that
    cannot be routed (unknown, ambiguous, naming no region) and a line a
    region's engine rejects are reported with their line number; the others
    are applied. The regions are those `oms regions views` named (with
    --region, only those given; each region has its own writer, so one
    process per region runs them at once).
    """
    from oms.cli.pipes import lines_of
    from oms.engine import OutageEngine
    from oms.intake.events import read_lines
    from oms.intake.router import Ownership
    from oms.storage.db import connect
    from oms.storage.regions import list_regions, ownership

    if events_file != "-" and not Path(events_file).is_file():
        raise OSError(f"{events_file}: no such file")
    main = connect(db, upgrade=False)
    try:
        regions = list_regions(main)
        owners = Ownership(ownership(main, regions))
        url = main.url
    finally:
        main.dispose()
    unknown = sorted(set(only) - {r.name for r in regions})
    if unknown:
        names = ", ".join(r.name for r in regions)
        raise click.BadParameter(
            f"no region {', '.join(unknown)} (the regions: {names})", param_hint="--region"
        )
    if only:
        regions = [r for r in regions if r.name in only]
    # Every region's database is opened before any is written: a region that
    # cannot be used (unreachable, another schema revision) stops the intake
    # with nothing applied anywhere.
    dbs = {r.name: connect(_region_url(url, r.schema), upgrade=False) for r in regions}
    doc: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": [], "regions": {}}
    try:
        config = given_config(config_file)
        engines = {name: OutageEngine(db, config) for name, db in dbs.items()}
        # Read as bytes: a line that is not UTF-8 is rejected alone (read_lines).
        with nullcontext(sys.stdin.buffer) if events_file == "-" else open(events_file, "rb") as fh:
            # On a live pipe, what waits is applied once it falls quiet.
            numbered = read_lines(lines_of(fh))  # type: ignore[arg-type]
            rejected, shares = _stream_shares(numbered, owners, engines)
        doc["rejected"] = [{**r, "region": None} for r in rejected]
        for name, (lines, report) in shares.items():
            share: dict[str, Any] = {
                "routed": len(lines),
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                # The engine numbers the share's lines from 1: back to the file's.
                "rejected": [
                    {"line": lines[r["line"] - 1], "error": r["error"]} for r in report.rejected
                ],
            }
            doc["regions"][name] = share
            doc["accepted"] += share["accepted"]
            doc["duplicates"] += share["duplicates"]
            doc["rejected"] += [{**r, "region": name} for r in share["rejected"]]
    finally:
        for engine in dbs.values():
            engine.dispose()
    doc["rejected"].sort(key=lambda r: (r["line"], r["region"] or ""))

    def text() -> str:
        rows = [
            (name, s["routed"], s["accepted"], s["duplicates"], len(s["rejected"]))
            for name, s in doc["regions"].items()
        ]
        rejected = [
            f"line {r['line']}" + (f" ({r['region']})" if r["region"] else "") + f": {r['error']}"
            for r in doc["rejected"]
        ]
        headers = ["region", "routed", "accepted", "duplicates", "rejected"]
        return "\n".join([*rejected, table(rows, headers)])

    emit(doc, as_json, text)


def _stream_shares(
    numbered: Iterable[tuple[int, Any, str]], owners: Ownership, engines: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, tuple[list[int], IngestReport]]]:
    """Route ``numbered`` lines (:func:`~oms.intake.events.read_lines`) as they
    are read, each region's share applied by its engine (of ``engines``) in a
    thread of its own as it comes, in the engine's own batches: a region
    ends as if it had ingested its share alone, and a live pipe is applied
    as it flows, not at its end. Returns the lines no region takes
    (``{"line", "error"}``) and, per region, its share's line numbers and
    its engine's report. An engine's failure stops the intake and is raised.
    """
    import queue
    import threading

    from oms.exceptions import EventError
    from oms.intake.events import IDLE
    from oms.intake.router import route_event

    done = object()
    inbox: dict[str, queue.Queue[Any]] = {n: queue.Queue(maxsize=10_000) for n in engines}
    lines: dict[str, list[int]] = {n: [] for n in engines}
    reports: dict[str, IngestReport] = {}
    failed: list[BaseException] = []

    def apply(name: str) -> None:
        def texts() -> Iterator[Any]:  # lines, and IDLE marks
            while (item := inbox[name].get()) is not done:
                yield item

        try:
            reports[name] = engines[name].ingest(texts())
        except BaseException as exc:
            failed.append(exc)

    def hand(name: str, item: Any) -> None:
        while workers[name].is_alive():  # a region that stopped takes nothing more
            try:
                inbox[name].put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    workers = {n: threading.Thread(target=apply, args=(n,), daemon=True) for n in engines}
    for w in workers.values():
        w.start()
    rejected: list[dict[str, Any]] = []
    try:
        for number, obj, text in numbered:
            if failed:
                break
            if obj is IDLE:  # the input fell quiet: each region applies what waits
                for name in engines:
                    hand(name, IDLE)
                continue
            try:
                if isinstance(obj, EventError):
                    raise obj
                names = route_event(obj, owners)
            except EventError as exc:
                rejected.append({"line": number, "error": str(exc)})
                continue
            for name in names:
                if name in engines:  # another process applies the others (--region)
                    lines[name].append(number)
                    hand(name, text)
    finally:
        for name in engines:
            hand(name, done)
        for w in workers.values():
            w.join()
    if failed:
        raise failed[0]
    return rejected, {n: (lines[n], reports[n]) for n in engines}


#: A ``-c search_path=...`` setting inside libpq's ``options``.
_SEARCH_PATH = re.compile(r"-c\s*search_path=(\"[^\"]*\"|\S+)\s*")


def _region_url(url: Any, schema: str) -> str:
    """``url`` (a SQLAlchemy URL) addressing ``schema``: its ``search_path`` set
    in the connection's ``options``, as a region's own ``oms ingest --db`` would name it."""
    options = _SEARCH_PATH.sub("", str(url.query.get("options", ""))).strip()
    options = f'{options} -csearch_path="{schema}"'.strip()
    return str(url.update_query_dict({"options": options}).render_as_string(hide_password=False))
