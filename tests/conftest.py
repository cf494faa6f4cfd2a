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
from contextlib import contextmanager
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


# ------------------------------------------------------------------- web
@pytest.fixture
def web_db(db_url: str, tmp_path: Path) -> str:
    """``db_url`` with the two-feeder network, customers, units, zones, crews and users.

    Users (password ``secret-pw``): ``ada`` (admin), ``dora`` (dispatcher),
    ``eng`` (engineer), ``k1`` (crew K1), ``k2`` (crew K2).
    """
    from helpers import write_dispatch_files

    from oms.db import connect
    from oms.store import load
    from webmap.accounts import add_user

    net_path, cust_path = write_network_files(tmp_path)
    files = write_dispatch_files(tmp_path)
    engine = connect(db_url)
    load(
        engine,
        network=net_path,
        customers=cust_path,
        crews=files["crews"],
        units=files["units"],
        zones=files["zones"],
    )
    with engine.begin() as conn:
        add_user(conn, "ada", "secret-pw", "admin")
        add_user(conn, "dora", "secret-pw", "dispatcher")
        add_user(conn, "eng", "secret-pw", "engineer")
        add_user(conn, "k1", "secret-pw", "crew", crew="K1")
        add_user(conn, "k2", "secret-pw", "crew", crew="K2")
    engine.dispose()
    return db_url


@pytest.fixture
def app(web_db: str) -> Iterator[object]:
    """A fresh app on a fresh database (no ticking thread: tests tick by hand)."""
    from webmap import create_app

    flask_app = create_app(
        {
            "TESTING": True,
            "OMS_DB": web_db,
            "OMS_TICK_S": 0,
            "SECRET_KEY": "test",
            # Short keep-alives let a live server stop while a page holds /stream.
            "STREAM_KEEPALIVE_S": 0.5,
        }
    )
    yield flask_app
    flask_app.extensions["oms.db"].dispose()


@pytest.fixture
def client(app: object) -> object:
    return app.test_client()  # type: ignore[attr-defined]


def sign_in(client: object, username: str, password: str = "secret-pw") -> str:
    """Sign ``client`` in through the JSON login; returns the CSRF token to send."""
    response = client.post(  # type: ignore[attr-defined]
        "/api/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.get_json()
    token: str = response.get_json()["csrf_token"]
    return token


# --------------------------------------------------------------- browser
CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")


@contextmanager
def serve(app: object, threads: int = 16) -> Iterator[str]:
    """Serve ``app`` with waitress on a free local port; yields its base URL."""
    import socket
    import threading

    from waitress.server import create_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app: object) -> Iterator[str]:
    """The app served by waitress on a free local port; yields its base URL."""
    with serve(app) as base:
        yield base


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser).

    Skipped without Chromium, except under ``CI=true``, where that fails.
    """
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    """A fresh browser context and page (its own cookies and storage)."""
    context = chromium.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
