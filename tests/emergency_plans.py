"""The test network's customers with emergency plans (contract 2's optional
``emergency_plan``), loaded into an app's database as a new network version.

a9-1 (life support) has a plan with commas and a line break; nobody else has
one. Loaded after the app started, as ``oms load --customers`` would.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from helpers import customers_csv, two_feeders

PLAN = "Oxygen concentrator, 4 h battery\nCall son Bo +1 555 0199; priority restoration"
PLANNED = "a9-1"


def load_plans(app: Any, tmp_path: Path) -> None:
    """Load the customers with :data:`PLAN` for :data:`PLANNED` into ``app``'s database."""
    from oms.storage.loading import load

    rows = list(csv.reader(io.StringIO(customers_csv(two_feeders()))))
    rows[0].append("emergency_plan")
    for row in rows[1:]:
        row.append(PLAN if row[0] == PLANNED else "")
    path = tmp_path / "customers-with-plans.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    doc = load(app.extensions["oms.storage.db"], customers=path)
    assert doc["changed"] is True
