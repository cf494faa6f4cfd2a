"""Database connections and migrations.

One SQLAlchemy engine per URL: a SQLite file is the embedded default,
PostgreSQL through psycopg2 (``postgresql+psycopg2://...``) the production
store. :func:`connect` opens the database and brings its schema up to date
with the Alembic migrations shipped in ``oms/storage/migrations``.

The URL is, in order: the one given, ``$OMS_DATABASE_URL``, or
``sqlite:///oms.sqlite`` in the working directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

from oms.exceptions import StorageError

__all__ = [
    "DEFAULT_URL",
    "connect",
    "database_url",
    "migrate",
    "missing_sqlite_file",
    "schema_revision",
]

DEFAULT_URL = "sqlite:///oms.sqlite"
_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``$OMS_DATABASE_URL``, else :data:`DEFAULT_URL`."""
    return url or os.environ.get("OMS_DATABASE_URL") or DEFAULT_URL


def missing_sqlite_file(url: str | None = None) -> Path | None:
    """The file a SQLite URL (see :func:`database_url`) names when it does not
    exist, which connecting would create empty; None for an existing file, an
    in-memory database or another database."""
    url = database_url(url).split("?", 1)[0]
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return None if path.exists() else path


def _json_default(value: Any) -> Any:
    """What msgspec cannot write itself: numpy's scalars, as the numbers they hold."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_JSON = msgspec.json.Encoder(enc_hook=_json_default)


def _json_dumps(value: Any) -> str:
    """JSON columns as compact text, by msgspec: the engine writes hundreds of
    thousands of JSON values in a storm (job and outage documents, the
    feed), and ``json.dumps`` was a tenth of a late batch's work. What
    msgspec refuses and ``json`` writes (a lone surrogate that a JSON
    escape in someone's text made, a key that is not a string) is written
    by ``json`` as before, escaped."""
    try:
        return _JSON.encode(value).decode()
    except (UnicodeEncodeError, TypeError):
        return json.dumps(value)


def _json_loads(text: str | bytes) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        # Text json.dumps wrote before (NaN, Infinity), which msgspec refuses.
        return json.loads(text)


_JSON_OPTIONS = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the CLI, the web app) work while an ingest writes;
    # NORMAL sync is durable across process crashes (not power loss) in WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema of ``engine``'s database to ``revision``."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty one."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def connect(url: str | None = None, *, upgrade: bool = True, pool_size: int = 5) -> Engine:
    """Open the database at ``url`` (see :func:`database_url`).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL.
    upgrade : bool
        Apply pending migrations (the default). Otherwise a database that is
        not at the latest revision raises :class:`StorageError`.
    pool_size : int
        Connections kept open to a server database (as many again may be
        opened at peaks); a server gives one per request thread.

    Raises
    ------
    StorageError
        The URL is malformed, its driver is missing, or the server cannot be
        reached.
    """
    url = database_url(url)
    # The driver this package installs (SQLAlchemy 2.1 reads a bare
    # postgresql:// as psycopg 3, which is not installed).
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            url = "postgresql+psycopg2://" + url.removeprefix(bare)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30}, **_JSON_OPTIONS)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # values_plus_batch: executemany UPDATEs go in pages, not a round
            # trip per row (outages and jobs are rewritten in bulk per batch).
            options: dict[str, Any] = {
                **_JSON_OPTIONS,
                "pool_pre_ping": True,
                "pool_size": pool_size,
                "max_overflow": pool_size,
            }
            if url.startswith("postgresql+psycopg2") or url.startswith("postgresql://"):
                options["executemany_mode"] = "values_plus_batch"
            engine = create_engine(url, **options)
        with engine.connect():
            pass
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StorageError(f"bad database URL {url!r}: {exc}") from exc
    except OperationalError as exc:
        raise StorageError(f"cannot open database {url!r}: {exc.orig}") from exc
    if upgrade:
        try:
            migrate(engine)
        except ProgrammingError as exc:
            if getattr(exc.orig, "pgcode", None) == "3F000":  # invalid_schema_name
                raise StorageError(
                    f"database {url!r}: the schema its search_path names does not exist; "
                    "create it first (psql: CREATE SCHEMA name)"
                ) from exc
            raise
    elif "events" not in inspect(engine).get_table_names():
        raise StorageError(f"database {url!r} has no oms schema; run `oms load` first")
    return engine
