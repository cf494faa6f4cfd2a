"""Shared fixtures: hand-built networks with known answers, and databases.

Storage and engine tests take ``db_url``, which runs them twice: on a fresh
SQLite file and on a fresh schema on the PostgreSQL server named by
``$OMS_TEST_POSTGRES`` (default ``postgresql+psycopg2://postgres@127.0.0.1:5432/test``;
its role needs ``CREATEDB``). Without that server the PostgreSQL runs are
skipped, except under ``CI=true``, where they fail.

Each pytest process (each xdist worker) makes a PostgreSQL database of its
own, ``oms_test_<hex>``, and drops it at the end; each test gets a fresh
schema of it. Advisory locks (the engine's single writer) and NOTIFY
channels (the live feed) are per database, so parallel runs never see each
other's. A run that is killed leaves its database behind (see
docs/testing.md to remove it).

``loaded_db`` and ``web_db`` are ``db_url`` with data in it. Each data set
is loaded once per session and dialect into a template, and each test gets
a copy: of the file for SQLite, of the template schema for PostgreSQL (see
:class:`PostgresServer`). ``db_url`` itself sees which of the two its test
uses (also through other fixtures, such as ``app``) and starts from that
copy; a database it did not start from one is loaded the slow way.

Passwords are hashed with a cheap method (``$OMS_PASSWORD_METHOD``, see
:mod:`webmap.accounts`), set here for the tests and the processes they start.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy
from helpers import build, two_feeders, write_dispatch_files, write_network_files

from oms.config import EngineConfig
from topology import Network

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

# Before anything hashes a password: werkzeug's default scrypt costs about
# 0.25 s a hash (and a sign-in), which the tests need not pay.
os.environ.setdefault("OMS_PASSWORD_METHOD", "pbkdf2:sha256:1000")

PG_URL = os.environ.get("OMS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")

#: The users of ``web_db``: (name, role, crew), all with :data:`PASSWORD`.
USERS = (
    ("ada", "admin", None),
    ("dora", "dispatcher", None),
    ("eng", "engineer", None),
    ("k1", "crew", "K1"),
    ("k2", "crew", "K2"),
)
PASSWORD = "secret-pw"

#: The data sets: ``loaded`` (network and customers), ``web`` (that, units,
#: zones, crews and users); each covers the data sets listed for it.
COVERS = {"loaded": ("loaded",), "web": ("loaded", "web")}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives Chromium is a ``browser`` test, marked or not."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def net() -> Network:
    """A fresh copy of the two-feeder network of :func:`helpers.two_feeders`."""
    return build(two_feeders())


def fill(url: str, data: str, workdir: Path) -> None:
    """Load the data set ``data`` (``loaded`` or ``web``) into the database at ``url``."""
    from oms.storage.db import connect
    from oms.storage.loading import load
    from webmap.accounts import add_user

    net_path, cust_path = write_network_files(workdir)
    engine = connect(url)
    try:
        if data == "loaded":
            load(engine, network=net_path, customers=cust_path)
        else:
            files = write_dispatch_files(workdir)
            load(
                engine,
                network=net_path,
                customers=cust_path,
                crews=files["crews"],
                units=files["units"],
                zones=files["zones"],
            )
            with engine.begin() as conn:
                for name, role, crew in USERS:
                    add_user(conn, name, PASSWORD, role, crew=crew)
    finally:
        engine.dispose()


def _data_wanted(request: pytest.FixtureRequest) -> str | None:
    """The data set the test wants in its ``db_url``, seen from the fixtures it uses."""
    names = request.fixturenames
    if "web_db" in names:
        return "web"
    if "loaded_db" in names:
        return "loaded"
    return None


class SqliteTemplates:
    """The data sets as SQLite files, each built on first use, copied per test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Path] = {}

    def copy(self, data: str, path: Path) -> None:
        if data not in self.files:
            workdir = self.root / data
            shutil.rmtree(workdir, ignore_errors=True)  # what a failed build left
            workdir.mkdir()
            template = workdir / "template.sqlite"
            fill(f"sqlite:///{template}", data, workdir)
            self.files[data] = template
        # SQLite's backup API, not a file copy: a consistent copy whatever the
        # state of the template's WAL (copying the file and its -wal without its
        # -shm once gave "file is not a database" in CI).
        source = sqlite3.connect(self.files[data])
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("db-templates"))


