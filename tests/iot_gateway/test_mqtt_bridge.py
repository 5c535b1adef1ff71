"""MqttBridge against a real mosquitto: retained point topics, online/offline status, last will, broker restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable

import aiomqtt

from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.mqtt_bridge import MqttBridge
from iot_gateway.mqtt_settings import MqttSettings
from tests.peers import REPO_ROOT, wait_until
from twin.bus import PointBus
from twin.points import PointUpdate, Quality

DEADLINE_S = 10.0
SITE = "demo-hall"


def update(point_id: str, value: float | bool | str | None, ts: float, quality: Quality = Quality.GOOD) -> PointUpdate:
    return PointUpdate(point_id, value, quality, ts - 0.5, ts)


async def fresh_subscriber(settings: MqttSettings, done: Callable[[dict[str, object]], bool]) -> dict[str, object]:
    """What a client connecting now sees under halltwin/SITE/#: topic -> decoded payload (JSON or text).
    Returns as soon as ``done`` holds; on the deadline it returns what it has (the caller's assert shows it)."""
    seen: dict[str, object] = {}
    async with aiomqtt.Client(settings.host, settings.port, timeout=settings.timeout_s) as client:
        await client.subscribe(f"halltwin/{SITE}/#", qos=1)
        try:
            async with asyncio.timeout(DEADLINE_S):
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    text = message.payload.decode()
                    seen[message.topic.value] = json.loads(text) if text.startswith("{") else text
                    if done(seen):
                        break
        except TimeoutError:
            pass
    return seen



def status_is(value: str) -> Callable[[dict[str, object]], bool]:
    return lambda seen: seen.get(f"halltwin/{SITE}/status") == value


async def test_points_retained_and_status_online_then_offline(mqtt_settings: MqttSettings) -> None:
    bus = PointBus()
    bus.publish(update("ups-1.load", 41.5, 1000.0))
    bus.publish(update("ups-1.load", 42.0, 1001.0))  # only the latest matters on a retained topic
    bus.publish(update("ac-1.mode", 2, 1001.0))
    bridge = MqttBridge(bus, SITE, mqtt_settings)
    await bridge.start()
    try:
        assert await bridge.wait_idle(DEADLINE_S)
        bus.publish(update("door-1.open", True, 1002.0))
        bus.publish(update("th-1.temperature", float("nan"), 1002.0, Quality.BAD))
        assert await bridge.wait_idle(DEADLINE_S)
        seen = await fresh_subscriber(mqtt_settings, lambda s: len(s) == 5)
        assert seen == {
            f"halltwin/{SITE}/status": "online",
            f"halltwin/{SITE}/point/ups-1.load": {"v": 42.0, "q": "GOOD", "ts": 1001.0},
            f"halltwin/{SITE}/point/ac-1.mode": {"v": 2, "q": "GOOD", "ts": 1001.0},
            f"halltwin/{SITE}/point/door-1.open": {"v": True, "q": "GOOD", "ts": 1002.0},
            f"halltwin/{SITE}/point/th-1.temperature": {"v": None, "q": "BAD", "ts": 1002.0},
        }
    finally:
        await bridge.stop()
    seen = await fresh_subscriber(mqtt_settings, status_is("offline"))
    assert seen[f"halltwin/{SITE}/status"] == "offline"  # said goodbye cleanly on stop()


async def test_republishes_everything_after_broker_restart(
    mqtt_launcher: MqttBrokerLauncher, mqtt_settings: MqttSettings
) -> None:
    bus = PointBus()
    bus.publish(update("ups-1.load", 40.0, 1000.0))
    bus.publish(update("ups-1.on_battery", False, 1000.0))
    bridge = MqttBridge(bus, SITE, mqtt_settings)
    await bridge.start()
    try:
        assert await bridge.wait_idle(DEADLINE_S)
        await mqtt_launcher.stop()  # persistence is off: the restarted broker has no retained messages
        await wait_until(lambda: not bridge.connected, DEADLINE_S, "the bridge noticing the broker is gone")
        bus.publish(update("ups-1.load", 55.0, 1010.0))  # while disconnected
        bus.publish(update("ups-1.load", 56.0, 1011.0))
        bus.publish(update("ups-1.on_battery", True, 1011.0))
        bus.publish(update("pc-1.count_in", 12, 1011.0))  # a point the broker never saw
        try:
            await wait_until(lambda: len(bridge.pending) == 3, DEADLINE_S, "updates kept while offline")
        except AssertionError as missed:  # once in a loaded suite: say what the bridge was doing
            state = f"connected {bridge.connected}, generation {bridge.client.generation}"
            raise AssertionError(f"{missed} ({state}, pending {sorted(bridge.pending)})") from None
        await mqtt_launcher.start()
        assert await bridge.wait_idle(DEADLINE_S)
        seen = await fresh_subscriber(mqtt_settings, lambda s: len(s) == 4)
        assert seen == {
            f"halltwin/{SITE}/status": "online",
            f"halltwin/{SITE}/point/ups-1.load": {"v": 56.0, "q": "GOOD", "ts": 1011.0},
            f"halltwin/{SITE}/point/ups-1.on_battery": {"v": True, "q": "GOOD", "ts": 1011.0},
            f"halltwin/{SITE}/point/pc-1.count_in": {"v": 12, "q": "GOOD", "ts": 1011.0},
        }
        assert bridge.client.generation == 2
    finally:
        await bridge.stop()


# A bridge in a child process, so that the test can kill it with SIGKILL: no DISCONNECT packet, no goodbye.
CHILD = """
import asyncio, sys
from iot_gateway.mqtt_bridge import MqttBridge
from iot_gateway.mqtt_settings import MqttSettings
from twin.bus import PointBus
from twin.points import PointUpdate, Quality

async def main() -> None:
    bus = PointBus()
    bus.publish(PointUpdate("ups-1.load", 40.0, Quality.GOOD, 1.0, 1.0))
    bridge = MqttBridge(bus, sys.argv[1], MqttSettings("127.0.0.1", int(sys.argv[2])))
    await bridge.start()
    if await bridge.wait_idle(10.0):
        print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_last_will_offline_when_the_bridge_dies(mqtt_settings: MqttSettings) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, SITE, str(mqtt_settings.port),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), DEADLINE_S)
        assert line.strip() == b"ready"
        seen = await fresh_subscriber(mqtt_settings, lambda s: len(s) == 2)
        assert seen[f"halltwin/{SITE}/status"] == "online"
        os.kill(child.pid, signal.SIGKILL)
        await asyncio.wait_for(child.wait(), DEADLINE_S)
        seen = await fresh_subscriber(mqtt_settings, lambda s: len(s) == 2 and status_is("offline")(s))
        assert seen == {
            f"halltwin/{SITE}/status": "offline",  # the broker sent the last will, retained
            f"halltwin/{SITE}/point/ups-1.load": {"v": 40.0, "q": "GOOD", "ts": 1.0},
        }
    finally:
        if child.returncode is None:
            os.kill(child.pid, signal.SIGKILL)
            await child.wait()
