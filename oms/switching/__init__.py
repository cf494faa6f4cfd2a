"""The control room's documents and their rules: switching orders, safety
documents, temporary network changes (tags, grounds, jumpers, cuts) and
planned outages. No I/O, no engine: :mod:`oms.engine.desk` keeps them in
the engine and applies their events.

- :mod:`~oms.switching.documents`: orders (numbered steps, states,
  signatures, the two-person rule) and safety documents;
- :mod:`~oms.switching.field`: the temporary changes in place, and the
  network as operated with them;
- :mod:`~oms.switching.interlocks`: what one operation does and the rules
  it breaks;
- :mod:`~oms.switching.study`: an order run step by step on a copy;
- :mod:`~oms.switching.planned`: planned outages, their risk check and notices;
- :mod:`~oms.switching.restoration`: an outage's isolation and restoration
  plan as an order's steps.
"""
