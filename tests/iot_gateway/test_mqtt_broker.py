"""The broker launcher: mosquitto by PID on a random port, restart on the same port, clear start errors."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path

import aiomqtt
import pytest

from iot_gateway.broker import BrokerKind, BrokerStartError, MqttBrokerLauncher

COMPOSE_BROKER_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto.conf"


async def _round_trip(port: int) -> bytes:
    async with aiomqtt.Client("127.0.0.1", port, timeout=3) as client:
        await client.subscribe("t", qos=1)
        await client.publish("t", b"ping", qos=1)
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            return message.payload
    raise AssertionError("no message")


async def test_stop_start_same_port_and_kill(tmp_path: Path) -> None:
    launcher = MqttBrokerLauncher(workdir=tmp_path)
    await launcher.start()
    try:
        assert launcher.kind == "mosquitto" and launcher.port != 1883
        first_pid = launcher.pid
        assert first_pid is not None
        config = (tmp_path / "mosquitto.conf").read_text()
        assert f"listener {launcher.port} 127.0.0.1" in config and "allow_anonymous true" in config
        assert await _round_trip(launcher.port) == b"ping"
        await launcher.stop()
        with pytest.raises(ProcessLookupError):
            os.kill(first_pid, 0)  # gone
        await launcher.start()
        assert launcher.pid != first_pid
        assert await _round_trip(launcher.port) == b"ping"
        await launcher.kill()
        assert not launcher.running
    finally:
        await launcher.stop()


async def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        kinds: tuple[BrokerKind, ...] = ("mosquitto", "amqtt")
        for kind in kinds:
            launcher = MqttBrokerLauncher(port=port, kind=kind)
            with pytest.raises(BrokerStartError, match=f"127.0.0.1:{port} is already in use"):
                await launcher.start()
            assert not launcher.running


def test_extra_config_needs_mosquitto() -> None:
    with pytest.raises(BrokerStartError, match="extra_config needs mosquitto"):
        MqttBrokerLauncher(kind="amqtt", extra_config=["allow_anonymous false"])


def compose_broker_lines(tmp_path: Path) -> list[str]:
    """deploy/mosquitto.conf without its listener, its container paths moved into ``tmp_path`` (with a password
    file for the user halltwin, password s3cret)."""
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "halltwin", "s3cret"], check=True, timeout=30)
    moved = {"password_file": str(passwd), "persistence_location": f"{tmp_path}/"}
    lines = []
    for line in COMPOSE_BROKER_CONF.read_text(encoding="utf-8").splitlines():
        key = line.split()[:1]
        if not key or key[0].startswith("#") or key[0] == "listener":
            continue  # the launcher adds its own listener on a free port
        lines.append(f"{key[0]} {moved[key[0]]}" if key[0] in moved else line)
    return lines


async def test_the_compose_broker_configuration_is_accepted_and_refuses_anonymous_clients(tmp_path: Path) -> None:
    """deploy/mosquitto.conf as compose mounts it: mosquitto starts with every line (persistent-session expiry
    included), a client with the password gets through, an anonymous one not."""
    lines = await asyncio.to_thread(compose_broker_lines, tmp_path)
    assert "persistent_client_expiration 7d" in lines
    launcher = MqttBrokerLauncher(workdir=tmp_path / "broker", extra_config=lines)
    await launcher.start()
    try:
        async with aiomqtt.Client("127.0.0.1", launcher.port, username="halltwin", password="s3cret", timeout=3) as c:
            await c.publish("t", b"ping", qos=1)
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client("127.0.0.1", launcher.port, timeout=3):
                pass
    finally:
        await launcher.stop()


async def test_a_configuration_line_mosquitto_refuses_is_named_in_the_start_error(tmp_path: Path) -> None:
    launcher = MqttBrokerLauncher(workdir=tmp_path, extra_config=["persistent_client_expiration 7x"])
    with pytest.raises(BrokerStartError, match="persistent_client_expiration"):
        await launcher.start()
    assert not launcher.running
