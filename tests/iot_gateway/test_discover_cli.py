"""`halltwin discover` and `halltwin serve` without a network: the site fragment, argument errors, and the
one clear message for a bacnet.interface this host lacks or a bacnet.port in use (the broadcasts themselves are
tested across network namespaces in test_bacnet_network.py)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from api.cli import main
from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from iot_gateway.site_fragment import DiscoveredDevice, DiscoveredObject, devices_fragment, slug
from tests.peers import free_port
from twin.site.model import SiteConfig

AHU = DiscoveredDevice(
    instance=260001,
    address="10.20.0.31:47808",
    name="AHU 1",
    vendor="Acme",
    model="X-200",
    objects=(
        DiscoveredObject("analog-input", 1, "Supply Air Temp", "degrees-celsius", 18.5),
        DiscoveredObject("analog-input", 2, "Supply Air Temp", "percent-relative-humidity", 40.0),
        DiscoveredObject("binary-input", 3, "Fan Alarm", None, False),
        DiscoveredObject("multi-state-value", 4, "运行模式", None, 2, state_texts=("自动", "白天", "夜间")),
        DiscoveredObject("analog-value", 5, "Setpoint", "degrees-celsius", 22.0),
        DiscoveredObject("trend-log", 1, "Log"),
    ),
)
# A device found by instance only, named in Chinese: ids fall back to the instance and object type.
METER = DiscoveredDevice(instance=17, name="配电柜电表",
                         objects=(DiscoveredObject("analog-input", 9, "电压", "volts"),))  # fmt: skip


def as_site(fragment: str, fill: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole site around a pasted fragment; ``fill`` replaces what the fragment left as TODO."""
    devices = yaml.safe_load(fragment)["devices"]
    for device in devices:
        if fill is not None:
            device.update(kind="ac_unit", zone="hall", ifc_guid="0" * 22)
            for point in device["points"]:
                point["brick"] = point["brick"] or fill["brick"]
    return {
        "site": {"id": "t", "name": {"zh": "测试", "en": "Test"}, "ifc": "none.ifc"},
        "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": "0" * 22}],
        "devices": devices,
    }


def test_fragment_guesses_only_unambiguous_brick_classes_and_marks_the_rest() -> None:
    fragment = devices_fragment([AHU, METER])
    devices = yaml.safe_load(fragment)["devices"]
    assert [d["id"] for d in devices] == ["ahu-1", "bacnet-17"]
    assert devices[0]["connection"] == {"type": "bacnet_ip", "address": "10.20.0.31:47808", "device_instance": 260001}
    assert devices[1]["connection"] == {"type": "bacnet_ip", "device_instance": 17}  # found by instance only
    points = {p["id"]: p for p in devices[0]["points"]}
    assert list(points) == ["ahu-1.supply-air-temp", "ahu-1.supply-air-temp-2", "ahu-1.fan-alarm", "ahu-1.msv-4",
                            "ahu-1.setpoint"]  # fmt: skip
    assert points["ahu-1.supply-air-temp"] == {
        "id": "ahu-1.supply-air-temp", "name": {"zh": "Supply Air Temp", "en": "Supply Air Temp"},
        "kind": "analog", "unit": "°C", "brick": "Temperature_Sensor",
        "address": {"type": "bacnet", "object": "analog-input:1"},
    }  # fmt: skip
    assert points["ahu-1.supply-air-temp-2"]["brick"] == "Relative_Humidity_Sensor"
    assert points["ahu-1.msv-4"]["states"] == ["自动", "白天", "夜间"]
    # A binary input (alarm or status?), a mode, a value in degrees (setpoint or command?) are not guessed.
    unguessed = ["ahu-1.fan-alarm", "ahu-1.msv-4", "ahu-1.setpoint"]
    assert [pid for pid, p in points.items() if p["brick"] is None] == unguessed
    assert fragment.count("brick: null  # TODO choose a Brick class") == 3
    assert "# not points of the twin: trend-log:1" in fragment
    assert "  - id: ahu-1  # Acme, X-200" in fragment and "# present value 18.5" in fragment
    assert devices[1]["points"][0]["id"] == "bacnet-17.ai-9" and devices[1]["points"][0]["unit"] == "V"


def test_a_pasted_fragment_is_refused_until_every_todo_is_filled() -> None:
    fragment = devices_fragment([AHU, METER])
    with pytest.raises(ValidationError) as refused:
        SiteConfig.model_validate(as_site(fragment))
    problems = {(e["loc"][1], e["loc"][-1]) for e in refused.value.errors() if e["loc"][0] == "devices"}
    assert {(0, "kind"), (0, "zone"), (0, "ifc_guid"), (0, "brick")} <= problems
    site = SiteConfig.model_validate(as_site(fragment, fill={"brick": "Point"}))
    assert [len(d.points) for d in site.devices] == [5, 1]


def test_slug() -> None:
    assert slug("  Supply Air Temp (AHU-1) ", "x") == "supply-air-temp-ahu-1"
    assert slug("送风温度", "ai-1") == "ai-1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["discover"], "give a SITE or --interface ADDR/PREFIX"),
        (["discover", "--interface", "10.20.0.5"], "interface needs a prefix length"),
        (["discover", "--interface", "10.20.0.5/24", "--low", "5"], "give both --low and --high"),
        (["discover", "--interface", "127.0.0.1/8", "--port", "0", "--wait", "0.2"],
         "bacnet.interface: 127.0.0.1/8 is loopback"),
    ],
)  # fmt: skip
def test_discover_argument_errors_are_one_line(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.fixture(scope="module")
def demo_text() -> str:
    ensure_demo_hall()
    text = SITE_PATH.read_text(encoding="utf-8")
    # The copy lives elsewhere: its building model is the demo's, by absolute path.
    return text.replace("ifc: generated/demo_hall.ifc", f"ifc: {SITE_PATH.parent / 'generated/demo_hall.ifc'}")


def serve(tmp_path: Path, site_text: str) -> list[str]:
    site = tmp_path / "site.yaml"
    site.write_text(site_text, encoding="utf-8")
    return ["serve", str(site), "--port", str(free_port()), "--data-dir", str(tmp_path / "data")]


def test_serve_names_an_interface_this_host_lacks(tmp_path: Path, demo_text: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    # 10.213.250.1 is on no interface here: the bind fails, nothing is sent.
    text = demo_text.replace("bacnet: {interface: 127.0.0.1/8, port: 0}", "bacnet: {interface: 10.213.250.1/24}")
    assert main(serve(tmp_path, text)) == 2
    err = capsys.readouterr().err
    assert "halltwin serve: bacnet.interface: 10.213.250.1 is not an address of this host (its addresses: lo " \
           "127.0.0.1" in err  # fmt: skip
    assert "Traceback" not in err


def test_serve_names_a_port_in_use(tmp_path: Path, demo_text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        text = demo_text.replace("bacnet: {interface: 127.0.0.1/8, port: 0}",
                                 f"bacnet: {{interface: 127.0.0.1/8, port: {port}}}")  # fmt: skip
        assert main(serve(tmp_path, text)) == 2
    err = capsys.readouterr().err
    assert f"halltwin serve: bacnet.port: UDP 127.0.0.1:{port} is in use by another program" in err
