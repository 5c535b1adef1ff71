"""Move every simulated endpoint of a site to free loopback ports, so tests and parallel demos never collide."""

from __future__ import annotations

import socket

from twin.ports import free_port
from twin.site.model import BacnetConnection, Device, ModbusConnection, SiteConfig


def with_free_ports(site: SiteConfig, mqtt_port: int | None = None) -> SiteConfig:
    """The same site with each Modbus server and BACnet device on a free loopback port and, when given, the
    MQTT broker on ``mqtt_port``."""
    devices: list[Device] = []
    for device in site.devices:
        connection = device.connection
        if isinstance(connection, ModbusConnection):
            connection = connection.model_copy(update={"host": "127.0.0.1", "port": free_port()})
        elif isinstance(connection, BacnetConnection):
            connection = connection.model_copy(update={"address": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"})
        devices.append(device.model_copy(update={"connection": connection}))
    update: dict[str, object] = {"devices": devices}
    if mqtt_port is not None:
        update["mqtt"] = site.mqtt.model_copy(update={"host": "127.0.0.1", "port": mqtt_port})
    return site.model_copy(update=update)
