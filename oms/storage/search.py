"""Search for the dispatcher's one box: customers, network elements, outages, jobs, crews.

What a dispatcher types: a customer's name, phone (national or
international: ``132 8456 8414``, ``+86 132-8456-8414``, ``0086...``),
account, meter, address or id; a node or device id or name (``F10-S1``,
``Jiefang Road #7``); an outage, job or crew id (``OUT-000012``, ``12``,
``CR07``), or its letters and number without the zeros (``out-12``,
``job-3``, ``cr7``). Every word typed must appear (any case) in what is
matched, except such a short id, which finds the ids whose number starts
with it (``out-1``: ``OUT-000001``, then ``OUT-000010``...).

Each hit carries its kind, id, a label, a line of detail, and where to go:
``lon``/``lat``, and the ``outage`` or ``job`` whose detail to open. Hits
are ranked exact (an id, account, meter or phone equal to what was
typed, or a short id's number equal to the id's), then starts-with (a
customer's address whose house number is a number typed, with the other
words in the address, counts as this), then contains; outages, jobs and
crews first. A short id's shorter numbers come first (``OUT-000001``
before ``OUT-000010`` before ``OUT-000100``).

Customers, outages, jobs and crews are read with SQLAlchemy Core (LIKE on
lower-cased text, the same on SQLite and PostgreSQL); nodes and devices
from the network model (ids and names lower-cased into one text per
network, found with one regular-expression scan: about 1 ms for 100,000
elements). Read only; nothing here reads a clock.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from oms.storage import schema
from topology.model import OPERABLE_KINDS, Network

__all__ = ["KINDS", "MAX_LIMIT", "MAX_QUERY", "Hit", "phone_digits", "search"]

#: Kinds of hits, in the order they are listed at equal rank.
KINDS = ("outage", "job", "crew", "customer", "device", "node")
#: The most hits one search answers, and the longest text it takes.
MAX_LIMIT = 100
MAX_QUERY = 100
#: Words of a query beyond this many are ignored.
_MAX_WORDS = 6
#: Digits a phone query needs before it is matched as a phone number.
_PHONE_MIN_DIGITS = 4
_PHONE_LIKE = re.compile(r"^\+?[0-9 ()./-]+$")
#: A short id as typed: letters, perhaps a hyphen, a number (``out-1``, ``cr7``).
_SHORT_ID = re.compile(r"^([a-z]+-?)0*([0-9]+)$")
#: Exact (0), starts with (1), contains (2).
EXACT, PREFIX, CONTAINS = 0, 1, 2


@dataclass(frozen=True)
class Hit:
    """One answer of a search."""

    kind: str
    id: str
    label: str
    detail: str
    rank: int
    lon: float | None = None
    lat: float | None = None
    outage: str | None = None
    job: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def phone_digits(text: str) -> str | None:
    """The digits of a phone number as typed, without the international or trunk
    prefix (``+``, ``00``, a leading ``0``), or None when ``text`` is no phone number.

    What is left is found inside the stored number's digits, so a national
    number (``0539 2345678``) finds its international form (``+865392345678``).
    """
    if not _PHONE_LIKE.match(text):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.lstrip().startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits if len(digits) >= _PHONE_MIN_DIGITS else None


def search(conn: Connection, net: Network | None, text: str, limit: int = 20) -> list[Hit]:
    """The best ``limit`` hits for ``text`` (ranked, then by kind).

    ``net`` is the network as operated (None: no nodes or devices are
    searched). O(rows scanned by LIKE + network elements matched).
    """
    text = " ".join(text.split())[:MAX_QUERY]
    words = text.lower().split()[:_MAX_WORDS]
    if not words:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    query = _Query(text.lower(), words, phone_digits(text), limit)
    hits: list[Hit] = []
    hits += _outages(conn, query, net)
    hits += _jobs(conn, query)
    hits += _crews(conn, query)
    hits += _customers(conn, query, net)
    if net is not None:
        hits += _elements(net, query)
    order = {k: i for i, k in enumerate(KINDS)}
    hits.sort(key=lambda h: (h.rank, order[h.kind]))
    return hits[:limit]


@dataclass(frozen=True)
class _Query:
    text: str  # the whole text, lower case
    words: list[str]
    phone: str | None
    limit: int

    @property
    def numbers(self) -> list[str]:
        """The words that are numbers (a house number, say)."""
        return [w for w in self.words if w.isdigit()]


# ------------------------------------------------------------------ SQL side
def _lower(*columns: ColumnElement[Any]) -> ColumnElement[str]:
    """The columns' text, lower case, joined by spaces (NULL as empty)."""
    joined: ColumnElement[Any] = func.coalesce(columns[0], "")
    for c in columns[1:]:
        joined = joined + literal(" ", String) + func.coalesce(c, "")
    return func.lower(joined)


