"""Users, roles and handheld devices (no Flask here: the CLI uses it too).

Roles: ``dispatcher`` (works outages, jobs and crews), ``crew`` (sees and
changes only its own crew's jobs; the user names its crew), ``engineer``
(reads everything, operates switches, runs traces and reports) and
``admin`` (everything, plus users and devices). Passwords are stored as
salted hashes (werkzeug; scrypt unless configured otherwise, see below). A
handheld gets a bearer token once, when an admin registers it; only its
SHA-256 is stored, so a leaked database does not leak tokens, and revoking
the device ends its access at the next request.

Password hashing is configured by ``$OMS_PASSWORD_METHOD``, a werkzeug
method read at each new hash (:func:`password_method`). Unset or empty, it
is :data:`DEFAULT_PASSWORD_METHOD`, werkzeug's strong default (scrypt with
N=2**15, r=8, p=1: slow on purpose, about 0.25 s a hash on a small
machine); leave it so in production. The test suite sets a cheap method
(``pbkdf2:sha256:1000``) so that creating users and signing in cost
nothing. A stored hash names its own method, so changing the setting
never locks anyone out: existing passwords keep checking against their
old hashes. A method werkzeug does not know raises :class:`AccountError`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from oms.exceptions import OMSError
from oms.intake.events import as_utc
from oms.storage import schema

__all__ = [
    "DEFAULT_PASSWORD_METHOD",
    "ROLES",
    "AccountError",
    "Device",
    "User",
    "add_device",
    "add_user",
    "check_password",
    "device_for_token",
    "end_session",
    "get_user",
    "hash_password",
    "list_devices",
    "password_method",
    "revoke_device",
    "session_user",
    "sign_in_link",
    "start_session",
]

ROLES = ("dispatcher", "crew", "engineer", "admin")
#: werkzeug's default: scrypt with N=2**15, r=8, p=1 (``$OMS_PASSWORD_METHOD`` overrides it).
DEFAULT_PASSWORD_METHOD = "scrypt"
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_MIN_PASSWORD = 8


class AccountError(OMSError, ValueError):
    """A user or device request that cannot be done (names what and why)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    crew: str | None = None
    device: str | None = None  # set when authenticated by a handheld's token

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "role": self.role, "crew": self.crew}


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    username: str
    created_at: datetime
    revoked_at: datetime | None
    last_seen: datetime | None
    expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The device as ``oms device list --json`` and ``GET /api/devices`` show it."""
        from oms.intake.events import iso

        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "created_at": iso(self.created_at),
            "revoked_at": iso(self.revoked_at),
            "expires_at": iso(self.expires_at),
        }


def _now() -> datetime:
    return datetime.now(timezone.utc)


def password_method() -> str:
    """The werkzeug method for new password hashes: ``$OMS_PASSWORD_METHOD`` or the default."""
    return os.environ.get("OMS_PASSWORD_METHOD") or DEFAULT_PASSWORD_METHOD


def hash_password(password: str) -> str:
    """A salted hash of ``password`` with :func:`password_method`.

    Raises
    ------
    AccountError
        ``$OMS_PASSWORD_METHOD`` names no method werkzeug knows.
    """
    method = password_method()
    try:
        return generate_password_hash(password, method=method)
    except ValueError as exc:
        raise AccountError(
            f"OMS_PASSWORD_METHOD={method!r} is not a werkzeug password method ({exc}); "
            "unset it for the default, or use e.g. 'scrypt:32768:8:1' or 'pbkdf2:sha256:600000'"
        ) from None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    conn: Connection, username: str, password: str, role: str, crew: str | None = None
) -> User:
    """Create a user; ``crew`` is required for (and only for) the crew role."""
    if (
        not username
        or len(username) > 64
        or not username.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise AccountError(f"user name {username!r}: use 1-64 letters, digits, '-', '_' or '.'")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < _MIN_PASSWORD:
        raise AccountError(f"password for {username!r}: at least {_MIN_PASSWORD} characters")
    if role == "crew":
        if not crew:
            raise AccountError(f"user {username!r} has the crew role: name the crew (--crew)")
        known = conn.execute(select(schema.crews.c.id).where(schema.crews.c.id == crew)).first()
        if known is None:
            raise AccountError(f"crew {crew!r} is not loaded (oms load --crews ...)")
    elif crew:
        raise AccountError(f"only crew users name a crew; {username!r} is {role}")
    exists = conn.execute(
        select(schema.users.c.username).where(schema.users.c.username == username)
    ).first()
    if exists is not None:
        raise AccountError(f"user {username!r} exists already")
    conn.execute(
        insert(schema.users).values(
            username=username,
            password_hash=hash_password(password),
            role=role,
            crew=crew,
            created_at=_now(),
            disabled=False,
        )
    )
    return User(username, role, crew)


def check_password(conn: Connection, username: str, password: str) -> User | None:
    """The user, if the password is right and the user is enabled."""
    row = conn.execute(select(schema.users).where(schema.users.c.username == username)).first()
    if row is None or row.disabled or not check_password_hash(row.password_hash, password):
        return None
    return User(row.username, row.role, row.crew)


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(schema.users).where(schema.users.c.username == username)).first()
    if row is None or row.disabled:
        return None
    return User(row.username, row.role, row.crew)


def add_device(
    conn: Connection, username: str, name: str, expires: datetime | None = None
) -> tuple[Device, str]:
    """Register a handheld for ``username``; returns it and its token (shown once).

    With ``expires`` the token is refused from then on (a mutual-aid crew's
    temporary handheld).
    """
    user = get_user(conn, username)
    if user is None:
        raise AccountError(f"no enabled user {username!r} to register a device for")
    if not name.strip() or len(name) > 128:
        raise AccountError("name the device in 1 to 128 characters")
    if expires is not None and expires <= _now():
        raise AccountError("the device would expire before it is used: give a later time")
    token = secrets.token_urlsafe(32)
    device = Device(
        id=f"DEV-{secrets.token_hex(4)}",
        name=name,
        username=username,
        created_at=_now(),
        revoked_at=None,
        last_seen=None,
        expires_at=expires,
    )
    conn.execute(
        insert(schema.devices).values(
            id=device.id,
            token_hash=_digest(token),
            name=name,
            username=username,
            created_at=device.created_at,
            expires_at=expires,
        )
    )
    return device, token


def sign_in_link(base_url: str, token: str) -> str:
    """The handheld's address that signs it in with ``token`` (the token rides in
    the fragment: browsers never send it to a server or put it in a log)."""
    return f"{base_url.rstrip('/')}/crew/#token={token}"


def revoke_device(conn: Connection, device_id: str) -> None:
    done = conn.execute(
        update(schema.devices)
        .where((schema.devices.c.id == device_id) & schema.devices.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    ).rowcount
    if not done:
        raise AccountError(f"no active device {device_id!r}")


def list_devices(conn: Connection) -> list[Device]:
    rows = conn.execute(select(schema.devices).order_by(schema.devices.c.created_at))
    return [
        Device(r.id, r.name, r.username, r.created_at, r.revoked_at, r.last_seen, r.expires_at)
        for r in rows
    ]


def device_for_token(conn: Connection, token: str) -> User | None:
    """The user behind a bearer token, if its device is registered and not revoked."""
    d, u = schema.devices, schema.users
    row = conn.execute(
        select(d.c.id, d.c.expires_at, u.c.username, u.c.role, u.c.crew, u.c.disabled)
        .join(u, u.c.username == d.c.username)
        .where((d.c.token_hash == _digest(token)) & d.c.revoked_at.is_(None))
    ).first()
    if row is None or row.disabled:
        return None
    expires = as_utc(row.expires_at)
    if expires is not None and expires <= _now():
        return None  # a temporary handheld past its time
    return User(row.username, row.role, row.crew, device=row.id)


# ------------------------------------------------------------------ sessions
def start_session(conn: Connection, username: str, remote: str | None) -> str:
    """A new sign-in session of ``username``: its secret id (kept in the cookie only)."""
    sid = secrets.token_urlsafe(32)
    conn.execute(
        insert(schema.sessions).values(
            id_hash=_digest(sid),
            username=username,
            created_at=_now(),
            remote=None if remote is None else remote[:64],
        )
    )
    return sid


def session_user(conn: Connection, sid: str) -> User | None:
    """The user of a session that has not ended, if the user is enabled."""
    s, u = schema.sessions, schema.users
    row = conn.execute(
        select(u.c.username, u.c.role, u.c.crew, u.c.disabled)
        .join(s, s.c.username == u.c.username)
        .where((s.c.id_hash == _digest(sid)) & s.c.ended_at.is_(None))
    ).first()
    if row is None or row.disabled:
        return None
    return User(row.username, row.role, row.crew)


def end_session(conn: Connection, sid: str) -> None:
    """Sign out: every copy of this session's cookie stops working."""
    s = schema.sessions
    conn.execute(
        update(s)
        .where((s.c.id_hash == _digest(sid)) & s.c.ended_at.is_(None))
        .values(ended_at=_now())
    )
