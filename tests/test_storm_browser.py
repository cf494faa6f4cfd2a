"""Storm mode on the pages in headless Chromium (issue 16 item 3).

The dispatcher turns storm mode on from the map's top bar with a reason, a
dispatch policy and a zone's storm ETR; the banner appears on the
dispatcher's page and on the switching page (from the live stream) and on
crew K1's handheld (polled every 30 s: its stream carries only the crew's
own alerts), which shows it again, marked as the last known, after a restart
without signal. GET /api/storm agrees with what was set. A change the engine
refuses is shown in the dialog with its reason; then the dispatcher turns
storm mode off and the banners go. Only the dispatcher is offered the
control.

SQLite only (the API has its own tests on both databases); the server runs
on the wall clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import User, kept_on_server

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

BANNER = "#storm-banner"
SHOWN = f"{BANNER}:not([hidden])"
GONE = f"{BANNER}[hidden]"


def _sign_in(page: Any, base: str, user: str, where: str) -> None:
    page.goto(f"{base}/login?next={where}")
    page.fill("#username", user)
    page.fill("#password", "secret-pw")
    page.click("button[type=submit]")


@pytest.fixture
def desk(chromium: Any, live_server: str) -> Iterator[Any]:
    """The switching page in a browser of its own, signed in as the engineer."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        with kept_on_server(page, live_server):
            _sign_in(page, live_server, "eng", "/switching")
            page.wait_for_function("window.omsSwitching && window.omsSwitching.loaded")
            page.wait_for_selector("#live.on")
            yield page
    finally:
        context.close()


@pytest.fixture
def handheld(chromium: Any, live_server: str) -> Iterator[Any]:
    """Crew K1's handheld on a phone, its service worker in control and its timers
    under the test's hand (the 30 s poll is fast-forwarded, not waited for)."""
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.clock.install()
    try:
        _sign_in(page, live_server, "k1", "/crew/")
        page.wait_for_url(f"{live_server}/crew/")
        page.wait_for_selector("#app[data-ready='1']")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        yield page
        assert errors == []
    finally:
        context.close()


def _polled(page: Any) -> None:
    """The handheld's next poll of storm mode (30 s on)."""
    page.clock.fast_forward("00:31")


def test_only_the_dispatcher_is_offered_storm_mode(app: Any) -> None:
    for user, offered in (("dora", True), ("eng", False)):
        html = User(app, user).get("/").get_data(as_text=True)
        found = re.search(r'id="oms-config">(.*?)</script>', html, re.S)
        assert found is not None
        assert json.loads(found[1])["canStorm"] is offered, user


def test_storm_mode_on_and_off_from_the_dispatcher_shown_on_every_page(
    app: Any, live_server: str, page: Any, desk: Any, handheld: Any
) -> None:
    dora = User(app, "dora")  # asks the server what was set
    with kept_on_server(page, live_server):
        _sign_in(page, live_server, "dora", "/")
        page.wait_for_function("window.omsMap && window.omsMap.loaded")
        page.wait_for_selector("#live.on")
        for where in (page, desk, handheld):
            assert where.locator(BANNER).is_hidden()

        # On: a reason, batch dispatch, a storm ETR for zone Z-W (this browser's local time).
        etr = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%dT18:00")
        page.click("#storm-open")
        page.wait_for_selector("#dialog[open] #storm-reason")
        assert page.text_content("#dialog-ok") == "Turn on"
        page.fill("#storm-reason", "Storm Ada")
        page.select_option("#storm-dispatch", "batch")
        page.fill("#dialog tr[data-zone='Z-W'] input", etr)
        page.click("#dialog-ok")
        page.wait_for_selector("#dialog[open]", state="detached")
        page.wait_for_selector(SHOWN)
        text = page.text_content(BANNER) or ""
        assert "Storm mode" in text and "(dora: Storm Ada)" in text
        assert page.text_content(f"{BANNER} .storm-dispatch") == "dispatch: batch"
        # Tomorrow's: with its day ("21 Mar 18:00", not broken across lines).
        etr_words = page.text_content(f"{BANNER} .storm-etr") or ""
        tomorrow = r"storm ETR: Z-W \d{1,2}\xa0[A-Z][a-z]{2}\xa018:00"
        assert re.fullmatch(tomorrow, etr_words), etr_words
        assert page.get_attribute("#storm-open", "aria-pressed") == "true"

        # The server agrees; the change is an alert on the dispatcher's list.
        state = dora.get("/api/storm").get_json()
        sent = page.evaluate("(v) => new Date(v).toISOString()", etr)
        assert (state["on"], state["by"], state["reason"], state["dispatch"]) == (
            True,
            "dora",
            "Storm Ada",
            "batch",
        )
        assert state["etr"] is None and list(state["zone_etrs"]) == ["Z-W"]
        assert datetime.fromisoformat(state["zone_etrs"]["Z-W"]) == datetime.fromisoformat(sent)
        listed = "document.getElementById('tab-alerts').textContent"
        page.wait_for_function(f"{listed}.includes('Storm mode: dispatch batch (dora: Storm Ada)')")

        # The switching page from its stream, the handheld at its next poll.
        desk.wait_for_selector(SHOWN)
        assert desk.text_content(BANNER) == text
        _polled(handheld)
        handheld.wait_for_selector(SHOWN)
        assert handheld.text_content(f"{BANNER} .storm-dispatch") == "dispatch: batch"
        # A restart without signal: the last state known, said to be so.
        handheld.context.set_offline(True)
        handheld.reload()
        handheld.wait_for_selector("#app[data-ready='1']")
        handheld.wait_for_selector(f"{SHOWN}[data-stale]")
        assert "(dora: Storm Ada)" in (handheld.text_content(BANNER) or "")
        handheld.context.set_offline(False)
        handheld.wait_for_selector(f"{SHOWN}:not([data-stale])")

        # A storm ETR the engine refuses: its reason in the dialog, nothing changed.
        page.click("#storm-open")
        page.wait_for_selector("#dialog[open] #storm-off")
        assert page.text_content("#dialog-ok") == "Save"
        assert page.input_value("#storm-reason") == "Storm Ada"
        # The prediction rules in force (none configured here: the usual ones).
        assert "usual rules (no storm rules configured)" in (
            page.text_content("#storm-rules") or ""
        )
        assert page.input_value("#dialog tr[data-zone='Z-W'] input") == etr
        page.fill("#storm-etr", "1969-07-20T20:17")
        page.click("#dialog-ok")
        page.wait_for_function("document.getElementById('dialog-error').textContent !== ''")
        assert "out of range" in (page.text_content("#dialog-error") or "")
        assert dora.get("/api/storm").get_json()["etr"] is None

        # Off: every banner goes.
        page.fill("#storm-etr", "")
        page.click("#storm-off")
        page.wait_for_selector("#dialog[open]", state="detached")
        page.wait_for_selector(GONE, state="attached")
        assert dora.get("/api/storm").get_json()["on"] is False
        assert page.get_attribute("#storm-open", "aria-pressed") == "false"
        desk.wait_for_selector(GONE, state="attached")
        _polled(handheld)
        handheld.wait_for_selector(GONE, state="attached")
