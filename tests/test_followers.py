"""The jobs following the history median (oms.engine.followers), without a database.

What a median move must find is checked against the estimate's own rule:
a job left out keeps its ETR (its estimate from history is within the news
threshold of its ETR, or its base had passed and stays passed, so the move
does not change its estimate). The order book's end-to-end oracle is in
tests/test_engine_incremental.py.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oms.engine.followers import Followers

KEY = ("network", "urban")
NEWS = 600.0
MIN = 60.0


def test_a_move_finds_the_jobs_whose_etr_is_news_at_both_ends() -> None:
    f = Followers()
    now = 10_000.0
    # Reported at 9,000 s, median 40 min: base 11,400 s, to come.
    for jid, offset in (("J1", 40 * MIN), ("J2", 25 * MIN), ("J3", 60 * MIN), ("J4", 46 * MIN)):
        f.put(jid, KEY, 9_000.0, 9_000.0 + offset, True, 9_000.0 + 40 * MIN, now)
    # The median moves to 45 min: 5 min from J1 (no news), 20 from J2, 15 from J3, 1 from J4.
    assert f.moved(KEY, 45 * MIN, now, NEWS) == {"J2", "J3"}
    assert f.moved(("network", "rural"), 45 * MIN, now, NEWS) == set()


def test_bases_passing_and_coming_back() -> None:
    f = Followers()
    now = 10_000.0
    f.put("early", KEY, 8_000.0, 8_000.0 + 40 * MIN, True, 8_000.0 + 40 * MIN, now)  # to come
    f.put("late", KEY, 9_500.0, 9_500.0 + 40 * MIN, True, 9_500.0 + 40 * MIN, now)  # to come
    f.put("old", KEY, 7_000.0, now + 30 * MIN, True, 7_000.0 + 40 * MIN, now)  # passed
    assert f.passing(KEY, 40 * MIN, now) == []
    # At 10,500 s, "early" (8,000 + 2,400) has passed; with a 60-minute median it has not.
    assert f.passing(KEY, 40 * MIN, 10_500.0) == ["early"]
    assert f.passing(KEY, 60 * MIN, 10_500.0) == []
    # A median of 60 min brings "old" back (7,000 + 3,600 > 10,000).
    assert "old" in f.moved(KEY, 60 * MIN, now, NEWS)
    assert "old" not in f.moved(KEY, 45 * MIN, now, NEWS)


def test_jobs_without_an_etr_from_history_are_always_found_and_drop_forgets() -> None:
    f = Followers()
    f.put("storm", KEY, 0.0, 5_000.0, False, 2_400.0, 100.0)
    f.put("none", KEY, 0.0, None, True, 2_400.0, 100.0)
    f.put("kept", KEY, 0.0, 2_400.0, True, 2_400.0, 100.0)
    assert f.moved(KEY, 40 * MIN, 100.0, NEWS) == {"storm", "none"}
    assert f.every(KEY) == {"storm", "none", "kept"}
    f.put("kept", ("single_customer", "urban"), 0.0, 2_400.0, True, 2_400.0, 100.0)  # refiled
    f.drop("storm")
    f.drop("never filed")
    assert f.every(KEY) == {"none"}
    assert f.filed_keys() == [KEY, ("single_customer", "urban")]
    f.clear()
    assert f.every(KEY) == set() and f.filed_keys() == []


_jobs = st.lists(
    st.tuples(
        st.floats(0, 20_000, allow_nan=False),  # A
        st.floats(-7_200, 7_200, allow_nan=False),  # ETR - (A + median when filed)
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    jobs=_jobs,
    filed_median=st.floats(5 * MIN, 240 * MIN),
    filed_at=st.floats(0, 20_000),
    later=st.floats(0, 7_200),
    median=st.floats(5 * MIN, 240 * MIN),
)
def test_a_job_left_out_keeps_its_estimate(
    jobs: list[tuple[float, float]],
    filed_median: float,
    filed_at: float,
    later: float,
    median: float,
) -> None:
    """Filed at ``filed_at`` under one median, looked for ``later`` under another:
    every job left out has an estimate no news from its ETR, or one the move
    did not change (its base passed before and after)."""
    f = Followers()
    for k, (a, off) in enumerate(jobs):
        etr = a + filed_median + off
        f.put(f"J{k}", KEY, a, etr, True, a + filed_median, filed_at)
    now = filed_at + later
    found = f.moved(KEY, median, now, NEWS)
    for k, (a, off) in enumerate(jobs):
        if f"J{k}" in found:
            continue
        etr = a + filed_median + off
        base = a + median
        if base > now:
            assert abs(base - etr) <= NEWS + 1e-2
        else:
            # Passed now, so it must have been filed passed: its estimate
            # (now plus what its stage still needs) is the same under either median.
            assert a + filed_median <= filed_at + 1e-2
