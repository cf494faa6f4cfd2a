"""The ``oms`` command line: the engineer's terminal.

One root group, :data:`cli`. Its commands are listed here by name and
imported only when used (start-up stays fast: ``oms --help`` imports no
numpy, SQLAlchemy or Flask). Other packages add commands through the
``oms.commands`` entry-point group, as Flask's plugins do: the web layer adds
``serve``, ``demo``, ``user`` and ``device`` that way, so :mod:`oms` never
imports :mod:`webmap`.

Every command that prints results takes ``--json`` and then prints exactly
one JSON document on stdout (messages go to stderr), ``{"error": ...}`` when
it failed or was used wrongly. Exit codes: 0 when the command did its work,
1 when it failed, 2 on a usage error (contract 4 of the design notes).

==========  ==============================  ===================================
module      commands                        what for
==========  ==============================  ===================================
network     ``network ...``                 validate, describe, convert, import
trace       ``trace ...``                   upstream, downstream, ... restore
load        ``load``, ``ingest``            data into the database
outage      ``outages``, ``outage ...``     outages and dispatcher actions
crew        ``crews``, ``jobs``,            crews, repair jobs and dispatch
            ``dispatch ...``, ``job ...``
switching   ``switching ...``,              switching orders, safety documents,
            ``planned ...``                 field changes, planned outages
storm       ``storm ...``                   storm mode: dispatch policy, storm ETRs
critical    ``critical ...``                the critical-customer register, calls owed
gis         ``gis publish``, ``export``     live outages as PostGIS layers, GeoPackage
notify      ``notify ...``                  customer notifications
report      ``report ...``                  reliability, compliance, bulletin
simulate    ``simulate``                    storms and their scoring
listen      ``listen``                      MQTT telemetry intake
==========  ==============================  ===================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import click

from oms import __version__

__all__ = ["cli", "main"]

#: Command name -> ``module:attribute`` of the click command (imported on use).
COMMANDS = {
    "network": "oms.cli.network:network",
    "trace": "oms.cli.trace:trace",
    "load": "oms.cli.load:load",
    "ingest": "oms.cli.load:ingest",
    "outages": "oms.cli.outage:outages",
    "outage": "oms.cli.outage:outage",
    "crews": "oms.cli.crew:crews",
    "jobs": "oms.cli.crew:jobs",
    "dispatch": "oms.cli.crew:dispatch",
    "job": "oms.cli.crew:job",
    "switching": "oms.cli.switching:switching",
    "planned": "oms.cli.switching:planned",
    "storm": "oms.cli.storm:storm",
    "critical": "oms.cli.critical:critical",
    "gis": "oms.cli.gis:gis",
    "export": "oms.cli.gis:export",
    "notify": "oms.cli.notify:notify",
    "report": "oms.cli.report:report",
    "simulate": "oms.cli.simulate:simulate",
    "listen": "oms.cli.listen:listen",
    "regions": "oms.cli.regions:regions",
}

#: The entry-point group through which other packages add commands.
PLUGIN_GROUP = "oms.commands"


def _import(target: str) -> click.Command:
    from importlib import import_module

    module, _, attribute = target.partition(":")
    command = getattr(import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose commands are imported only when they are run or described."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy
        self._plugins: dict[str, object] | None = None

    def plugins(self) -> dict[str, object]:
        """Entry points of :data:`PLUGIN_GROUP`, by command name (read once)."""
        if self._plugins is None:
            from importlib.metadata import entry_points

            self._plugins = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
        return self._plugins

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy, *self.plugins()})

    def main(  # type: ignore[override]
        self,
        args: Iterable[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As click's, but with ``--json`` a usage error (or any error click
        reports) is also ``{"error": ...}`` on stdout: a script reading the
        JSON document is told what was wrong, not handed an empty stdout."""
        given = list(args) if args is not None else None  # None: click reads sys.argv itself
        if not standalone_mode or "--json" not in (sys.argv[1:] if given is None else given):
            return super().main(given, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(given, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            click.echo(json.dumps({"error": exc.format_message()}, ensure_ascii=False))
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in self.lazy:
            command = _import(self.lazy[cmd_name])
        elif cmd_name in self.plugins():
            command = self.plugins()[cmd_name].load()  # type: ignore[attr-defined]
        else:
            return None
        self.add_command(command, cmd_name)
        return command


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="oms")
def cli() -> None:
    """Outage management and repair dispatch for electric distribution networks."""


def main(argv: Iterable[str] | None = None) -> None:
    """Entry point of the ``oms`` console script and of ``python -m oms``."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="oms")
