"""Authentication: session login for people, bearer tokens for handhelds.

- ``GET/POST /login`` (form) and ``POST /api/login`` (JSON) start a session
  after checking the hashed password: a row in ``sessions`` whose random id
  the signed cookie carries. ``POST /logout`` (with the CSRF token) ends
  it, for every copy of the cookie; so does disabling the user.
  Every attempt is audited before the password is checked; after
  ``LOGIN_MAX_FAILURES`` (5) for one user name, or 4 times that from one
  address, within ``LOGIN_WINDOW_S`` (5 min), counted in the database
  across server processes, logins are refused with 429 until the window
  passes.
- ``Authorization: Bearer <token>``: a handheld registered by an admin
  (``oms device add``). A revoked device is refused at its next request.
- CSRF: requests that change state with a session cookie must carry the
  session's token (``X-CSRFToken`` header or ``csrf_token`` form field;
  Flask-WTF); bearer requests need none, since browsers never add them.
- :func:`require` guards a view by role, and by action for views with an
  ``action`` argument; a crew user may only touch its own crew's jobs
  (checked by the views, with :func:`current_user`). Those roles are stated
  there once: the view carries them (:class:`Access`), the OpenAPI
  description lists them (``x-roles``) and the pages ask :func:`may`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect, generate_csrf

from webmap import audit
from webmap.accounts import (
    User,
    check_password,
    device_for_token,
    end_session,
    session_user,
    start_session,
)
from webmap.db import database, get_conn, read_database
from webmap.openapi.metadata import STR, Answer, Named, obj, operation
from webmap.openapi.shapes import SESSION, USER

__all__ = [
    "Access",
    "access_of",
    "bp",
    "credential",
    "csrf",
    "current_user",
    "init_app",
    "may",
    "may_take",
    "require",
    "still_signed_in",
]

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()

F = TypeVar("F", bound=Callable[..., Any])
_MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def current_user() -> User | None:
    """The user of this request (session or bearer token), or None."""
    if "oms_user" in g:
        user: User | None = g.oms_user
        return user
    user = None
    cred = credential()
    if cred is not None:
        if read_database() is database():
            # The request's own connection: one pool checkout per request.
            user = _user_of(get_conn(), cred)
        else:
            # A replica may not have a new session or a revocation yet: the primary decides.
            with database().connect() as conn:
                user = _user_of(conn, cred)
    g.oms_user = user
    return user


def credential() -> tuple[str, str] | None:
    """How this request says who it is: ``("bearer", token)``, ``("session", id)`` or None."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "bearer", header[7:].strip()
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        return "session", sid
    return None


def _user_of(conn: Any, cred: tuple[str, str]) -> User | None:
    kind, secret = cred
    return device_for_token(conn, secret) if kind == "bearer" else session_user(conn, secret)


def still_signed_in(cred: tuple[str, str]) -> bool:
    """Whether a credential still works (a revoked token or an ended session does not).

    For long requests (the live stream), on a connection of its own."""
    with database().connect() as conn:
        return _user_of(conn, cred) is not None


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/stream", "/map/")) or request.is_json


@dataclass(frozen=True)
class Access:
    """Who may call a view: the roles :func:`require` was given, kept on the view.

    ``roles`` empty means any signed-in user; an admin may do everything.
    ``actions`` narrows a view with an ``action`` argument: the roles that
    may take each action (an action not listed is left to the view).
    """

    roles: frozenset[str]
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def allows(self, role: str, action: str | None = None) -> bool:
        if role == "admin":
            return True
        if self.roles and role not in self.roles:
            return False
        allowed = self.actions.get(action) if action is not None else None
        return allowed is None or role in allowed


def require(*roles: str, actions: Mapping[str, Iterable[str]] | None = None) -> Callable[[F], F]:
    """Allow the view to signed-in users with one of ``roles`` (any role if none).

    ``actions`` maps the values of the view's ``action`` argument to the
    roles that may take them (each within ``roles``). Signed out: 401 (JSON)
    or the sign-in form; another role: 403. The view carries the rule as
    ``view.access`` (:class:`Access`).
    """
    access = Access(frozenset(roles), {a: frozenset(r) for a, r in (actions or {}).items()})

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                cred = credential()
                if cred is not None and cred[0] == "bearer":  # unknown or revoked token
                    audit.refused(database(), "token")
                if _wants_json():
                    abort(401)
                return redirect(url_for("auth.login", next=request.full_path))
            action = kwargs.get("action")
            if not access.allows(user.role) or (
                isinstance(action, str) and not access.allows(user.role, action)
            ):
                audit.refused(
                    database(),
                    "role",
                    username=user.username,
                    device=user.device,
                    detail={"role": user.role, "action": action},
                )
                if isinstance(action, str) and access.allows(user.role):
                    abort(403, description=f"a {user.role} cannot {action} here")
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = access  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorate


def access_of(endpoint: str) -> Access | None:
    """The rule of the app's view ``endpoint`` (None: open to anyone).

    Raises
    ------
    KeyError
        The app has no such endpoint.
    """
    access: Access | None = getattr(current_app.view_functions[endpoint], "access", None)
    return access


