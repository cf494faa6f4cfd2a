"""The OpenAPI description and the server agree under every schemathesis check.

schemathesis runs as ``schemathesis run --checks all`` would (its engine:
examples, coverage, fuzzing and stateful phases) against the app served by
waitress, signed in as the admin with the CSRF token, with real outage,
job and crew ids in the path half of the time so actions reach the engine.
Bounded (a few examples per operation, deterministic, no example database)
to run in well under a minute; any failed check fails the test, listed by
check and operation.

What no description can promise is listed in :data:`EXPECTED`, each with
its reason; only those check and operation pairs are excused.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import T0, Clock, User, serve
from flask import Flask
from test_api import job_of, outage_at, trip

#: Examples per operation and phase: enough for every parameter's coverage
#: cases (boundaries, missing, wrong types, undeclared methods) and some fuzzing.
MAX_EXAMPLES = 8

#: Operations a schema-valid request may be refused by, with the statuses
#: that refusal takes (``positive_data_acceptance`` expects 2xx, 401, 403, 404,
#: 409 or 429). Validity here depends on the stored data, which no
#: description states: whether a customer, device, crew, outage or job of
#: that id exists, what state it is in (an outage not restored cannot be
#: closed), whether a user name is taken. The engine refuses such an event
#: with 422 and the reason (documented); the account routes answer 400
#: (docs/api.md).
DATA_DEPENDENT: dict[str, frozenset[int]] = {
    "POST /api/events": frozenset({422}),
    "POST /api/crews/{crew_id}/gps": frozenset({422}),
    "POST /api/crews/{crew_id}/status": frozenset({422}),
    # Mutual aid: a crew id loaded already, a unit or zone not loaded, a crew
    # not expected; the rows' line and column named.
    "POST /api/crews/import": frozenset({422}),
    "POST /api/crews/{crew_id}/checkin": frozenset({422}),
    "POST /api/switch": frozenset({422}),
    "POST /api/jobs/{job_id}/{action}": frozenset({422}),
    "POST /api/outages/{outage_id}/{action}": frozenset({422}),
    # The switching desk: the engine names an unknown device or crew, a state
    # the document is not in, a rule broken (two-person, sequence, interlocks).
    **{
        f"POST {route}": frozenset({422})
        for route in (
            "/api/outages/{outage_id}/order",
            "/api/planned",
            "/api/planned/{planned_id}/{action}",
            "/api/switching/orders",
            "/api/switching/orders/{order_id}/edit",
            "/api/switching/orders/{order_id}/steps/{seq}",
            "/api/switching/orders/{order_id}/{action}",
            "/api/switching/safety",
            "/api/switching/safety/{document_id}/{action}",
            "/api/storm",
            "/api/damage",
            "/api/customers/{customer}/contacts",  # an outage the engine does not know
        )
    },
    # Steps naming what the network does not have: 400, the steps named.
    "POST /api/switching/study": frozenset({400}),
    # A user name taken, a crew not loaded.
    "POST /api/users": frozenset({400}),
    # The user must exist and be enabled.
    "POST /api/devices": frozenset({400}),
    # An element id the network does not have, or a question with no answer
    # (isolating a dead edge): 400 by docs/api.md.
    "GET /api/trace/{kind}": frozenset({400}),
}

#: (check, operation) pairs excused entirely, with the reason.
EXPECTED: dict[tuple[str, str], str] = {
    # Exactly one of ``case`` and ``phone``: no parameter schema can state it
    # (each parameter is described on its own), so neither or both is a 400 for
    # a request the description allows (the description says so in words).
    ("positive_data_acceptance", "GET /api/public/case"): "one of two parameters",
}


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serve(app, threads=4) as base:
        yield base


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_description_and_server_agree(app: Flask, live: str) -> None:
    import schemathesis
    from schemathesis.checks import CHECKS
    from schemathesis.engine import events, from_schema

    # As tests/test_api.py: a fixed clock, K1 and K2 on shift.
    app.extensions["oms.service"].clock = Clock(T0 + timedelta(minutes=5))

    admin = User(app, "ada")
    trip(admin, "s1", "B1")
    trip(admin, "s2", "B2", 60)
    out = outage_at(admin, "B1")["id"]
    real = {"outage_id": out, "job_id": job_of(admin, out)["id"], "crew_id": "K1"}
    cookie = admin.client.get_cookie("session")
    assert cookie is not None

    schema = schemathesis.openapi.from_url(f"{live}/api/openapi.json")
    # /stream never ends (see tests/test_stream.py).
    schema = schema.exclude(path="/stream")
    config = schema.config
    config.update(continue_on_failure=True, headers=admin.headers)
    config.checks.update(included_check_names=["all"])
    config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")

    @schema.auth()
    class AdminSession:
        def get(self, case: Any, context: Any) -> str:
            return cookie.value

        def set(self, case: Any, data: str, context: Any) -> None:
            case.cookies = {**(case.cookies or {}), "session": data}

    turn = itertools.count()

    @schema.hook
    def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
        if next(turn) % 2:
            return path_parameters
        return {k: real.get(k, v) for k, v in path_parameters.items()}

    failures: dict[tuple[str, str], list[str]] = {}
    errors: list[str] = []
    ran: dict[str, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    ran[check.name] = ran.get(check.name, 0) + 1
                    info = check.failure_info
                    if info is None:
                        continue
                    label = info.failure.operation
                    status = getattr(info.failure, "status_code", None)
                    if (check.name, label) in EXPECTED:
                        continue
                    if check.name == "positive_data_acceptance" and status in DATA_DEPENDENT.get(
                        label, ()
                    ):
                        continue
                    message = f"[{status}] " + " / ".join(info.failure.message.splitlines()[:3])
                    failures.setdefault((check.name, label), []).append(
                        f"{message}\n        {info.code_sample.splitlines()[0][:300]}"
                    )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(event))
    assert not errors, "\n".join(errors)
    # Every check schemathesis has ran (a check that never runs passes silently).
    assert set(CHECKS.get_all_names()) <= set(ran), sorted(set(CHECKS.get_all_names()) - set(ran))
    report = [
        f"{check} on {label}: {len(found)} failure(s), e.g.\n    {found[0]}"
        for (check, label), found in sorted(failures.items())
    ]
    assert not failures, "\n".join(report)
