"""Control regions on one PostgreSQL: the views across them and the combined read models.

A control region (docs/scaling.md) is a complete data set in a schema of
its own, with its own writer. The storm room, the public page and the
regulator's reports look across regions:

- :func:`create_views` makes the schema ``oms_all`` (:data:`ALL_SCHEMA`)
  of views over the regions' schemas, each row tagged with its ``region``:
  ``regions`` (name and schema: the list every reader of ``oms_all``
  starts from), ``outages``, ``jobs``, ``crews`` and ``device_states``
  (every column of the region's table), ``customers`` (customers and
  critical customers per region), ``events`` (events and the last
  sequence number per region) and ``status`` (per region: schema revision,
  network version, engine clock, events, open outages, customers out).
  Re-running it replaces them (in one transaction), so adding a region is
  running it again with every region named.
- :func:`overview_totals`, :func:`public_outages` and :func:`indices`
  combine what each region's own function gives on its own schema: the
  storm overview's totals (sums, the earliest and latest times), the
  public page's outages document (the areas of every region, each tagged
  with its region), and the IEEE 1366 indices as sums of customers
  interrupted and customer minutes over the customers served of all
  regions (never a mean of the regions' indices).
- :func:`ownership` reads what each region owns (its network's nodes,
  devices, customers, meters and phones; its crews, units, jobs, outages
  and switching documents): the tables :mod:`oms.intake.router` routes
  events by (``oms regions ingest``).

Each region is read in a read-only transaction whose ``search_path`` is the
region's schema (:func:`in_region`), on one connection pool for all
regions. Read-only but for the ``oms_all`` views :func:`create_views`
writes. PostgreSQL only: a SQLite file holds one data set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from oms.config import DispatchConfig
from oms.exceptions import NotLoadedError, RegionUnavailable, StorageError
from oms.intake.events import iso
from oms.outages import ACTIVE_STATES
from oms.storage.postgres import is_postgres

__all__ = [
    "ALL_SCHEMA",
    "STATUS_FIELDS",
    "VIEWS",
    "Region",
    "combine_indices",
    "combine_totals",
    "create_views",
    "in_region",
    "indices",
    "list_regions",
    "on_region",
    "overview_totals",
    "ownership",
    "parse_region",
    "public_outages",
    "status",
    "views_sql",
]

#: The schema of the views across regions.
ALL_SCHEMA = "oms_all"
#: Tables shown whole (every column, plus ``region``).
_WHOLE = ("outages", "jobs", "crews", "device_states")
#: The views of :data:`ALL_SCHEMA`, in the order they are made.
VIEWS = ("regions", *_WHOLE, "customers", "events", "status")
_REGION_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True)
class Region:
    """A control region: its name (``north``) and the schema holding its data set."""

    name: str
    schema: str

    def __post_init__(self) -> None:
        # Both go into SQL text (view definitions, SET search_path): only plain names.
        if not _REGION_NAME.fullmatch(self.name):
            raise StorageError(
                f"region name {self.name!r}: lower-case letters, digits, '_' and '-', "
                "starting with a letter"
            )
        if not _SCHEMA_NAME.fullmatch(self.schema) or self.schema == ALL_SCHEMA:
            raise StorageError(
                f"region {self.name!r}: schema {self.schema!r} is not a plain schema name "
                f"(letters, digits and '_', not {ALL_SCHEMA})"
            )


def parse_region(spec: str) -> Region:
    """``NAME=SCHEMA`` as given on the command line.

    Raises
    ------
    StorageError
        Not of that form, or a name that is not a plain identifier.
    """
    name, sep, schema_name = spec.partition("=")
    if not sep or not name or not schema_name:
        raise StorageError(f"region {spec!r}: expected NAME=SCHEMA (e.g. north=oms_north)")
    return Region(name.strip(), schema_name.strip())


# ------------------------------------------------------------------ views
def views_sql(regions: Sequence[Region]) -> list[str]:
    """The statements that (re)make :data:`ALL_SCHEMA` for ``regions`` (pure).

    Raises
    ------
    StorageError
        No region, or a name or schema given twice.
    """
    if not regions:
        raise StorageError("name at least one region (--region NAME=SCHEMA)")
    for what, values in (
        ("region", [r.name for r in regions]),
        ("schema", [r.schema for r in regions]),
    ):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise StorageError(f"{what} given twice: {', '.join(twice)}")
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATES)

    def union(select: str) -> str:
        return "\nUNION ALL\n".join(
            select.format(region=f"'{r.name}'::text", s=f'"{r.schema}"') for r in regions
        )

    bodies = {
        # The regions view names each schema as text, not as an identifier.
        "regions": "\nUNION ALL\n".join(
            f"SELECT '{r.name}'::text AS region, '{r.schema}'::text AS schema" for r in regions
        ),
        **{t: union(f"SELECT {{region}} AS region, t.* FROM {{s}}.{t} t") for t in _WHOLE},
        "customers": union(
            "SELECT {region} AS region, count(*) AS customers,"
            " count(*) FILTER (WHERE coalesce(critical, '') <> '') AS critical FROM {s}.customers"
        ),
        "events": union(
            "SELECT {region} AS region, count(*) AS events, max(seq) AS last_seq FROM {s}.events"
        ),
        "status": union(
            "SELECT {region} AS region,"
            " (SELECT version_num FROM {s}.alembic_version LIMIT 1) AS revision,"
            " (SELECT max(version) FROM {s}.network_versions) AS network_version,"
            " (SELECT value FROM {s}.engine_state WHERE key = 'clock') AS clock,"
            " (SELECT count(*) FROM {s}.events) AS events,"
            f" (SELECT count(*) FROM {{s}}.outages WHERE state IN ({active})) AS outages_open,"
            " (SELECT coalesce(sum(customers_out), 0) FROM {s}.outages"
            f" WHERE state IN ({active})) AS customers_out"
        ),
    }
    statements = [f'CREATE SCHEMA IF NOT EXISTS "{ALL_SCHEMA}"']
    statements += [f'DROP VIEW IF EXISTS "{ALL_SCHEMA}"."{v}"' for v in reversed(VIEWS)]
    statements += [f'CREATE VIEW "{ALL_SCHEMA}"."{v}" AS\n{bodies[v]}' for v in VIEWS]
    return statements


def create_views(db: Engine, regions: Sequence[Region]) -> dict[str, Any]:
    """Make (or remake) the views of :data:`ALL_SCHEMA` over ``regions``, in one transaction.

    Every region's schema must hold an oms data set at one and the same
    schema revision (the views show every column of its tables).

    Returns
    -------
    dict
        ``{"schema", "views": [...], "regions": [{"region", "schema", "revision"}]}``.

    Raises
    ------
    StorageError
        Not PostgreSQL, a schema missing or holding no oms data set, or
        regions at different schema revisions.
    """
    _postgres_only(db)
    statements = views_sql(regions)
    with db.begin() as conn:
        revisions = {r.name: _revision(conn, r) for r in regions}
        if len(set(revisions.values())) > 1:
            found = ", ".join(f"{k} at {v}" for k, v in revisions.items())
            raise StorageError(
                f"the regions are at different schema revisions ({found}): "
                "upgrade them all (oms opens a database migrated) first"
            )
        for statement in statements:
            conn.execute(text(statement))
    return {
        "schema": ALL_SCHEMA,
        "views": list(VIEWS),
        "regions": [
            {"region": r.name, "schema": r.schema, "revision": revisions[r.name]} for r in regions
        ],
    }


def _revision(conn: Connection, region: Region) -> str:
    tables = set(
        conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": region.schema},
        ).scalars()
    )
    missing = {"alembic_version", "events", *_WHOLE} - tables
    if not tables:
        raise StorageError(f"region {region.name!r}: no schema {region.schema!r} in this database")
    if missing:
        raise StorageError(
            f"region {region.name!r}: schema {region.schema!r} holds no oms data set "
            f"(no {', '.join(sorted(missing))}); run `oms load` on it first"
        )
    value = conn.execute(text(f'SELECT version_num FROM "{region.schema}".alembic_version'))
    return str(value.scalar())


def list_regions(db: Engine | Connection) -> list[Region]:
    """The regions :func:`create_views` was last given, by name.

    Raises
    ------
    StorageError
        Not PostgreSQL, or no views made yet.
    """
    rows = _read_all(db, "SELECT region, schema FROM oms_all.regions ORDER BY region")
    return [Region(r["region"], r["schema"]) for r in rows]


#: The fields of a region's status (:func:`status`), in their order.
STATUS_FIELDS = (
    "region",
    "schema",
    "revision",
    "network_version",
    "clock",
    "events",
    "outages_open",
    "customers_out",
)


def status(db: Engine | Connection) -> list[dict[str, Any]]:
    """Per region: schema, revision, network version, engine clock, events,
    open outages and their customers out, by region name."""
    # The views follow a schema renamed since: they would still answer for it.
    rows = _read_all(
        db,
        "SELECT s.*, r.schema, n.nspname IS NOT NULL AS present"
        " FROM oms_all.status s JOIN oms_all.regions r USING (region)"
        " LEFT JOIN pg_namespace n ON n.nspname = r.schema ORDER BY region",
    )
    for r in rows:
        if not r["present"]:
            _gone(Region(r["region"], r["schema"]))
    return [
        {
            "region": r["region"],
            "schema": r["schema"],
            "revision": r["revision"],
            "network_version": r["network_version"],
            "clock": iso(datetime.fromisoformat(r["clock"])) if r["clock"] else None,
            "events": int(r["events"]),
            "outages_open": int(r["outages_open"]),
            "customers_out": int(r["customers_out"]),
        }
        for r in rows
    ]


def _read_all(db: Engine | Connection, sql: str) -> list[dict[str, Any]]:
    _postgres_only(db)
    if isinstance(db, Engine):
        with db.connect() as conn:
            return _read_all(conn, sql)
    exists = db.execute(
        text("SELECT 1 FROM pg_views WHERE schemaname = :s AND viewname = 'regions'"),
        {"s": ALL_SCHEMA},
    ).first()
    if exists is None:
        raise StorageError(
            f"no {ALL_SCHEMA} views in this database: "
            "run `oms regions views --region NAME=SCHEMA ...` first"
        )
    return [dict(r) for r in db.execute(text(sql)).mappings()]


def _postgres_only(db: Engine | Connection) -> None:
    if not is_postgres(db):
        raise StorageError("control regions are schemas of one PostgreSQL database (not SQLite)")


@contextmanager
def in_region(db: Engine, region: Region) -> Iterator[Connection]:
    """A read-only transaction on ``region``'s schema (rolled back at the end).

    Raises
    ------
    RegionUnavailable
        The schema is not there (:func:`on_region`).
    """
    _postgres_only(db)
    with db.connect() as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        try:
            on_region(conn, region)
            yield conn
        finally:
            conn.rollback()


def on_region(conn: Connection, region: Region) -> None:
    """Point the transaction of ``conn`` at ``region``'s schema.

    Raises
    ------
    RegionUnavailable
        The schema is not there (dropped or renamed since the views were
        made): a search path naming it would find no table at all.
    """
    found = conn.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": region.schema}
    ).first()
    if found is None:
        _gone(region)
    conn.execute(text(f'SET LOCAL search_path TO "{region.schema}"'))


def _gone(region: Region) -> NoReturn:
    raise RegionUnavailable(
        f"region {region.name}: its schema {region.schema!r} is not in this database "
        "(renamed, or dropped with the views' CASCADE?); restore it, or make the views "
        "again without it (`oms regions views --db URL --region NAME=SCHEMA ...`)"
    )


# ------------------------------------------------------- the intake router
def ownership(db: Engine, regions: Sequence[Region]) -> dict[str, dict[str, list[str]]]:
    """What each region owns, for routing events to it (:mod:`oms.intake.router`).

    Read from each region's own data set (:func:`in_region`): the nodes,
    devices, customers, meters and phone numbers of its latest network (the
    ones its engine resolves events against), and the ids of its crews,
    units, jobs, outages and switching documents (orders, safety documents,
    planned outages).

    Returns
    -------
    dict
        Region name -> kind (``customer``, ``meter``, ``phone``, ``node``,
        ``device``, ``crew``, ``unit``, ``job``, ``outage``, ``document``)
        -> ids. O(elements and records of all regions).

    Raises
    ------
    StorageError
        Not PostgreSQL; :class:`~oms.exceptions.NotLoadedError` when a
        region holds no network.
    """
    from oms.storage.loading import stored_network

    tables = {
        "crew": "crews",
        "unit": "units",
        "job": "jobs",
        "outage": "outages",
        "document": "switching_documents",
    }
    out: dict[str, dict[str, list[str]]] = {}
    for region in regions:
        with in_region(db, region) as conn:
            try:
                _, net = stored_network(conn)
            except NotLoadedError as exc:
                raise NotLoadedError(f"region {region.name!r}: {exc}") from None
            owned = {
                kind: list(conn.execute(text(f"SELECT id FROM {table}")).scalars())
                for kind, table in tables.items()
            }
        cust = net.customers
        owned["node"] = list(net.node_ids)
        owned["device"] = list(net.edge_ids)
        owned["customer"] = list(cust.ids) if cust is not None else []
        for kind in ("meter", "phone"):
            column = cust.fields.get(kind) if cust is not None else None
            owned[kind] = [str(v) for v in column if v] if column is not None else []
        out[region.name] = owned
    return out


# ---------------------------------------------------------- the overview
def overview_totals(
    db: Engine,
    regions: Sequence[Region],
    now: datetime,
    dispatch: DispatchConfig | None = None,
) -> dict[str, Any]:
    """The storm overview's totals across ``regions`` as of ``now``
    (:func:`oms.storage.overview.overview` on each region, then :func:`combine_totals`)."""
    from oms.storage.loading import stored_network
    from oms.storage.overview import overview

    per: dict[str, dict[str, Any]] = {}
    for region in regions:
        with in_region(db, region) as conn:
            try:
                _, net = stored_network(conn)
            except NotLoadedError:
                net = None
            doc = overview(conn, net, now, dispatch or DispatchConfig())
        per[region.name] = doc["totals"]
    return combine_totals(per, now)


def combine_totals(per_region: Mapping[str, Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The overview's ``totals`` of several regions as one (pure).

    Counts add up (outages, customers and critical customers out, jobs,
    crews per status, ETRs passed or missing: each region's are its own);
    the latest ETR is the latest of the regions', the earliest ETR and the
    oldest start the earliest. ``regions`` keeps each region's totals.
    """
    docs = list(per_region.values())
    out: dict[str, Any] = {"as_of": iso(now)}
    for key in ("outages", "customers_out", "critical_out", "jobs_open", "jobs_waiting"):
        out[key] = sum(int(d[key]) for d in docs)
    out["jobs_breached"] = sum(int(d["jobs_breached"]) for d in docs)
    crews: dict[str, int] = {}
    for d in docs:
        for status_name, n in d["crews"].items():
            crews[status_name] = crews.get(status_name, 0) + int(n)
    out["crews"] = crews
    out["etr_latest"] = _extreme((d["etr_latest"] for d in docs), max)
    out["etr_earliest"] = _extreme((d["etr_earliest"] for d in docs), min)
    out["etr_passed"] = sum(int(d["etr_passed"]) for d in docs)
    out["etr_missing"] = sum(int(d["etr_missing"]) for d in docs)
    out["oldest_started"] = _extreme((d["oldest_started"] for d in docs), min)
    out["regions"] = {name: dict(d) for name, d in sorted(per_region.items())}
    return out