def may(user: User | None, endpoint: str, action: str | None = None) -> bool:
    """Whether ``user`` may call ``endpoint`` (taking ``action``), as :func:`require` decides."""
    access = access_of(endpoint)
    if access is None:
        return True
    return user is not None and access.allows(user.role, action)


def may_take(user: User | None, endpoint: str) -> list[str]:
    """The actions of ``endpoint`` (its ``require(actions=...)``) that ``user`` may take."""
    access = access_of(endpoint)
    actions = list(access.actions) if access else []
    return [a for a in actions if may(user, endpoint, a)]


def _check_csrf() -> None:
    """CSRF for state changes made with a session (and the sign-in form).

    A request signed in by nobody has nothing to forge: it gets its 401 from
    :func:`require`, not a CSRF error.
    """
    if (
        request.method in _MUTATING
        and not request.headers.get("Authorization", "").startswith("Bearer ")
        and (session.get("user") or request.endpoint == "auth.login")
    ):
        csrf.protect()


def _login(username: str, password: str) -> tuple[User | None, int, str]:
    if "\x00" in username or "\x00" in password:  # no user has one; SQL text cannot
        return None, 400, "a user name or password cannot contain NUL characters"
    cfg = current_app.config
    window = float(cfg.get("LOGIN_WINDOW_S", 300))
    limit = int(cfg.get("LOGIN_MAX_FAILURES", 5))
    # The attempt counts as failed before the (slow) password check, so a
    # burst of parallel guesses, even across server processes, gets no more
    # checks than the limit.
    attempt, by_name, by_remote = audit.begin_login(database(), username, window)
    if by_name > limit or by_remote > 4 * limit:
        audit.finish_login(database(), attempt, "login_refused", "refused")
        return None, 429, f"too many failed logins; try again in {int(window // 60)} minutes"
    with database().connect() as conn:
        user = check_password(conn, username, password)
    if user is None:
        audit.finish_login(database(), attempt, "login_failed", "refused")
        return None, 401, "wrong user name or password"
    with database().begin() as conn:
        sid = start_session(conn, user.username, request.remote_addr)
    session.clear()
    session["sid"] = sid
    session["user"] = user.username
    session.permanent = True
    audit.finish_login(database(), attempt, "login", "ok", username=user.username)
    return user, 200, ""


def _local_path(target: str) -> bool:
    """Whether ``target`` is a path on this site: never bounce a user to another.

    Browsers read ``/\\evil.example`` as ``//evil.example`` and drop tabs and
    newlines, so those are refused as well as ``//host`` and ``scheme:``.
    """
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    )


def _home(user: User) -> str:
    return url_for("crew.home") if user.role == "crew" else url_for("dispatcher.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form (dispatchers, engineers, crews on a browser)."""
    error = None
    status = 200
    if request.method == "POST":
        user, status, error = _login(
            request.form.get("username", ""), request.form.get("password", "")
        )
        if user is not None:
            target = request.args.get("next") or ""
            return redirect(target if _local_path(target) else _home(user))
    return _retry_after(render_template("login.html", error=error), status)


def _retry_after(body: Any, status: int) -> Any:
    """A 429 says when to try again: when the lock-out window has passed."""
    if status != 429:
        return body, status
    seconds = int(float(current_app.config.get("LOGIN_WINDOW_S", 300)))
    return body, status, {"Retry-After": str(max(seconds, 1))}


LOGIN = Named("Login", obj({"username": STR, "password": STR}, ("username", "password")))


@bp.post("/api/login")
@operation(
    "Sign in (JSON): starts a session",
    tag="auth",
    body=LOGIN,
    body_required=True,
    ok=Answer(
        "Signed in: the session cookie is set; send ``csrf_token`` as "
        "``X-CSRFToken`` on requests that change state.",
        obj({"user": USER, "csrf_token": STR}, ("user", "csrf_token")),
    ),
    errors=(400, 401, 429),
    description="Failed logins are audited; after 5 for one user name (20 from one "
    "address) within 5 minutes, logins are refused with 429. No CSRF token is needed here.",
)
def api_login() -> Any:
    """JSON sign-in: ``{"username", "password"}`` -> the user and a CSRF token."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    if not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        return jsonify(error='send {"username": ..., "password": ...} as JSON'), 400
    user, status, error = _login(body["username"], body["password"])
    if user is None:
        return _retry_after(jsonify(error=error), status)
    return jsonify(user=user.to_dict(), csrf_token=generate_csrf())


@bp.post("/logout")
def logout() -> Any:
    """Sign out (POST with the CSRF token): the session ends for every copy of its cookie."""
    user = current_user()
    cred = credential()
    if cred is not None and cred[0] == "session":
        with database().begin() as conn:
            end_session(conn, cred[1])
    if user is not None:
        audit.record(database(), "logout", "ok", username=user.username)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/api/session")
@operation(
    "The signed-in user and a fresh CSRF token",
    tag="auth",
    ok=Answer("Signed in.", SESSION),
    errors=(401,),
)
def whoami() -> Any:
    """The signed-in user and a fresh CSRF token (401 when signed out)."""
    user = current_user()
    if user is None:
        return jsonify(error="not signed in"), 401
    return jsonify(user=user.to_dict(), csrf_token=generate_csrf(), device=user.device)


def init_app(app: Any) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.register_blueprint(bp)
