"""The BACnet driver under the real Poller: COV between polls, device loss and a restart on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
from iot_gateway.poller import Poller
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from tests.iot_gateway.test_bacnet_driver import EVERY_TYPE, make_device
from tests.peers import free_port
from twin.bus import PointBus, Subscription
from twin.clock import SystemClock
from twin.points import Quality, Value

POLL_S = 0.5


async def wait_until(updates: Subscription, point_id: str, quality: Quality, value: Value = None,
                     within_s: float = 3.0) -> float:  # fmt: skip
    """Seconds until the bus carried ``point_id`` with that quality (and value, if given)."""
    start = time.perf_counter()
    async with asyncio.timeout(within_s):
        while True:
            for update in await updates.get_batch(wait_s=within_s):
                wanted_value = value is None or update.value == value
                if update.point_id == point_id and update.quality is quality and wanted_value:
                    return time.perf_counter() - start


async def test_poller_gets_cov_loses_the_device_and_recovers_after_restart() -> None:
    rows = [row for row in EVERY_TYPE if row[0] in ("temp", "smoke", "valve")]
    device = make_device(free_port(socket.SOCK_DGRAM), rows=rows, timeout=0.3)
    assert device.connection is not None
    faster = device.connection.model_copy(update={"poll_interval_s": POLL_S})
    device = device.model_copy(update={"connection": faster})
    simulator = BacnetDeviceSimulator(device)
    await simulator.start()
    holder = BacnetApplicationHolder()
    bus = PointBus()
    updates = bus.subscribe("test")
    poller = Poller(BacnetIpDriver(device, application=holder), bus, SystemClock())
    task = asyncio.create_task(poller.run(), name="poller:ctl")
    try:
        await wait_until(updates, "ctl.temp", Quality.GOOD)
        simulator.set_value("ctl.smoke", True)
        cov = await wait_until(updates, "ctl.smoke", Quality.GOOD, True)
        await simulator.stop()
        lost = await wait_until(updates, "ctl.temp", Quality.UNAVAILABLE)
        await asyncio.sleep(POLL_S)  # a few failed reconnects
        await simulator.start()
        back = await wait_until(updates, "ctl.temp", Quality.GOOD)
        simulator.set_value("ctl.smoke", False)
        await wait_until(updates, "ctl.smoke", Quality.GOOD, False)  # COV is subscribed again
        print(f"COV via poller {cov * 1000:.1f} ms; unavailable after {lost:.2f} s; GOOD {back:.2f} s after restart "
              f"(poll period {POLL_S} s)")  # fmt: skip
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await simulator.stop()
        await holder.close()
    assert holder.users == 0
