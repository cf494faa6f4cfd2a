"""Configuration of the outage engine: fault-location parameters and rules.

Every figure the engine decides with lives here, with its default and the
reason for it, so that a utility can tune them to its own customers and
head-end (see ``docs/fault-location.md``). A configuration can be read from
a JSON file with :meth:`EngineConfig.from_file`; unknown keys are an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from oms.dispatch.jobs import PriorityWeights
from oms.dispatch.rules import DispatchRules
from oms.exceptions import OMSError

__all__ = ["ClassicRules", "DispatchConfig", "EngineConfig", "PredictionParams", "StormRules"]


@dataclass(frozen=True)
class PredictionParams:
    """Likelihood model of the evidence (see ``docs/fault-location.md``).

    Attributes
    ----------
    call_rate : float
        Probability that a customer without supply calls within the window
        (8-12% in practice).
    noise_rate : float
        Probability that a customer *with* supply reports no power within the
        window (a single-customer problem: service drop, meter, main breaker).
    ami_delivery : float
        Share of last gasps the AMI head-end delivers; 0 when the utility has
        no last-gasp feed. Missing gasps count against an outage only while
        the head-end is seen delivering (a gasp arrived within the window).
    ami_false_gasp : float
        Probability that a supplied meter sends a last gasp anyway.
    ping_error : float
        Probability that a ping reply is wrong.
    fault_cost : float
        Prior cost (in log-likelihood units) of each faulted device: the
        negative log prior odds of a device failing. Higher predicts fewer,
        better-supported outages.
    service_fault_cost : float or None
        Prior cost of one customer's own service failing (a service drop, a
        meter): the alternative to a device above it when only that customer
        is heard to be out. Higher than ``fault_cost`` (a device serves many
        customers, and any of its faults cuts them all). None leaves it out.
    window_hours : float
        Evidence older than this, with no outage holding it, is dropped.
    restore_grace_s : float
        After a restoration, the time for meters to report supply back
        before a missing restore counts as evidence of a nested outage.
    momentary_s : float
        An interruption shorter than this is momentary (IEEE 1366: 5 min).
    blink_settle_s : float
        Meters that lost and regained supply between two predictions are
        looked at together this long after they report back, to record the
        momentary interruption they saw.
    supplied_evidence : float
        Weight against an outage of a report that a customer has supply now
        (an AMI restore, a ping answered energized, a caller whose power is
        back), in log-likelihood units.
    supplied_window_s : float
        How long such a report speaks for the customer's supply: a fault
        after it is not contradicted by it.
    new_outage_gap_s : float
        A device predicted above an open outage is a new outage, with the
        open one nested below it, when the evidence around the open one began
        more than this after it started; otherwise the open one rolls up.
    new_outage_gap_ami_s : float
        The same when last gasps began around it: meters report within a
        minute, callers over many.
    metered_default : bool
        Whether customers have AMI meters when the customers file has no
        ``meter`` column (with one, a customer with a meter id has one). A
        customer whose meter sends a message is metered from then on.
    lone_gasp_wait_s : float
        A last gasp that no network outage explains and no restore follows
        within this time is a single-customer outage (a service drop or a
        meter), as a lone call is.
    ping_timeout_s : float
        A ping not answered within this time, while the head-end answers
        others sent since, counts as evidence of no supply: a meter without
        supply cannot answer. With no head-end answering (intake from a file,
        pings off) an unanswered ping says nothing.
    ping_reply_rate : float
        Share of pings to a supplied meter that the head-end answers.
    ping_retries : int
        A ping that times out is sent again this many times (head-ends lose
        a share of answers): each unanswered ping in a row weighs as one more
        piece of evidence of no supply, so one lost answer does not hold a
        meter out for hours.
    outage_points : tuple of str
        Edge kinds an outage can be located at: the protective kinds and
        ``transformer`` (a service transformer with its cutout drawn as an
        attribute, as most GIS models do). A transformer that cuts off
        exactly the customers of the device above it is left to that device.
    """

    call_rate: float = 0.10
    noise_rate: float = 0.002
    ami_delivery: float = 0.8
    ami_false_gasp: float = 0.0005
    ping_error: float = 0.02
    fault_cost: float = 4.0
    service_fault_cost: float | None = 6.0
    window_hours: float = 12.0
    restore_grace_s: float = 180.0
    momentary_s: float = 300.0
    blink_settle_s: float = 90.0
    supplied_evidence: float = 6.0
    supplied_window_s: float = 900.0
    new_outage_gap_s: float = 600.0
    new_outage_gap_ami_s: float = 120.0
    metered_default: bool = False
    lone_gasp_wait_s: float = 300.0
    ping_timeout_s: float = 120.0
    ping_reply_rate: float = 0.9
    ping_retries: int = 1
    outage_points: tuple[str, ...] = (
        "breaker",
        "recloser",
        "sectionalizer",
        "fuse",
        "transformer",
    )

    # Log-likelihood ratios (dead vs supplied) of each kind of observation.
    @property
    def llr_call(self) -> float:
        return math.log(self.call_rate / self.noise_rate)

    @property
    def llr_no_call(self) -> float:
        return math.log((1 - self.call_rate) / (1 - self.noise_rate))

    @property
    def llr_gasp(self) -> float:
        # A gasp that does arrive is strong evidence even from a head-end
        # configured as not delivering them (ami_delivery 0).
        return math.log((self.ami_delivery or 0.5) / self.ami_false_gasp)

    @property
    def llr_missing_restore(self) -> float:
        return -math.log(1 - self.ami_delivery)

    @property
    def llr_no_gasp(self) -> float:
        return math.log((1 - self.ami_delivery) / (1 - self.ami_false_gasp))

    @property
    def llr_ping(self) -> float:
        return math.log((1 - self.ping_error) / self.ping_error)

    @property
    def llr_ping_silent(self) -> float:
        return -math.log(1 - self.ping_reply_rate)


@dataclass(frozen=True)
class ClassicRules:
    """The classic threshold roll-up that commercial OMS use (for comparison).

    A protective device is predicted out when at least ``min_calls`` reports
    (calls or last gasps) lie below it and are not explained by a predicted
    device further down, and they make at least ``min_share`` of its
    customers; it also absorbs its children when ``min_children`` of them are
    predicted. Reports older than ``window_hours`` are ignored.
    """

    min_calls: int = 2
    min_share: float = 0.0
    min_children: int = 2
    window_hours: float = 12.0


@dataclass(frozen=True)
class DispatchConfig:
    """Settings of jobs, dispatch and timers (``docs/dispatch.md``).

    Attributes
    ----------
    enabled : bool
        Raise jobs and keep crews at all (off: fault location only).
    auto_dispatch : bool
        Assign a crew to every new job as soon as it is raised (the server's
        mode); otherwise the dispatcher assigns (``oms dispatch assign``).
    storm_batch : int
        With at least this many waiting jobs, assign them all at once
        (linear assignment) instead of one by one.
    ack_timeout_s : float
        An order not taken up within this at a hop (dispatched but not
        delivered, delivered but not accepted) alerts the sender, then
        escalates every further timeout: first contact, second contact,
        leader.
    stale_gps_s : float
        A crew position older than this is stale.
    capacity_window_s, capacity_share : float
        A unit with no free crew for more than ``capacity_share`` of the last
        ``capacity_window_s`` raises a capacity alarm.
    targets : mapping
        Per area class, segment limits in minutes replacing the defaults
        (``{"rural": {"GH": 60, "restoration": 300}}``).
    skills : mapping
        The skills a job needs (any one qualifies a crew), by the kind of
        its outage's device (``transformer``, ``fuse``, ...) or
        ``single_customer``; kinds not listed need ``line`` or ``cable``.
    repair_minutes : float
        How long a repair takes once the crew is on site, for an ETR that
        has to be estimated again (it passed without restoration).
    notify, etr_change_min : bool, float
        Queue customer notifications; tell a new ETR only when it moved by
        more than this many minutes.
    fan_out : {"inline", "notifier"}
        Who turns a batch's notices (one per message and outage) into a
        message per customer: ``inline``, the writer, after the batches of
        each call commit, in a transaction of its own; ``notifier``, whoever sends
        them (``oms notify send`` or ``oms notify fan-out``), so the writer
        spends nothing on them in a storm.
    priority : PriorityWeights
        The weights of a job's priority (hazard, critical customers out,
        customers out, age): what goes first in dispatch and restoration.
    """

    enabled: bool = True
    auto_dispatch: bool = False
    storm_batch: int = 5
    ack_timeout_s: float = 240.0
    stale_gps_s: float = 900.0
    capacity_window_s: float = 3600.0
    capacity_share: float = 0.5
    targets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rules: DispatchRules = field(default_factory=DispatchRules)
    notify: bool = True
    etr_change_min: float = 30.0
    fan_out: str = "inline"
    repair_minutes: float = 60.0
    priority: PriorityWeights = field(default_factory=PriorityWeights)
    skills: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {
            "breaker": ("line", "cable"),
            "recloser": ("line", "cable"),
            "sectionalizer": ("line", "cable"),
            "fuse": ("line", "cable"),
            "transformer": ("line", "cable"),
            "single_customer": ("service",),
        }
    )

    def __post_init__(self) -> None:
        if self.fan_out not in ("inline", "notifier"):
            raise OMSError(f"dispatch.fan_out must be inline or notifier, not {self.fan_out!r}")


@dataclass(frozen=True)
class SwitchingConfig:
    """Switching orders, safety documents and planned outages.

    Attributes
    ----------
    interlocks : mapping of str to str
        Per rule of :mod:`oms.switching.interlocks` (``tagged``,
        ``safety_document``, ``grounded``, ``faulted``, ``critical``,
        ``parallel``, ``loop``, ``overload``, ``sequence``, ``window``):
        ``refuse``, ``warn`` (the operator acknowledges it by name) or
        ``off``. Rules not named keep their defaults.
    notice_days : float
        How many days ahead customers are told of a planned outage.
    """

    interlocks: Mapping[str, str] = field(default_factory=dict)
    notice_days: float = 7.0

    def __post_init__(self) -> None:
        from oms.switching.interlocks import DEFAULT_LEVELS

        for rule, level in self.interlocks.items():
            if rule not in DEFAULT_LEVELS:
                raise OMSError(
                    f"unknown interlock rule {rule!r}; the rules are {', '.join(DEFAULT_LEVELS)}"
                )
            if level not in ("refuse", "warn", "off"):
                raise OMSError(f"interlocks.{rule} must be refuse, warn or off, not {level!r}")
        if not 0 <= self.notice_days <= 365:
            raise OMSError(f"switching.notice_days must be 0-365, not {self.notice_days}")

    @property
    def levels(self) -> dict[str, str]:
        """Every rule's level (the defaults with the configured ones over them)."""
        from oms.switching.interlocks import DEFAULT_LEVELS

        return {**DEFAULT_LEVELS, **self.interlocks}


