"""Times as epoch seconds in the evidence arrays, and back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["CALL_DELAY_MIN_S", "CLOCK_SLACK_S", "EPOCH", "to_datetime", "to_seconds"]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: Seconds by which a meter's or a caller's time may run ahead of a SCADA
#: time for the same event (the clocks of different systems).
CLOCK_SLACK_S = 10.0

#: Seconds a caller takes at least, after losing supply, to report it (to
#: notice, dial and get through the voice menu): a call made sooner after a
#: device opened is about an earlier loss of supply, not about that opening.
CALL_DELAY_MIN_S = 60.0


def to_seconds(t: datetime) -> float:
    """Seconds since 1970 (UTC) of an aware datetime."""
    return (t - EPOCH).total_seconds()


def to_datetime(s: float) -> datetime:
    """The aware UTC datetime of seconds since 1970."""
    return EPOCH + timedelta(seconds=float(s))
