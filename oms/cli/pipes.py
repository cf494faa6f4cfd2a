"""Reading a live input (a pipe, a terminal): its lines, and a mark when it falls quiet.

``oms ingest -`` and ``oms regions ingest -`` apply events in the engine's
batches, which end at ``batch_size`` events or ``batch_seconds`` of event
time: on a feed that falls quiet, the last batch would wait for the next
line, possibly for hours. :func:`paced` gives :data:`oms.intake.events.IDLE`
among the lines once none has come for a while, and the engine applies what
waits (as ``oms listen`` ends its batches on idle time).
"""

from __future__ import annotations

import os
import queue
import stat
import threading
from collections.abc import Iterable, Iterator
from typing import IO

from oms.intake.events import IDLE

__all__ = ["is_live", "lines_of", "paced"]

#: Seconds without a line after which what waits is applied.
IDLE_S = 1.0


def lines_of(fh: IO[bytes]) -> Iterable[bytes | object]:
    """The lines of ``fh``: as they are, from a file; :func:`paced`, from a live input."""
    return paced(fh) if is_live(fh) else fh


def is_live(fh: IO[bytes]) -> bool:
    """Whether ``fh`` is a pipe, a socket or a terminal (not a regular file)."""
    try:
        mode = os.fstat(fh.fileno()).st_mode
    except (OSError, ValueError):  # no descriptor (a test's stream): read it as a file
        return False
    return not stat.S_ISREG(mode)


def paced(fh: IO[bytes], idle_s: float = IDLE_S) -> Iterator[bytes | object]:
    """The lines of ``fh``, with :data:`~oms.intake.events.IDLE` once after
    each pause of ``idle_s`` seconds with a line read before it. A thread
    reads ``fh`` (a blocking read cannot be timed otherwise); it stops at
    the end of the input."""
    lines: queue.Queue[bytes | None] = queue.Queue(maxsize=10_000)

    def read() -> None:
        try:
            for line in fh:
                lines.put(line)
        finally:
            lines.put(None)

    threading.Thread(target=read, daemon=True, name="oms-stdin").start()
    waiting = False  # a line came since the last mark
    while True:
        try:
            line = lines.get(timeout=idle_s) if waiting else lines.get()
        except queue.Empty:
            waiting = False
            yield IDLE
            continue
        if line is None:
            return
        waiting = True
        yield line
