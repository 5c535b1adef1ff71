"""Point lists of the demo site's devices, following the demo-site point vocabulary (docs/demo-site.md).

Each function returns plain mappings in site.yaml form; make_site.py assembles them into devices. Modbus maps
are in make_site.py (with their documentation); this module holds the BACnet and MQTT points.
"""

from __future__ import annotations

from typing import Any

from bim_models.devices import DEVICE_BY_KEY, PA_ZONES, elements_of
from bim_models.ids import stable_guid
from bim_models.layout import DOORS
from bim_models.yaml_style import Flow, names

Point = dict[str, Any]
QUEUE_CATEGORIES = (
    ("integrated", "综合窗口", "Integrated windows"),
    ("domain", "专业窗口", "Domain windows"),
    ("cross_province", "跨省通办", "Cross-province windows"),
    ("pickup", "取件窗口", "Pick-up windows"),
)


def point(
    point_id: str, zh: str, en: str, kind: str, brick: str, address: dict[str, Any], unit: str = "", **extra: Any
) -> Point:
    """One point mapping, keys in the order a reader expects them."""
    result: Point = {"id": point_id, "name": names(zh, en), "kind": kind}
    if unit:
        result["unit"] = unit
    result["brick"] = brick
    if "ifc_guid" in extra:
        result["ifc_guid"] = extra.pop("ifc_guid")
    result["address"] = Flow(address)
    result.update(extra)
    return result


def _bacnet(obj: str) -> dict[str, Any]:
    return {"type": "bacnet", "object": obj}


def fire_panel_points() -> list[Point]:
    """fire-panel: zone_<n>.fire, smoke_<n> (bound to the detector), trouble, evac_broadcast."""
    points = [
        point(f"fire-panel.zone_{pa.fire_zone}.fire", f"{pa.fire_zone}号防火分区火警",
              f"Fire in fire zone {pa.fire_zone} ({pa.name_en})", "binary", "Fire_Alarm",
              _bacnet(f"binary-input:{pa.fire_zone}"), ifc_guid=pa.fire_zone_guid)
        for pa in PA_ZONES
    ]  # fmt: skip
    for detector in elements_of("smoke_detector"):
        n, where = int(detector.key.rsplit("_", 1)[1]), detector.space
        points.append(
            point(detector.key, f"感烟探测器{n}（{where}）", f"Smoke detector {n} ({where})", "binary",
                  "Smoke_Detection_Alarm", _bacnet(f"binary-input:{100 + n}"), ifc_guid=detector.guid)
        )  # fmt: skip
    points += [
        point("fire-panel.trouble", "火警控制器故障", "Fire panel trouble", "binary", "Fault_Status",
              _bacnet("binary-input:1000")),
        point("fire-panel.evac_broadcast", "消防应急广播联动输出", "Evacuation broadcast linkage output", "binary",
              "Emergency_Alarm", _bacnet("binary-value:1")),
    ]  # fmt: skip
    return points


def security_points() -> list[Point]:
    """security-ctl: ebtn_<n> (latched emergency buttons), door_<n>.open / .forced / .lock (writable)."""
    points = []
    for button in elements_of("emergency_button"):
        n = int(button.key.rsplit("_", 1)[1])
        points.append(
            point(button.key, f"紧急报警按钮{n}（{button.space}）", f"Emergency button {n} ({button.space})", "binary",
                  "Emergency_Alarm", _bacnet(f"binary-input:{n}"), ifc_guid=button.guid)
        )  # fmt: skip
    access = sorted((d.access_no, d) for d in DOORS if d.access_no is not None)
    for n, door in access:
        guid = door_guid(door.key)
        where = f"{door.space} > {door.other or 'outside'}"
        points += [
            point(f"security-ctl.door_{n}.open", f"门{n}开门状态（{where}）", f"Door {n} open ({where})", "binary",
                  "Door_Status", _bacnet(f"binary-input:{100 + n}"), ifc_guid=guid),
            point(f"security-ctl.door_{n}.forced", f"门{n}非法闯入（{where}）", f"Door {n} forced open ({where})",
                  "binary", "Intrusion_Alarm", _bacnet(f"binary-input:{200 + n}"), ifc_guid=guid),
            point(f"security-ctl.door_{n}.lock", f"门{n}门锁（真=上锁）", f"Door {n} lock (true = locked)", "binary",
                  "Lock_Command", _bacnet(f"binary-output:{n}"), ifc_guid=guid, writable=True),
        ]  # fmt: skip
    return points


def door_guid(door_key: str) -> str:
    """The GlobalId of a door (the same key building.py gives the IfcDoor)."""
    return stable_guid(f"door:{door_key}")


def environment_points() -> list[Point]:
    """env-ctl: leak_<n> (bound to the sensor) and the server room temperature probe."""
    points = []
    for sensor in elements_of("water_leak"):
        n = int(sensor.key.rsplit("_", 1)[1])
        points.append(
            point(sensor.key, f"漏水{n}（{sensor.space}）", f"Water leak {n} ({sensor.space})", "binary", "Leak_Alarm",
                  _bacnet(f"binary-input:{n}"), ifc_guid=sensor.guid)
        )  # fmt: skip
    probe = DEVICE_BY_KEY["env-ctl.server_room_temp"]
    points.append(
        point(probe.key, "机房温度", "Server room temperature", "analog", "Zone_Air_Temperature_Sensor",
              _bacnet("analog-input:1"), unit="degC", ifc_guid=probe.guid)
    )  # fmt: skip
    return points


def _mqtt(json_path: str, topic: str | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {"type": "mqtt"}
    if topic is not None:
        address["topic"] = topic
    address["json_path"] = json_path
    return address


def temp_humidity_points(device_id: str) -> list[Point]:
    return [
        point(f"{device_id}.temperature", "温度", "Temperature", "analog", "Zone_Air_Temperature_Sensor",
              _mqtt("temperature"), unit="degC"),
        point(f"{device_id}.humidity", "相对湿度", "Relative humidity", "analog", "Zone_Air_Humidity_Sensor",
              _mqtt("humidity"), unit="%RH"),
    ]  # fmt: skip


def people_counter_points(device_id: str) -> list[Point]:
    return [
        point(f"{device_id}.count_in", "进入人数", "People in", "analog", "Occupancy_Count_Sensor", _mqtt("in")),
        point(f"{device_id}.count_out", "离开人数", "People out", "analog", "Occupancy_Count_Sensor", _mqtt("out")),
    ]


def queue_points() -> list[Point]:
    """queue: per category (sub-topic) waiting, last_called (text), avg_wait (s), open_windows."""
    points = []
    for category, zh, en in QUEUE_CATEGORIES:
        points += [
            point(f"queue.{category}.waiting", f"{zh}等候人数", f"{en}: people waiting", "analog",
                  "Occupancy_Count_Sensor", _mqtt("waiting", category)),
            point(f"queue.{category}.last_called", f"{zh}当前叫号", f"{en}: last number called", "text", "Status",
                  _mqtt("last_called", category)),
            point(f"queue.{category}.avg_wait", f"{zh}平均等候时间", f"{en}: average wait", "analog",
                  "Duration_Sensor", _mqtt("avg_wait_s", category), unit="s"),
            point(f"queue.{category}.open_windows", f"{zh}开放窗口数", f"{en}: open windows", "analog", "Status",
                  _mqtt("open_windows", category)),
        ]  # fmt: skip
    return points
