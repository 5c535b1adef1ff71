"""SIGKILL at any moment: the restarted node has lost and duplicated no alarm, unacknowledged alarms are still
unacknowledged, and alarms whose condition changed while it was down follow the first poll (SQLite, PostgreSQL).

Each node is started as a standby (interpreter and imports done, see tests/alarms/node.py) while the previous one
works, and told to go when it is needed: the kills stay random across the write path, and a restart costs the
runtime's start, not a second of imports."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from store import Store
from store.alarms import AlarmFilter
from tests.peers import free_port
from twin.site.model import SiteConfig

LEAKS = 12
KILLS = 3
# Imports alone took 17 s with eight test runs on two cores: generous, the standby hides it after the first node.
START_DEADLINE_S = 60.0
ROOT = Path(__file__).resolve().parents[2]


def _site(port: int) -> dict[str, Any]:
    points = [{"id": f"leaks.leak_{n}", "name": {"zh": f"漏水{n}", "en": f"Leak {n}"}, "kind": "binary",
               "brick": "Leak_Alarm", "address": {"type": "modbus", "table": "discrete", "offset": n,
                                                  "data_type": "bool"}} for n in range(LEAKS)]  # fmt: skip
    return {
        "site": {"id": "kill-test", "name": {"zh": "断电测试", "en": "Kill test"}, "ifc": "missing.ifc"},
        "zones": [{"id": "plant", "name": {"zh": "机房", "en": "Plant"}, "zone_type": "power_room",
                   "ifc_guid": "3" * 22}],
        "devices": [{"id": "leaks", "name": {"zh": "漏水", "en": "Leaks"}, "kind": "water_leak", "zone": "plant",
                     "ifc_guid": "4" * 22, "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": port,
                                                         "poll_interval_s": 0.05}, "points": points}],
    }  # fmt: skip


Standby = tuple[subprocess.Popen[bytes], int]


def _standby_node(site_file: Path, data: Path, db_url: str) -> Standby:
    """A node process that imports everything and waits for "go" on stdin."""
    port = free_port()
    node = subprocess.Popen(
        [sys.executable, "-m", "tests.alarms.node", str(site_file), str(data), db_url, str(port), "--standby"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return node, port


async def _start_node(standby: Standby) -> tuple[subprocess.Popen[bytes], str]:
    node, port = standby
    assert node.stdin is not None
    node.stdin.write(b"go\n")
    node.stdin.flush()
    url = f"http://127.0.0.1:{port}"
    deadline = asyncio.get_running_loop().time() + START_DEADLINE_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while asyncio.get_running_loop().time() < deadline:
            try:
                if (await client.get(url + "/api/health")).status_code == 200:
                    return node, url
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    node.kill()
    raise AssertionError("the node did not start")


def _kill(node: subprocess.Popen[bytes]) -> None:
    os.kill(node.pid, signal.SIGKILL)
    node.wait(10)


def _transitions(kinds: list[str]) -> list[str]:
    """The condition's transitions: flags and work-order links ("chattering", "updated") come between them."""
    return [k for k in kinds if k not in ("chattering", "updated")]


def _valid_sequence(kinds: list[str]) -> bool:
    """raised, then rtn and raised alternating: nothing lost or doubled."""
    return kinds[:1] == ["raised"] and all(k == ("rtn" if i % 2 else "raised") for i, k in enumerate(kinds))


async def _kill_and_restart(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    site_doc = _site(port)
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(site_doc, allow_unicode=True))
    site = SiteConfig.model_validate(site_doc, strict=False)
    device = ModbusDeviceSimulator(site.devices[0])
    await device.start()
    rng = random.Random(9)
    values = dict.fromkeys(range(LEAKS), False)
    spares: list[subprocess.Popen[bytes]] = []

    def spare() -> Standby:
        standby = _standby_node(site_file, tmp_path / "data", db_url)
        spares.append(standby[0])
        return standby

    try:
        following = spare()
        for _ in range(KILLS):
            node, _url = await _start_node(following)
            following = spare()  # imports while this node works
            try:
                for _ in range(rng.randint(10, 40)):  # leaks come and go while the node works; killed mid-way
                    n = rng.randrange(LEAKS)
                    values[n] = not values[n]
                    device.set_value(f"leaks.leak_{n}", values[n])
                    await asyncio.sleep(rng.uniform(0.005, 0.06))
            finally:
                _kill(node)
            for n in rng.sample(range(LEAKS), 4):  # while it is down, some conditions change
                values[n] = not values[n]
                device.set_value(f"leaks.leak_{n}", values[n])
        node, url = await _start_node(following)
        try:
            store = await Store.open(db_url)
            try:
                async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
                    expected = {f"leak.leaks.leak_{n}": on for n, on in values.items()}
                    for _ in range(200):  # the first polls bring every alarm up to date
                        open_alarms = {a.source_key: a for a in await store.alarms.load_open()}
                        actual = {key: key in open_alarms and open_alarms[key].active for key in expected}
                        if actual == expected:
                            break
                        await asyncio.sleep(0.05)
                    assert actual == expected
                    assert (await client.get("/api/health")).status_code == 200
            finally:
                await store.close()
        finally:
            _kill(node)
        store = await Store.open(db_url)
        try:
            assert await store.alarms.duplicates_open() == 0
            history = await store.alarms.search(AlarmFilter(include_history=True, limit=5000))
            assert history, "no alarm was raised"
            for alarm in history:
                kinds = _transitions([e.kind for e in await store.alarms.events(alarm.id)])
                assert _valid_sequence(kinds), (alarm.source_key, kinds)
                assert alarm.state in ("unack", "rtn_unack")  # nobody acknowledged: none may read acknowledged
                assert alarm.active == (kinds[-1] == "raised")
        finally:
            await store.close()
    finally:
        for process in spares:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            if process.stdin is not None:
                process.stdin.close()
        await device.stop()


async def test_sigkill_at_any_moment_loses_and_duplicates_nothing(db_url: str, tmp_path: Path) -> None:
    await _kill_and_restart(db_url, tmp_path)
