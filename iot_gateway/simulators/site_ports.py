"""Move every simulated endpoint of a site to free loopback ports, so tests and parallel demos never collide."""

from __future__ import annotations

import re
import socket

from twin.ports import free_port
from twin.site.broadcast_model import RtpSpeaker, SipSpeaker, SpeakerEndpoint
from twin.site.model import BacnetConnection, Device, ModbusConnection, SiteConfig


def with_free_ports(site: SiteConfig, mqtt_port: int | None = None) -> SiteConfig:
    """The same site with each Modbus server, BACnet device and IP speaker (RTP, SIP) on a free loopback port and,
    when given, the MQTT broker on ``mqtt_port``. Two demo nodes on one machine would otherwise both send their
    broadcasts to the same speakers."""
    devices: list[Device] = []
    for device in site.devices:
        connection = device.connection
        if isinstance(connection, ModbusConnection):
            connection = connection.model_copy(update={"host": "127.0.0.1", "port": free_port()})
        elif isinstance(connection, BacnetConnection):
            connection = connection.model_copy(update={"address": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"})
        devices.append(device.model_copy(update={"connection": connection}))
    speakers = [_speaker_on_free_port(endpoint) for endpoint in site.broadcast.speakers]
    update: dict[str, object] = {
        "devices": devices, "broadcast": site.broadcast.model_copy(update={"speakers": speakers}),
    }
    if mqtt_port is not None:
        update["mqtt"] = site.mqtt.model_copy(update={"host": "127.0.0.1", "port": mqtt_port})
    return site.model_copy(update=update)


def _speaker_on_free_port(endpoint: SpeakerEndpoint) -> SpeakerEndpoint:
    if isinstance(endpoint, RtpSpeaker):
        port = free_port(socket.SOCK_DGRAM)
        while port % 2:  # RTP takes an even port (free_port never hands one out twice)
            port = free_port(socket.SOCK_DGRAM)
        return endpoint.model_copy(update={"host": "127.0.0.1", "port": port})
    if isinstance(endpoint, SipSpeaker):
        uri = re.sub(r"@[^:;>]+(:\d+)?", f"@127.0.0.1:{free_port(socket.SOCK_DGRAM)}", endpoint.uri, count=1)
        return endpoint.model_copy(update={"uri": uri})
    return endpoint