class PostgresServer:
    """The test server: a database of this session, a schema of it per test.

    The session's database (``oms_test_<hex>``, one per pytest process) is
    made at the first PostgreSQL test and dropped with everything in it at
    the end. Each test gets a fresh schema (named in its URL's
    ``search_path``), empty or a copy of a data set: the data set is loaded
    once into a template schema, ``pg_dump`` writes that as SQL, and each
    copy replays the SQL under the test's schema name, in one transaction.
    Without a ``pg_dump`` that can dump the server, each test loads its data
    set itself (as slow as before the templates).
    """

    def __init__(self, url: str, workdirs: pytest.TempPathFactory) -> None:
        self.url = sqlalchemy.engine.make_url(url)
        self.workdirs = workdirs
        self.admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
        self.database: str | None = None
        self.engine: sqlalchemy.Engine | None = None
        #: Per data set: the SQL that makes a copy of its template, or None.
        self.scripts: dict[str, tuple[str, str] | None] = {}

    def _admin(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(sqlalchemy.text(sql))

    def _session_engine(self) -> sqlalchemy.Engine:
        if self.engine is None:
            name = f"oms_test_{uuid.uuid4().hex[:16]}"
            try:
                self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
            except sqlalchemy.exc.ProgrammingError as exc:
                pytest.fail(
                    f"cannot create the test database on {PG_URL}: {exc.orig} "
                    "(the tests need a role with CREATEDB)"
                )
            self.database = name
            self.engine = sqlalchemy.create_engine(
                self.url.set(database=name), pool_pre_ping=True, pool_size=1
            )
        return self.engine

    def url_of(self, schema: str) -> str:
        """The URL of ``schema`` of the session's database."""
        base = self.url.set(database=self.database).render_as_string(hide_password=False)
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}options=-csearch_path%3D{schema}"

    def create(self, data: str | None = None) -> tuple[str, str | None]:
        """A new schema, empty or a copy of ``data``; returns its URL and what was copied."""
        engine = self._session_engine()
        script = self._script(data) if data is not None else None
        name = f"t_{uuid.uuid4().hex[:16]}"
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            if script is None:
                cursor.execute(f'CREATE SCHEMA "{name}"')
            else:
                template, sql = script
                cursor.execute(sql.replace(template, name))  # no parameters: % is literal
            cursor.close()
            raw.commit()
            cursor = raw.cursor()
            cursor.execute("RESET ALL")  # the dump's session settings
            cursor.close()
            raw.commit()
        finally:
            raw.close()
        return self.url_of(name), None if script is None else data

    def _script(self, data: str) -> tuple[str, str] | None:
        """The template schema of ``data`` and the SQL that copies it (None: no pg_dump)."""
        if data not in self.scripts:
            template = f"oms_tpl_{data}_{uuid.uuid4().hex[:8]}"
            with self._session_engine().begin() as conn:
                conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{template}"'))
            fill(self.url_of(template), data, self.workdirs.mktemp(f"pg-{data}"))
            self.scripts[data] = self._dump(template)
        return self.scripts[data]

    def _dump(self, schema: str) -> tuple[str, str] | None:
        pg_dump = shutil.which("pg_dump")
        where = self.url.set(drivername="postgresql", database=self.database)
        command = [
            *(pg_dump or "pg_dump", "--schema", schema, "--no-owner", "--no-privileges"),
            *("--no-tablespaces", "--inserts", "--rows-per-insert=1000"),
            *("--dbname", where.render_as_string(hide_password=False)),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            warnings.warn(
                f"no template copies on PostgreSQL, each test loads its data (slower): "
                f"`pg_dump` failed: {detail}",
                stacklevel=1,
            )
            return None
        # pg_dump's psql-only lines (\restrict, \unrestrict) are no SQL.
        lines = [ln for ln in done.stdout.splitlines() if not _PSQL_META.fullmatch(ln)]
        return schema, "\n".join(lines)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.database is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.admin.dispose()


_PSQL_META = re.compile(r"\\(restrict|unrestrict)( \S+)?")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The server of ``$OMS_TEST_POSTGRES``; skipped (failed under ``CI=true``) if unreachable."""
    server = PostgresServer(PG_URL, tmp_path_factory)
    try:
        server._admin("SELECT 1")
    except sqlalchemy.exc.OperationalError as exc:
        server.admin.dispose()
        message = f"PostgreSQL at {PG_URL} is not reachable: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.close()


def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a fresh, empty schema on the test PostgreSQL server."""
    server: PostgresServer = request.getfixturevalue("postgres_server")
    yield server.create()[0]


#: The data set each live database of ``db_url`` was copied with (None: empty).
_made: dict[str, str | None] = {}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, then a schema of the session's PostgreSQL database.

    Empty, unless the test also uses ``loaded_db`` or ``web_db``: then it is
    already the copy of that data set (as if that fixture had loaded it).
    """
    data = _data_wanted(request)
    if request.param == "sqlite":
        path = tmp_path / "oms.sqlite"
        if data is not None:
            request.getfixturevalue("sqlite_templates").copy(data, path)
        url = f"sqlite:///{path}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url, data = server.create(data)
    _made[url] = data
    try:
        yield url
    finally:
        _made.pop(url, None)


def _provide(db_url: str, data: str, tmp_path: Path) -> str:
    """``db_url`` with the data set ``data``: copied by ``db_url``, else loaded now."""
    made = _made.get(db_url)
    if made is None or data not in COVERS[made]:
        fill(db_url, data, tmp_path)
        _made[db_url] = data
    return db_url


@pytest.fixture
def loaded_db(db_url: str, tmp_path: Path) -> str:
    """``db_url`` with the two-feeder network and its metered customers loaded."""
    return _provide(db_url, "loaded", tmp_path)


# ------------------------------------------------------------------- web
@pytest.fixture
def web_db(db_url: str, tmp_path: Path) -> str:
    """``db_url`` with the two-feeder network, customers, units, zones, crews and users.

    Users (password ``secret-pw``): ``ada`` (admin), ``dora`` (dispatcher),
    ``eng`` (engineer), ``k1`` (crew K1), ``k2`` (crew K2).
    """
    return _provide(db_url, "web", tmp_path)


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
            # Tests post events hours past their fixed clocks; the skew rule
            # has its own tests (test_security.py).
            "OMS_ENGINE_CONFIG": EngineConfig(max_clock_skew_s=None),
            # Tests read what they just wrote at one clock time: snapshots are
            # rebuilt at every change (their bound: tests/test_snapshots.py).
            "OMS_SNAPSHOT_S": 0,
            "OMS_PUBLIC_REFRESH_S": 0,
        }
    )
    yield flask_app
    # Threads first (a listener outliving its database logs tracebacks), then the pool.
    flask_app.extensions["oms.service"].stop()
    flask_app.extensions["oms.storage.db"].dispose()


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


# ------------------------------------------------------- signed-in staff
#: The API tests' fixed engine time (tests/test_api.py and those built on it).
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


class Clock:
    """The engine service's clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class User:
    """A signed-in test client and the headers its requests carry."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.headers = {"X-CSRFToken": sign_in(self.client, username)}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.post(url, json=json, headers=headers, **kw)


@pytest.fixture
def clock(app: Flask) -> Clock:
    """The app's engine service runs on this clock (T0 + 5 min; K1 and K2 on shift)."""
    fixed = Clock(T0 + timedelta(minutes=5))
    app.extensions["oms.service"].clock = fixed
    return fixed


@pytest.fixture
def dora(app: Flask, clock: Clock) -> User:
    return User(app, "dora")


@pytest.fixture
def eng(app: Flask, clock: Clock) -> User:
    return User(app, "eng")


@pytest.fixture
def k1(app: Flask, clock: Clock) -> User:
    return User(app, "k1")


@pytest.fixture
def k2(app: Flask, clock: Clock) -> User:
    return User(app, "k2")


@pytest.fixture
def ada(app: Flask, clock: Clock) -> User:
    return User(app, "ada")


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
        # In this order: the clients' connections first (a live stream's writer
        # sees it and ends), then the worker threads, and only then the server
        # and its trigger. Closing the trigger while a worker could still pull
        # it let that worker write into whatever file next took the trigger's
        # descriptor: the next test's SQLite file ("file is not a database").
        # Sockets are closed by the server's own loop (a thunk pulled through
        # its trigger): closed from here, the loop could be in select() on
        # them (OSError: Bad file descriptor in the server thread).
        def in_loop(work: Callable[[], None]) -> None:
            done = threading.Event()

            def run() -> None:
                try:
                    work()
                finally:
                    done.set()

            server.trigger.pull_trigger(run)
            done.wait(5)

        def close_clients() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()

        in_loop(close_clients)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        in_loop(server.close)  # the map empties: the loop ends
        thread.join(timeout=5)


@contextmanager
def kept_on_server(page: Any, base: str) -> Iterator[None]:
    """Requests from ``page`` that leave the server at ``base`` are refused (no
    CDN, no tiles from outside); when the block ends, none was made and no
    script error was raised."""
    outside: list[str] = []
    errors: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith((base, "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield
    assert errors == [] and outside == []


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
