"""The dispatcher's search box: ``GET /api/search`` (SQLite and PostgreSQL).

The two-feeder network of ``helpers`` with its customers, crews and a
lockout; two customers are given a Chinese mobile and landline number, an
account and an address, as the demo's customers have.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from conftest import User
from flask import Flask
from sqlalchemy import create_engine, insert, select, update
from test_api import ok, trip

from oms.storage import schema
from oms.storage.search import phone_digits

MOBILE, LANDLINE = "+8613284568414", "+865392345678"


@pytest.fixture
def people(app: Flask, dora: User) -> None:
    """a9-2 has a mobile, an account and an address; c2-3 a landline."""
    engine = create_engine(app.config["OMS_DB"])
    c = schema.customers
    with engine.begin() as conn:
        conn.execute(
            update(c)
            .where(c.c.id == "a9-2")
            .values(name="Yu Yuxin", phone=MOBILE, account="5397377318", address="2 Jiefang Road")
        )
        conn.execute(update(c).where(c.c.id == "c2-3").values(phone=LANDLINE))
    engine.dispose()


def find(user: User, q: str, **params: Any) -> list[dict[str, Any]]:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    hits: list[dict[str, Any]] = ok(user.get(f"/api/search?q={quote(q)}{extra}"))
    return hits


def first(user: User, q: str) -> dict[str, Any]:
    hits = find(user, q)
    assert hits, f"nothing found for {q!r}"
    return hits[0]


# -------------------------------------------------------------------- who
def test_search_is_for_staff_only(app: Flask, dora: User, eng: User, ada: User, k1: User) -> None:
    anonymous = app.test_client()
    assert anonymous.get("/api/search?q=a9").status_code == 401
    assert k1.get("/api/search?q=a9").status_code == 403  # no customer lookups on a handheld
    for user in (dora, eng, ada):
        assert find(user, "a9-1")[0]["id"] == "a9-1"


def test_the_query_is_checked(dora: User) -> None:
    assert dora.get("/api/search").status_code == 400
    assert dora.get("/api/search?q=").status_code == 400
    assert dora.get("/api/search?q=" + "x" * 101).status_code == 400
    assert dora.get("/api/search?q=a&limit=0").status_code == 400
    assert dora.get("/api/search?q=a&limit=101").status_code == 400
    assert len(find(dora, "a", limit=3)) == 3
    assert find(dora, "%") == [] and find(dora, "_") == []  # no LIKE wildcards


# -------------------------------------------------------------- customers
@pytest.mark.parametrize(
    "typed", ["132 8456 8414", "13284568414", "+86 132-8456-8414", "0086 132 8456 8414"]
)
def test_a_mobile_in_national_or_international_format(dora: User, people: None, typed: str) -> None:
    hit = first(dora, typed)
    assert (hit["kind"], hit["id"], hit["rank"]) == ("customer", "a9-2", 0)
    assert hit["label"] == "Yu Yuxin" and MOBILE in hit["detail"]


def test_a_landline_with_its_trunk_prefix(dora: User, people: None) -> None:
    hit = first(dora, "0539 234 5678")
    assert (hit["id"], hit["rank"]) == ("c2-3", 0)
    assert first(dora, "(0539) 2345678")["id"] == "c2-3"


def test_phone_digits_drop_the_prefixes() -> None:
    assert phone_digits("0539 2345678") == "5392345678"
    assert phone_digits("0086 132") == "86132"  # the international prefix, not the code
    assert phone_digits("+86 132-8456-8414") == "8613284568414"
    assert phone_digits("Jiefang") is None and phone_digits("12") is None


def test_customers_by_name_account_meter_address_and_id(dora: User, people: None) -> None:
    assert first(dora, "yu yuxin")["id"] == "a9-2"  # any case, every word
    assert first(dora, "Yuxin Yu")["id"] == "a9-2"  # in any order
    assert (first(dora, "5397377318")["id"], first(dora, "5397377318")["rank"]) == ("a9-2", 0)
    assert first(dora, "M-a9-3")["id"] == "a9-3"
    assert first(dora, "jiefang")["id"] == "a9-2"
    hit = first(dora, "a9-1")
    assert hit["kind"] == "customer" and "life support" in hit["detail"]
    assert hit["lon"] == pytest.approx(8.4 + 3 * 0.00137) and hit["lat"] is not None
    assert find(dora, "nobody by that name") == []


# ---------------------------------------------------------------- network
def test_devices_and_nodes_by_id_and_name(dora: User) -> None:
    hit = first(dora, "sw1")
    assert (hit["kind"], hit["id"], hit["rank"]) == ("device", "SW1", 0)
    assert "switch" in hit["detail"] and "closed" in hit["detail"]
    assert hit["lon"] is not None and hit["lat"] is not None
    assert "open" in first(dora, "TIE1")["detail"]
    hit = first(dora, "Substation 2")
    assert (hit["kind"], hit["id"]) == ("node", "S2")
    node = next(h for h in find(dora, "b3", limit=50) if h["kind"] == "node")
    assert node["id"] == "b3" and node["detail"] == "4 customers"


# ------------------------------------------------- outages, jobs and crews
def test_outages_and_jobs_by_id_number_and_device(dora: User) -> None:
    trip(dora, "s1", "B1")
    hit = first(dora, "OUT-000001")
    assert (hit["kind"], hit["outage"], hit["rank"]) == ("outage", "OUT-000001", 0)
    assert "B1" in hit["label"] and "confirmed" in hit["detail"]
    assert hit["lon"] is not None
    by_number = find(dora, "1")[:2]
    assert {(h["kind"], h["id"]) for h in by_number} == {
        ("outage", "OUT-000001"),
        ("job", "JOB-000001"),
    }
    job = first(dora, "job-000001")
    assert (job["job"], job["outage"]) == ("JOB-000001", "OUT-000001")
    kinds = [h["kind"] for h in find(dora, "B1")]
    assert kinds[0] == "device" and "outage" in kinds and "job" in kinds


def test_crews_by_id_name_and_phone(dora: User) -> None:
    hit = first(dora, "K2")
    assert (hit["kind"], hit["id"], hit["rank"]) == ("crew", "K2", 0)
    assert hit["label"] == "K2 · East line crew" and hit["lon"] is not None
    assert first(dora, "west line")["id"] == "K1"


def _copies(app: Flask, table: Any, of: str, ids: list[str]) -> None:
    """Rows of ``table`` like ``of``'s under other ids (OUT-000010 beside OUT-000001)."""
    engine = create_engine(app.config["OMS_DB"])
    with engine.begin() as conn:
        row = dict(conn.execute(select(table).where(table.c.id == of)).mappings().one())
        conn.execute(insert(table), [{**row, "id": i} for i in ids])
    engine.dispose()


