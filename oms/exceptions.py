"""Exceptions raised by the outage and dispatch domain.

The hierarchy, in the manner of ``networkx.exception``::

    OMSError                      base of everything raised here
    ├── StorageError              the database cannot be used (URL, schema, version)
    │   └── NotLoadedError        the database holds no network yet (run ``oms load``)
    ├── EventError                one event is invalid; names the field and why
    │   └── EventConflict         an event id seen before with other content
    ├── OutageNotFound            an id names no outage
    └── ActionError               a dispatcher action cannot be carried out

Topology problems (unknown elements, invalid network files) are raised as
:class:`topology.TopologyError` and its subclasses. Every message names the
element and says what is wrong, so the CLI can print ``str(exc)`` as it is.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "EventConflict",
    "EventError",
    "NotLoadedError",
    "OMSError",
    "OutageNotFound",
    "StorageError",
]


class OMSError(Exception):
    """Base class of the exceptions of the ``oms`` package."""


class StorageError(OMSError):
    """The database cannot be used: bad URL, unreachable, wrong schema."""


class NotLoadedError(StorageError):
    """The database holds no network; ``oms load`` must run first."""


class EventError(OMSError):
    """An event is not valid (contract 3): a field is missing, wrong or unknown."""


class EventConflict(EventError):
    """An event id already in the log arrived again with different content."""


class OutageNotFound(OMSError):
    """No outage has this id."""


class ActionError(OMSError):
    """A dispatcher action (confirm, merge, split...) is not possible as asked."""
