"""`halltwin simulate / check / serve` as subprocesses: the demo hall on free ports read by Debian mbpoll, and the
clear refusals of a bad scenario target and of an MQTT password variable that is not set."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from iot_gateway.simulators.site_ports import with_free_ports
from tests.peers import REPO_ROOT, free_port
from twin.site.loader import load_site
from twin.site.model import BacnetConnection, ModbusAddress, ModbusConnection, MqttConnection, SiteConfig

MBPOLL = shutil.which("mbpoll")
# A process that should exit by itself but has not by then is killed and the test fails (`check` parses the IFC:
# 30 s was too short in a loaded suite run).
EXIT_TIMEOUT_S = 90.0
# The simulator of 35 devices can take over 10 s to start on a machine the suite keeps busy (seen once): it runs
# for 20 s and mbpoll has 18 of them.
READ_DEADLINE_S = 18.0
REGISTER = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


def write_site(folder: Path, **mqtt: object) -> tuple[Path, SiteConfig]:
    """The demo site with every endpoint on a free port, as a YAML file in ``folder`` (``ifc:`` made absolute,
    so that the file works from anywhere); ``mqtt`` overrides fields of the broker section."""
    ensure_demo_hall()
    site = with_free_ports(load_site(SITE_PATH), mqtt_port=free_port())
    data: dict[str, Any] = site.model_dump(mode="json", exclude_none=True)
    data["site"]["ifc"] = str((SITE_PATH.parent / site.site.ifc).resolve())
    data["mqtt"].update(mqtt)
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, site


class Cli:
    """`python -m api.cli ARGS` in the repository, its output collected; ended by PID if still running."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Cli:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api.cli", *self.args, cwd=REPO_ROOT, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return self

    async def finish(self, within_s: float = EXIT_TIMEOUT_S) -> tuple[int, str, str]:
        """Wait for the exit: (code, stdout, stderr). A process still running after ``within_s`` is killed and the
        test fails with the end of what it wrote (where it hung)."""
        process = self.process
        assert process is not None
        communicating = asyncio.ensure_future(process.communicate())
        done, _ = await asyncio.wait({communicating}, timeout=within_s)
        if not done:
            process.kill()
            _, err = await communicating
            command = " ".join(self.args[:2])
            raise AssertionError(f"{command} still running after {within_s:.0f} s: {err.decode()[-3000:]}")
        out, err = communicating.result()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def __aexit__(self, *_exc: object) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    async with Cli(*args, env=env) as cli:
        return await cli.finish()


async def mbpoll_float(port: int, unit: int, offset: int, word_order: str) -> float | None:
    """One float32 input register pair read by mbpoll (references count from 1), or None if it did not answer."""
    assert MBPOLL is not None
    order = ["-B"] if word_order == "big" else []
    process = await asyncio.create_subprocess_exec(
        MBPOLL, "-m", "tcp", "-a", str(unit), "-p", str(port), "-o", "1", "-t", "3:float", *order,
        "-r", str(offset + 1), "-c", "1", "-1", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    found = dict(REGISTER.findall(out.decode()))
    value = found.get(str(offset + 1))
    return float(value) if process.returncode == 0 and value is not None else None


@pytest.mark.skipif(MBPOLL is None, reason="mbpoll is not installed (apt-get install mbpoll)")
async def test_simulate_serves_the_hall_to_an_independent_modbus_client(tmp_path: Path) -> None:
    site_path, site = write_site(tmp_path)
    meter = next(d for d in site.devices if d.kind.value == "power_meter")
    connection = meter.connection
    voltage = next(p for p in meter.points if p.id == f"{meter.id}.voltage")
    address = voltage.address
    assert isinstance(connection, ModbusConnection) and isinstance(address, ModbusAddress)
    assert (address.table, address.data_type) == ("input", "float32")
    args = ("simulate", str(site_path), "--scenario", "water_leak", "--after", "1", "--duration", "20")
    async with Cli(*args) as cli:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_DEADLINE_S
        read = None
        while read is None and loop.time() < deadline:
            read = await mbpoll_float(connection.port, connection.device_id, address.offset, address.word_order)
            if read is None:
                await asyncio.sleep(0.2)
        # It stops 1 + 20 s after its simulators are up; a loaded machine may take a while to start and stop them.
        code, _out, err = await cli.finish(within_s=60.0)
    assert read is not None, f"mbpoll got no answer from {meter.id} on port {connection.port}: {err[-2000:]}"
    assert 220.0 < read < 240.0, f"{meter.id} voltage read by mbpoll: {read}"
    assert code == 0, err[-2000:]
    assert "scenario started: water leak in zone 1f-server" in err, err[-2000:]
    protocols = (ModbusConnection, BacnetConnection, MqttConnection)  # cameras and computed devices: no simulator
    simulated = sum(isinstance(device.connection, protocols) for device in site.devices)
    assert f"simulating {simulated} devices of demo-hall" in err


async def test_simulate_with_a_bad_target_starts_nothing(tmp_path: Path) -> None:
    site_path, site = write_site(tmp_path)
    code, out, err = await run_cli("simulate", str(site_path), "--scenario", "fire", "--target", "roof-garden")
    assert code == 2, (code, out, err)
    assert "zone 'roof-garden' is not in site demo-hall" in err
    # Refused before anything was started: no simulator, no broker.
    assert "simulating" not in err and "MQTT broker" not in err, err


async def test_check_accepts_the_demo_site() -> None:
    await asyncio.to_thread(ensure_demo_hall)
    code, out, err = await run_cli("check", str(SITE_PATH))
    assert code == 0, err
    site = load_site(SITE_PATH)
    points = sum(len(device.points) for device in site.devices)
    assert re.search(
        rf"site\.yaml: OK \({len(site.zones)} zones, {len(site.devices)} devices, {points} points\)", out
    ), out


async def test_serve_refuses_an_unset_mqtt_password_variable(tmp_path: Path) -> None:
    unset = "HALLTWIN_TEST_UNSET_PASSWORD_R1"
    site_path, _ = write_site(tmp_path, username_env="HALLTWIN_TEST_USER_R1", password_env=unset)
    env = {k: v for k, v in os.environ.items() if k != unset} | {"HALLTWIN_TEST_USER_R1": "operator"}
    port = str(free_port())  # should it serve after all, it serves there, not on a port in use
    code, out, err = await run_cli(
        "serve", str(site_path), "--port", port, "--data-dir", str(tmp_path / "data"), env=env
    )
    assert code == 2, (code, out, err)
    assert f"site.yaml mqtt.password_env names the environment variable {unset}, which is not set" in err, err
    assert not (tmp_path / "data").exists()  # nothing was started or written
