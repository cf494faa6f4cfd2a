"""``oms demo``: the whole system on the demo network, with a storm at accelerated time.

:func:`prepare` makes a fresh SQLite database with the demo network,
customers, crews, units, zones and roads, and demo users. :class:`DemoStorm`
plays simulated storms against the server's engine: calls, last gasps and
SCADA trips arrive as the accelerated clock reaches them, the engine locates
the faults and dispatches crews (``auto_dispatch``), simulated crews accept,
drive along the roads reporting GPS, arrive, repair and restore, and the
AMI head-end answers the engine's pings. When a storm is over the next one
begins, until the demo is stopped.

The simulated day starts at 09:00 UTC of today, so the day shift is on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from oms.config import EngineConfig
from oms.demodata import demo_files, demo_network
from oms.simulation.crews import CrewSimulator
from oms.simulation.replay import LiveReplay
from oms.simulation.storms import HeadEnd, StormParams, simulate_storm
from oms.storage import schema
from oms.storage.db import connect
from oms.storage.loading import load
from webmap.accounts import add_user, hash_password
from webmap.service import EngineService

__all__ = [
    "DEMO_USERS",
    "AcceleratedClock",
    "DemoStorm",
    "StormSettings",
    "demo_config",
    "demo_start",
    "prepare",
    "summary",
]

log = logging.getLogger(__name__)

#: Demo sign-ins: (user, password, role, crew).
DEMO_USERS = (
    ("dispatcher", "dispatch-demo", "dispatcher", None),
    ("engineer", "engineer-demo", "engineer", None),
    ("admin", "admin-demo", "admin", None),
)
CREW_PASSWORD = "crew-demo"


class AcceleratedClock:
    """Simulated time: ``start`` plus ``speed`` times the real time elapsed."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


def demo_config() -> EngineConfig:
    """The engine as the server runs it: crews dispatched automatically."""
    base = EngineConfig()
    return replace(base, dispatch=replace(base.dispatch, auto_dispatch=True))


def prepare(path: Path) -> list[tuple[str, str, str, str | None]]:
    """A fresh demo database at ``path``; returns the sign-ins (user, password, role, crew)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = connect(f"sqlite:///{path}")
    load(engine, **demo_files())
    users: list[tuple[str, str, str, str | None]] = list(DEMO_USERS)
    with engine.begin() as conn:
        for name, password, role, crew in DEMO_USERS:
            add_user(conn, name, password, role, crew)
        crews = list(conn.execute(select(schema.crews.c.id).order_by(schema.crews.c.id)).scalars())
        # Every demo crew has the same password: hash it once (scrypt is slow
        # on purpose), so the demo serves within seconds.
        shared = hash_password(CREW_PASSWORD)
        now = datetime.now(timezone.utc)
        rows = [
            {
                "username": c.lower(),
                "password_hash": shared,
                "role": "crew",
                "crew": c,
                "created_at": now,
                "disabled": False,
            }
            for c in crews
        ]
        if rows:
            conn.execute(insert(schema.users), rows)
        users += [(c.lower(), CREW_PASSWORD, "crew", c) for c in crews]
    engine.dispose()
    return users


@dataclass
class StormSettings:
    faults: int | None = None
    span_min: float = 60.0
    seed: int = 1


class DemoStorm(threading.Thread):
    """Plays storm after storm against ``service`` at its (accelerated) clock."""

    def __init__(self, service: EngineService, settings: StormSettings, step_s: float = 0.25):
        super().__init__(name="oms-demo-storm", daemon=True)
        self.service = service
        self.settings = settings
        self.step_s = step_s
        self.stopping = threading.Event()
        self.storms = 0
        self.net = demo_network()
        self.current: LiveReplay | None = None

    def _new_storm(self, start: datetime) -> LiveReplay:
        seed = self.settings.seed + self.storms
        params = StormParams(
            faults=self.settings.faults,
            span_minutes=self.settings.span_min,
            seed=seed,
            start=start,
        )
        scenario = simulate_storm(self.net, params)
        self.storms += 1
        log.info("storm %d: %d events from %s", self.storms, len(scenario.events), start)
        return LiveReplay(
            self.service.engine,
            scenario.events,
            HeadEnd(self.net, scenario.truth),
            CrewSimulator(seed=seed, truth=scenario.truth),
        )

    def run(self) -> None:
        while not self.stopping.wait(self.step_s):
            try:
                with self.service.lock:
                    now = self.service.clock()
                    if self.current is None or self.current.finished:
                        start = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
                        self.current = self._new_storm(start)
                    self.current.advance(now)
            except Exception:  # the demo goes on after a bad step
                log.exception("demo storm step failed")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def demo_start() -> datetime:
    """09:00 UTC today: the day shift is on."""
    today = datetime.now(timezone.utc).date()
    return datetime(today.year, today.month, today.day, 9, 0, tzinfo=timezone.utc)


def summary(users: list[tuple[str, str, str, str | None]], base: str, db: str) -> dict[str, Any]:
    crews = [u for u in users if u[2] == "crew"]
    crew = crews[0]
    return {
        # For the command line beside it: oms outages --db URL --json, ...
        "database": {"url": db},
        "dispatcher": {"url": f"{base}/", "user": "dispatcher", "password": "dispatch-demo"},
        "crew_handheld": {"url": f"{base}/crew/", "user": crew[0], "password": crew[1]},
        "public": {"url": f"{base}/public/"},
        "api": {"url": f"{base}/api/openapi.json"},
        # Every sign-in but the crews' (cr01..crNN share one password).
        "accounts": [
            {"user": name, "password": password, "role": role}
            for name, password, role, _ in users
            if role != "crew"
        ]
        + [{"user": "cr01 .. " + crews[-1][0], "password": crew[1], "role": "crew"}],
    }
