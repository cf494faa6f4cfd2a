"""What every command shares: options defined once, output, errors, the clock.

- :func:`json_option`, :func:`db_option`, :func:`config_option`: the same
  ``--json``, ``--db URL`` and ``--config FILE`` everywhere.
- :func:`network_argument`: NETWORK (a file, or ``demo``) with
  ``--customers`` and ``--crs``, or ``--db URL`` for the network as operated
  now in that database.
- :func:`emit` prints one JSON document or the readable text;
  :func:`handles_errors` turns the library's errors into one line on stderr
  and exit code 1.

Nothing heavy is imported here: the command modules import this at start-up.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from oms.config import EngineConfig
    from topology.model import Network

__all__ = [
    "FROM_DB",
    "NetworkCommand",
    "cache_folder",
    "config_option",
    "db_option",
    "emit",
    "engine_config",
    "fail",
    "given_config",
    "handles_errors",
    "json_option",
    "listing",
    "load_network",
    "network_argument",
    "new_db_option",
    "now_of",
    "or_wall_clock",
    "params_of",
    "table",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Optional packages and the extra that installs them, for a helpful message.
_EXTRAS = {
    "pyarrow": "parquet",
    "pandapower": "pandapower",
    "simbench": "pandapower",
    "opendssdirect": "opendss",
    "rdflib": "cim",
}


# ----------------------------------------------------------------- output
def emit(doc: Any, as_json: bool, text: Callable[[], str]) -> None:
    """Print ``doc`` as one JSON document, or ``text()`` for people."""
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False))
    else:
        click.echo(text())


def fail(message: str, as_json: bool, code: int = 1) -> NoReturn:
    """One line on stderr (and ``{"error"}`` on stdout with ``--json``), then exit."""
    click.echo(f"error: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    sys.exit(code)


def _missing_module(exc: ImportError) -> str:
    import re

    # Libraries that import optional packages themselves (geopandas for
    # pyarrow) raise ImportError without a name, naming it in the message.
    quoted = re.search(r"'([A-Za-z_][\w.]*)'", str(exc))
    name = (exc.name or (quoted.group(1) if quoted else "") or "?").split(".")[0]
    if name in ("oms", "topology", "webmap"):
        # Typically: run from a source folder that hides the installed package.
        import oms

        return (
            f"{exc} (using the oms package in {Path(oms.__file__).parent.parent}): "
            "run from another folder, or install this checkout with pip install -e ."
        )
    extra = _EXTRAS.get(name)
    if extra is None:
        return f"{exc}: a package open-oms needs is missing; reinstall open-oms"
    return (
        f'this needs the package {name!r}, which is not installed: pip install "open-oms[{extra}]"'
    )


def handles_errors(func: F) -> F:
    """Turn the library's errors into one line naming what is wrong, and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from oms.exceptions import OMSError
        from topology.exceptions import TopologyError

        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except (TopologyError, OMSError, OSError) as exc:
            fail(str(exc), as_json)
        except ImportError as exc:
            fail(_missing_module(exc), as_json)

    return wrapper  # type: ignore[return-value]


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def listing(title: str, ids: Sequence[str], limit: int = 40) -> str:
    """``title (n): a, b, c ... (+k)``."""
    shown = ", ".join(ids[:limit])
    more = f" ... (+{len(ids) - limit})" if len(ids) > limit else ""
    return f"{title} ({len(ids)}): {shown}{more}"


# ---------------------------------------------------------------- options
def json_option(func: F) -> F:
    """``--json``: print one JSON document."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def db_option(func: F) -> F:
    """``--db URL``: an existing database (SQLAlchemy URL); a SQLite file must exist."""
    return click.option(
        "--db",
        envvar="OMS_DATABASE_URL",
        default=None,
        metavar="URL",
        callback=_existing_database,
        help="Database URL (default $OMS_DATABASE_URL, else sqlite:///oms.sqlite).",
    )(func)


def new_db_option(func: F) -> F:
    """``--db URL``: the database to write to, made (and migrated) if need be."""
    return click.option(
        "--db",
        envvar="OMS_DATABASE_URL",
        default=None,
        metavar="URL",
        help="Database URL, made if need be (default $OMS_DATABASE_URL, else sqlite:///oms.sqlite).",
    )(func)


def _existing_database(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A reading command never leaves an empty database behind a forgotten --db."""
    missing = _missing_sqlite_file(value)
    if missing:
        raise click.BadParameter(missing, ctx=ctx, param=param)
    return value


def _missing_sqlite_file(db: str | None) -> str | None:
    """Why a SQLite database URL names no existing file, or None."""
    from oms.storage.db import missing_sqlite_file

    path = missing_sqlite_file(db)
    if path is None:
        return None
    return f"no database at {path}: give --db URL or set OMS_DATABASE_URL (oms load makes one)"