def _every_word(haystack: ColumnElement[str], words: Sequence[str]) -> ColumnElement[bool]:
    return and_(*(haystack.contains(w, autoescape=True) for w in words))


def _digits(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A phone column without the usual separators (the same SQL on both databases)."""
    out: ColumnElement[Any] = func.coalesce(column, "")
    for ch in (" ", "-", "(", ")", ".", "/", "+"):
        out = func.replace(out, ch, "")
    return out


def _rank(exact: list[ColumnElement[bool]], prefix: list[ColumnElement[bool]]) -> Any:
    return case((or_(*exact), EXACT), (or_(*prefix), PREFIX), else_=CONTAINS)


def _is(column: ColumnElement[Any], q: _Query) -> ColumnElement[bool]:
    return func.lower(column) == q.text


def _starts(column: ColumnElement[Any], q: _Query) -> ColumnElement[bool]:
    return func.lower(column).startswith(q.text, autoescape=True)


def _outages(conn: Connection, q: _Query, net: Network | None) -> list[Hit]:
    o = schema.outages
    short = _short_id(o.c.id, _lower(o.c.id, o.c.device, o.c.customer), q)
    rank = _rank(
        [_is(o.c.id, q), _number_is(o.c.id, q), short.exact], [_starts(o.c.id, q), short.prefix]
    )
    withdrawn = o.c.state == "cancelled"
    rows = conn.execute(
        select(o.c.id, o.c.kind, o.c.state, o.c.device, o.c.customer, o.c.customers_out)
        .add_columns(rank.label("rank"))
        .where(short.match)
        .order_by("rank", *short.order, withdrawn, o.c.started.desc())
        .limit(q.limit)
    ).all()
    hits = []
    for r in rows:
        where = r.device or f"customer {r.customer}"
        lon, lat = _position(net, r.device, None, r.customer)
        hits.append(
            Hit(
                "outage",
                r.id,
                f"{r.id} · {where}",
                f"{r.state} · {r.kind.replace('_', ' ')} · {r.customers_out} out",
                int(r.rank),
                lon,
                lat,
                outage=r.id,
            )
        )
    return hits


@dataclass(frozen=True)
class _ShortId:
    """What a short id typed (``out-1``) asks of an id column: its words matched
    (each word found in the haystack, or the id's number starting with it), the
    id's number equal to it (exact) or starting with it (prefix), and the order of
    its hits: fewer digits first, then by id."""

    match: ColumnElement[bool]
    exact: ColumnElement[bool]
    prefix: ColumnElement[bool]
    order: tuple[ColumnElement[Any], ...]


def _short_id(column: ColumnElement[Any], haystack: ColumnElement[str], q: _Query) -> _ShortId:
    """``column``'s id read as letters and a number without its zeros, against each word."""
    each = []
    exact: ColumnElement[bool] = literal(False)
    prefix: ColumnElement[bool] = literal(False)
    order: tuple[ColumnElement[Any], ...] = ()
    for w in q.words:
        found = haystack.contains(w, autoescape=True)
        m = _SHORT_ID.match(w)
        if m:
            letters, number = m.groups()
            # ltrim(substr(...), '0'): the id's number without its zeros (both databases).
            tail = func.ltrim(func.substr(func.lower(column), len(letters) + 1), "0")
            starts = and_(func.lower(column).startswith(letters), tail.startswith(number))
            found = or_(found, starts)
            if len(q.words) == 1:
                exact = and_(func.lower(column).startswith(letters), tail == number)
                prefix = starts
                order = (case((starts, func.length(tail)), else_=99), column)
        each.append(found)
    return _ShortId(and_(*each), exact, prefix, order)


def _number_is(column: ColumnElement[Any], q: _Query) -> ColumnElement[bool]:
    """An id's number typed alone: ``12`` is ``OUT-000012``."""
    if not q.text.isdigit():
        return literal(False)
    return func.lower(column).endswith("-" + q.text.zfill(6), autoescape=True)


def _jobs(conn: Connection, q: _Query) -> list[Hit]:
    j = schema.jobs
    haystack = _lower(j.c.id, j.c.outage, j.c.device, j.c.customer, j.c.crew)
    short = _short_id(j.c.id, haystack, q)
    rank = _rank(
        [_is(j.c.id, q), _number_is(j.c.id, q), short.exact], [_starts(j.c.id, q), short.prefix]
    )
    done = j.c.state.in_(("closed", "cancelled"))
    rows = conn.execute(
        select(j.c.id, j.c.outage, j.c.state, j.c.crew, j.c.device, j.c.customer, j.c.lon, j.c.lat)
        .add_columns(rank.label("rank"))
        .where(short.match)
        .order_by("rank", *short.order, done, j.c.id.desc())
        .limit(q.limit)
    ).all()
    return [
        Hit(
            "job",
            r.id,
            f"{r.id} · {r.device or f'customer {r.customer}'}",
            f"{r.state.replace('_', ' ')}" + (f" · crew {r.crew}" if r.crew else " · no crew"),
            int(r.rank),
            r.lon,
            r.lat,
            outage=r.outage,
            job=r.id,
        )
        for r in rows
    ]


def _crews(conn: Connection, q: _Query) -> list[Hit]:
    c, s = schema.crews, schema.crew_state
    short = _short_id(c.c.id, _lower(c.c.id, c.c.name, c.c.unit, c.c.zone), q)
    exact = [_is(c.c.id, q), short.exact]
    found = short.match
    if q.phone:
        exact.append(_digits(c.c.phone).endswith(q.phone, autoescape=True))
        found = or_(found, _digits(c.c.phone).contains(q.phone, autoescape=True))
    rank = _rank(exact, [_starts(c.c.id, q), _starts(c.c.name, q), short.prefix])
    rows = conn.execute(
        select(c.c.id, c.c.name, c.c.unit, c.c.lon, c.c.lat, s.c.status)
        .add_columns(s.c.lon.label("at_lon"), s.c.lat.label("at_lat"), rank.label("rank"))
        .select_from(c.outerjoin(s, s.c.crew == c.c.id))
        .where(found)
        .order_by("rank", *short.order, c.c.id)
        .limit(q.limit)
    ).all()
    hits = []
    for r in rows:
        at = (r.at_lon, r.at_lat) if r.at_lat is not None else (r.lon, r.lat)
        status = (r.status or "available").replace("_", " ")
        label = f"{r.id} · {r.name}" if r.name else r.id
        hits.append(Hit("crew", r.id, label, f"{status} · {r.unit or ''}", int(r.rank), *at))
    return hits


def _customers(conn: Connection, q: _Query, net: Network | None) -> list[Hit]:
    c = schema.customers
    text = _lower(c.c.id, c.c.name, c.c.address, c.c.account, c.c.meter, c.c.node)
    found = _every_word(text, q.words)
    exact = [_is(c.c.id, q), _is(c.c.account, q), _is(c.c.meter, q)]
    if q.phone:
        exact.append(_digits(c.c.phone).endswith(q.phone, autoescape=True))
        found = or_(found, _digits(c.c.phone).contains(q.phone, autoescape=True))
    rank = _rank(exact, [_starts(c.c.name, q), _starts(c.c.id, q), _house(c.c.address, q)])
    rows = conn.execute(
        select(c.c.id, c.c.node, c.c.name, c.c.phone, c.c.address, c.c.lon, c.c.lat, c.c.critical)
        .add_columns(rank.label("rank"))
        .where(found)
        .order_by("rank", c.c.critical.is_(None), c.c.name, c.c.id)
        .limit(q.limit)
    ).all()
    single = _single_outages(conn, [r.id for r in rows])
    hits = []
    for r in rows:
        lon, lat = (r.lon, r.lat) if r.lat is not None else _position(net, None, r.node, None)
        parts = [r.id, r.address, r.phone, (r.critical or "").replace("_", " ")]
        hits.append(
            Hit(
                "customer",
                r.id,
                r.name or r.id,
                " · ".join(p for p in parts if p),
                int(r.rank),
                lon,
                lat,
                outage=single.get(r.id),
            )
        )
    return hits


def _house(address: ColumnElement[Any], q: _Query) -> ColumnElement[bool]:
    """The address's house number is a number typed, its other words in the address:
    ``Jiefang Road 6`` is ``6 Jiefang Road`` and ``Flat 101, 6 Jiefang Road``, before
    ``16`` or ``29 Jiefang Road`` (the house number: first, or first after a comma)."""
    text = func.lower(func.coalesce(address, ""))
    return or_(
        literal(False),
        *(
            and_(
                or_(text.startswith(n + " "), text.contains(f", {n} ")),
                *(text.contains(w, autoescape=True) for w in q.words if w != n),
            )
            for n in q.numbers
        ),
    )


def _single_outages(conn: Connection, customers: list[str]) -> dict[str, str]:
    """The active single-customer outage of each of these customers."""
    if not customers:
        return {}
    o = schema.outages
    rows = conn.execute(
        select(o.c.customer, o.c.id).where(
            o.c.customer.in_(customers),
            o.c.kind == "single_customer",
            o.c.state.in_(("predicted", "confirmed")),
        )
    ).all()
    return {r.customer: r.id for r in rows}


# -------------------------------------------------------------- network side
class _Names:
    """The ids and names of a network's nodes or edges, lower case, one line each
    in one text: a regular-expression scan finds every line holding a word."""

    def __init__(self, ids: Sequence[str], names: Sequence[str | None]) -> None:
        self.lines = [f"{i}\t{n or ''}".lower() for i, n in zip(ids, names, strict=True)]
        self.text = "\n".join(self.lines)
        self.starts: list[int] = []
        at = 0
        for line in self.lines:
            self.starts.append(at)
            at += len(line) + 1
        self.exact = {i.lower(): k for k, i in enumerate(ids)}

    def find(self, words: list[str], cap: int) -> list[int]:
        """Positions of the elements whose line holds every word (at most ``cap``)."""
        longest = max(words, key=len)
        found: list[int] = []
        last = -1
        for m in re.finditer(re.escape(longest), self.text):
            k = bisect_right(self.starts, m.start()) - 1
            if k == last:
                continue
            last = k
            if all(w in self.lines[k] for w in words):
                found.append(k)
                if len(found) >= cap:
                    break
        return found


_cache_lock = threading.Lock()
#: Per network model (its id lists, shared by every view of it): the name indexes.
_indexes: dict[int, tuple[object, _Names, _Names]] = {}


def _names(net: Network) -> tuple[_Names, _Names]:
    """The node and edge indexes of ``net``'s model, built once per model."""
    key = id(net.edge_ids)
    with _cache_lock:
        held = _indexes.get(key)
        if held is None or held[0] is not net.edge_ids:
            held = (
                net.edge_ids,
                _Names(net.node_ids, net.node_name),
                _Names(net.edge_ids, net.edge_name),
            )
            _indexes.clear()  # one model at a time: the latest version
            _indexes[key] = held
    return held[1], held[2]


def _elements(net: Network, q: _Query) -> list[Hit]:
    nodes, edges = _names(net)
    cap = max(q.limit * 20, 200)
    hits = [_edge_hit(net, e, _line_rank(edges, e, q)) for e in _found(edges, q, cap)]
    hits += [_node_hit(net, v, _line_rank(nodes, v, q)) for v in _found(nodes, q, cap)]
    # Devices before conductors, premises (nodes with customers) before bare poles.
    hits.sort(key=lambda h: (h.rank, h.kind == "node", h.detail in _PLAIN))
    return hits[: q.limit * 2]


#: What a hit on a plain conductor or a node with nobody on it says.
_PLAIN = frozenset({"line", "cable", "0 customers"})


def _found(index: _Names, q: _Query, cap: int) -> list[int]:
    exact = index.exact.get(q.text)
    found = index.find(q.words, cap)
    if exact is not None and exact not in found:
        found.insert(0, exact)
    return found


def _line_rank(index: _Names, k: int, q: _Query) -> int:
    ident, _, name = index.lines[k].partition("\t")
    if ident == q.text:
        return EXACT
    if ident.startswith(q.text) or name.startswith(q.text):
        return PREFIX
    return CONTAINS


def _edge_hit(net: Network, e: int, rank: int) -> Hit:
    kind = net.kind_of(e)
    name = net.edge_name[e]
    xy = net.edge_coords(e)
    lon, lat = (float(v) for v in xy[len(xy) // 2]) if len(xy) else (None, None)
    state = "closed" if net.edge_closed[e] else "open"
    detail = f"{kind} · {state}" if kind in OPERABLE_KINDS else kind
    eid = net.edge_ids[e]
    return Hit("device", eid, f"{eid} · {name}" if name else eid, detail, rank, lon, lat)


def _node_hit(net: Network, v: int, rank: int) -> Hit:
    name = net.node_name[v]
    n = int(net.node_customers[v])
    what = "substation" if net.node_source[v] else f"{n} customer{'s' if n != 1 else ''}"
    lon, lat = (float(x) for x in net.node_xy[v])
    nid = net.node_ids[v]
    return Hit("node", nid, f"{nid} · {name}" if name else nid, what, rank, lon, lat)


def _position(
    net: Network | None, edge: str | None, node: str | None, customer: str | None
) -> tuple[Any, Any]:
    """Lon/lat of an edge (its middle), a node or a customer (its own, else its
    node's), or (None, None)."""
    if net is None:
        return None, None
    cust = net.customers
    if customer is not None and cust is not None and customer in cust.index:
        u = cust.index[customer]
        lon, lat = cust.get("lon", u), cust.get("lat", u)
        if lon is not None and lat is not None:
            return float(lon), float(lat)
        node = net.node_ids[int(cust.node[u])]
    if edge is not None and edge in net.edge_index:
        xy = net.edge_coords(net.edge_index[edge])
        if len(xy):
            lon, lat = xy[len(xy) // 2]
            return float(lon), float(lat)
    if node is not None and node in net.node_index:
        lon, lat = net.node_xy[net.node_index[node]]
        return float(lon), float(lat)
    return None, None
