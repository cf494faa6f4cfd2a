"""PNG charts of the reports (``oms report ... --png FILE``).

Drawn with matplotlib's Agg backend (no display needed) from the report
documents of :mod:`oms.reports.reliability`, so a chart always shows the same figures
as the report's JSON:

- :func:`indices_chart`: daily SAIDI as bars, major event days in red
  above the T_MED line;
- :func:`compliance_chart`: targets met and breached per segment (coloured
  by the owner of the segment) and the share of arrivals on time per area
  class;
- :func:`bulletin_chart`: the day's worst outages in customer minutes,
  beside the compliance panels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["bulletin_chart", "compliance_chart", "indices_chart"]

_OWNER_COLOUR = {"call_centre": "#6a51a3", "repair_centre": "#2171b5", "crew": "#238b45"}
_BREACH = "#cb181d"


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def indices_chart(doc: dict[str, Any], path: str | Path) -> Path:
    """Daily SAIDI of an :func:`oms.reports.reliability.indices` document. O(days)."""
    daily = doc.get("daily_saidi") or {}
    days = sorted(daily)
    values = [daily[d] for d in days]
    med = set(doc.get("major_event_days") or [])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(days) + 3), 4))
    colours = [_BREACH if d in med else "#2171b5" for d in days]
    ax.bar(range(len(days)), values, color=colours)
    ax.set_xticks(range(len(days)), days, rotation=60, ha="right", fontsize=7)
    if doc.get("t_med_minutes") is not None:
        ax.axhline(doc["t_med_minutes"], color=_BREACH, linestyle="--", label="T_MED")
        ax.legend()
    a = doc["all"]
    ax.set_title(
        f"SAIDI per day (period: SAIFI {a['SAIFI']}, SAIDI {a['SAIDI']} min, "
        f"CAIDI {a['CAIDI']} min)",
        fontsize=10,
    )
    ax.set_ylabel("customer minutes per customer served")
    if not days:
        ax.text(0.5, 0.5, "no interruptions", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def _segments_panel(ax: Axes, response: dict[str, Any]) -> None:
    segments = response["segments"]
    names = list(segments)
    met = [segments[s]["met"] for s in names]
    breached = [segments[s]["breached"] for s in names]
    colours = [_OWNER_COLOUR.get(segments[s]["owner"], "grey") for s in names]
    ax.bar(names, met, color=colours, label="met")
    ax.bar(names, breached, bottom=met, color=_BREACH, label="breached")
    ax.set_title("Segment targets (colour: owner)", fontsize=10)
    ax.set_ylabel("jobs")
    ax.legend(fontsize=8)


def _arrival_panel(ax: Axes, response: dict[str, Any]) -> None:
    groups = response["arrival"]["area_class"]
    names = sorted(groups)
    shares = [100 * groups[g]["share_on_time"] for g in names]
    bars = ax.bar(names, shares, color="#238b45")
    for bar, g in zip(bars, names, strict=True):
        n = groups[g]["on_time"] + groups[g]["late"]
        middle = bar.get_x() + bar.get_width() / 2
        ax.annotate(f"{groups[g]['on_time']}/{n}", (middle, 2), ha="center")
    ax.axhline(95, color=_BREACH, linestyle="--", label="95%")
    ax.set_ylim(0, 100)
    ax.set_title("Arrivals within target, per area class", fontsize=10)
    ax.set_ylabel("% of jobs")
    ax.legend(fontsize=8)


def compliance_chart(doc: dict[str, Any], path: str | Path) -> Path:
    """Segments met and breached, and arrivals on time, of a compliance document."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    _segments_panel(left, doc)
    _arrival_panel(right, doc)
    fig.suptitle(f"Response-target compliance: {doc['jobs']} jobs")
    return _save(fig, path)


def bulletin_chart(doc: dict[str, Any], path: str | Path) -> Path:
    """The day's worst outages and its response compliance."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    worst = doc["worst"]
    labels = [f"{w['id']}\n{w['device']}" for w in worst]
    minutes = [w["customers_out"] * w["minutes"] for w in worst]
    axes[0].barh(labels[::-1], minutes[::-1], color="#2171b5")
    axes[0].set_title("Worst outages (customer minutes)", fontsize=10)
    axes[0].tick_params(axis="y", labelsize=7)
    _segments_panel(axes[1], doc["response"])
    _arrival_panel(axes[2], doc["response"])
    fig.suptitle(
        f"Fault bulletin {doc['day']}: {doc['customers_interrupted']} customers interrupted, "
        f"{doc['still_out']} outages still open"
    )
    return _save(fig, path)
