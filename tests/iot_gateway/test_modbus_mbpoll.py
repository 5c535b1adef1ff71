"""Debian's mbpoll, an independent Modbus client, reads the simulator's register map as the values set."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.iot_gateway.test_modbus_driver import make_device, mb_point
from tests.peers import free_port

MBPOLL = shutil.which("mbpoll")
pytestmark = pytest.mark.skipif(MBPOLL is None, reason="mbpoll is not installed")
LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


async def mbpoll(port: int, unit: int, *args: str) -> dict[int, str]:
    """One poll; mbpoll numbers references from 1. Returns {reference: printed value}."""
    assert MBPOLL is not None
    process = await asyncio.create_subprocess_exec(
        MBPOLL, "-m", "tcp", "-a", str(unit), "-p", str(port), "-o", "2", *args, "-1", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    return {int(ref): value for ref, value in LINE.findall(out.decode())}


async def test_mbpoll_reads_what_the_simulator_holds() -> None:
    device = make_device(
        free_port(),
        [
            mb_point("dev.voltage", table="holding", offset=0, data_type="float32"),
            mb_point("dev.current", table="holding", offset=2, data_type="float32"),
            mb_point("dev.swapped", table="holding", offset=4, data_type="float32", word_order="little"),
            mb_point("dev.count", table="holding", offset=6, data_type="uint16"),
            mb_point("dev.delta", table="holding", offset=7, data_type="int16", scale=0.1),
            mb_point("dev.energy", table="holding", offset=8, data_type="uint32", scale=0.1),
            mb_point("dev.temp", table="input", offset=3, data_type="int16"),
            mb_point("dev.on", table="coil", offset=0, data_type="bool"),
            mb_point("dev.aux", table="coil", offset=1, data_type="bool"),
            mb_point("dev.fault", table="discrete", offset=5, data_type="bool"),
        ],
    )
    async with ModbusDeviceSimulator(device) as sim:
        for point_id, value in {
            "dev.voltage": 230.1, "dev.current": -12.5, "dev.swapped": 49.98, "dev.count": 1234,
            "dev.delta": -0.7, "dev.energy": 98765.4, "dev.temp": -15, "dev.on": True, "dev.aux": False,
            "dev.fault": True,
        }.items():  # fmt: skip
            sim.set_value(point_id, value)
        unit = sim.unit
        big_floats = await mbpoll(sim.port, unit, "-t", "4:float", "-B", "-r", "1", "-c", "2")
        little_floats = await mbpoll(sim.port, unit, "-t", "4:float", "-r", "5", "-c", "1")  # mbpoll default
        big_ints = await mbpoll(sim.port, unit, "-t", "4:int", "-B", "-r", "9", "-c", "1")
        words = await mbpoll(sim.port, unit, "-t", "4", "-r", "7", "-c", "2")
        inputs = await mbpoll(sim.port, unit, "-t", "3", "-r", "4", "-c", "1")
        coils = await mbpoll(sim.port, unit, "-t", "0", "-r", "1", "-c", "2")
        discretes = await mbpoll(sim.port, unit, "-t", "1", "-r", "6", "-c", "1")
    assert big_floats == {1: "230.1", 3: "-12.5"}
    assert little_floats == {5: "49.98"}
    assert big_ints == {9: "987654"}
    assert words == {7: "1234", 8: "65529"}  # -7 tenths as an unsigned register
    assert inputs == {4: "65521"}  # -15
    assert coils == {1: "1", 2: "0"}
    assert discretes == {6: "1"}
