"""``oms listen``: telemetry intake over MQTT (``docs/mqtt.md``).

paho-mqtt is imported only when the command runs.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import click

from oms.cli.options import (
    config_option,
    db_option,
    emit,
    given_config,
    handles_errors,
    json_option,
)

__all__ = ["listen"]


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="OMS_MQTT_HOST", help="Broker."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=1883,
    show_default=True,
    envvar="OMS_MQTT_PORT",
    help="Broker port (8883 is usual with TLS).",
)
@click.option("--prefix", default="oms/", show_default=True, help="Topic prefix ('' for none).")
@click.option(
    "--client-id",
    default="oms-listen",
    envvar="OMS_MQTT_CLIENT_ID",
    show_default=True,
    help="Fixed client id: the broker keeps this session's messages while it is away.",
)
@click.option("--username", default=None, envvar="OMS_MQTT_USERNAME", help="Broker user.")
@click.option(
    "--password",
    default=None,
    envvar="OMS_MQTT_PASSWORD",
    help="Broker password (better: $OMS_MQTT_PASSWORD).",
)
@click.option(
    "--tls",
    "tls_ca",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CA file to check the broker with; turns TLS on.",
)
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="Client cert."
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), default=None, help="Client key."
)
@click.option(
    "--mqtt-version",
    "protocol",
    type=click.Choice(["5", "3.1.1"]),
    default="5",
    show_default=True,
    help="MQTT protocol version.",
)
@click.option(
    "--keepalive",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds between pings; a dead connection is noticed within 1.5 times that.",
)
@click.option(
    "--session-expiry",
    type=click.IntRange(0, 0xFFFFFFFF),
    default=7 * 24 * 3600,
    show_default=True,
    help="MQTT 5: seconds the broker keeps the session while the listener is away.",
)
@db_option
@config_option
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Most messages applied (and acknowledged) together.",
)
@click.option(
    "--batch-seconds",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="A batch ends this long after its first message.",
)
@click.option(
    "--rejected-topic",
    default=None,
    help="Where rejected events are republished (default <prefix>rejected; '' for none).",
)
@click.option(
    "--openfmb-prefix",
    default="openfmb/",
    show_default=True,
    help="Prefix of the OpenFMB profile topics read ('' for none).",
)
@click.option(
    "--openfmb-map",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CSV of mrid,id: OpenFMB equipment mRID to device or meter id.",
)
@click.option(
    "--dead-volts",
    type=click.FloatRange(min=0, min_open=True),
    default=50.0,
    show_default=True,
    help="An OpenFMB meter reading below this is a meter without supply.",
)
@click.option("--seconds", type=click.FloatRange(min=0), default=None, help="Stop after N seconds.")
@click.option(
    "--once", is_flag=True, help="Take what the broker kept, stop when nothing arrives for 1 s."
)
@click.option("-v", "--verbose", is_flag=True, help="Log every batch.")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
@json_option
@handles_errors
def listen(
    host: str,
    port: int,
    prefix: str,
    client_id: str,
    username: str | None,
    password: str | None,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    protocol: str,
    keepalive: int,
    session_expiry: int,
    db: str | None,
    config_file: str | None,
    max_batch: int,
    batch_seconds: float,
    rejected_topic: str | None,
    openfmb_prefix: str,
    openfmb_map: str | None,
    dead_volts: float,
    seconds: float | None,
    once: bool,
    verbose: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Apply telemetry arriving over MQTT (SCADA, AMI, calls, crew GPS).

    Subscribes with QoS 1 to PREFIX + scada/#, ami/#, calls/#,
    crews/+/gps and events/# (contract-3 events: one JSON object or an
    array per message), and to OpenFMB switch, breaker, recloser and meter
    profiles (JSON) under --openfmb-prefix (docs/mqtt.md). Messages are
    applied in batches and acknowledged only when their batch has
    committed, on a persistent session: after a crash the broker delivers
    the rest again, and repeated event ids are duplicates that change
    nothing. Reconnects by itself; SIGINT or SIGTERM finishes the batch,
    acknowledges it and disconnects. Progress goes to stderr; with --json a
    report is printed at the end.
    """
    from oms.engine import OutageEngine
    from oms.exceptions import OMSError
    from oms.intake.mqtt import Listener, ListenSettings
    from oms.storage.db import connect

    if tls_ca is None and (tls_cert or tls_key):
        raise click.UsageError("--tls-cert and --tls-key need --tls CAFILE")
    try:
        settings = ListenSettings(
            host=host,
            port=port,
            prefix=prefix,
            client_id=client_id,
            username=username,
            password=password,
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
            protocol=protocol,
            keepalive=keepalive,
            session_expiry=session_expiry,
            max_batch=max_batch,
            batch_seconds=batch_seconds,
            rejected_topic=rejected_topic,
            openfmb_prefix=openfmb_prefix,
            openfmb_devices=_mrid_map(openfmb_map) if openfmb_map else {},
            dead_volts=dead_volts,
        )
    except OMSError as exc:
        raise click.UsageError(str(exc)) from None
    _setup_logging(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    engine = OutageEngine(connect(db), given_config(config_file))
    listener = Listener(engine, settings)

    def stop(signum: int, _frame: Any) -> None:
        logging.getLogger("oms.intake.mqtt").info("%s: stopping", signal.Signals(signum).name)
        listener.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = listener.run(seconds=seconds, once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    emit(report.to_dict(), as_json, report.summary)


def _mrid_map(path: str) -> dict[str, str]:
    """mRID -> device or meter id from a CSV with columns ``mrid`` and ``id``."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"mrid", "id"} <= set(reader.fieldnames or ()):
            raise click.BadParameter(
                f"{path}: needs columns mrid and id", param_hint="--openfmb-map"
            )
        out = {}
        for line, row in enumerate(reader, start=2):
            if not row["mrid"] or not row["id"]:
                raise click.BadParameter(f"{path} line {line}: empty mrid or id")
            out[row["mrid"]] = row["id"]
    return out


def _setup_logging(level: int) -> None:
    logger = logging.getLogger("oms.intake.mqtt")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s oms listen: %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        )
        logger.addHandler(handler)
        logger.propagate = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
