"""Open jobs whose ETR follows the history median, kept so that a median move
finds the jobs it gives another ETR without looking at every job.

A job's estimate from history is ``A + median`` of its kind and area class
while that time is to come (its *base*), then ``now`` plus what its stage
still needs (:meth:`oms.engine.orders.OrderBook.estimate`). When a
restoration moves a median, the jobs of that key whose ETR is news (more
than ``news_s`` off, :data:`oms.engine.orders.ETR_NEWS_S`) are:

- jobs whose base is still to come, with an ETR from history more than
  ``news_s`` away from ``A + median``: their offset ``ETR - A`` lies outside
  ``median +- news_s``, two ends of a list sorted by offset;
- jobs whose base the new median has passed (``A <= now - median``), or
  brought back (a job whose base had passed, with ``A > now - median``): a
  range of a list sorted by ``A``;
- jobs following history with another source or no ETR yet (few).

A job whose base has passed and stays passed has an estimate that no
median changes. The lists are kept as they stood when each job was last
looked at (:meth:`Followers.put`, from the order book's schedule); a job
changed since is looked at anyway, so an entry that went stale between
looks only adds a look. Times are POSIX seconds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

__all__ = ["Followers"]

Key = tuple[str, str]  # (job kind, area class)

#: Seconds every range is widened by: times here are floats, the order
#: book's datetimes are exact to the microsecond, and a look too many is
#: harmless where one too few is not.
_SLACK = 1e-3


@dataclass
class _Lists:
    """One key's jobs: base to come (by A and by offset), base passed (by A),
    and those following history without an ETR from it."""

    to_come_by_a: list[tuple[float, str]] = field(default_factory=list)
    to_come_by_offset: list[tuple[float, str]] = field(default_factory=list)
    passed_by_a: list[tuple[float, str]] = field(default_factory=list)
    others: set[str] = field(default_factory=set)


class Followers:
    """The open, followed jobs whose ETR the history median sets, by key.

    Every operation is O(log n) plus the size of its answer (list inserts
    and deletes move pointers, O(n) memory moves of a few microseconds at
    the tens of thousands of jobs a storm has), n the jobs of one key.
    """

    def __init__(self) -> None:
        self._lists: dict[Key, _Lists] = {}
        # Per job: its key and the entries it has (None: in ``others``).
        self._entries: dict[str, tuple[Key, float, float | None, bool]] = {}

    def clear(self) -> None:
        self._lists.clear()
        self._entries.clear()

    def filed_keys(self) -> list[Key]:
        """The keys some job is filed under."""
        return list(self._lists)

    def put(
        self,
        jid: str,
        key: Key,
        a: float,
        etr: float | None,
        from_history: bool,
        base: float,
        now: float,
    ) -> None:
        """File job ``jid`` as it is now: reported at ``a``, its ETR ``etr``
        (``from_history``: its source is the history median), its base
        ``base`` (A plus the median, or plus half its restoration target
        while its key has no history)."""
        self.drop(jid)
        lists = self._lists.setdefault(key, _Lists())
        if not from_history or etr is None:
            lists.others.add(jid)
            self._entries[jid] = (key, a, None, False)
        elif base > now:
            offset = etr - a
            bisect.insort(lists.to_come_by_a, (a, jid))
            bisect.insort(lists.to_come_by_offset, (offset, jid))
            self._entries[jid] = (key, a, offset, False)
        else:
            bisect.insort(lists.passed_by_a, (a, jid))
            self._entries[jid] = (key, a, None, True)

    def drop(self, jid: str) -> None:
        """Forget job ``jid`` (closed, not followed, or an ETR of its own)."""
        entry = self._entries.pop(jid, None)
        if entry is None:
            return
        key, a, offset, passed = entry
        lists = self._lists[key]
        if passed:
            _remove(lists.passed_by_a, (a, jid))
        elif offset is None:
            lists.others.discard(jid)
        else:
            _remove(lists.to_come_by_a, (a, jid))
            _remove(lists.to_come_by_offset, (offset, jid))

    def passing(self, key: Key, median_s: float, now: float) -> list[str]:
        """Jobs of ``key`` filed with their base to come whose base
        (``A + median_s``) is ``now`` or earlier."""
        lists = self._lists.get(key)
        if lists is None:
            return []
        end = bisect.bisect_right(lists.to_come_by_a, (now - median_s + _SLACK, "\uffff"))
        return [jid for _, jid in lists.to_come_by_a[:end]]

    def moved(self, key: Key, median_s: float, now: float, news_s: float) -> set[str]:
        """Jobs of ``key`` whose ETR from history may be news now that its
        median is ``median_s`` seconds."""
        lists = self._lists.get(key)
        if lists is None:
            return set()
        out = set(lists.others)
        out.update(self.passing(key, median_s, now))
        by_offset = lists.to_come_by_offset
        low = bisect.bisect_left(by_offset, (median_s - news_s + _SLACK, ""))
        high = bisect.bisect_right(by_offset, (median_s + news_s - _SLACK, "\uffff"))
        out.update(jid for _, jid in by_offset[:low])
        out.update(jid for _, jid in by_offset[high:])
        back = bisect.bisect_left(lists.passed_by_a, (now - median_s - _SLACK, ""))
        out.update(jid for _, jid in lists.passed_by_a[back:])
        return out

    def every(self, key: Key) -> set[str]:
        """Every job filed under ``key``."""
        lists = self._lists.get(key)
        if lists is None:
            return set()
        out = set(lists.others)
        out.update(jid for _, jid in lists.to_come_by_a)
        out.update(jid for _, jid in lists.passed_by_a)
        return out


def _remove(entries: list[tuple[float, str]], entry: tuple[float, str]) -> None:
    k = bisect.bisect_left(entries, entry)
    if k < len(entries) and entries[k] == entry:
        del entries[k]
