"""Shared fixtures: hand-built networks with known answers, and databases.

Storage and engine tests take ``db_url``, which runs them twice: on a fresh
SQLite file and on a fresh schema of the PostgreSQL server named by
``$OMS_TEST_POSTGRES`` (default ``postgresql+psycopg2://postgres@127.0.0.1:5432/test``).
Without that server the PostgreSQL runs are skipped, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import build, two_feeders, write_network_files

from topology import Network

PG_URL = os.environ.get("OMS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def net() -> Network:
    """A fresh copy of the two-feeder network of :func:`helpers.two_feeders`."""
    return build(two_feeders())


def _pg_admin() -> object:
    import sqlalchemy

    return sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a fresh, empty schema on the test PostgreSQL server."""
    import sqlalchemy

    admin = _pg_admin()
    try:
        with admin.connect():  # type: ignore[attr-defined]
            pass
    except sqlalchemy.exc.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is not reachable: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'oms.sqlite'}"
    else:
        yield from postgres_url(request)


@pytest.fixture
def loaded_db(db_url: str, tmp_path: Path) -> str:
    """``db_url`` with the two-feeder network and its metered customers loaded."""
    from oms.db import connect
    from oms.store import load

    net_path, cust_path = write_network_files(tmp_path)
    engine = connect(db_url)
    load(engine, network=net_path, customers=cust_path)
    engine.dispose()
    return db_url
