"""Read models served from snapshots: built once per change, served as bytes with an ETag.

In a storm thousands of readers (dispatchers' lists, crews' handhelds,
the public page) ask for the same few documents while the engine is busy
ingesting. Each such read model is a *snapshot* here: its JSON body, built
once and kept in the process with its ETag, then served as bytes until the
database moves on. A request costs one small query (the database's state:
the change feed's last number, the network version and the zones), and a
client that sends the current ETag (``If-None-Match``) gets a 304.

When a snapshot is rebuilt (:func:`due`):

- never while the database is in the state it was built from, unless its
  content depends on the clock too (``timed``: job breaches, crews off
  shift, "as of" times); then once it is ``every`` seconds old;
- after a change, once it is ``every`` seconds old: at most once per
  ``every`` seconds however fast the feed moves, and at most once per
  :data:`COST_SHARE` times its last build's duration, so a view that grows
  slow to build in a long storm never eats more than a quarter of a core.

``every`` is ``OMS_SNAPSHOT_S`` (1 s) for the dispatcher's views and
``OMS_PUBLIC_REFRESH_S`` (10 s) for the public page; 0 rebuilds a view at
every change. Ages are counted on the engine service's clock
(:attr:`webmap.service.EngineService.clock`: the wall clock live,
accelerated in ``oms demo``, moved by hand in tests), never on a clock of
their own.

A request for a snapshot younger than ``every`` costs no query at all;
past that it reads the database's state. One request rebuilds a view; the
others asking for it meanwhile get the snapshot before it (stale while
revalidating, as HTTP caches do), so no reader queues behind a rebuild
once a view exists. What is served is at most ``every`` plus one build
behind the database (for the dispatcher: 1 s and the time a build takes,
which grows with what the view holds). Each process (a gunicorn worker) holds its own
snapshots and reads the state of the one database, so a change committed
through any process is served by every process within that bound. A
view's variants for one role (a crew's own jobs) are derived from the
staff snapshot, never built again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from oms.storage import schema
from webmap.db import get_conn, service
from webmap.openapi.metadata import Answer

__all__ = ["NOT_MODIFIED", "Snapshot", "Snapshots", "database_state", "due", "serve"]

#: The 304 answer of a view served from a snapshot, for its OpenAPI description.
NOT_MODIFIED = Answer("Not modified: the ETag sent in If-None-Match is current.")

#: The most views (keys) a process keeps; the least recently used go first.
MAX_VIEWS = 256
#: A view is rebuilt at most once per this many times its last build took, so
#: that rebuilding one never takes more than a quarter of a core however big
#: the storm makes it (the bound ``every`` stretches while builds are slow).
COST_SHARE = 4.0


def due(
    snapshot: Snapshot | None,
    state: tuple[Any, ...],
    now: datetime,
    every: float,
    timed: bool,
) -> bool:
    """Whether ``snapshot`` must be rebuilt before it is served (see the module doc).

    A clock set back behind the build (tests move their clock by hand)
    rebuilds too: the snapshot's age is then unknown.
    """
    if snapshot is None:
        return True
    age = (now - snapshot.built).total_seconds()
    if age < 0:
        return True
    if state == snapshot.state and not timed:
        return False
    if every <= 0:
        return True  # a bound of 0: at every change, however long builds take
    return age >= max(every, COST_SHARE * snapshot.cost)


@dataclass
class Snapshot:
    """One read model as built: the state it was built from, when, and its body."""

    state: tuple[Any, ...]
    built: datetime
    body: bytes
    etag: str
    #: The document itself, from which a role's variants are derived.
    doc: Any
    #: Seconds its build took (what :func:`due` stretches the bound by).
    cost: float = 0.0
    derived: dict[Hashable, Snapshot] = field(default_factory=dict)

    def derive(
        self, key: Hashable, view: Callable[[Any], Any], dumps: Callable[[Any], str]
    ) -> Snapshot:
        """The variant ``key`` of this snapshot (e.g. one crew's), made once by ``view``."""
        found = self.derived.get(key)
        if found is None:
            found = _snapshot(self.state, self.built, view(self.doc), dumps)
            # Racing threads make the same variant: either copy is right.
            self.derived.setdefault(key, found)
        return found


def _snapshot(
    state: tuple[Any, ...], built: datetime, doc: Any, dumps: Callable[[Any], str]
) -> Snapshot:
    body = dumps(doc).encode()
    return Snapshot(state, built, body, hashlib.sha256(body).hexdigest()[:32], doc)


class Snapshots:
    """A process's snapshots by view key (thread-safe), at most :data:`MAX_VIEWS`."""

    def __init__(self, max_views: int = MAX_VIEWS) -> None:
        self.max_views = max_views
        self._views: OrderedDict[Hashable, Snapshot] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        #: Builds per view key since the process started (what tests and
        #: operators read to see that reads cost no work).
        self.builds: dict[Hashable, int] = {}

    def get(
        self,
        key: Hashable,
        state: Callable[[], tuple[Any, ...]],
        now: datetime,
        every: float,
        timed: bool,
        build: Callable[[], Any],
        dumps: Callable[[Any], str],
    ) -> Snapshot:
        """The snapshot of view ``key``, rebuilt by ``build`` first when :func:`due`.

        ``state`` reads the database's state; it is not asked while the
        snapshot is younger than ``every`` (nothing is due then, whatever
        changed). While one request rebuilds a view, the others get the
        snapshot before it (stale while revalidating); only a view never
        built yet makes them wait.
        """
        found = self._peek(key)
        age = None if found is None else (now - found.built).total_seconds()
        if found is not None and age is not None and 0 <= age < every:
            return found
        current = state()
        if not due(found, current, now, every, timed):
            assert found is not None
            return found
        lock = self._build_lock(key)
        if found is not None and age is not None and age >= 0:
            if not lock.acquire(blocking=False):
                return found  # another request is rebuilding it: never queue behind a build
        else:
            lock.acquire()
        try:
            found = self._peek(key)  # another request may have rebuilt it meanwhile
            if not due(found, current, now, every, timed):
                assert found is not None
                return found
            started = time.perf_counter()  # a duration, not a reading of the clock
            made = _snapshot(current, now, build(), dumps)
            made.cost = time.perf_counter() - started
            with self._lock:
                self._views[key] = made
                self._views.move_to_end(key)
                self.builds[key] = self.builds.get(key, 0) + 1
                while len(self._views) > self.max_views:
                    old, _ = self._views.popitem(last=False)
                    self._locks.pop(old, None)
                    self.builds.pop(old, None)
            return made
        finally:
            lock.release()

    def _peek(self, key: Hashable) -> Snapshot | None:
        with self._lock:
            found = self._views.get(key)
            if found is not None:
                self._views.move_to_end(key)
            return found

    def _build_lock(self, key: Hashable) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())


