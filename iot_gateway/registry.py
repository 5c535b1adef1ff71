"""Connection type -> driver class (imported lazily), and the factory that builds drivers with what they share."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from iot_gateway.driver import Driver
from twin.clock import Clock
from twin.site.model import Device, SiteConfig


@dataclass(frozen=True, slots=True)
class DriverSpec:
    module: str
    class_name: str


# A protocol library is imported only when a site has a device that speaks it.
DRIVERS: dict[str, DriverSpec] = {
    "modbus_tcp": DriverSpec("iot_gateway.drivers.modbus_tcp", "ModbusTcpDriver"),
    "bacnet_ip": DriverSpec("iot_gateway.drivers.bacnet_ip", "BacnetIpDriver"),
    "mqtt": DriverSpec("iot_gateway.drivers.mqtt", "MqttDriver"),
    "camera": DriverSpec("iot_gateway.drivers.camera", "CameraDriver"),
}


def driver_class(connection_type: str) -> type[Any]:
    """The driver class for a connection type; a clear error for a type no driver handles."""
    spec = DRIVERS.get(connection_type)
    if spec is None:
        raise ValueError(f"no driver for connection type {connection_type!r} (known: {', '.join(sorted(DRIVERS))})")
    module = importlib.import_module(spec.module)
    cls: type[Any] = getattr(module, spec.class_name)
    return cls


class DriverRegistry:
    """Builds one driver per device with the context its protocol needs: the clock (Modbus, MQTT), one broker
    connection shared by all MQTT devices (N devices, one TCP connection) and one bacpypes3 application shared
    by all BACnet devices (one UDP port). Both shared resources are created on first use and closed here."""

    def __init__(self, site: SiteConfig, clock: Clock, site_dir: Path | None = None) -> None:
        self.site = site
        self.clock = clock
        self.site_dir = site_dir
        self._mqtt_link: Any = None
        self._bacnet_app: Any = None

    def context_for(self, connection_type: str) -> dict[str, Any]:
        if connection_type == "mqtt":
            if self._mqtt_link is None:
                from iot_gateway.mqtt_client import SharedMqttClient
                from iot_gateway.mqtt_settings import settings_from_site

                self._mqtt_link = SharedMqttClient(
                    settings_from_site(self.site.mqtt, base_dir=self.site_dir), name="gateway"
                )
            return {"link": self._mqtt_link, "clock": self.clock}
        if connection_type == "bacnet_ip":
            if self._bacnet_app is None:
                from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder

                self._bacnet_app = BacnetApplicationHolder(self.site.bacnet)  # the site's bacnet: section
            return {"application": self._bacnet_app}
        if connection_type == "camera":
            return {"clock": self.clock, "site_dir": self.site_dir}  # a video file path is relative to the site
        return {"clock": self.clock}

    async def create(self, device: Device) -> Driver:
        if device.connection is None:
            raise ValueError(f"device {device.id} has no connection: it is not polled")
        kind = device.connection.type
        context = self.context_for(kind)
        if kind == "bacnet_ip":
            # Bound once, now: a wrong bacnet.interface or a taken bacnet.port is one error at start (not one per
            # device and retry), and the port stays the same for the gateway's whole life.
            await self._bacnet_app.open()
        return cast(Driver, driver_class(kind)(device, **context))

    async def close(self) -> None:
        """Release what drivers share; each driver itself is closed by its Poller (this is the backstop)."""
        link, self._mqtt_link = self._mqtt_link, None
        if link is not None:
            await link.stop()
        bacnet, self._bacnet_app = self._bacnet_app, None
        if bacnet is not None:
            await bacnet.close()
