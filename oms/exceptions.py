"""Exceptions raised by the outage and dispatch domain.

The hierarchy, in the manner of ``networkx.exception``, with each class's
``code``::

    OMSError                  error        base of everything raised here
    ├── StorageError          unavailable  the database cannot be used (URL, schema, version)
    │   ├── NotLoadedError    unavailable  the database holds no network yet (run ``oms load``)
    │   └── RegionUnavailable unavailable  a control region's schema is gone or not readable
    ├── EventError            invalid      one event is invalid; names the field and why
    │   ├── EventConflict     conflict     an event id seen before with other content
    │   └── Forbidden         forbidden    the sender's role may not send this event
    ├── NotFound              not_found    an id names nothing the sender may act on
    │   ├── OutageNotFound    not_found    an id names no outage
    │   └── JobNotFound       not_found    an id names no job of the acting crew
    └── ActionError           refused      a dispatcher action cannot be carried out

Topology problems (unknown elements, invalid network files) are raised as
:class:`topology.TopologyError` and its subclasses. Every message names the
element and says what is wrong, so the CLI can print ``str(exc)`` as it is.

The ``code`` (a class attribute) is machine-readable: callers classify a
failure by it, never by its message. The web API maps codes to HTTP status
codes; an ingest records the code of each line it rejects
(:class:`oms.engine.IngestReport`).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ActionError",
    "EventConflict",
    "EventError",
    "Forbidden",
    "JobNotFound",
    "NotFound",
    "NotLoadedError",
    "OMSError",
    "OutageNotFound",
    "RegionUnavailable",
    "StorageError",
]


class OMSError(Exception):
    """Base class of the exceptions of the ``oms`` package."""

    code: ClassVar[str] = "error"


class StorageError(OMSError):
    """The database cannot be used: bad URL, unreachable, wrong schema."""

    code: ClassVar[str] = "unavailable"


class NotLoadedError(StorageError):
    """The database holds no network; ``oms load`` must run first."""


class RegionUnavailable(StorageError):
    """A control region the views list cannot be read: its schema was dropped,
    renamed or never made (``oms regions views`` lists it still)."""


class EventError(OMSError):
    """An event is not valid (contract 3): a field is missing, wrong or unknown."""

    code: ClassVar[str] = "invalid"


class EventConflict(EventError):
    """An event id already in the log arrived again with different content."""

    code: ClassVar[str] = "conflict"


class Forbidden(EventError):
    """The sender's role may not send this type of event (:mod:`oms.authority`)."""

    code: ClassVar[str] = "forbidden"


class NotFound(OMSError):
    """An id names nothing the sender may act on."""

    code: ClassVar[str] = "not_found"


class OutageNotFound(NotFound):
    """No outage has this id."""


class JobNotFound(NotFound):
    """No open job has this id, or it is another crew's (which a crew may not see)."""


class ActionError(OMSError):
    """A dispatcher action (confirm, merge, split...) is not possible as asked."""

    code: ClassVar[str] = "refused"
