"""Poll phase: the first poll at once, the following ones a fraction of the period later (no burst of devices)."""

from __future__ import annotations

import pytest

from iot_gateway.poller import Poller
from tests.iot_gateway.test_poller import ScriptedDriver, make_device, running
from twin.bus import PointBus
from twin.clock import ManualClock


async def test_phase_moves_every_poll_after_the_first() -> None:
    clock = ManualClock()
    driver = ScriptedDriver(make_device(period=2.0), clock)
    async with running(Poller(driver, PointBus(), clock, phase=0.25)):
        await clock.advance(7.0)
    assert driver.reads == [0.0, 0.5, 2.5, 4.5, 6.5]


async def test_phase_outside_the_period_is_refused() -> None:
    driver = ScriptedDriver(make_device(), ManualClock())
    with pytest.raises(ValueError, match="meter: poll phase must be a fraction of the period"):
        Poller(driver, PointBus(), ManualClock(), phase=1.0)