def database_state(conn: Connection) -> tuple[Any, ...]:
    """What a snapshot is current for: the change feed's last number, the
    network version and the number of zones, in one query (indexed maxima)."""
    row = conn.execute(
        select(
            select(func.max(schema.changes.c.seq)).scalar_subquery(),
            select(func.max(schema.network_versions.c.version)).scalar_subquery(),
            select(func.count()).select_from(schema.zones).scalar_subquery(),
        )
    ).one()
    return tuple(row)


def _store() -> Snapshots:
    store = current_app.extensions.get("oms.snapshots")
    if store is None:
        store = current_app.extensions.setdefault("oms.snapshots", Snapshots())
    assert isinstance(store, Snapshots)
    return store


def serve(
    key: Hashable,
    build: Callable[[], Any],
    *,
    timed: bool,
    public: bool = False,
    variant: tuple[Hashable, Callable[[Any], Any]] | None = None,
    mimetype: str = "application/json",
) -> Any:
    """Answer a GET with view ``key``'s snapshot (built by ``build`` when due).

    ``public``: the public page's bound (``OMS_PUBLIC_REFRESH_S``) and
    ``Cache-Control: public`` with a ``max-age`` that ends when the bound
    does, so a proxy never keeps it longer; else the dispatcher's bound
    (``OMS_SNAPSHOT_S``) and ``private, no-cache`` (revalidate: a 304 when
    unchanged). ``variant``: (its key, a function of the document) for what
    one role sees of it, e.g. a crew's own jobs. 304 to a client whose
    ``If-None-Match`` holds the ETag.
    """
    cfg = current_app.config
    every = float(cfg["OMS_PUBLIC_REFRESH_S"] if public else cfg["OMS_SNAPSHOT_S"])
    now = service().clock()
    dumps = current_app.json.dumps
    snapshot = _store().get(
        key, lambda: database_state(get_conn()), now, every, timed, build, dumps
    )
    if variant is not None:
        snapshot = snapshot.derive(variant[0], variant[1], dumps)
    response = Response(snapshot.body, mimetype=mimetype)
    response.set_etag(snapshot.etag)
    if public:
        # A proxy may keep it until it would be rebuilt here.
        left = every - (now - snapshot.built).total_seconds()
        response.headers["Cache-Control"] = f"public, max-age={max(int(left), 0)}"
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)
