"""The database schema, as SQLAlchemy Core tables.

The tables are created and upgraded by the Alembic migrations in
``oms/storage/migrations`` (never by ``metadata.create_all``); a test checks that the
migrated database matches these definitions. Times are stored in UTC
(timezone-aware columns), ids as text.

Tables by topic:

- network: ``network_versions`` (the model as a blob, one row per loaded
  version), ``customers`` (searchable copy of the customers file),
  ``device_states`` (switch states as operated, where they differ from normal),
  ``crews``, ``units``, ``zones``, ``documents`` (roads and other files).
- intake: ``events``, the append-only log, idempotent on ``id``, replayable
  in ``seq`` order.
- outages: ``outages``, ``outage_audit`` (who, when, why of every change),
  ``ping_requests`` (the outbox to the AMI head-end).
- dispatch: ``jobs`` (repair orders with their A-H stamps, targets and
  breaches), ``crew_state`` (status, position and jobs of each crew),
  ``dispatch_decisions`` (every choice with its rule and alternatives),
  ``alerts`` (target warnings, breaches, acknowledgement timeouts and
  escalations, capacity alarms; levels in ``oms.engine.alerts``; who
  acknowledged each, and when).
- customers: ``subscriptions`` (channel and address per customer, or an
  opt-out), ``notices`` (what an outage's customers are to be told, one
  row per message and outage with its recipients, written with the batch
  that decided it) and ``notifications`` (the outbox: every message per
  customer and channel, fanned out from a notice after the batch, with its
  delivery status and the answer to a callback survey).
- ``engine_state``: the engine clock and counters, updated in the same
  transaction as the events they follow from.
- live feed and access: ``changes`` (every outage, job, crew, alert and
  device change as it committed, numbered: the live stream replays from
  it), ``intake`` (requests handed by the server processes to the one that
  writes, with their results), ``users`` (hashed passwords and roles), ``devices`` (handheld bearer
  tokens, hashed, revocable), ``audit`` (every state change and login made
  through the server, with user, device and position).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "alerts",
    "audit",
    "changes",
    "crew_state",
    "crews",
    "customers",
    "damage_reports",
    "device_states",
    "devices",
    "dispatch_decisions",
    "documents",
    "engine_state",
    "events",
    "field_changes",
    "intake",
    "jobs",
    "metadata",
    "network_versions",
    "notices",
    "notifications",
    "outage_audit",
    "outages",
    "photos",
    "ping_requests",
    "subscriptions",
    "switching_documents",
    "units",
    "users",
    "zones",
]

metadata = MetaData()

_TZ = DateTime(timezone=True)
#: BIGINT on PostgreSQL, INTEGER (SQLite's rowid alias) on SQLite.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

network_versions = Table(
    "network_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("loaded_at", _TZ, nullable=False),
    Column("source", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("nodes", Integer, nullable=False),
    Column("edges", Integer, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("model", LargeBinary, nullable=False),
    Column("warnings", JSON, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("node", String(128), nullable=False),
    Column("name", Text),
    Column("phone", String(40)),
    Column("address", Text),
    Column("lon", Float),
    Column("lat", Float),
    Column("meter", String(64)),
    Column("account", String(64)),
    Column("critical", String(64)),
    Column("emergency_plan", Text),
    Index("ix_customers_phone", "phone"),
    Index("ix_customers_meter", "meter"),
)

device_states = Table(
    "device_states",
    metadata,
    Column("device", String(128), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("tripped", Boolean, nullable=False),
    Column("changed_at", _TZ, nullable=False),
    Column("event", String(128)),
)

units = Table(
    "units",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text),
    Column("first_contact", String(40), nullable=False),
    Column("second_contact", String(40), nullable=False),
    Column("leader", String(40)),
)

crews = Table(
    "crews",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text),
    Column("unit", String(64)),
    Column("skills", JSON, nullable=False),
    Column("zone", String(64)),
    Column("lon", Float),
    Column("lat", Float),
    Column("voltage_kv", JSON, nullable=False),
    Column("shift_start", String(5)),
    Column("shift_end", String(5)),
    Column("phone", String(40)),
    Column("gps_time", _TZ),
    # Mutual-aid and contractor crews (crew_add events; docs/mutual-aid.md).
    Column("company", String(128)),
    Column("size", Integer),
    Column("vehicles", Integer),
    Column("home_base", Text),
    Column("arrival", _TZ),
)

zones = Table(
    "zones",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("area_class", String(16), nullable=False),
    Column("unit", String(64)),
    Column("geometry", JSON, nullable=False),
    Column("name", String(128)),  # the place name people know it by (optional)
)

documents = Table(
    "documents",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("loaded_at", _TZ, nullable=False),
    Column("source", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("time", _TZ, nullable=False),
    Column("received_at", _TZ, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("customer", String(64)),
    Column("device", String(128)),
    Index("ix_events_customer", "customer"),
    Index("ix_events_time", "time"),
)

outages = Table(
    "outages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("device", String(128)),
    Column("customer", String(64)),
    Column("section", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("customers_out", Integer, nullable=False),
    Column("critical_out", Integer, nullable=False),
    Column("started", _TZ, nullable=False),
    Column("restored", _TZ),
    Column("closed", _TZ),
    Column("etr", _TZ),
    Column("calls", Integer, nullable=False),
    Column("hazard", Boolean, nullable=False),
    Column("confirmed_by", String(32)),
    Column("located_at", _TZ, nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("merged_into", String(32)),
    Column("updated_at", _TZ, nullable=False),
    Column("revealed_by", String(32)),
    Index("ix_outages_state", "state"),
)

outage_audit = Table(
    "outage_audit",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("outage", String(32), ForeignKey("outages.id"), nullable=False),
    Column("time", _TZ, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("reason", Text),
    Column("detail", JSON, nullable=False),
    Index("ix_outage_audit_outage", "outage"),
)

ping_requests = Table(
    "ping_requests",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("customer", String(64), nullable=False),
    Column("meter", String(64)),
    Column("requested_at", _TZ, nullable=False),
    Column("outage", String(32)),
    Column("purpose", String(16), nullable=False),
    Column("sent", Boolean, nullable=False),
)

engine_state = Table(
    "engine_state",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("outage", String(32)),
    Column("kind", String(16), nullable=False),
    Column("device", String(128)),
    Column("customer", String(64)),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("zone", String(64)),
    Column("area_class", String(16), nullable=False),
    Column("unit", String(64)),
    Column("skills", JSON, nullable=False),
    Column("voltage_kv", Float),
    Column("priority", Float, nullable=False),  # as of updated_at
    Column("state", String(16), nullable=False),
    Column("crew", String(64)),
    Column("stamps", JSON, nullable=False),
    Column("targets", JSON, nullable=False),
    Column("breaches", JSON, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("hazard", Boolean, nullable=False),
    Column("etr", _TZ),
    Column("etr_source", String(8)),
    Column("closeout", JSON),
    Column("escalation", Integer, nullable=False),
    Column("updated_at", _TZ, nullable=False),
    # The dispatcher's hold: {"excluded": [crews], "until": iso, "reason", "auto": bool}.
    Column("hold", JSON),
    # The priority without its age, and how it ages (Job.priority_at): read
    # as of now, so a waiting job is not written again at each step. Last,
    # where migration 0017 added them (views across regions read columns in order).
    Column("priority_base", Float),
    Column("age_per_10_min", Float, nullable=False, server_default="0"),
    Column("age_cap_min", Float, nullable=False, server_default="0"),
    Index("ix_jobs_state", "state"),
    Index("ix_jobs_outage", "outage"),
)

crew_state = Table(
    "crew_state",
    metadata,
    Column("crew", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("lon", Float),
    Column("lat", Float),
    Column("gps_time", _TZ),
    Column("jobs", JSON, nullable=False),
    Column("updated_at", _TZ, nullable=False),
    Column("checked_in", _TZ),  # a mutual-aid crew's arrival (crew_checkin)
)

dispatch_decisions = Table(
    "dispatch_decisions",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("job", String(32), nullable=False),
    Column("time", _TZ, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("crew", String(64)),
    Column("rule", String(16), nullable=False),
    Column("eta_s", Float),
    Column("alternatives", JSON, nullable=False),
    Index("ix_dispatch_decisions_job", "job"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("time", _TZ, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("level", String(16), nullable=False),
    Column("job", String(32)),
    Column("crew", String(64)),
    Column("unit", String(64)),
    Column("contact", String(40)),
    Column("detail", JSON, nullable=False),
    Column("zone", String(64)),
    # Who acknowledged it and when (an alert_ack event; the first one stands).
    Column("acknowledged_at", _TZ),
    Column("acknowledged_by", String(64)),
    Index("ix_alerts_job", "job"),
    Index("ix_alerts_acknowledged_at", "acknowledged_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("customer", String(64), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("address", String(256)),
    Column("opted_out", Boolean, nullable=False),
    Column("updated_at", _TZ, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("outage", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("created_at", _TZ, nullable=False),
    # Set in the transaction that wrote its notifications: fanned out once.
    Column("fanned_out_at", _TZ),
    Index("ix_notices_pending", "fanned_out_at"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("customer", String(64), nullable=False),
    Column("outage", String(32)),
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(256)),
    Column("message", Text, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", _TZ, nullable=False),
    Column("sent_at", _TZ),
    Column("error", Text),
    Column("answer", Text),
    Column("answered_at", _TZ),
    Index("ix_notifications_status", "status"),
    Index("ix_notifications_customer", "customer"),
)

changes = Table(
    "changes",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("time", _TZ, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("data", JSON, nullable=False),
)

intake = Table(
    "intake",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("submitted_at", _TZ, nullable=False),
    Column("events", JSON, nullable=False),
    # Who handed the events over (oms.authority.Principal as a dict).
    Column("sender", JSON),
    Column("status", String(8), nullable=False),
    Column("result", JSON),
    Column("done_at", _TZ),
    Index("ix_intake_status", "status"),
)

#: Switching orders (SO-), safety documents (SD-) and planned outages (PO-):
#: each a JSON document (oms.switching), its state kept apart to select on.
switching_documents = Table(
    "switching_documents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("body", JSON, nullable=False),
    Column("source_event", String(128)),
    Column("updated_at", _TZ, nullable=False),
    Index("ix_switching_documents_state", "state"),
)

#: Damage found in the field (oms.engine.damage), by outage.
damage_reports = Table(
    "damage_reports",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("outage", String(32)),
    Column("time", _TZ, nullable=False),
    Column("asset", String(32), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_damage_reports_outage", "outage"),
)

#: The critical-customer register's edits (oms.engine.register): each stands
#: over the customers file's ``critical`` and ``emergency_plan``.
critical_register = Table(
    "critical_register",
    metadata,
    Column("customer", String(64), primary_key=True),
    Column("critical", String(64)),
    Column("emergency_plan", Text),
    Column("contacts", JSON, nullable=False),
    Column("note", Text),
    Column("updated_at", _TZ, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("event", String(128), nullable=False),
)

#: Calls made to customers or their contacts (``customer_contact`` events).
customer_contacts = Table(
    "customer_contacts",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("customer", String(64), nullable=False),
    Column("outage", String(32)),
    Column("time", _TZ, nullable=False),
    Column("reached", Boolean, nullable=False),
    Column("phone", String(40)),
    Column("note", Text),
    Column("username", String(64), nullable=False),
    Index("ix_customer_contacts_customer", "customer", "time"),
)

#: Photos uploaded from the field (damage reports name them).
photos = Table(
    "photos",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("username", String(64)),
    Column("uploaded_at", _TZ, nullable=False),
)

#: Tags, grounds, jumpers and cuts placed in the field, until removed (and after).
field_changes = Table(
    "field_changes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("device", String(128), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("body", JSON, nullable=False),
    Column("placed_at", _TZ, nullable=False),
    Column("removed_at", _TZ),
    Index("ix_field_changes_active", "active"),
)

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("crew", String(64)),
    Column("created_at", _TZ, nullable=False),
    Column("disabled", Boolean, nullable=False),
)

#: Sign-in sessions: the cookie holds a random id, this its hash; signing
#: out (or disabling the user) ends every copy of the cookie.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("created_at", _TZ, nullable=False),
    Column("ended_at", _TZ),
    Column("remote", String(64)),
    Index("ix_sessions_username", "username"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("created_at", _TZ, nullable=False),
    Column("revoked_at", _TZ),
    Column("last_seen", _TZ),
    # A temporary handheld (mutual-aid crews): its token is refused from then on.
    Column("expires_at", _TZ),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("time", _TZ, nullable=False),
    Column("username", String(64)),
    Column("device", String(32)),
    Column("remote", String(64)),
    Column("action", String(64), nullable=False),
    Column("ref", String(128)),
    Column("outcome", String(16), nullable=False),
    Column("lon", Float),
    Column("lat", Float),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_time", "time"),
    Index("ix_audit_username", "username"),
)
