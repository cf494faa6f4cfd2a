"""The evidence of supply per unit, and what it says as of now.

:class:`Evidence` keeps the latest time of each kind of report per unit
(epoch seconds, NaN when none); :meth:`Evidence.table` reads it as of a
time into an :class:`EvidenceTable`: per unit with something to say, the
log-likelihood ratio of "dead" against "supplied" that the predictor sums
(``docs/fault-location.md``), and the times the outage rules need.

A unit's row changes only when its own evidence does, or when the clock
passes one of its own times by a fixed span (the window, the supplied
window, a ping's timeout, a restoration's grace), or when something
global flips (the head-end's last gasps or ping replies falling out of
the window, the rules themselves). :meth:`Evidence.table` therefore looks
again only at the units changed since the last table or whose next such
time has come, and keeps every other unit's row as it was: its cost
follows the storm, not the number of units with something to say.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from oms.config import PredictionParams
from oms.intake.events import Event

__all__ = ["Evidence", "EvidenceTable"]


#: A row's columns beyond its unit and node (:class:`EvidenceTable`).
_COLUMNS = ("delta", "dead", "on", "off", "pdead", "dead_t", "since_t", "fresh_t", "gasp_t", "on_t")


@dataclass(frozen=True)
class EvidenceTable:
    """Per unit with live evidence (parallel arrays), as of one time.

    Attributes
    ----------
    units, nodes : ndarray of int
    delta : ndarray of float
        Log-likelihood ratio of dead against supplied, beyond the base rate.
    dead, on, off, pdead : ndarray of bool
        Out of supply; reported supplied; out by a call; out by a ping.
    dead_t, since_t, fresh_t, gasp_t, on_t : ndarray of float
        When it went out (nested: since when), out since (all along), the
        latest fresh report of no supply, the last gasp, the report of supply.
    base_meter : float
        Ratio of a metered unit that sent nothing (0 when AMI is silent).
    ami_live : bool
        The head-end delivered a last gasp within the window.
    stale : ndarray of int
        Units whose evidence aged out of the window (to forget).
    settled : ndarray of int
        Units back in supply for good (to leave alone until something about
        them changes, :meth:`Evidence.forget`).
    floor_t : float
        The start of the window (reports before it are ignored).
    """

    units: np.ndarray
    nodes: np.ndarray
    delta: np.ndarray
    dead: np.ndarray
    on: np.ndarray
    off: np.ndarray
    pdead: np.ndarray
    dead_t: np.ndarray
    since_t: np.ndarray
    fresh_t: np.ndarray
    gasp_t: np.ndarray
    on_t: np.ndarray
    base_meter: float
    ami_live: bool
    stale: np.ndarray
    settled: np.ndarray
    floor_t: float

    def select(self, keep: np.ndarray) -> EvidenceTable:
        """The rows where ``keep`` is true (the flags, ``stale`` and ``settled`` as they are)."""
        if keep.all():
            return self
        arrays = {name: getattr(self, name)[keep] for name in ("units", "nodes", *_COLUMNS)}
        return EvidenceTable(
            **arrays,
            base_meter=self.base_meter,
            ami_live=self.ami_live,
            stale=self.stale,
            settled=self.settled,
            floor_t=self.floor_t,
        )


class Evidence:
    """Latest evidence per unit, as times in epoch seconds (NaN: none)."""

    def __init__(self, units: int) -> None:
        nan = np.full(units, np.nan)
        self.off = nan.copy()  # a call reporting no supply
        self.first_off = nan.copy()
        self.on = nan.copy()  # supply reported: AMI restore, ping energized, caller
        self.gasp = nan.copy()
        self.restore = nan.copy()
        self.ping_dead = nan.copy()
        self.hazard = nan.copy()
        self.ping_sent = nan.copy()  # the last ping the engine asked for
        self.ping_on = nan.copy()  # the last ping answered "energized"
        # Pings before the last one that went unanswered in a row, while the
        # head-end answered others (each is evidence of no supply).
        self.ping_missed = np.zeros(units, dtype=np.int64)
        self.epoch = np.full(units, -np.inf)  # the last restoration of their supply
        self.epoch_seen = np.full(units, -np.inf)  # when the engine learned of it
        self.live = np.zeros(units, dtype=bool)  # units with any evidence in the window
        # Units back in supply for good, left alone until something about them
        # changes (forget), and the window's start at the last table.
        self.asleep = np.zeros(units, dtype=bool)
        self._floor_t = -math.inf
        self.last_gasp_seen = -math.inf
        self.last_reply_seen = -math.inf  # the head-end's last ping reply
        self.dead_answers: list[int] = []  # units whose ping said "no supply", to follow up
        self._rows = _Rows(units)
        # (time, unit) of each restore reported, until the clock has passed it
        # (:meth:`restored_between`): the blinks are looked for among these.
        self._restores: list[tuple[float, int]] = []

    def apply(self, event: Event, u: int, t: float) -> None:
        """Record a call, last gasp, restore or ping reply of unit ``u`` at ``t``. O(1)."""
        if event.type == "call":
            if event.payload.get("power", "off") == "on":
                self.on[u] = np.fmax(self.on[u], t)
            else:
                if not self.off[u] > self.epoch[u]:
                    self.first_off[u] = t
                self.off[u] = np.fmax(self.off[u], t)
                if event.payload.get("hazard"):
                    self.hazard[u] = t
        elif event.type == "ami_last_gasp":
            self.gasp[u] = np.fmax(self.gasp[u], t)
            self.last_gasp_seen = max(self.last_gasp_seen, t)
        elif event.type == "ami_restore":
            if not self.restore[u] >= t:
                self.restore[u] = t
                heapq.heappush(self._restores, (t, u))
            self.on[u] = np.fmax(self.on[u], t)
        elif event.type == "ami_ping_reply":
            self.last_reply_seen = max(self.last_reply_seen, t)
            if event.payload["energized"]:
                self.on[u] = np.fmax(self.on[u], t)
                self.ping_on[u] = np.fmax(self.ping_on[u], t)
            else:
                self.ping_dead[u] = np.fmax(self.ping_dead[u], t)
                self.dead_answers.append(u)
        self.live[u] = True
        self.asleep[u] = False
        self._rows.changed[u] = True

    def _silent_since_restoration(
        self,
        units: np.ndarray,
        candidates: np.ndarray,
        now: float,
        floor_t: float,
        p: PredictionParams,
    ) -> np.ndarray:
        """Metered units out before the last restoration that never reported back
        (after the grace meters get to do so): evidence of a nested outage.
        While a head-end answers pings, the engine pings such meters when the
        grace ends (:mod:`oms.engine.figures`): their answer is awaited first."""
        epoch = self.epoch[units]
        # Meters get the grace to report back; pings go out when it ends, or
        # when the engine learns of the restoration if later.
        asked = np.maximum(epoch + p.restore_grace_s, self.epoch_seen[units])
        if self.last_reply_seen > floor_t:
            asked = asked + p.ping_timeout_s
        return (
            candidates
            & ~(self.on[units] >= epoch)  # the first report back dates the restoration
            & (epoch > floor_t)
            & (self.gasp[units] <= epoch - p.momentary_s)  # out for longer than a blink
            & ~(self.restore[units] >= epoch)
            & (now > asked)
        )

    def _settled(
        self,
        units: np.ndarray,
        metered: np.ndarray,
        now: float,
        p: PredictionParams,
        blinks_until: float,
    ) -> np.ndarray:
        """Of ``units``, those whose rows stay out of every table until their
        own evidence, meter or restoration changes (each marks them live
        again): every report of no supply older than their restoration or a
        report of supply, and that report older than ``supplied_window_s``;
        not a meter silent since a restoration (:meth:`_silent_since_restoration`);
        every ping answered, none missed; a restore already looked at for
        blinks. After a storm these are most units with evidence: without
        them a table costs what is still out, not everyone who was out in
        the window."""
        on, epoch, gasp = self.on[units], self.epoch[units], self.gasp[units]
        back = np.fmax(epoch, on)
        sent = self.ping_sent[units]
        return (
            ~(self.off[units] > back)
            & ~(gasp > back)
            & ~(self.ping_dead[units] > back)
            & ~(on > now - p.supplied_window_s)
            & (
                ~metered[units]
                | (on >= epoch)
                | ~(gasp <= epoch - p.momentary_s)
                | (self.restore[units] >= epoch)
            )
            & (~(sent > -np.inf) | (on >= sent) | (self.ping_dead[units] >= sent))
            & (self.ping_missed[units] == 0)
            & ~(self.restore[units] > blinks_until)
        )

    def pinged(self, units: np.ndarray, t: float) -> None:
        """The engine asked the head-end to ping ``units`` at ``t``. O(len(units))."""
        sent = self.ping_sent[units]
        answered = ~(sent > -np.inf) | (self.on[units] >= sent) | (self.ping_dead[units] >= sent)
        missed = ~answered & (self.last_reply_seen > sent)
        self.ping_missed[units] = np.where(
            answered, 0, self.ping_missed[units] + missed.astype(np.int64)
        )
        self.ping_sent[units] = np.fmax(sent, t)
        self.live[units] = True
        self.asleep[units] = False
        self._rows.changed[units] = True

    def _ping_silent(
        self, units: np.ndarray, since: np.ndarray, now: float, p: PredictionParams
    ) -> np.ndarray:
        """Pinged since ``since``, unanswered past the timeout, while the head-end
        answered pings sent after it (so it is up): the meter has no supply."""
        sent = self.ping_sent[units]
        return (
            (sent > since)
            & (now >= sent + p.ping_timeout_s)
            & ~(self.on[units] >= sent)
            & ~(self.ping_dead[units] >= sent)
            & (self.last_reply_seen > sent)
        )

    def ping_overdue(self, units: np.ndarray, now: float, p: PredictionParams) -> np.ndarray:
        """Of ``units``, those whose last ping timed out unanswered and that have
        retries left: to ping again. O(len(units))."""
        return self._ping_silent(units, np.full(len(units), -np.inf), now, p) & (
            self.ping_missed[units] < p.ping_retries
        )

    def restored(self, units: np.ndarray, t: float, seen: float | None = None) -> None:
        """Supply came back to ``units`` at ``t`` (the engine learned of it at
        ``seen``, default ``t``): older reports no longer count."""
        self._wake(units)  # a meter that never reports back is evidence now
        self.epoch[units] = np.maximum(self.epoch[units], t)
        self.epoch_seen[units] = np.maximum(self.epoch_seen[units], t if seen is None else seen)
        self._rows.changed[units] = True

    def out_since(self, units: np.ndarray, t: float) -> None:
        """``units`` have been out since ``t``: undo restorations they never had."""
        self._wake(units)
        self.epoch[units] = np.minimum(self.epoch[units], t - 1.0)
        self._rows.changed[units] = True

    def forget(self, table: EvidenceTable) -> None:
        """After ``table``: stop looking at units whose evidence aged out, and
        leave those back in supply for good alone until their evidence or
        restoration changes, or the rules do (:meth:`wake_all`).

        Call it after every table but an ``everything`` one, before the
        next: a table lists only the units it looked at again, so a unit
        it lists and that is not forgotten is not listed again, and the
        rows kept for the next table are those of the tables forgotten."""
        self.live[table.stale] = False
        self.live[table.settled] = False
        self.asleep[table.settled] = True
        self._floor_t = table.floor_t

    def restored_between(self, after: float, until: float) -> np.ndarray:
        """Units with live evidence whose last restore came in ``(after,
        until]``, ascending; the restores up to ``until`` are not asked
        about again. O(restores reported up to ``until`` x log of those
        waiting), not O(units)."""
        heap, found = self._restores, set()
        while heap and heap[0][0] <= until:
            t, u = heapq.heappop(heap)
            if t > after and self.restore[u] == t and self.live[u]:
                found.add(u)
        return np.array(sorted(found), dtype=np.int64)

    def wake_all(self) -> None:
        """The rules changed (storm mode): look at every unit left alone again."""
        self._wake(np.flatnonzero(self.asleep))
        self._rows.rules = None  # every row looked at again

    def _wake(self, units: np.ndarray) -> None:
        """Look at those of ``units`` left alone again, before their restoration
        changes; those whose evidence had aged out by the last table
        (:func:`_aged`, which only grows truer as time passes) are forgotten
        instead, as they would have been awake."""
        units = units[self.asleep[units]]
        if not len(units):
            return
        before = np.fmax(self.off[units], self.gasp[units])
        aged = _aged(before, self.epoch[units], self._floor_t)
        self.asleep[units] = False
        self.live[units[~aged]] = True
        self._rows.changed[units] = True

    def table(
        self,
        now: float,
        p: PredictionParams,
        metered: np.ndarray,
        unit_node: np.ndarray,
        blinks_until: float,
        *,
        everything: bool = False,
    ) -> EvidenceTable:
        """What the evidence says as of ``now``.

        ``metered`` and ``unit_node`` give, per unit, whether it has an AMI
        meter and its node; meters' restores up to ``blinks_until`` were
        looked at for blinks. No evidence is changed: units with nothing
        more to say are listed for :meth:`forget`: in ``stale`` those whose
        evidence aged out of the window, in ``settled`` those back in supply
        for good (:meth:`_settled`).

        Only the units whose evidence changed since the last table, or whose
        next time-driven change (:meth:`_next_change`) has come, are looked
        at; the others keep their rows. With ``everything`` (the oracle of
        the tests) every unit with live evidence is looked at, and nothing
        is kept for the next table.

        Notes
        -----
        O(units looked at) in Python-free array passes, plus O(rows) to
        gather the table and O(units) for two flag scans of the whole
        network (memory speed).
        """
        floor_t = now - p.window_hours * 3600.0
        ami_live = p.ami_delivery > 0 and now - self.last_gasp_seen < p.window_hours * 3600.0
        rules = (p, ami_live, self.last_reply_seen > floor_t, metered, unit_node)
        rows = self._rows
        if everything:
            look = np.flatnonzero(self.live)
            rows = _Rows(len(self.live))
        elif rows.rules is None or not _same_rules(rows.rules, rules):
            look = np.flatnonzero(self.live)
            rows.keep[:] = False
        else:
            due = rows.changed | (rows.next_t <= now)
            if self.last_reply_seen != rows.reply_seen:
                # A reply to a later ping says the head-end is up: pings
                # before it left unanswered now say "no supply".
                due |= self.ping_sent > -np.inf
            look = np.flatnonzero(due & self.live)
        found = self._look(look, now, p, metered, blinks_until, floor_t, ami_live)
        rows.store(look, found)
        if not everything:
            rows.rules, rows.reply_seen = rules, self.last_reply_seen
            rows.changed[:] = False
        kept = np.flatnonzero(rows.keep)
        return EvidenceTable(
            units=kept,
            nodes=unit_node[kept],
            **{name: getattr(rows, name)[kept] for name in _COLUMNS},
            base_meter=float(p.llr_no_gasp if ami_live else 0.0),
            ami_live=bool(ami_live),
            stale=look[found["expired"]],
            settled=look[found["settled"]],
            floor_t=floor_t,
        )

    def _look(
        self,
        units: np.ndarray,
        now: float,
        p: PredictionParams,
        metered: np.ndarray,
        blinks_until: float,
        floor_t: float,
        ami_live: bool,
    ) -> dict[str, np.ndarray]:
        """The rows of ``units`` as of ``now`` (``keep``: whether each is a row
        at all), whether each aged out (``expired``) or is back in supply for
        good (``settled``), and when each may change next (``next_t``).
        O(len(units))."""
        since = np.maximum(self.epoch[units], floor_t)
        off = self.off[units] > since
        gasp = self.gasp[units] > since
        pdead = self.ping_dead[units] > since
        dead_t = np.fmax(
            np.fmax(
                np.where(off, self.off[units], np.nan), np.where(gasp, self.gasp[units], np.nan)
            ),
            np.where(pdead, self.ping_dead[units], np.nan),
        )
        on_t = self.on[units]
        # A report at the restoration itself (often what dated it) is supply after it.
        reported = (on_t >= since) & ~(dead_t > on_t)
        on = reported & (on_t > now - p.supplied_window_s)
        dead = ~np.isnan(dead_t) & ~reported
        is_metered = metered[units]
        base_meter = p.llr_no_gasp if ami_live else 0.0
        delta = np.zeros(len(units))
        delta += np.where(dead & off, p.llr_call - p.llr_no_call, 0.0)
        delta += np.where(dead & gasp, p.llr_gasp - np.where(is_metered, base_meter, 0.0), 0.0)
        delta += np.where(dead & pdead, p.llr_ping, 0.0)
        base = p.llr_no_call + np.where(is_metered, base_meter, 0.0)
        delta = np.where(on, -p.supplied_evidence - base, delta)
        epoch = self.epoch[units]
        nested = np.zeros(len(units), dtype=bool)
        if ami_live:
            nested = self._silent_since_restoration(units, is_metered & ~dead, now, floor_t, p)
            delta += np.where(nested, p.llr_missing_restore - base_meter, 0.0)
        # An unanswered ping while the head-end answers others: no supply.
        lapsed = self._ping_silent(units, since, now, p)
        unanswered = np.where(self.ping_sent[units] > since, self.ping_missed[units], 0) + lapsed
        silent_ping = (unanswered > 0) & ~on
        delta += np.where(silent_ping, p.llr_ping_silent * unanswered, 0.0)
        keep = dead | on | nested | silent_ping
        # Out since before the last restoration, and never heard back: out
        # all along (a nested outage), so the outage began back then.
        before = np.fmax(self.off[units], self.gasp[units])
        still = (before <= epoch) & (before > floor_t) & ~(on_t > before)
        silent = nested | (dead & pdead & ~off & ~gasp)  # no new report of its own
        since_t = np.where(still & silent, before, dead_t)
        since_t = np.where(np.isnan(since_t) & nested, epoch, since_t)
        expired = ~keep & _aged(before, epoch, floor_t)
        # A row of the table has something to say, so it is never settled:
        # asked only of the others (late in a storm most live units are rows,
        # customers still out). Asking fewer could only leave more awake.
        quiet = np.flatnonzero(~keep & ~expired)
        settled = np.zeros(len(units), dtype=bool)
        settled[quiet] = self._settled(units[quiet], metered, now, p, blinks_until)
        return {
            "keep": keep,
            "delta": delta,
            "dead": dead | nested,
            "on": on,
            "off": dead & off,
            "pdead": dead & pdead,
            "dead_t": np.where(nested, since_t, dead_t),
            "since_t": since_t,
            "fresh_t": dead_t,
            "gasp_t": np.where(gasp, self.gasp[units], np.nan),
            "on_t": on_t,
            "expired": expired,
            "settled": settled,
            "next_t": self._next_change(units, now, p, blinks_until, keep | expired | settled),
        }

    def _next_change(
        self,
        units: np.ndarray,
        now: float,
        p: PredictionParams,
        blinks_until: float,
        decided: np.ndarray,
    ) -> np.ndarray:
        """The earliest time, not before ``now``, at which the clock alone may
        change the row of each of ``units`` (inf: only new evidence can).

        Every rule of :meth:`_look` compares ``now`` with one of the unit's
        own times plus a fixed span; the earliest of those still to come is
        when its row may change (looking then and finding nothing changed
        costs a look, never a decision). A restore newer than
        ``blinks_until`` keeps a quiet unit ``decided`` false from settling
        until the blinks are looked at: looked at every table until then.
        O(len(units)).
        """
        window = p.window_hours * 3600.0
        epoch, sent = self.epoch[units], self.ping_sent[units]
        asked = np.maximum(epoch + p.restore_grace_s, self.epoch_seen[units])
        times = np.stack(
            [
                self.off[units] + window,
                self.gasp[units] + window,
                self.ping_dead[units] + window,
                epoch + window,
                sent + window,
                sent + p.ping_timeout_s,
                self.on[units] + window,
                self.on[units] + p.supplied_window_s,
                asked,
                asked + p.ping_timeout_s,
                np.where(~decided & (self.restore[units] > blinks_until), now, np.nan),
            ]
        )
        times[~(times >= now)] = np.inf  # NaN and passed times: never again by the clock
        return times.min(axis=0)


def _aged(before: np.ndarray, epoch: np.ndarray, floor_t: float) -> np.ndarray:
    """Evidence aged out of the window starting at ``floor_t``: the last report
    of no supply (``before``) and the last restoration (``epoch``) both older."""
    return ~(epoch > floor_t) & (before < floor_t)


def _same_rules(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    """The same parameters and flags, and the very same per-unit arrays."""
    return a[:3] == b[:3] and all(x is y for x, y in zip(a[3:], b[3:], strict=True))


class _Rows:
    """Each unit's row as last looked at (:meth:`Evidence.table`), whether its
    evidence changed since, and when the clock may change it next."""

    def __init__(self, units: int) -> None:
        self.changed = np.zeros(units, dtype=bool)
        self.next_t = np.full(units, np.inf)
        self.keep = np.zeros(units, dtype=bool)
        self.dead = np.zeros(units, dtype=bool)
        self.on = np.zeros(units, dtype=bool)
        self.off = np.zeros(units, dtype=bool)
        self.pdead = np.zeros(units, dtype=bool)
        nan = np.full(units, np.nan)
        self.delta = np.zeros(units)
        self.dead_t, self.since_t, self.fresh_t = nan.copy(), nan.copy(), nan.copy()
        self.gasp_t, self.on_t = nan.copy(), nan
        #: What the rows were looked at under (None: look at every unit again).
        self.rules: tuple[object, ...] | None = None
        self.reply_seen = -math.inf

    def store(self, units: np.ndarray, found: dict[str, np.ndarray]) -> None:
        """Keep what :meth:`Evidence._look` found for ``units``. O(len(units))."""
        for name in ("keep", *_COLUMNS, "next_t"):
            getattr(self, name)[units] = found[name]
