"""OpenFMB profiles to contract-3 events (issue 18 item 5), without a broker
(``test_listen`` takes them through the real one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oms.cli import cli
from oms.exceptions import EventError, OMSError
from oms.intake.mqtt import ListenSettings
from oms.intake.openfmb import OpenFMBDecoder

T = 1_772_359_200  # 2026-03-01T10:00:00Z


def _stamp(seconds: int, nanos: int = 0) -> dict[str, Any]:
    return {"seconds": str(seconds), "nanoseconds": nanos}


def status(
    module: str, mrid: str, pos: Any, *, name: str | None = None, message: str = "m-1", **node: Any
) -> tuple[str, dict[str, Any]]:
    """A status profile (topic suffix, payload) in the protobuf JSON mapping."""
    equipment, status_key, xnode = {
        "switchmodule": ("protectedSwitch", "switchStatus", "switchStatusXSWI"),
        "breakermodule": ("breaker", "breakerStatus", "statusAndEventXCBR"),
        "reclosermodule": ("recloser", "recloserStatus", "statusAndEventXCBR"),
    }[module]
    profile = {
        "switchmodule": "SwitchStatusProfile",
        "breakermodule": "BreakerStatusProfile",
        "reclosermodule": "RecloserStatusProfile",
    }[module]
    ce: dict[str, Any] = {"mRID": mrid}
    if name:
        ce["namedObject"] = {"name": name}
    body = {
        "statusMessageInfo": {
            "messageInfo": {"identifiedObject": {"mRID": message}, "messageTimeStamp": _stamp(T)}
        },
        equipment: {"conductingEquipment": ce},
        status_key: {xnode: {**({"Pos": pos} if pos is not None else {}), **node}},
    }
    return f"{module}/{profile}/{mrid}", body


def meter(mrid: str, volts: float, at: int, message: str) -> tuple[str, dict[str, Any]]:
    return f"metermodule/MeterReadingProfile/{mrid}", {
        "readingMessageInfo": {
            "messageInfo": {"identifiedObject": {"mRID": message}, "messageTimeStamp": _stamp(at)}
        },
        "meter": {"conductingEquipment": {"mRID": mrid}},
        "meterReading": {"readingMMXU": {"PhV": {"phsA": {"cVal": {"mag": volts}}}}},
    }


def test_status_profiles_map_to_scada_and_fault_indicator_events() -> None:
    decode = OpenFMBDecoder("openfmb/", {"uuid-b1": "B1"}).decode
    topic, body = status("breakermodule", "uuid-b1", {"phs3": {"stVal": "DbPosKind_open"}})
    assert decode(f"openfmb/{topic}", body) == [
        {
            "id": "openfmb:m-1:scada",
            "type": "scada",
            "time": "2026-03-01T10:00:00+00:00",
            "device": "B1",
            "state": "open",
        }
    ]
    # A recloser at lockout, its own position time, a fault latch on phase B.
    pos = {"phs3": {"stVal": "DbPosKind_open", "t": _stamp(T - 30, 500_000_000)}}
    topic, body = status(
        "reclosermodule",
        "uuid-r1",
        pos,
        name="R1",
        ReclosingAction={"phs3": {"value": "RecloseActionKind_lockout"}},
        ProtectionPickup={"phsB": {"stVal": True}},
    )
    scada, fci = decode(f"openfmb/{topic}", body)
    assert (scada["device"], scada["state"], scada["lockout"]) == ("R1", "open", True)
    assert scada["time"] == "2026-03-01T09:59:30.500000+00:00"
    assert (fci["type"], fci["device"], fci["fault"]) == ("fci", "R1", True)
    # Per phase: any phase open is open; all closed is closed. Unknown mRIDs pass as they are.
    phases = {p: {"stVal": "DbPosKind_closed"} for p in ("phsA", "phsB", "phsC")}
    topic, body = status("switchmodule", "SW1", phases)
    assert decode(f"openfmb/{topic}", body)[0]["state"] == "closed"
    phases["phsC"] = {"stVal": "DbPosKind_open"}
    topic, body = status("switchmodule", "SW1", phases)
    assert decode(f"openfmb/{topic}", body)[0]["state"] == "open"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"pos": {"phs3": {"stVal": "DbPosKind_transient"}}}, "says nothing"),
        ({"pos": {}}, "no phs3 nor per-phase"),
        ({"pos": None}, "neither Pos nor ProtectionPickup"),
        ({"mrid": ""}, "conductingEquipment.mRID is missing"),
        ({"pos": {"phs3": {"stVal": "DbPosKind_open", "t": {"seconds": "x"}}}}, "timestamp"),
    ],
)
def test_a_profile_that_says_nothing_is_rejected_with_its_reason(
    change: dict[str, Any], error: str
) -> None:
    args = {"mrid": "uuid-b1", "pos": {"phs3": {"stVal": "DbPosKind_open"}}, **change}
    topic, body = status("breakermodule", args["mrid"], args["pos"])
    with pytest.raises(EventError, match=error):
        OpenFMBDecoder("openfmb/").decode(f"openfmb/{topic}", body)
    with pytest.raises(EventError, match="is not read"):
        OpenFMBDecoder("openfmb/").decode("openfmb/solarmodule/SolarStatusProfile/x", body)


def test_meter_readings_become_last_gasps_and_restores_on_change_only() -> None:
    d = OpenFMBDecoder("openfmb/", {"uuid-m": "M-c2-1"}, dead_volts=50)
    readings = [(230.1, "r1"), (0.0, "r2"), (0.0, "r3"), (229.5, "r4"), (231.0, "r5")]
    kinds = []
    for k, (volts, mid) in enumerate(readings):
        topic, body = meter("uuid-m", volts, T + 60 * k, mid)
        kinds += [(e["type"], e["meter"], e["id"]) for e in d.decode(f"openfmb/{topic}", body)]
    assert kinds == [
        ("ami_last_gasp", "M-c2-1", "openfmb:r2:ami_last_gasp"),
        ("ami_restore", "M-c2-1", "openfmb:r4:ami_restore"),
    ]


def test_settings_and_the_mrid_map(tmp_path: Path) -> None:
    s = ListenSettings(prefix="site/oms", openfmb_prefix="site/openfmb")
    assert s.openfmb_prefix == "site/openfmb/"
    assert "site/openfmb/switchmodule/SwitchStatusProfile/#" in s.topics
    assert ListenSettings(openfmb_prefix="").topics[-1] == "oms/events/#"
    for bad in ({"openfmb_prefix": "oms/openfmb/"}, {"openfmb_prefix": "a/#"}, {"dead_volts": 0}):
        with pytest.raises(OMSError):
            ListenSettings(**bad)
    bad_map = tmp_path / "map.csv"
    bad_map.write_text("uuid,device\nx,B1\n")
    result = CliRunner().invoke(
        cli, ["listen", "--openfmb-map", str(bad_map), "--db", "sqlite://", "--seconds", "0"]
    )
    assert result.exit_code == 2 and "needs columns mrid and id" in result.output