@dataclass(frozen=True)
class StormRules:
    """What storm mode changes in locating outages (``docs/fault-location.md``).

    While the storm room has storm mode on (:mod:`oms.engine.storm`), the
    engine locates outages with these settings over the configured ones;
    off again, with the configured ones. The change is audited with the
    storm-mode change that made it.

    Attributes
    ----------
    prediction : mapping
        Settings of :class:`PredictionParams` that change, by name.
    pings_per_check, pings_after_restoration : int or None
        The head-end's load in a storm: meters pinged per question and after
        a restoration (None keeps the configured numbers).
    """

    prediction: Mapping[str, Any] = field(default_factory=dict)
    pings_per_check: int | None = None
    pings_after_restoration: int | None = None


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine is configured with.

    Attributes
    ----------
    predictor : {"likelihood", "classic"}
        Which fault-location method makes the predictions.
    prediction : PredictionParams
    classic : ClassicRules
    pings : bool
        Ask the AMI head-end to ping meters to confirm or reject a predicted
        device and to find nested outages at restoration.
    pings_per_check : int
        Meters pinged per question.
    pings_after_restoration : int
        Most meters pinged when an outage is restored, among those that were
        out and have not reported back: one per outage point below it whose
        meters are all silent (a lost restore message is common, a whole
        transformer's worth of them is not), so that every place a nested
        outage could hide is asked once.
    dispatch : DispatchConfig
        Jobs, crew choice and timers.
    switching : SwitchingConfig
        Interlock levels and planned-outage notice.
    storm : StormRules
        What storm mode changes in locating outages.
    batch_size : int
        Most events applied per transaction (and per re-prediction).
    batch_seconds : float
        A batch also ends when its events span more than this much event
        time, so that a replayed file is located as promptly as a live feed.
    max_clock_skew_s : float or None
        An event dated more than this ahead of the engine's wall clock is
        rejected (it would move the engine clock into the future for good).
        None accepts any time: replays of simulated storms.
    """

    predictor: str = "likelihood"
    prediction: PredictionParams = field(default_factory=PredictionParams)
    classic: ClassicRules = field(default_factory=ClassicRules)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    switching: SwitchingConfig = field(default_factory=SwitchingConfig)
    storm: StormRules = field(default_factory=StormRules)
    pings: bool = True
    pings_per_check: int = 3
    pings_after_restoration: int = 200
    batch_size: int = 5000
    batch_seconds: float = 15.0
    max_clock_skew_s: float | None = 300.0

    def __post_init__(self) -> None:
        if self.predictor not in ("likelihood", "classic"):
            raise OMSError(f"predictor must be 'likelihood' or 'classic', not {self.predictor!r}")
        _check_prediction(self.prediction, "prediction")
        unknown = set(self.storm.prediction) - {f.name for f in fields(PredictionParams)}
        if unknown:
            raise OMSError(f"unknown storm.prediction setting(s): {', '.join(sorted(unknown))}")
        _check_prediction(self._storm_prediction(), "storm.prediction")
        for name in ("pings_per_check", "pings_after_restoration"):
            value = getattr(self.storm, name)
            if value is not None and not (isinstance(value, int) and value >= 0):
                raise OMSError(f"storm.{name} must be a whole number >= 0 or null, not {value!r}")
        if self.batch_size < 1:
            raise OMSError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.max_clock_skew_s is not None and not self.max_clock_skew_s >= 0:
            raise OMSError(f"max_clock_skew_s must be >= 0 or null, not {self.max_clock_skew_s}")

    def in_storm(self) -> EngineConfig:
        """This configuration with storm mode's rules over it (:class:`StormRules`)."""
        rules = self.storm
        return replace(
            self,
            prediction=self._storm_prediction(),
            pings_per_check=(
                self.pings_per_check if rules.pings_per_check is None else rules.pings_per_check
            ),
            pings_after_restoration=(
                self.pings_after_restoration
                if rules.pings_after_restoration is None
                else rules.pings_after_restoration
            ),
        )

    def _storm_prediction(self) -> PredictionParams:
        overrides = dict(self.storm.prediction)
        if "outage_points" in overrides:
            overrides["outage_points"] = tuple(overrides["outage_points"])
        return replace(self.prediction, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> EngineConfig:
        """Build from a dict like :meth:`to_dict`'s; unknown keys raise OMSError."""
        doc = dict(doc)
        parts: dict[str, Any] = {}
        for key, kind in (
            ("prediction", PredictionParams),
            ("classic", ClassicRules),
            ("dispatch", DispatchConfig),
            ("switching", SwitchingConfig),
            ("storm", StormRules),
        ):
            sub = dict(doc.pop(key, {}) or {})
            if key == "dispatch" and "rules" in sub:
                rules = dict(sub["rules"])
                unknown_rules = set(rules) - {f.name for f in fields(DispatchRules)}
                if unknown_rules:
                    raise OMSError(
                        f"unknown dispatch.rules setting(s): {', '.join(sorted(unknown_rules))}"
                    )
                sub["rules"] = DispatchRules(**rules)
            if key == "dispatch" and "priority" in sub:
                weights = dict(sub["priority"])
                unknown_weights = set(weights) - {f.name for f in fields(PriorityWeights)}
                if unknown_weights:
                    raise OMSError(
                        "unknown dispatch.priority setting(s): "
                        + ", ".join(sorted(unknown_weights))
                    )
                sub["priority"] = PriorityWeights(**weights)
            known = {f.name for f in fields(kind)}
            unknown = set(sub) - known
            if unknown:
                raise OMSError(f"unknown {key} setting(s): {', '.join(sorted(unknown))}")
            if key == "prediction" and "outage_points" in sub:
                sub["outage_points"] = tuple(sub["outage_points"])
            parts[key] = kind(**sub)
        known = {f.name for f in fields(cls)}
        unknown = set(doc) - known
        if unknown:
            raise OMSError(f"unknown engine setting(s): {', '.join(sorted(unknown))}")
        return cls(**doc, **parts)

    @classmethod
    def from_file(cls, path: str | Path) -> EngineConfig:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OMSError(f"{path}: cannot read engine configuration: {exc}") from exc
        return cls.from_dict(doc)


def _check_prediction(p: PredictionParams, where: str) -> None:
    """Raise OMSError naming the first setting of ``p`` out of its range."""
    for name in ("call_rate", "noise_rate", "ami_false_gasp", "ping_error", "ping_reply_rate"):
        value = getattr(p, name)
        if not 0 < value < 1:
            raise OMSError(f"{where}.{name} must be between 0 and 1, not {value}")
    if not 0 <= p.ami_delivery < 1:
        raise OMSError(f"{where}.ami_delivery must be in [0, 1), not {p.ami_delivery}")
    allowed = {"breaker", "recloser", "sectionalizer", "fuse", "transformer"}
    if not set(p.outage_points) <= allowed or not p.outage_points:
        raise OMSError(
            f"{where}.outage_points must be some of "
            f"{', '.join(sorted(allowed))}, not {list(p.outage_points)}"
        )
