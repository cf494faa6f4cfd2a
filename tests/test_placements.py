"""Where the active network outages stand, kept up batch after batch (issue 17).

:class:`~oms.engine.placements.Placements` follows the outages changed
since it last looked instead of being built again from every open outage.
Checked against building it again, at every question the engine asks it,
through random sequences of telemetry and dispatcher actions (confirm at
another device, split, merge, restore, close, re-predict) on
``helpers.two_feeders``, in memory.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from helpers import build, check_figures_of_everything, customers_csv, two_feeders
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.config import EngineConfig
from oms.engine import reconcile
from oms.engine.core import EngineCore, Stored
from oms.engine.placements import Placements
from oms.exceptions import ActionError, OutageNotFound
from oms.intake.events import parse_event
from topology.io import attach_customers, read_customers

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
CUSTOMERS = [
    f"{node}-{k}"
    for node, n in [("a3", 3), ("a5", 6), ("a9", 5), ("b1", 4)]
    for k in range(1, n + 1)
]
FED = ["B1", "R1", "B2"]
ACTIONS = [
    "outage_confirm",
    "outage_split",
    "outage_merge",
    "outage_restore",
    "outage_close",
    "outage_repredict",
]


@pytest.fixture(scope="module")
def customers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("placements") / "customers.csv"
    path.write_text(customers_csv(two_feeders()))
    return path


def _rebuilt(core: EngineCore) -> Placements:
    return Placements(
        core.tree, core.position, core.units.of, len(core.units), core.outages.open.values()
    )


def _same(kept: Placements, rebuilt: Placements, at: str) -> None:
    assert kept.pos_of == rebuilt.pos_of, at
    assert kept.placed == rebuilt.placed, at
    assert {p: {o.id for o in os} for p, os in kept.by_pos.items()} == {
        p: {o.id for o in os} for p, os in rebuilt.by_pos.items()
    }, at
    assert kept.single == rebuilt.single, at
    assert (kept.single_mask == rebuilt.single_mask).all(), at
    assert kept.unplaced == rebuilt.unplaced, at
    assert kept.pinned == rebuilt.pinned, at


def _event(data: st.DataObject, core: EngineCore, n: int, t: float) -> dict[str, Any]:
    time = (T0 + timedelta(seconds=t)).isoformat()
    base = {"id": f"e{n}", "time": time}
    kind = data.draw(st.sampled_from(["call", "ami_last_gasp", "ami_restore", "scada", "action"]))
    if kind in ("call", "ami_last_gasp", "ami_restore"):
        return {**base, "type": kind, "customer": data.draw(st.sampled_from(CUSTOMERS))}
    if kind == "scada":
        state = data.draw(st.sampled_from(["open", "closed"]))
        return {
            **base,
            "type": "scada",
            "device": data.draw(st.sampled_from(FED)),
            "state": state,
            "lockout": state == "open",
        }
    ids = sorted(core.outages.open) + sorted(core.outages.finished)
    if not ids:
        return {**base, "type": "call", "customer": CUSTOMERS[0]}
    action = data.draw(st.sampled_from(ACTIONS))
    oid = data.draw(st.sampled_from(ids))
    devices = [core.net.edge_ids[e] for e in core.tree.candidate]
    fields: dict[str, Any] = {"outage": oid, "user": "dora"}
    if action == "outage_confirm" and data.draw(st.booleans()):
        fields["device"] = data.draw(st.sampled_from(devices))
    elif action == "outage_split":
        fields["devices"] = data.draw(
            st.lists(st.sampled_from(devices), min_size=2, max_size=3, unique=True)
        )
    elif action == "outage_merge":
        del fields["outage"]
        fields["into"] = oid
        fields["outages"] = [oid, data.draw(st.sampled_from(ids))]
    return {**base, "type": action, **fields}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_placements_kept_up_are_the_placements_built_again_at_every_question(
    data: st.DataObject, customers_file: Path
) -> None:
    net = build(two_feeders())
    attach_customers(net, read_customers(customers_file, net))
    core = EngineCore(net, EngineConfig.from_dict({"pings": False}), Stored())
    asked: list[int] = []
    kept = EngineCore.placements

    def placements(self: EngineCore) -> Placements:
        got = kept(self)
        _same(got, _rebuilt(self), f"question {len(asked)} at {self.clock}")
        asked.append(len(got.pos_of))
        return got

    looked: list[int] = []
    figures_kept = reconcile.update_figures

    def update_figures(core: EngineCore, table: Any, placed: Placements, t: datetime) -> None:
        """The figures looked at per feeder are those of everything (dispatcher
        actions move outages where no evidence changed)."""
        figures_kept(core, table, placed, t)
        looked.append(check_figures_of_everything(core, table, placed, f"at {core.clock}"))

    t, n = 0.0, 0
    with (
        mock.patch.object(EngineCore, "placements", placements),
        mock.patch.object(reconcile, "update_figures", update_figures),
    ):
        for _ in range(data.draw(st.integers(3, 12))):
            core.begin()
            for _ in range(data.draw(st.integers(1, 4))):
                t += data.draw(st.sampled_from([1.0, 30.0, 400.0]))
                n += 1
                with contextlib.suppress(ActionError, OutageNotFound):  # refused: nothing changed
                    core.apply(parse_event(_event(data, core, n, t), core.directory))
            core.reconcile()
            core.settle()
            # Settling looks only at the outages changed or reopened: none left behind.
            assert all(o.active for o in core.outages.open.values()), core.clock
            _same(core.placements(), _rebuilt(core), f"after the batch at {core.clock}")
    assert asked and looked


def test_only_a_move_puts_an_outage_in_the_log_of_positions(customers_file: Path) -> None:
    """The figures look again at the feeders in the log: an outage touched
    where it stands (new figures, an ETR renewed) is not a move."""
    net = build(two_feeders())
    attach_customers(net, read_customers(customers_file, net))
    core = EngineCore(net, EngineConfig.from_dict({"pings": False}), Stored())

    def apply(n: int, event: dict[str, Any]) -> None:
        time = (T0 + timedelta(minutes=n)).isoformat()
        core.begin()
        core.apply(parse_event({"id": f"e{n}", "time": time, **event}, core.directory))

    apply(1, {"type": "scada", "device": "R1", "state": "open", "lockout": True})
    core.reconcile()  # the figures take the log
    core.settle()
    (o,) = core.outages.active("network")
    core.outages.touch(o)
    assert core.placements().take_moved() == []
    apply(2, {"type": "outage_confirm", "outage": o.id, "user": "dora", "device": "F1"})
    assert set(core.placements().take_moved()) == {core.position("R1"), core.position("F1")}
