"""The operator's own switching never fabricates outages (issue 12 item 5).

On generated networks (meshed substations, feeders with ties, unfused and
fused transformers), with no fault anywhere, every step of a restoration
plan and every planned sectionalizing is carried out as commanded
switching; every meter cut off sends its last gasp, one customer in ten
calls, the meters report back when supply returns. No network outage is
predicted and no single-customer outage opened: only ``switching``
records, each restored when its customers have supply again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from helpers import batch, tick

from oms.config import EngineConfig
from oms.engine.core import EngineCore, Stored
from topology import flisr
from topology.io import attach_customers
from topology.model import Network
from topology.synthetic import synthetic_customers, synthetic_network

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


def _network(seed: int) -> Network:
    net = synthetic_network(1500, seed=seed)
    attach_customers(net, synthetic_customers(net, seed=seed))
    return net


class Operator:
    """Drives a core with commanded switching and the meters' and callers' reports."""

    def __init__(self, net: Network, seed: int) -> None:
        config = EngineConfig.from_dict({"pings": False})
        self.core = EngineCore(net, config, Stored())
        self.rng = np.random.default_rng(seed)
        self.t = 0.0
        self.n = 0
        self.dead = ~self.core.tree.supply.energized

    def _event(self, etype: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        when = (T0 + timedelta(seconds=self.t)).isoformat()
        return {"id": f"e{self.n}", "type": etype, "time": when, **fields}

    def operate(self, device: str, state: str) -> None:
        """One commanded operation, then what the customers it touched report."""
        batch(self.core, [self._event("switch", device=device, state=state, user="dora")])
        dead = ~self.core.net.supply.energized
        cust = self.core.net.customers
        assert cust is not None
        lost = np.flatnonzero(dead[cust.node] & ~self.dead[cust.node])
        back = np.flatnonzero(~dead[cust.node] & self.dead[cust.node])
        self.dead = dead
        self.t += 40
        reports = [self._event("ami_last_gasp", customer=cust.ids[u]) for u in lost]
        reports += [self._event("ami_restore", customer=cust.ids[u]) for u in back]
        callers = lost[self.rng.random(len(lost)) < 0.1]
        self.t += 120
        reports += [self._event("call", customer=cust.ids[u]) for u in callers]
        if reports:
            batch(self.core, reports)
        self.t += 600
        tick(self.core, T0 + timedelta(seconds=self.t))

    def fabricated(self) -> list[str]:
        return [
            f"{o.id} {o.kind} {o.device or o.customer}"
            for o in self.core.outages.everything()
            if o.kind != "switching" and o.state != "cancelled"
        ]


def _closed_switches(net: Network) -> list[str]:
    switches = net.kind_mask("switch") & net.edge_closed & net.supply.bridge
    return [net.edge_ids[e] for e in np.flatnonzero(switches)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planned_sectionalizing_predicts_nothing(seed: int) -> None:
    net = _network(seed)
    op = Operator(net, seed)
    rng = np.random.default_rng(seed)
    switches = _closed_switches(op.core.net)
    for device in rng.choice(switches, size=min(4, len(switches)), replace=False).tolist():
        op.operate(device, "open")
        assert op.fabricated() == [], device
        op.operate(device, "closed")
        assert op.fabricated() == [], device
    records = [o for o in op.core.outages.everything() if o.kind == "switching"]
    assert records and all(o.state == "restored" for o in records)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_step_of_restoration_plans_predicts_nothing(seed: int) -> None:
    net = _network(seed)
    rng = np.random.default_rng(seed)
    lines = np.flatnonzero(net.kind_mask("line") & net.supply.bridge)
    steps_done = 0
    for e in rng.choice(lines, size=3, replace=False).tolist():
        op = Operator(_network(seed), seed)
        plan = flisr.restore(op.core.net, net.edge_ids[e]).data
        for step in plan["steps"]:
            state = "open" if step["action"] == "open" else "closed"
            if op.core.net.edge_closed[net.edge_index[step["device"]]] == (state == "closed"):
                continue  # done already (the plan's reclose of a trip that never was): refused
            op.operate(step["device"], state)
            steps_done += 1
            assert op.fabricated() == [], (net.edge_ids[e], step)
    assert steps_done > 0


def test_isolating_a_fault_under_its_open_breaker_keeps_its_customers_on_the_fault() -> None:
    """The dispatcher isolates the faulted part while B1 is locked out (SW1 open),
    closes B1, then SW1 once the repair is done: the fault keeps its 27
    customers and its calls; after B1 closes, the 13 still cut off are one
    switching record that continues the fault's interruption."""
    from helpers import build, two_feeders

    from oms.reports.reliability import _indices

    core = EngineCore(build(two_feeders()), EngineConfig.from_dict({"pings": False}), Stored())

    def ev(n: int, minutes: float, **fields: Any) -> dict[str, Any]:
        return {"id": f"e{n}", "time": (T0 + timedelta(minutes=minutes)).isoformat(), **fields}

    def records() -> list[tuple[str, str, int, int, str]]:
        return [
            (o.kind, o.device or "", o.customers_out, o.calls, o.state)
            for o in core.outages.everything()
        ]

    batch(core, [ev(1, 1, type="scada", device="B1", state="open", lockout=True)])
    batch(core, [ev(2, 3, type="call", node="a5"), ev(3, 3, type="call", node="a6")])
    assert records() == [("network", "B1", 27, 2, "confirmed")]
    batch(core, [ev(4, 10, type="switch", device="SW1", state="open", user="dora")])
    assert records() == [("network", "B1", 27, 2, "confirmed")]
    close_b1 = ev(5, 20, type="switch", device="B1", state="closed", user="dora")
    batch(core, [{**close_b1, "acknowledge": ["faulted"]}])
    fault = core.outages.find("OUT-000001")
    assert fault is not None and fault.state == "restored" and fault.customers_out == 27
    [switching] = core.outages.active()
    assert (switching.kind, switching.device, switching.customers_out) == ("switching", "SW1", 13)
    assert switching.revealed_by == fault.id and switching.started == T0 + timedelta(minutes=20)
    batch(core, [ev(6, 30, type="switch", device="SW1", state="closed", user="dora")])
    assert core.outages.active() == []
    # IEEE 1366: one interruption of 27 customers; 27 x 19 + 13 x 10 customer minutes.
    figures = _indices(
        core.net, 71, core.outages.everything(), T0, T0 + timedelta(hours=1), cemi_n=3
    )
    assert figures["interruptions"] == 1 and figures["customers_interrupted"] == 27
    assert figures["customer_minutes"] == 27 * 19 + 13 * 10
