"""The app factory's configuration from the environment (``OMS_*``, webmap/app.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def make_app(web_db: str) -> Iterator[Any]:
    """create_app on the test network (no ticking), stopped afterwards."""
    from webmap import create_app

    made: list[Any] = []

    def make(**config: Any) -> Any:
        app = create_app({"TESTING": True, "OMS_DB": web_db, "OMS_TICK_S": 0, **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["oms.service"].stop()
        app.extensions["oms.storage.db"].dispose()


def test_the_phone_country_code_comes_from_the_environment(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMS_PHONE_COUNTRY_CODE", raising=False)
    assert make_app().config["OMS_PHONE_COUNTRY_CODE"] is None  # the stored numbers decide
    monkeypatch.setenv("OMS_PHONE_COUNTRY_CODE", "+86")
    assert make_app().config["OMS_PHONE_COUNTRY_CODE"] == "+86"
    # create_app's own configuration wins over the environment.
    assert make_app(OMS_PHONE_COUNTRY_CODE="44").config["OMS_PHONE_COUNTRY_CODE"] == "44"
