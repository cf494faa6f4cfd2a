"""Storage: migrations, loading files, network versions, the network as operated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import two_feeders, write, write_network_files
from sqlalchemy import func, select

from oms.exceptions import NotLoadedError, StorageError
from oms.storage import schema
from oms.storage.db import connect, schema_revision
from oms.storage.loading import load, operated_network, stored_network
from topology import NetworkValidationError


def test_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = connect(db_url)
    assert schema_revision(engine) == "0017"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="bad database URL"):
        connect("nonsense://")
    with pytest.raises(StorageError, match="cannot open"):
        connect(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")


def test_load_reports_counts_and_keeps_versions(db_url: str, tmp_path: Path) -> None:
    engine = connect(db_url)
    with pytest.raises(NotLoadedError), engine.connect() as conn:
        stored_network(conn)
    net_path, cust_path = write_network_files(tmp_path)
    doc = load(engine, network=net_path, customers=cust_path)
    assert doc["network_version"] == 1 and doc["changed"] is True
    assert (doc["nodes"], doc["edges"], doc["customers"]) == (18, 18, 61)
    assert any("T1" in w for w in doc["warnings"])  # the meshed substation's loop
    again = load(engine, network=net_path, customers=cust_path)
    assert (again["network_version"], again["changed"]) == (1, False)
    features = two_feeders()
    features[2]["properties"]["name"] = "renamed"
    changed = write(tmp_path, features, name="v2.geojson")
    assert load(engine, network=changed, customers=cust_path)["network_version"] == 2
    with engine.connect() as conn:
        version, net = stored_network(conn)
        assert version == 2
        assert net.customers is not None and len(net.customers) == 61
        rows = conn.execute(select(func.count()).select_from(schema.customers)).scalar()
        assert rows == 61


def test_an_emergency_plan_is_stored_with_its_customer(db_url: str, tmp_path: Path) -> None:
    """Contract 2's ``emergency_plan`` reaches the customers table and the
    stored model; customers without one have none (NULL)."""
    engine = connect(db_url)
    net_path, cust_path = write_network_files(tmp_path)
    lines = cust_path.read_text().splitlines()
    plan = "On-site generator, 48 h fuel; notify facilities desk +1 555 0142; priority restoration"
    rows = [lines[0] + ",emergency_plan"]
    rows += [line + (f',"{plan}"' if line.startswith("a9-1,") else ",") for line in lines[1:]]
    cust_path.write_text("\n".join(rows) + "\n")
    load(engine, network=net_path, customers=cust_path)
    c = schema.customers
    with engine.connect() as conn:
        stored = dict(conn.execute(select(c.c.id, c.c.emergency_plan)).all())
        _, net = stored_network(conn)
    assert stored["a9-1"] == plan
    assert [cid for cid, p in stored.items() if p is not None] == ["a9-1"]
    assert net.customers is not None
    assert net.customers.get("emergency_plan", net.customers.index["a9-1"]) == plan


def test_a_bad_file_writes_nothing(db_url: str, tmp_path: Path) -> None:
    engine = connect(db_url)
    net_path, cust_path = write_network_files(tmp_path)
    load(engine, network=net_path, customers=cust_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,node\nx1,a1\nx2,nowhere\n")
    crews = tmp_path / "crews.csv"
    crews.write_text("id,name,unit,skills,zone,lon,lat\nK1,Crew,U9,line,,8.4,49.0\n")
    with pytest.raises(NetworkValidationError, match="nowhere"):
        load(engine, network=net_path, customers=bad)
    units = tmp_path / "units.csv"
    units.write_text("id,name,first_contact,second_contact,leader\nU1,Unit,+1,,+3\n")
    with pytest.raises(NetworkValidationError, match="second_contact"):
        load(engine, units=units)
    units.write_text("id,name,first_contact,second_contact,leader\nU1,Unit,+1,+2,+3\n")
    with pytest.raises(NetworkValidationError, match="U9"):
        load(engine, units=units, crews=crews)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.network_versions)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(schema.units)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(schema.customers)).scalar() == 61


def test_demo_data_set_loads_whole(db_url: str) -> None:
    from oms.demodata import demo_path

    doc = load(
        connect(db_url),
        network=demo_path("network.geojson"),
        customers=demo_path("customers.csv"),
        crews=demo_path("crews.csv"),
        units=demo_path("units.csv"),
        zones=demo_path("zones.geojson"),
        roads=demo_path("roads.geojson"),
    )
    assert doc["customers"] > 5000
    assert doc["crews"] > 0 and doc["zones"] > 0


def test_operated_network_follows_reported_switching(loaded_db: str) -> None:
    import json
    from datetime import datetime, timezone

    from oms.engine import OutageEngine

    engine = OutageEngine(connect(loaded_db))
    t = datetime(2026, 3, 1, tzinfo=timezone.utc).isoformat()
    report = engine.ingest(
        [
            json.dumps({"id": "s1", "type": "switch", "time": t, "device": "SW1", "state": "open"}),
            json.dumps(
                {"id": "s2", "type": "scada", "time": t, "device": "TIE1", "state": "closed"}
            ),
        ]
    )
    assert report.accepted == 2
    net = operated_network(connect(loaded_db))
    assert not net.edge_closed[net.edge_index["SW1"]]
    assert net.edge_closed[net.edge_index["TIE1"]]


@pytest.mark.postgres
def test_a_missing_schema_and_a_bare_postgresql_url_are_clear(postgres_server: Any) -> None:
    """A URL whose search_path names no schema says to create it (not a
    migration's traceback); ``postgresql://`` takes the installed driver."""
    url = postgres_server.url_of("t_never_made")
    with pytest.raises(StorageError, match=r"does not exist; create it first"):
        connect(url)
    made, _ = postgres_server.create()
    bare = "postgresql://" + made.split("://", 1)[1]
    connect(bare).dispose()


def test_json_columns_take_what_the_json_module_took(tmp_path: Path) -> None:
    """Text with a lone surrogate (a JSON escape such as "\\ud83d" in a
    reason typed by a dispatcher) and keys that are not strings are written
    as the json module wrote them; nothing else in the batch is lost."""
    from oms.storage.db import _json_dumps, _json_loads

    assert _json_loads(_json_dumps({"why": "storm \\ud83d"})) == {"why": "storm \\ud83d"}
    assert _json_loads(_json_dumps({"why": "storm \ud83d"})) == {"why": "storm \ud83d"}
    assert _json_loads(_json_dumps({True: 1, None: 2, 3: [1.5]})) == {
        "true": 1,
        "null": 2,
        "3": [1.5],
    }
    with pytest.raises(TypeError):
        _json_dumps({"x": object()})
