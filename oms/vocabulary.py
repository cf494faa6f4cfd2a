"""The words the system and its users share, each defined once.

Each vocabulary is an enumeration of strings (``str`` subclasses, so a
member equals its value and goes into JSON as it is). The server sends them
to the pages in their configuration (``vocabulary``), so the map, the
handheld and the API description use the same lists as the engine.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "BUSY",
    "CREW_REPORTABLE",
    "CrewStatus",
    "JobState",
    "OutageKind",
    "OutageState",
    "Segment",
    "Stamp",
    "as_config",
    "values",
]


class CrewStatus(str, Enum):
    """Where a crew is in its day (contract 4, ``oms crews``), readiest first."""

    AVAILABLE = "available"
    RETURNING = "returning"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    OFF_SHIFT = "off_shift"


#: Statuses in which a crew is working a job.
BUSY = (CrewStatus.ASSIGNED, CrewStatus.ACCEPTED, CrewStatus.EN_ROUTE, CrewStatus.ON_SITE)
#: Statuses a crew reports itself (``crew_status``); the others follow its jobs.
CREW_REPORTABLE = (CrewStatus.OFF_SHIFT, CrewStatus.AVAILABLE, CrewStatus.RETURNING)


class JobState(str, Enum):
    """Where a repair job is (the handheld's stages, in order)."""

    WAITING = "waiting"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    MADE_SAFE = "made_safe"
    REPAIRED = "repaired"
    RESTORED = "restored"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OutageState(str, Enum):
    """The states of an outage (``oms.outages``)."""

    PREDICTED = "predicted"
    CONFIRMED = "confirmed"
    RESTORED = "restored"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OutageKind(str, Enum):
    NETWORK = "network"
    SINGLE_CUSTOMER = "single_customer"
    MOMENTARY = "momentary"
    #: Customers cut off by a commanded switching operation (no fault).
    SWITCHING = "switching"
    #: ... by the switching of a planned outage (IEEE 1366: a planned interruption).
    PLANNED = "planned"


class Stamp(str, Enum):
    """The eight stamps of the repair time model (A report received .. H arrival)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"


class Segment(str, Enum):
    """The segments between consecutive stamps, each with a limit and an owner."""

    AB = "AB"
    BC = "BC"
    CD = "CD"
    DE = "DE"
    EF = "EF"
    FG = "FG"
    GH = "GH"


def values(vocabulary: type[Enum] | tuple[Enum, ...]) -> tuple[str, ...]:
    """The string values of an enumeration (or of some of its members), in order."""
    return tuple(str(member.value) for member in vocabulary)


def as_config() -> dict[str, list[str]]:
    """Every vocabulary as lists of strings, for the pages' configuration."""
    return {
        "crew_statuses": list(values(CrewStatus)),
        "crew_busy": list(values(BUSY)),
        "crew_reportable": list(values(CREW_REPORTABLE)),
        "job_states": list(values(JobState)),
        "outage_states": list(values(OutageState)),
        "active_outage_states": list(values((OutageState.PREDICTED, OutageState.CONFIRMED))),
        "shown_outage_states": list(
            values((OutageState.PREDICTED, OutageState.CONFIRMED, OutageState.RESTORED))
        ),
        "finished_job_states": list(values((JobState.CLOSED, JobState.CANCELLED))),
        "outage_kinds": list(values(OutageKind)),
        "stamps": list(values(Stamp)),
        "segments": list(values(Segment)),
    }
