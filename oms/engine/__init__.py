"""The outage engine: events in, outages located, jobs in step.

Two layers (``docs/architecture.md``):

==============  ==========================================================
facade          :class:`OutageEngine`: batching, the single-writer retry,
                the public API (``ingest``, ``tick``, ``suggest``, ...)
repository      the only module here that talks to the database
core            :class:`~oms.engine.core.EngineCore`: the state, no I/O
  evidence      per-unit evidence and what it says as of a time
  devices       trips, lockouts, switching, fault indicators
  outage_book   outage records and their audited moves
  actions       dispatcher actions on outages
  reconcile     the phases that bring outages in line with a prediction
  customers     single-customer outages, momentaries meters saw
  figures       customers out, calls, faulted section, meters to ping
  orders        the order book: jobs, crews, dispatch, timers, alerts
  outbox        customer notices queued per batch
==============  ==========================================================
"""

from oms.engine.facade import IngestReport, OutageEngine
from oms.engine.repository import FEED_CHANNEL

__all__ = ["FEED_CHANNEL", "IngestReport", "OutageEngine"]