def _extreme(values: Iterable[str | None], pick: Any) -> str | None:
    """The earliest or latest of ISO times (compared as instants), None when none."""
    times = [datetime.fromisoformat(v) for v in values if v]
    return iso(pick(times)) if times else None


# -------------------------------------------------------- the public page
def public_outages(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The public page's outages document across regions, from each region's
    (``webmap.public.outages_by_area`` on its schema), pure.

    Every area keeps its figures and items and gains ``region`` (two
    regions may both have customers in no zone, or zones of the same id);
    areas are ordered as in one region's document (most customers out
    first). Totals add up: the regions' customers and outages are disjoint.
    Case references stay each region's own: a case is looked up in the
    region that made it. ``updated`` is the latest of the regions'.
    """
    areas = [{**a, "region": name} for name, d in docs.items() for a in d["areas"]]
    areas.sort(
        key=lambda a: (
            -a["customers_out"],
            -a["outages"],
            a["area"] is None,
            a["region"],
            a["area"] or "",
        )
    )
    totals = {
        key: sum(int(d["totals"][key]) for d in docs.values())
        for key in ("outages", "customers_out", "customers_served", "planned")
    }
    return {
        "updated": _extreme((d["updated"] for d in docs.values()), max),
        "totals": totals,
        "regions": {name: dict(d["totals"]) for name, d in sorted(docs.items())},
        "areas": areas,
    }


# ------------------------------------------------------------ the indices
def indices(
    db: Engine,
    regions: Sequence[Region],
    start: datetime,
    end: datetime,
    *,
    cemi_n: int = 3,
    med_min_days: int = 30,
) -> dict[str, Any]:
    """IEEE 1366 indices across ``regions`` for outages starting in [start, end):
    :func:`oms.reports.reliability.indices` on each region, then :func:`combine_indices`.

    On major event days found across the regions, each region's indices of
    that day are read too, to take them out of ``excluding_med``.
    """
    from oms.reports.reliability import indices as region_indices
    from oms.reports.reliability import major_event_days

    options: dict[str, Any] = {"cemi_n": cemi_n, "med_min_days": med_min_days}
    per: dict[str, dict[str, Any]] = {}
    for region in regions:
        with in_region(db, region) as conn:
            per[region.name] = region_indices(conn, start, end, **options)
    med = major_event_days(_combined_daily(per), med_min_days)[0]
    days: dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {}
    for day in med:
        # The outages starting that day, their minutes counted to ``end`` as in
        # the period's: [day, end) less [next day, end).
        a = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
        b = a + timedelta(days=1)
        for region in regions:
            with in_region(db, region) as conn:
                days.setdefault(day, {})[region.name] = (
                    region_indices(conn, max(a, start), end, **options),
                    region_indices(conn, min(b, end), end, **options),
                )
    return combine_indices(per, cemi_n=cemi_n, med_min_days=med_min_days, med_day_indices=days)


def combine_indices(
    per_region: Mapping[str, Mapping[str, Any]],
    *,
    cemi_n: int = 3,
    med_min_days: int = 30,
    med_day_indices: Mapping[str, Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]]]
    | None = None,
) -> dict[str, Any]:
    """The regions' indices documents (one period) as the document of all of them (pure).

    The regions' customers are disjoint, so every figure behind an index
    adds up over the regions: interruptions, customers interrupted and
    customer minutes as given; the customers served; the customer momentary
    interruptions (MAIFI x served), the distinct customers interrupted
    (customers interrupted / CAIFI) and the customers over CEMI's n
    (CEMI-n x served). The indices are recomputed from the sums exactly as
    one region's are: SAIFI = customers interrupted / customers served of
    all regions, SAIDI = customer minutes / customers served, and so on;
    a mean of the regions' indices would weigh a small region like a large
    one. The figures read back from a rounded index (momentaries, distinct
    customers, CEMI's count) carry its rounding: the combined MAIFI, CAIFI
    and CEMI-n are within one unit of their last printed digit of what one
    data set holding every region would give; the rest are exact (customer
    minutes to their 0.1).

    Major event days are found on the combined daily SAIDI (customer minutes
    of all regions over all their customers) with the same rule as a
    region's; ``excluding_med`` takes the outages starting on those days out
    of the additive figures, from ``med_day_indices`` (day -> region -> the
    region's documents from that day to the period's end and from the next
    day to the period's end: their difference is that day's outages, their
    minutes counted as in the period's); CAIFI and CEMI-n, which count
    distinct customers over the whole period, are None there.
    """
    from oms.reports.reliability import major_event_days

    docs = dict(per_region)
    if not docs:
        raise StorageError("no region to combine")
    served = {name: int(d["customers_served"]) for name, d in docs.items()}
    first = next(iter(docs.values()))
    period = first["period"]
    minutes = (
        datetime.fromisoformat(period["end"]) - datetime.fromisoformat(period["start"])
    ).total_seconds() / 60.0
    total = sum(served.values())
    daily = _combined_daily(docs)
    med_days, t_med = major_event_days(daily, med_min_days)
    everything = _combine({n: d["all"] for n, d in docs.items()}, served, minutes, cemi_n)
    excluding = None
    if med_days:
        per_day = med_day_indices or {}
        missing = [d for d in med_days if d not in per_day]
        if missing:
            raise StorageError(f"the regions' indices of major event days {missing} are needed")
        excluding = _without_days(everything, [per_day[d] for d in med_days], total, minutes)
    return {
        "period": period,
        "customers_served": total,
        "all": everything,
        "excluding_med": excluding,
        "planned": _combine({n: d["planned"] for n, d in docs.items()}, served, minutes, cemi_n),
        "major_event_days": med_days,
        "t_med_minutes": None if t_med is None else round(t_med, 3),
        "daily_saidi": {d: round(v, 4) for d, v in sorted(daily.items())},
        "regions": {name: dict(d) for name, d in sorted(docs.items())},
    }


def _combined_daily(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Daily SAIDI of all regions: their customer minutes over all their customers."""
    total = sum(int(d["customers_served"]) for d in docs.values())
    daily: dict[str, float] = {}
    for d in docs.values():
        for day, saidi in d["daily_saidi"].items():
            daily[day] = daily.get(day, 0.0) + saidi * int(d["customers_served"])
    return {day: v / max(total, 1) for day, v in daily.items()}


def _combine(
    parts: Mapping[str, Mapping[str, Any]], served: Mapping[str, int], minutes: float, cemi_n: int
) -> dict[str, Any]:
    """The regions' indices (``parts``, by region) as one data set's: from
    their sums over the customers served of all regions. O(regions)."""
    from oms.reports.reliability import from_sums

    # CAIFI is None where nobody was interrupted (no distinct customers then).
    distinct = sum(
        int(p["customers_interrupted"]) / float(p["CAIFI"]) for p in parts.values() if p["CAIFI"]
    )
    return from_sums(
        interruptions=sum(int(p["interruptions"]) for p in parts.values()),
        interrupted=sum(int(p["customers_interrupted"]) for p in parts.values()),
        customer_minutes=sum(float(p["customer_minutes"]) for p in parts.values()),
        momentary=sum(float(p["MAIFI"]) * served[n] for n, p in parts.items()),
        distinct=distinct,
        over_n=sum(float(p[f"CEMI-{cemi_n}"]) * served[n] for n, p in parts.items()),
        served=sum(served.values()),
        period_min=minutes,
        cemi_n=cemi_n,
    )


def _without_days(
    everything: Mapping[str, Any],
    days: Sequence[Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]]],
    total: int,
    minutes: float,
) -> dict[str, Any]:
    """``everything`` less the additive figures of the outages of the major event days."""
    figures = {
        "interruptions": float(everything["interruptions"]),
        "customers_interrupted": float(everything["customers_interrupted"]),
        "customer_minutes": float(everything["customer_minutes"]),
        "momentary": float(everything["MAIFI"]) * total,
    }
    for day in days:
        for since, after in day.values():
            for doc, sign in ((since, -1.0), (after, 1.0)):
                part, n_served = doc["all"], int(doc["customers_served"])
                figures["interruptions"] += sign * int(part["interruptions"])
                figures["customers_interrupted"] += sign * int(part["customers_interrupted"])
                figures["customer_minutes"] += sign * float(part["customer_minutes"])
                figures["momentary"] += sign * float(part["MAIFI"]) * n_served
    n = max(total, 1)
    interrupted = round(figures["customers_interrupted"])
    saifi, saidi = interrupted / n, figures["customer_minutes"] / n
    out = {
        "interruptions": round(figures["interruptions"]),
        "customers_interrupted": interrupted,
        "customer_minutes": round(figures["customer_minutes"], 1),
        "SAIFI": round(saifi, 5),
        "SAIDI": round(saidi, 3),
        "CAIDI": round(saidi / saifi, 3) if saifi else None,
        "CAIFI": None,
        "MAIFI": round(figures["momentary"] / n, 5),
        "ASAI": round(1 - saidi / minutes, 7) if minutes > 0 else None,
    }
    return {**out, **{k: None for k in everything if k.startswith("CEMI-")}}
