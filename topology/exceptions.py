"""Exceptions raised by the topology library.

The hierarchy, in the manner of ``networkx.exception``::

    TopologyError                 base of everything raised here
    ├── NetworkFileError          a file cannot be read at all (format, CRS, I/O)
    ├── NetworkValidationError    the file was read but holds errors; carries
    │                             every :class:`Issue` found, nothing is loaded
    ├── ElementNotFound           an id names no node or edge of the network
    ├── NotEnergizedError         the question needs supply and there is none
    ├── IsolationError            no switching can cut a fault off its sources
    └── SwitchOperationError      a switching step is impossible
        ├── NotOperableError      the edge is not a device that can be operated
        └── SwitchStateError      the device is already in the requested state

Every message names the element and says what is wrong, so that a command
line tool can print ``str(exc)`` as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ElementNotFound",
    "IsolationError",
    "Issue",
    "NetworkFileError",
    "NetworkValidationError",
    "NotEnergizedError",
    "NotOperableError",
    "SwitchOperationError",
    "SwitchStateError",
    "TopologyError",
]


class TopologyError(Exception):
    """Base class of the exceptions of the topology library."""


class NetworkFileError(TopologyError):
    """A network, customers or other input file cannot be read at all."""


@dataclass(frozen=True)
class Issue:
    """One problem found while loading or validating a network.

    Attributes
    ----------
    element : str or None
        The id of the feature (or ``"line N"`` of a CSV file) the problem is
        about, or None for the file as a whole.
    message : str
        What is wrong, in words an engineer can act on.
    severity : str
        ``"error"`` (the file is rejected) or ``"warning"`` (it loads).
    ids : tuple of str
        Further element ids involved (e.g. the edges of a closed loop).
    """

    element: str | None
    message: str
    severity: str = "error"
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.element}: " if self.element is not None else ""
        return f"{self.severity}: {where}{self.message}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "element": self.element,
            "severity": self.severity,
            "message": self.message,
        }
        if self.ids:
            out["ids"] = list(self.ids)
        return out


class NetworkValidationError(TopologyError):
    """The input holds errors; ``issues`` lists all of them (errors first).

    Nothing of a file that raises this is loaded.
    """

    def __init__(self, issues: list[Issue], source: str | None = None) -> None:
        self.issues = sorted(issues, key=lambda i: i.severity != "error")
        self.source = source
        errors = [i for i in self.issues if i.severity == "error"]
        head = f"{source}: " if source else ""
        shown = "\n".join(f"  {i}" for i in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{head}{len(errors)} error(s)\n{shown}{more}")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


class ElementNotFound(TopologyError, KeyError):
    """No node or edge of the network has this id."""

    def __init__(self, element: str, what: str = "node or edge") -> None:
        self.element = element
        super().__init__(f"no {what} with id {element!r} in the network")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class NotEnergizedError(TopologyError):
    """The element has no supply, so the question has no answer."""


class IsolationError(TopologyError):
    """The faulted section holds a source: no device can cut it off."""


class SwitchOperationError(TopologyError):
    """A switching operation cannot be carried out."""


class NotOperableError(SwitchOperationError):
    """The edge is a conductor or transformer, not an operable device."""


class SwitchStateError(SwitchOperationError):
    """The device is already open (or closed)."""
