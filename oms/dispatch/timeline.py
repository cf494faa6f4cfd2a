"""The staged repair timeline (the A-H time model) and its response targets.

Every repair order carries eight stamps (mission brief, 95598 hotline):

=====  ==============================================  ==============
stamp  meaning                                         owner of the
                                                       segment ending
                                                       here
=====  ==============================================  ==============
A      the customer's report is received (clock starts)
B      the call centre issues the order                call centre
C      the order reaches the repair centre             call centre
D      the repair centre dispatches it                 repair centre
E      it reaches the crew (handheld delivery receipt) repair centre
F      the crew accepts it                             crew
G      the crew departs                                crew
H      the crew arrives on site                        crew
=====  ==============================================  ==============

then ``made_safe``, ``repaired``, ``restored``, ``callback`` and ``closed``.

Segment limits in minutes default to the brief's (AB 2, BC 4, CD 2, DE 4,
EF 2, FG 3, GH 28: 45 from report to arrival in urban areas); in rural and
remote areas only the travel segment GH grows (73 and 103: 90 and 120
minutes). :func:`evaluate` tells, as of a time, which segments breached
(attributed to the owner of that segment), and which targets are past
their 50% and 75% warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oms.vocabulary import Segment, Stamp, values

__all__ = [
    "AFTER_ARRIVAL",
    "SEGMENTS",
    "SEGMENT_OWNER",
    "STAMPS",
    "Status",
    "Targets",
    "evaluate",
]

STAMPS = values(Stamp)
AFTER_ARRIVAL = ("made_safe", "repaired", "restored", "callback", "closed")
SEGMENTS = values(Segment)
SEGMENT_OWNER = {
    "AB": "call_centre",
    "BC": "call_centre",
    "CD": "repair_centre",
    "DE": "repair_centre",
    "EF": "crew",
    "FG": "crew",
    "GH": "crew",
}
_DEFAULT = {"AB": 2.0, "BC": 4.0, "CD": 2.0, "DE": 4.0, "EF": 2.0, "FG": 3.0, "GH": 28.0}
_TRAVEL = {"urban": 28.0, "rural": 73.0, "remote": 103.0}
_RESTORATION = {"urban": 240.0, "rural": 360.0, "remote": 480.0}


@dataclass(frozen=True)
class Targets:
    """Minutes allowed per segment, to arrival (A to H), and to restoration.

    Build with :meth:`for_area`; ``shared_office`` gives DE 2 minutes (the
    team shares the repair centre's office).
    """

    segments: Mapping[str, float]
    restoration: float

    @property
    def arrival(self) -> float:
        return float(sum(self.segments.values()))

    @classmethod
    def for_area(
        cls,
        area_class: str,
        *,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
        shared_office: bool = False,
    ) -> Targets:
        segments = dict(_DEFAULT)
        segments["GH"] = _TRAVEL.get(area_class, _TRAVEL["rural"])
        if shared_office:
            segments["DE"] = 2.0
        restoration = _RESTORATION.get(area_class, _RESTORATION["rural"])
        extra = dict((overrides or {}).get(area_class, {}))
        restoration = float(extra.pop("restoration", restoration))
        segments.update({k: float(v) for k, v in extra.items() if k in segments})
        return cls(segments, restoration)

    def to_dict(self) -> dict[str, float]:
        """Contract 4: ``{"AB".."GH", "arrival", "restoration"}`` in minutes."""
        return {**dict(self.segments), "arrival": self.arrival, "restoration": self.restoration}


@dataclass
class Status:
    """Where a job stands against its targets at one moment.

    Attributes
    ----------
    breaches : list of str
        Segments (``AB``..``GH``), ``arrival`` and ``restoration`` whose limit
        was exceeded: finished late, or still open past it.
    owners : dict of str to str
        The owner each breached segment is attributed to.
    warnings : dict of str to int
        Open targets (``arrival``, ``restoration`` and the running segment)
        past 50% or 75% of their limit, and not yet breached.
    due : dict of str to datetime
        When each open target breaches.
    next_change : datetime or None
        The next time a warning or breach can appear without a new stamp
        (``now`` itself for a limit reached exactly now); None when none can.
    """

    breaches: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    due: dict[str, datetime] = field(default_factory=dict)
    next_change: datetime | None = None


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


def evaluate(stamps: Mapping[str, datetime | None], targets: Targets, now: datetime) -> Status:
    """The job's breaches and warnings as of ``now``. O(number of segments).

    A segment runs from its first stamp to its second; one whose first stamp
    is missing has not started. A stamp skipped over (a later one set, this
    one not) closes its segment at the later stamp.
    """
    status = Status()
    for seg, first, second, later in _SPANS:
        start = stamps.get(first)
        if start is None:
            continue
        end = stamps.get(second)
        if end is None:
            end = next((t for k in later if (t := stamps.get(k)) is not None), None)
        limit = targets.segments[seg]
        used = _minutes(start, end if end is not None else now)
        if used > limit:
            status.breaches.append(seg)
            status.owners[seg] = SEGMENT_OWNER[seg]
        elif end is None:
            status.due[seg] = start + timedelta(minutes=limit)
            _warn(status, seg, used / limit)
            _next(status, start, limit, now)
    a = stamps.get("A")
    if a is not None:
        for name, limit, end in (
            ("arrival", targets.arrival, stamps.get("H")),
            ("restoration", targets.restoration, stamps.get("restored")),
        ):
            used = _minutes(a, end if end is not None else now)
            if used > limit:
                status.breaches.append(name)
            elif end is None:
                status.due[name] = a + timedelta(minutes=limit)
                _warn(status, name, used / limit)
                _next(status, a, limit, now)
    return status


#: Per segment: its key, its first stamp, its second, and the stamps after the
#: second (a segment whose second stamp was skipped closes at the first set).
_SPANS = tuple((seg, seg[0], seg[1], STAMPS[STAMPS.index(seg[1]) + 1 :]) for seg in SEGMENTS)


def _next(status: Status, start: datetime, limit: float, now: datetime) -> None:
    for share in (0.5, 0.75, 1.0):
        t = start + timedelta(minutes=limit * share)
        # Reached exactly now still counts as to come: a breach is the
        # moment after its limit, so ``None`` means nothing more is due.
        if t >= now:
            if status.next_change is None or t < status.next_change:
                status.next_change = t
            return


def _warn(status: Status, name: str, share: float) -> None:
    if share >= 0.75:
        status.warnings[name] = 75
    elif share >= 0.5:
        status.warnings[name] = 50


def stamps_dict(values: Mapping[str, Any]) -> dict[str, datetime | None]:
    """Every stamp key (A..H and after arrival) with its time or None."""
    return {k: values.get(k) for k in (*STAMPS, *AFTER_ARRIVAL)}
