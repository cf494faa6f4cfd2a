"""The engine's outage book, without a database: what a device's last restoration was."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from oms.engine.changes import Changes
from oms.engine.outage_book import OutageBook
from oms.outages import Outage

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _outage(oid: str, device: str, state: str = "predicted", restored: int | None = None) -> Outage:
    o = Outage(oid, "network", device, None, state, T0, T0, T0)
    if restored is not None:
        o.state, o.restored = "restored", T0 + timedelta(minutes=restored)
    return o


def test_the_outage_restored_last_at_a_device_open_or_finished() -> None:
    stored = [_outage("O1", "F1", restored=30), _outage("O2", "F1", restored=10)]
    book = OutageBook(stored, 3, Changes())
    assert book.restored_at("F1") is stored[0] and book.restored_at("F2") is None

    # Restored in this batch (still among the open ones), later than O1: it is the one.
    o3 = book.new("network", "F1", None, T0, T0)
    assert book.restored_at("F1") is stored[0]  # not restored yet
    o3.restore(T0 + timedelta(minutes=40), momentary_s=0.0)
    assert book.restored_at("F1") is o3
    book.settle()
    assert o3.id in book.finished and book.restored_at("F1") is o3

    # Reopened (back among the open ones) and moved away: no longer at F1.
    again = book.get(o3.id)
    again.move("F2", T0)
    book.placed(again)
    assert book.restored_at("F1") is stored[0] and book.restored_at("F2") is again

    # Cancelled, or a blink (momentary): not a network outage restored there.
    again.cancel()
    stored[0].kind = "momentary"
    assert book.restored_at("F2") is None and book.restored_at("F1") is stored[1]
