"""Critical customers are never cut from a list (SQLite and PostgreSQL).

The test network's customers are loaded again with 13 critical customers
below breaker B1 (a5's six at a hospital, a6's seven on life support)
besides a9-1 (life support, behind fuse F1). B1 locks out: its outage has
27 customers out, 14 of them critical. The outage panel lists every one of
them whatever its cap, and the crew's handheld lists the first by reason
over all of them.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import T0, Clock, User
from flask import Flask
from helpers import customers_csv, two_feeders
from test_api import ev, ok, outage_at

#: The critical reasons of the reloaded customers file, by node.
REASONS = {"a5": "hospital", "a6": "life_support"}
CRITICAL = [f"a5-{k}" for k in range(1, 7)] + [f"a6-{k}" for k in range(1, 8)] + ["a9-1"]
TOTAL = 27  # below B1: a1 2, a3 3, a4 4, a5 6, a6 7, a9 5


def load_critical(app: Flask, tmp_path: Path) -> None:
    """The customers file with :data:`REASONS` (as ``oms load --customers`` would)."""
    from oms.storage.loading import load

    rows = list(csv.reader(io.StringIO(customers_csv(two_feeders()))))
    at = rows[0].index("critical")
    for row in rows[1:]:
        row[at] = REASONS.get(row[1], row[at])
    path = tmp_path / "customers-critical.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    assert load(app.extensions["oms.storage.db"], customers=path)["changed"] is True


@pytest.fixture
def dora(app: Flask, tmp_path: Path) -> User:
    clock = Clock(T0 + timedelta(minutes=5))
    app.extensions["oms.service"].clock = clock
    load_critical(app, tmp_path)
    user = User(app, "dora")
    ok(user.post("/api/events", json=ev("c1", "call", 0, customer="a4-1")))
    lockout = ev("s1", "scada", 60, device="B1", state="open", lockout=True)
    ok(user.post("/api/events", json=lockout))
    clock.now = T0 + timedelta(minutes=10)
    return user


def panel_customers(user: User, outage: str, cap: int) -> dict[str, Any]:
    found: dict[str, Any] = ok(user.get(f"/api/outages/{outage}/detail?customers={cap}"))
    return found["customers"]


def test_the_panel_lists_every_critical_customer_whatever_its_cap(dora: User) -> None:
    outage = outage_at(dora, "B1")["id"]
    for cap in (1, 3, 12):
        out = panel_customers(dora, outage, cap)
        ids = [c["id"] for c in out["listed"]]
        assert sorted(ids) == sorted(CRITICAL), cap  # all of them, and nobody else
        assert out["critical"] == len(CRITICAL) == sum(1 for c in out["listed"] if c["critical"])
        assert out["total"] == TOTAL and out["more"] == TOTAL - len(CRITICAL)
    # Room left under the cap: the caller next, then the others by id.
    out = panel_customers(dora, outage, 16)
    ids = [c["id"] for c in out["listed"]]
    assert ids[:14] == CRITICAL and ids[14:] == ["a4-1", "a1-1"]
    assert out["more"] == TOTAL - 16
    everyone = panel_customers(dora, outage, 100)
    assert len(everyone["listed"]) == TOTAL and everyone["more"] == 0


def test_the_handheld_lists_the_first_critical_premises_by_reason_over_all(
    dora: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webmap.job_field

    job = next(j for j in ok(dora.get("/api/jobs")) if j["device"] == "B1")
    monkeypatch.setattr(webmap.job_field, "CRITICAL_LIMIT", 4)
    premises = ok(dora.get(f"/api/jobs/{job['id']}"))["critical_premises"]
    assert premises["total"] == len(CRITICAL)
    # Hospitals before life support (by reason), then by address and id.
    assert [(p["id"], p["critical"]) for p in premises["listed"]] == [
        (f"a5-{k}", "hospital") for k in range(1, 5)
    ]
    monkeypatch.setattr(webmap.job_field, "CRITICAL_LIMIT", 50)
    premises = ok(dora.get(f"/api/jobs/{job['id']}"))["critical_premises"]
    assert [p["id"] for p in premises["listed"]] == CRITICAL