def config_option(func: F) -> F:
    """``--config FILE``: the engine configuration (JSON), or ``$OMS_ENGINE_CONFIG``."""
    return click.option(
        "--config",
        "config_file",
        envvar="OMS_ENGINE_CONFIG",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Engine configuration (JSON; default $OMS_ENGINE_CONFIG; docs/engine.md).",
    )(func)


def engine_config(config_file: str | None) -> EngineConfig:
    """The engine configuration of ``--config`` (the defaults without one).

    For what reads a database, :func:`given_config` (None without one: the
    data set's stored configuration is used).
    """
    from oms.config import EngineConfig

    return EngineConfig.from_file(config_file) if config_file else EngineConfig()


def given_config(config_file: str | None) -> EngineConfig | None:
    """The engine configuration of ``--config`` (or ``$OMS_ENGINE_CONFIG``), or
    None: an engine then uses the configuration stored with its data set (the
    server's, given to it with ``--config``), so a command decides by the same
    rules as the server it works beside."""
    import os

    given = config_file or os.environ.get("OMS_ENGINE_CONFIG")
    return engine_config(given) if given else None


#: What NETWORK stands for when ``--db URL`` is given instead (see NetworkCommand).
FROM_DB = "@db"


class NetworkCommand(click.Command):
    """A command whose NETWORK argument may be replaced by an explicit ``--db URL``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a == "--db" or a.startswith("--db=") for a in args):
            args = [FROM_DB, *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        # The usage line says NETWORK may be left out for --db (not "NETWORK DEVICE").
        pieces = super().collect_usage_pieces(ctx)
        return ["(NETWORK | --db URL)" if p == "NETWORK" else p for p in pieces]


def network_argument(func: F) -> F:
    """NETWORK with ``--customers``, ``--crs`` and ``--db`` (use with NetworkCommand)."""
    func = click.option(
        "--db",
        default=None,
        metavar="URL",
        help="Use the network as operated now in this database instead of NETWORK.",
    )(func)
    func = click.option(
        "--crs", default=None, help="CRS of the coordinates when the file names none."
    )(func)
    func = click.option(
        "--customers",
        type=click.Path(dir_okay=False),
        default=None,
        help="Customers CSV (contract 2); replaces the nodes' customer counts.",
    )(func)
    return click.argument("network")(func)


def load_network(network: str, customers: str | None, crs: str | None, db: str | None) -> Network:
    """NETWORK (a file, or ``demo`` with its customers), or the network as
    operated now in database ``db`` when NETWORK was replaced by ``--db``."""
    from oms.demodata import FILES, demo_path, is_demo

    if network == FROM_DB:
        from oms.storage.db import connect
        from oms.storage.loading import operated_network

        missing = _missing_sqlite_file(db)
        if missing:
            raise click.UsageError(missing)
        return operated_network(connect(db))
    if is_demo(network):
        network = str(demo_path(FILES["network"]))
        customers = customers or str(demo_path(FILES["customers"]))
    folder = cache_folder()
    if folder is None:
        from topology.io import read_network

        return read_network(network, crs=crs, customers=customers)
    from topology.cache import read_network_cached

    return read_network_cached(network, cache_dir=folder, crs=crs, customers=customers)


def cache_folder() -> Path | None:
    """Where parsed network files are kept (``$OMS_CACHE_DIR``; empty: no cache).

    Default ``$XDG_CACHE_HOME/open-oms/networks`` (``~/.cache/...``).
    """
    import os

    given = os.environ.get("OMS_CACHE_DIR")
    if given is not None:
        return Path(given) if given else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "open-oms" / "networks"


# ------------------------------------------------------------------ clock
def or_wall_clock(engine_clock: datetime | None) -> datetime:
    """Now for a command: the engine clock (the time of the latest event
    applied), or the wall clock when nothing was ever applied.

    The command line is the one place with no injected clock: it reads the
    state as of the engine clock, as replaying a storm must.
    """
    from datetime import timezone

    return engine_clock or datetime.now(timezone.utc)


def now_of(conn: Connection) -> datetime:
    """:func:`or_wall_clock` of the engine clock stored in the database."""
    from oms.storage.queries import engine_clock

    return or_wall_clock(engine_clock(conn))


def params_of(*decorators: Callable[[Any], Any]) -> list[click.Parameter]:
    """The click parameters that option decorators add, in the order they are listed."""

    def holder() -> None:
        """Collects parameters."""

    for decorator in reversed(decorators):
        holder = decorator(holder)
    return list(reversed(holder.__click_params__))  # type: ignore[attr-defined]
