"""/api/devices: the site's devices as the integrator named them, placed on the building for the viewer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.device_state import STATES, DeviceStateName, device_state
from api.routes_model import ModelUnavailable, model_service
from twin.site.model import Device, SiteConfig

router = APIRouter()


class LocalName(BaseModel):
    zh: str
    en: str


class DevicePoint(BaseModel):
    id: str
    name: LocalName
    kind: str
    unit: str
    brick: str = Field(description="Brick Schema class, e.g. Zone_Air_Temperature_Sensor")
    precision: int | None = Field(description="decimals to show; null: the value as read (shortest form)")
    ifc_guid: str = Field(description="the element the point colours (the device's unless the point names one)")


class Placement(BaseModel):
    storey: str | None = Field(description="GlobalId of the storey the element stands on")
    min: list[float] = Field(description="world box corner, IFC metres (Z up)")
    max: list[float] = Field(description="world box corner, IFC metres (Z up)")
    drawn: bool = Field(description="false: the element has no mesh in /api/model (an opening): mark the box")


class SiteDevice(BaseModel):
    id: str
    name: LocalName
    kind: str = Field(description="the site's device kind (power_meter, people_counter ...)")
    zone: str
    zone_name: LocalName | None
    ifc_guid: str
    polled: bool = Field(description="false: the gateway does not poll it (no connection in site.yaml)")
    placement: Placement | None = Field(description="null: the element is not in the converted model (yet)")
    points: list[DevicePoint]
    state: DeviceStateName = Field(
        description="worst of its active alarms and point qualities, from harmless to worst: " + ", ".join(STATES)
    )
    state_reason: str | None = Field(description="the alarm or point that decides the state; null when normal")


class DeviceList(BaseModel):
    devices: list[SiteDevice]


def _placements(elements_path: Path) -> dict[str, Placement]:
    """GlobalId -> placement of every exported element and every opening of the converted model."""
    document: dict[str, Any] = json.loads(elements_path.read_text(encoding="utf-8"))
    placements: dict[str, Placement] = {}
    for opening in document.get("openings", []):
        placements[opening["guid"]] = Placement(
            storey=opening.get("storey"), min=opening["min"], max=opening["max"], drawn=False
        )
    for element in document.get("elements", []):
        position = element.get("position") or [0.0, 0.0, 0.0]
        placements[element["guid"]] = Placement(
            storey=element.get("storey"), min=list(position), max=list(position), drawn=True
        )
    return placements


def _device(device: Device, site: SiteConfig, placements: dict[str, Placement], runtime: Any) -> SiteDevice:
    zone = next((z for z in site.zones if z.id == device.zone), None)
    engine = getattr(runtime, "alarms", None)
    state = device_state(device, runtime.bus.latest, engine.open.values() if engine is not None else ())
    return SiteDevice(
        id=device.id,
        name=LocalName(zh=device.name.zh, en=device.name.en),
        kind=device.kind.value,
        zone=device.zone,
        zone_name=LocalName(zh=zone.name.zh, en=zone.name.en) if zone else None,
        ifc_guid=device.ifc_guid,
        polled=device.connection is not None,
        placement=placements.get(device.ifc_guid),
        points=[
            DevicePoint(
                id=point.id,
                name=LocalName(zh=point.name.zh, en=point.name.en),
                kind=point.kind.value,
                unit=point.unit,
                brick=point.brick,
                precision=point.precision,
                ifc_guid=point.ifc_guid or device.ifc_guid,
            )
            for point in device.points
        ],
        state=state.state,
        state_reason=state.reason,
    )


@router.get("/api/devices")
async def get_devices(request: Request) -> DeviceList:
    """Every device of site.yaml: its names, kind, zone, points and where it is in the building model."""
    runtime = request.app.state.runtime
    try:
        files = await model_service(request.app).files()
        cache: tuple[Path, dict[str, Placement]] | None = getattr(request.app.state, "device_placements", None)
        if cache is None or cache[0] != files.elements_path:
            cache = (files.elements_path, _placements(files.elements_path))
            request.app.state.device_placements = cache
        placements = cache[1]
    except (ModelUnavailable, OSError, ValueError):
        placements = {}  # the list still names the devices; the viewer reports the model's own error
    return DeviceList(devices=[_device(device, runtime.site, placements, runtime) for device in runtime.site.devices])


__all__ = ["router"]