def test_a_short_id_finds_the_ids_whose_number_starts_with_it(app: Flask, dora: User) -> None:
    trip(dora, "s1", "B1")
    _copies(app, schema.outages, "OUT-000001", ["OUT-000100", "OUT-000012", "OUT-000010"])
    _copies(app, schema.jobs, "JOB-000001", ["JOB-000011"])
    hits = [(h["kind"], h["id"], h["rank"]) for h in find(dora, "out-1")]
    # The number itself first, then the ids with more digits, fewest first.
    assert hits == [
        ("outage", "OUT-000001", 0),
        ("outage", "OUT-000010", 1),
        ("outage", "OUT-000012", 1),
        ("outage", "OUT-000100", 1),
    ]
    assert [h["id"] for h in find(dora, "OUT-12")] == ["OUT-000012"]
    assert [h["id"] for h in find(dora, "out-0001")][:2] == ["OUT-000001", "OUT-000010"]
    jobs = [(h["id"], h["rank"]) for h in find(dora, "job-1")]
    assert jobs == [("JOB-000001", 0), ("JOB-000011", 1)]
    assert find(dora, "out-2") == [] and find(dora, "job-2") == []
    # With another word: each word must still be found (the device, here).
    assert {h["id"] for h in find(dora, "out-1 b1")} == {
        "OUT-000001",
        "OUT-000010",
        "OUT-000012",
        "OUT-000100",
    }
    assert find(dora, "out-1 b2") == []


def test_a_short_crew_id(app: Flask, dora: User) -> None:
    _copies(app, schema.crews, "K1", ["CR01", "CR10", "CR02"])
    hits = [(h["id"], h["rank"]) for h in find(dora, "cr1") if h["kind"] == "crew"]
    assert hits == [("CR01", 0), ("CR10", 1)]
    assert first(dora, "CR2")["id"] == "CR02"


def test_the_house_number_typed_comes_first(app: Flask, dora: User, people: None) -> None:
    """'Jiefang Road 2' is 2 Jiefang Road before 29 Jiefang Road, whatever the names."""
    engine = create_engine(app.config["OMS_DB"])
    c = schema.customers
    with engine.begin() as conn:
        conn.execute(
            update(c).where(c.c.id == "c2-3").values(name="An Ping", address="29 Jiefang Road")
        )
        conn.execute(
            update(c)
            .where(c.c.id == "c2-4")
            .values(name="Ai Lin", address="Flat 2, 12 Jiefang Road")
        )
        conn.execute(  # the demo's flats: the house number after the comma
            update(c)
            .where(c.c.id == "c2-5")
            .values(name="Zhu Li", address="Flat 12, 2 Jiefang Road")
        )
    engine.dispose()
    for typed in ("Jiefang Road 2", "2 jiefang road", "jiefang 2"):
        hits = [h["id"] for h in find(dora, typed) if h["kind"] == "customer"]
        assert set(hits[:2]) == {"a9-2", "c2-5"}, (typed, hits)
        assert set(hits) >= {"a9-2", "c2-3", "c2-4", "c2-5"}
    assert first(dora, "Jiefang Road 29")["id"] == "c2-3"
    assert first(dora, "Jiefang Road 12")["id"] == "c2-4"
