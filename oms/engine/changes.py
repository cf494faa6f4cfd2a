"""What one batch changed: filled by the core, written by the repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oms.outages import Outage

__all__ = ["Changes"]


@dataclass
class Changes:
    """The per-batch change record.

    Attributes
    ----------
    new, dirty : set of str
        Outages created, and outages changed (new ones too).
    audit : list of dict
        Audit records (``outage_audit`` rows).
    devices : dict
        Device state rows reported in the batch, by device id.
    pings : list of (unit, outage id, purpose)
        Meters to ping (``confirm`` a prediction, find ``nested`` outages).
    moved, restored : list of Outage
        Network outages placed at a new device, and restored, in the batch.
    """

    new: set[str] = field(default_factory=set)
    dirty: set[str] = field(default_factory=set)
    audit: list[dict[str, Any]] = field(default_factory=list)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    pings: list[tuple[int, str, str]] = field(default_factory=list)
    moved: list[Outage] = field(default_factory=list)
    restored: list[Outage] = field(default_factory=list)
    #: Damage reports recorded in the batch (``oms.engine.damage``).
    damage: list[dict[str, Any]] = field(default_factory=list)
    #: Register entries edited, and calls to customers recorded (``oms.engine.register``).
    register: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
