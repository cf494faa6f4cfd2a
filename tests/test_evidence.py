"""The evidence per unit, read as of a time (oms.engine.evidence): units
back in supply for good are left alone, and no table changes for it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oms.config import PredictionParams
from oms.engine.evidence import Evidence, EvidenceTable
from oms.intake.events import Event

UNITS = 2
P = PredictionParams()
#: Other rules, as storm mode may set them: a longer window of supply
#: reports, longer blinks, a one-hour window of evidence.
STORM = dataclasses.replace(P, supplied_window_s=3600.0, momentary_s=600.0, window_hours=1.0)
#: The table's row columns (the rest is about the whole table).
_ROWS = tuple(
    f.name
    for f in dataclasses.fields(EvidenceTable)
    if f.name not in ("base_meter", "ami_live", "stale", "settled", "floor_t")
)


def _event(kind: str, t: float, **payload: object) -> Event:
    return Event("e", kind, datetime.fromtimestamp(t, UTC), dict(payload), "")


def _same(a: EvidenceTable, b: EvidenceTable) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True) for name in _ROWS
    ) and (a.base_meter, a.ami_live) == (b.base_meter, b.ami_live)


#: What can happen to a unit between two tables: (what, unit, seconds on).
_STEP = st.tuples(
    st.sampled_from(
        [
            *("off", "on", "gasp", "restore", "ping_on", "ping_dead"),
            *("pinged", "restored", "out", "rules"),
        ]
    ),
    st.integers(0, UNITS - 1),
    st.sampled_from([0.0, 30.0, 200.0, 1000.0, 3600.0]),
)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(_STEP, min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=UNITS, max_size=UNITS),
)
# A ping missed before the one answered: no supply once the answer ages out.
@example(
    [
        ("pinged", 0, 0.0),
        ("ping_on", 1, 30.0),
        ("pinged", 0, 30.0),
        ("ping_on", 0, 30.0),
        ("on", 1, 1000.0),
        ("on", 1, 30.0),
    ],
    [False, False],
)
# Back in supply, then a restoration above it it never reports back from.
@example(
    [
        ("gasp", 0, 0.0),
        ("restore", 0, 30.0),
        ("on", 1, 1000.0),
        ("on", 1, 30.0),
        ("restored", 0, 30.0),
        ("on", 1, 200.0),
    ],
    [True, True],
)
# Storm mode's longer window of supply reports: a report left alone counts again.
@example([("on", 0, 0.0), ("on", 1, 1000.0), ("on", 1, 30.0), ("rules", 1, 30.0)], [False, False])
# Storm mode's longer blinks end: a meter silent since a restoration is evidence again.
@example(
    [
        ("rules", 1, 0.0),
        ("gasp", 0, 0.0),
        ("restored", 0, 400.0),
        ("on", 1, 30.0),
        ("rules", 1, 200.0),
        ("on", 1, 30.0),
    ],
    [True, True],
)
# Left alone, its evidence ages out, then a restoration over it: nothing to say.
@example(
    [("gasp", 0, 0.0), ("restore", 0, 30.0), ("on", 1, 1000.0), ("on", 1, 30.0)]
    + [("on", 1, 3600.0)] * 12
    + [("gasp", 1, 30.0), ("restored", 0, 30.0), ("on", 1, 200.0)],
    [True, True],
)
def test_forgetting_settled_units_changes_no_table(steps: list, metered: list[bool]) -> None:
    """Every table is the same whether units back in supply are left alone
    (the engine's way) or looked at until their evidence ages out, as
    before; the rules may change meanwhile (storm mode on and off)."""
    forgetful, keeping = Evidence(UNITS), Evidence(UNITS)
    meters = np.array(metered)
    nodes = np.arange(UNITS) * 10
    now, blinks_until, rules = 1_000_000.0, -np.inf, P
    for what, u, wait in steps:
        now += wait
        if what == "rules":
            rules = STORM if rules is P else P
            forgetful.wake_all()  # as EngineCore.follow_storm does
        for ev in (forgetful, keeping):
            units = np.array([u])
            if what == "off":
                ev.apply(_event("call", now), u, now)
            elif what == "on":
                ev.apply(_event("call", now, power="on"), u, now)
            elif what == "gasp":
                ev.apply(_event("ami_last_gasp", now), u, now)
            elif what == "restore":
                ev.apply(_event("ami_restore", now), u, now)
            elif what in ("ping_on", "ping_dead"):
                ev.apply(_event("ami_ping_reply", now, energized=what == "ping_on"), u, now)
            elif what == "pinged":
                ev.pinged(units, now)
            elif what == "restored":
                ev.restored(units, now - 60.0, now)
            elif what == "out":
                ev.out_since(units, now - 120.0)
        a = forgetful.table(now, rules, meters, nodes, blinks_until)
        b = keeping.table(now, rules, meters, nodes, blinks_until)
        assert _same(a, b), (what, u, now)
        forgetful.forget(a)
        # Before: only units whose evidence aged out were forgotten.
        keeping.forget(dataclasses.replace(b, settled=b.settled[:0]))
        # The engine looks at blinks after each table (customers.momentaries_from_meters).
        blinks_until = now - rules.blink_settle_s


def test_a_unit_back_in_supply_is_forgotten_after_the_supplied_window() -> None:
    ev = Evidence(2)
    meters, nodes = np.ones(2, dtype=bool), np.arange(2)
    t = 1_000_000.0
    ev.apply(_event("ami_last_gasp", t), 0, t)
    ev.apply(_event("ami_last_gasp", t), 1, t)
    ev.apply(_event("ami_restore", t + 600), 0, t + 600)
    ev.restored(np.array([0]), t + 590)
    soon = ev.table(t + 700, P, meters, nodes, t + 650)
    assert soon.units.tolist() == [0, 1] and soon.settled.tolist() == []
    later = t + 600 + P.supplied_window_s + 1
    # Its restore not looked at for blinks yet: kept live for that.
    assert ev.table(later, P, meters, nodes, t + 500).settled.tolist() == []
    done = ev.table(later, P, meters, nodes, later - P.blink_settle_s)
    assert (done.units.tolist(), done.settled.tolist(), done.stale.tolist()) == ([1], [0], [])
    ev.forget(done)
    # A later restoration above it (it never gasped again) says nothing new;
    # a new gasp brings it back.
    ev.restored(np.array([0]), later + 10)
    assert ev.live[0]
    ev.apply(_event("ami_last_gasp", later + 20), 0, later + 20)
    assert ev.table(later + 30, P, meters, nodes, later).units.tolist() == [0, 1]


#: Waits that land on the rules' own spans (grace, ping timeout, supplied
#: window, the window of STORM and P), just before and just after them.
_WAITS = [0.0, 1.0, 60.0, 119.0, 120.0, 121.0, 180.0, 300.0, 900.0, 901.0]
_WAITS += [3599.0, 3600.0, 3601.0, 43199.0, 43200.0, 43201.0]


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    *("off", "on", "gasp", "restore", "ping_on", "ping_dead"),
                    *("pinged", "restored", "out", "rules", "heard", "blinks"),
                ]
            ),
            st.integers(0, UNITS * 2 - 1),
            st.sampled_from(_WAITS),
            st.sampled_from([0.0, 30.0, 180.0, 900.0]),  # how long ago it happened
        ),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.booleans(), min_size=UNITS * 2, max_size=UNITS * 2),
)
# A ping the head-end left unanswered while it answered a later one: no
# supply once its timeout passes, with nothing else happening.
@example(
    [("pinged", 0, 0.0, 0.0), ("ping_on", 1, 1.0, 0.0), ("blinks", 0, 120.0, 0.0)],
    [True] * UNITS * 2,
)
# A meter restored, then restored again since the blinks were last looked
# for: only its last restore counts, and it is not due yet.
@example(
    [("restore", 0, 0.0, 180.0), ("restore", 0, 0.0, 0.0), ("blinks", 0, 0.0, 0.0)],
    [True] * UNITS * 2,
)
def test_the_table_looked_at_per_unit_is_the_table_of_everything(
    steps: list, metered: list[bool]
) -> None:
    """Each table, looking again only at units whose evidence changed or
    whose next time came, is the table of a look at every unit with live
    evidence (``everything``): every row, and the units to forget; events
    may be dated before the clock, and the clock may stop on any rule's span.
    The units restored since the blinks were last looked for are those a
    look at every unit finds."""
    units = UNITS * 2
    ev, meters, nodes = Evidence(units), np.array(metered), np.arange(units) * 10
    now, blinks_until, rules = 1_000_000.0, -np.inf, P
    asked_until = -np.inf
    for what, u, wait, ago in steps:
        now += wait
        t, one = now - ago, np.array([u])
        if what == "off":
            ev.apply(_event("call", t), u, t)
        elif what == "on":
            ev.apply(_event("call", t, power="on"), u, t)
        elif what in ("gasp", "restore", "ping_on", "ping_dead"):
            kind = {"gasp": "ami_last_gasp", "restore": "ami_restore"}.get(what, "ami_ping_reply")
            payload = {"energized": what == "ping_on"} if kind == "ami_ping_reply" else {}
            ev.apply(_event(kind, t, **payload), u, t)
        elif what == "heard":  # a meter first heard: after its event, as EngineCore.apply
            ev.apply(_event("ami_last_gasp", t), u, t)
            meters[u] = True
        elif what == "pinged":
            ev.pinged(one, now)
        elif what == "restored":
            ev.restored(one, t, now)
        elif what == "out":
            ev.out_since(one, t)
        elif what == "rules":
            rules = STORM if rules is P else P
            ev.wake_all()  # as EngineCore.follow_storm does
        elif what == "blinks":
            blinks_until = max(blinks_until, now - rules.blink_settle_s)
        everything = ev.table(now, rules, meters, nodes, blinks_until, everything=True)
        table = ev.table(now, rules, meters, nodes, blinks_until)
        assert _same(table, everything), (what, u, now)
        for name in ("stale", "settled"):
            assert set(getattr(table, name)) == set(getattr(everything, name)), (name, now)
        ev.forget(table)
        if blinks_until > asked_until:  # the meters' blinks are looked for (momentaries)
            between = (ev.restore > asked_until) & (ev.restore <= blinks_until)
            expected = np.flatnonzero(ev.live & between)
            assert np.array_equal(ev.restored_between(asked_until, blinks_until), expected), now
            asked_until = blinks_until
