"""The CommandRouter and the doors against real simulators (Modbus and BACnet) and a real store, then over HTTP.

Every command is checked in the audit log it wrote; idempotent retries are counted on the simulator's requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pymodbus.constants import ExcCodes

from api.command_router import CODES, CommandResult, CommandRouter
from api.doors import DoorService
from api.runtime import HallRuntime
from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from store import Store
from store.audit import SYSTEM, PlainActor
from tests.api.auth_helpers import create_user, login_headers
from tests.api.server import running_app
from tests.iot_gateway.test_write_readback import Hall, command_site, devices, good, hall  # noqa: F401 - fixtures
from tests.peers import wait_until
from twin.clock import SystemClock
from twin.site.model import BacnetAddress, SiteConfig

__all__ = ["devices", "hall"]

FACILITY = PlainActor("fac", "facility", "10.0.0.7")
SECURITY = PlainActor("sec", "security", "10.0.0.8")
MAINTENANCE = PlainActor("mnt", "maintenance", None)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def router(hall: Hall, store: Store) -> CommandRouter:
    return CommandRouter(hall.site, hall.gateway, store.audit, SystemClock(), confirm_timeout_s=1.0)


async def audit_rows(store: Store, action: str | None = None) -> list[Any]:
    return await store.audit.query(action=action, limit=1000, newest_first=False)


async def test_writes_confirmed_by_read_back_on_modbus_and_bacnet_and_audited(
    hall: Hall, router: CommandRouter, store: Store
) -> None:
    setpoint = await router.write(FACILITY, "ac.setpoint", 21.5, "too warm at window 3")
    assert (setpoint.status, setpoint.code, setpoint.read_back) == ("ok", "ok", pytest.approx(21.5))
    assert hall.modbus.get_value("ac.setpoint") == pytest.approx(21.5)
    coil = await router.write(FACILITY, "ac.on", False, "closing time")
    assert coil.ok and coil.read_back is False and hall.modbus.get_value("ac.on") is False
    mode = await router.write(FACILITY, "ac.mode", "heat", "winter")  # a state by name: written as its number
    assert mode.ok and mode.value == 2 and hall.modbus.get_value("ac.mode") == 2
    lock = await router.write(FACILITY, "sec.lock", False, "delivery")
    assert lock.ok and lock.priority == 8 and hall.bacnet.get_value("sec.lock") is False
    analog = await router.write(FACILITY, "sec.setpoint", 22.5, "test")
    assert analog.ok and "priority 8" in analog.message and hall.bacnet.get_value("sec.setpoint") == 22.5

    rows = await audit_rows(store, "point.write")
    assert [(r.target, r.result, r.actor, r.role, r.client) for r in rows] == [
        ("ac.setpoint", "ok", "fac", "facility", "10.0.0.7"),
        ("ac.on", "ok", "fac", "facility", "10.0.0.7"),
        ("ac.mode", "ok", "fac", "facility", "10.0.0.7"),
        ("sec.lock", "ok", "fac", "facility", "10.0.0.7"),
        ("sec.setpoint", "ok", "fac", "facility", "10.0.0.7"),
    ]
    assert rows[0].arguments["value"] == 21.5 and rows[0].arguments["reason"] == "too warm at window 3"
    assert rows[0].arguments["outcome"]["read_back"] == pytest.approx(21.5)
    assert setpoint.audit_id == rows[0].id
    assert (await store.audit.verify()).ok


@pytest.mark.parametrize(
    ("caller", "point_id", "value", "reason", "code", "words"),
    [
        (FACILITY, "ac.nope", 1.0, "x", "unknown_point", "no point 'ac.nope'"),
        (FACILITY, "ac.supply", 1.0, "x", "not_writable", "not writable"),
        (FACILITY, "env.temp", 21.0, "x", "read_only_protocol", "MQTT"),
        (SECURITY, "ac.setpoint", 21.0, "x", "forbidden_role", "role security may not"),
        (FACILITY, "ac.service", True, "x", "forbidden_role", "the site allows maintenance"),
        (FACILITY, "ac.setpoint", 35.0, "x", "invalid_value", "takes 16 to 30 degC"),
        (FACILITY, "ac.mode", "dry", "x", "invalid_value", "1 (cool), 2 (heat), 3 (fan)"),
        (FACILITY, "ac.on", "yes", "x", "invalid_value", "true/false"),
        (FACILITY, "ac.setpoint", 21.0, "   ", "missing_reason", "needs a reason"),
    ],
)
async def test_refusals_say_why_touch_nothing_and_are_audited(
    hall: Hall, router: CommandRouter, store: Store, caller: PlainActor, point_id: str, value: Any, reason: str,
    code: str, words: str,
) -> None:  # fmt: skip
    writes_before = sum(hall.modbus.write_requests.values())
    result = await router.write(caller, point_id, value, reason)
    assert (result.status, result.code) == ("refused", code)
    assert words in result.message
    assert sum(hall.modbus.write_requests.values()) == writes_before
    assert hall.modbus.get_value("ac.setpoint") == 24.0
    [row] = await audit_rows(store)
    assert (row.action, row.target, row.result, row.actor, row.role) == (
        "point.write", point_id, "refused", caller.name, caller.role,
    )  # fmt: skip
    assert row.detail == result.message


async def test_site_write_roles_let_maintenance_write_its_point(hall: Hall, router: CommandRouter) -> None:
    result = await router.write(MAINTENANCE, "ac.service", True, "service mode for filter change")
    assert result.ok and hall.modbus.get_value("ac.service") is True


async def test_device_exception_is_a_failure_naming_it(hall: Hall, router: CommandRouter, store: Store) -> None:
    hall.modbus.fail_with_exception("ac.setpoint", ExcCodes.DEVICE_FAILURE)
    result = await router.write(FACILITY, "ac.setpoint", 22.0, "test")
    assert (result.status, result.code, result.http_status) == ("failed", "device_rejected", 502)
    assert "DEVICE_FAILURE" in result.message
    [row] = await audit_rows(store)
    assert row.result == "failed" and "DEVICE_FAILURE" in row.detail


async def test_device_that_keeps_another_value_fails_naming_what_it_reads(
    hall: Hall, router: CommandRouter, store: Store
) -> None:
    hall.modbus.on_read = lambda _table: hall.modbus.set_value("ac.setpoint", 24.0)  # a unit in local mode
    result = await router.write(FACILITY, "ac.setpoint", 22.0, "test")
    assert (result.status, result.code, result.read_back) == ("failed", "read_back_mismatch", pytest.approx(24.0))
    assert "accepted 22 but reads back 24 degC" in result.message
    assert (await audit_rows(store))[0].result == "failed"


async def test_bacnet_override_at_a_higher_priority_is_named(hall: Hall, router: CommandRouter) -> None:
    device = hall.site.device("sec")
    other_point = device.points[0].model_copy(
        update={"address": BacnetAddress(type="bacnet", object="binary-output:1", priority=3)}
    )
    other = BacnetIpDriver(device.model_copy(update={"points": [other_point]}), application=BacnetApplicationHolder())
    await other.connect()
    try:
        await other.write(other_point, True)  # the fire panel, say, holds the door locked at priority 3
        result = await router.write(FACILITY, "sec.lock", False, "delivery")
        assert (result.status, result.code, result.priority, result.read_back) == ("failed", "overridden", 3, True)
        assert "priority 3 holds true" in result.message
        released = await router.release(FACILITY, "sec.lock", "done")  # our priority-8 command goes away
        assert released.ok and "priority 3 holds it" in released.message
    finally:
        await other.close()
        await other.holder.close()


async def test_release_relinquishes_our_priority(hall: Hall, router: CommandRouter, store: Store) -> None:
    assert (await router.write(FACILITY, "sec.setpoint", 23.0, "event")).ok
    assert hall.bacnet.command_priority("sec.setpoint") == 8
    result = await router.release(FACILITY, "sec.setpoint", "event over")
    assert result.ok and result.read_back == pytest.approx(20.0)  # the controller's own value again
    assert "relinquish-default" in result.message and hall.bacnet.command_priority("sec.setpoint") is None
    modbus = await router.release(FACILITY, "ac.setpoint", "x")
    assert (modbus.status, modbus.code) == ("refused", "not_releasable")
    assert [r.action for r in await audit_rows(store)] == ["point.write", "point.release", "point.release"]


async def test_idempotent_retries_act_once(hall: Hall, router: CommandRouter, store: Store) -> None:
    writes = hall.modbus.write_requests["holding"]
    first, second = await asyncio.gather(
        router.write(FACILITY, "ac.setpoint", 22.0, "retry test", idempotency_key="k-1"),
        router.write(FACILITY, "ac.setpoint", 22.0, "retry test", idempotency_key="k-1"),
    )
    assert first.ok and second.ok and [first.replayed, second.replayed].count(True) == 1
    assert hall.modbus.write_requests["holding"] == writes + 1
    assert len(await audit_rows(store)) == 1

    # After a restart the in-memory map is gone: the audit log answers.
    again = CommandRouter(hall.site, hall.gateway, store.audit, SystemClock())
    later = await again.write(FACILITY, "ac.setpoint", 22.0, "retry test", idempotency_key="k-1")
    assert later.ok and later.replayed and later.audit_id == first.audit_id and later.read_back == pytest.approx(22)
    assert hall.modbus.write_requests["holding"] == writes + 1

    other_caller = await router.write(PlainActor("fac2", "facility"), "ac.setpoint", 22.0, "x", idempotency_key="k-1")
    assert other_caller.ok and not other_caller.replayed  # keys are per caller
    reused = await router.write(FACILITY, "ac.setpoint", 25.0, "x", idempotency_key="k-1")
    assert (reused.status, reused.code) == ("refused", "idempotency_key_reused")
    assert [r.result for r in await audit_rows(store)] == ["ok", "ok", "refused"]


@pytest.fixture
async def doors(hall: Hall, router: CommandRouter, store: Store) -> AsyncIterator[DoorService]:
    tasks: list[asyncio.Task[Any]] = []

    def spawn(name: str, coro: Any) -> asyncio.Task[Any]:
        tasks.append(asyncio.create_task(coro, name=name))
        return tasks[-1]

    service = DoorService(hall.site, router, hall.bus, SystemClock(), spawn, store.audit)
    try:
        yield service
    finally:
        await service.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_door_unlock_relocks_by_itself(hall: Hall, doors: DoorService, store: Store) -> None:
    await wait_until(lambda: good(hall.bus, "sec.open"), 5.0, "door points read")
    [before] = doors.states()
    assert (before.locked, before.open, before.quality.value) == (True, False, "GOOD")
    result = await doors.unlock(SECURITY, "door-1", "visitor in a wheelchair", 1.0)
    assert result.ok and hall.bacnet.get_value("sec.lock") is False
    assert doors.states()[0].unlocked_until == result.extra["until"]
    await wait_until(lambda: hall.bacnet.get_value("sec.lock") is True, 10.0, "re-locked when the unlock ran out")
    await wait_until(lambda: doors.states()[0].locked is True and doors.states()[0].unlocked_until is None, 5.0,
                     "door shows locked")  # fmt: skip
    rows = await audit_rows(store)
    assert [(r.action, r.actor, r.role, r.result) for r in rows] == [
        ("door.unlock", "sec", "security", "ok"),
        ("door.relock", "system", None, "ok"),
    ]
    assert rows[0].target == "door-1" and rows[0].arguments["duration_s"] == 1.0


async def test_door_refusals(doors: DoorService, store: Store) -> None:
    assert (await doors.unlock(SECURITY, "door-9", "x", 5)).code == "unknown_door"
    assert (await doors.unlock(SECURITY, "door-1", "x", 0)).code == "invalid_duration"
    assert (await doors.unlock(SECURITY, "door-1", "x", 3601)).code == "invalid_duration"
    assert (await doors.unlock(MAINTENANCE, "door-1", "x", 5)).code == "forbidden_role"
    assert (await doors.unlock(MAINTENANCE, "door-1", "x", 0)).code == "forbidden_role"  # the role comes first
    assert (await doors.lock(SECURITY, "door-1", "")).code == "missing_reason"
    assert [r.result for r in await audit_rows(store)] == ["refused"] * 6


class _Later(SystemClock):
    """The wall clock an hour on: a node that comes back long after an unlock ran out."""

    def time(self) -> float:
        return super().time() + 3600.0


async def test_restart_relocks_a_door_left_unlocked(hall: Hall, router: CommandRouter, store: Store) -> None:
    first = DoorService(hall.site, router, hall.bus, SystemClock(), lambda n, c: asyncio.create_task(c, name=n),
                        store.audit)  # fmt: skip
    assert (await first.unlock(SECURITY, "door-1", "maintenance access", 600)).ok
    await first.stop()  # the node stops while the door is unlocked
    assert hall.bacnet.get_value("sec.lock") is False
    tasks: list[asyncio.Task[Any]] = []

    def spawn(name: str, coro: Any) -> asyncio.Task[Any]:
        tasks.append(asyncio.create_task(coro, name=name))
        return tasks[-1]

    restarted = DoorService(hall.site, router, hall.bus, _Later(), spawn, store.audit)
    try:
        await restarted.recover()
        assert [t.get_name() for t in tasks] == ["door-relock:door-1"]
        await wait_until(lambda: hall.bacnet.get_value("sec.lock") is True, 10.0, "overdue door re-locked")
        await asyncio.gather(*tasks)
    finally:
        await restarted.stop()
    assert [r.action for r in await audit_rows(store)] == ["door.unlock", "door.relock"]


async def test_a_node_without_device_polling_refuses_with_409(hall: Hall, store: Store) -> None:
    router = CommandRouter(hall.site, None, store.audit, SystemClock())
    result = await router.write(FACILITY, "ac.setpoint", 21.0, "x")
    assert (result.status, result.code, result.http_status) == ("refused", "not_polled", 409)


def test_every_outcome_code_has_a_text_in_each_language() -> None:
    for code in CODES:
        result = CommandResult("point.write", "ac.on", "ac.on", CODES[code][0], code, "detail")
        assert result.summary.zh and result.summary.en and result.summary.zh != result.summary.en, code


async def test_system_caller_skips_the_role_check_but_not_the_others(hall: Hall, router: CommandRouter) -> None:
    assert (await router.write(SYSTEM, "ac.service", True, "linkage")).ok
    assert (await router.write(SYSTEM, "ac.supply", 1.0, "linkage")).code == "not_writable"


# --- over HTTP -----------------------------------------------------------------------------------------------


@pytest.fixture
async def served(
    tmp_path: Path, devices: tuple[SiteConfig, ModbusDeviceSimulator, BacnetDeviceSimulator]
) -> AsyncIterator[tuple[str, HallRuntime, ModbusDeviceSimulator, BacnetDeviceSimulator]]:
    site, modbus, bacnet = devices
    data = site.model_dump(mode="json", exclude_none=True)
    data["devices"] = [d for d in data["devices"] if d["id"] != "env"]  # no broker in this test
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    runtime = HallRuntime(SiteConfig.model_validate(data), path, tmp_path / "data")
    async with running_app(runtime) as base:
        for name in ("facility", "security", "manager"):
            await create_user(runtime.store, name, name)
        await wait_until(lambda: good(runtime.bus, "ac.setpoint") and good(runtime.bus, "sec.lock"), 5.0, "reads")
        yield base, runtime, modbus, bacnet


async def test_http_write_refusals_idempotency_and_doors(
    served: tuple[str, HallRuntime, ModbusDeviceSimulator, BacnetDeviceSimulator],
) -> None:
    base, runtime, modbus, bacnet = served
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        facility, security, manager = [await login_headers(client, n) for n in ("facility", "security", "manager")]
        client.cookies.clear()  # each request below says who it is by its bearer token only
        body = {"value": 22.5, "reason": "warm"}
        anonymous = await client.post("/api/points/ac.setpoint/write", json=body)
        assert anonymous.status_code == 401, anonymous.text
        table = await client.post("/api/points/ac.setpoint/write", json=body, headers=manager)
        assert table.status_code == 403  # the access table: managers never command
        site = await client.post("/api/points/ac.setpoint/write", json=body, headers=security)
        assert site.status_code == 403 and site.json()["error"] == "forbidden_role"
        assert "the site allows admin, facility" in site.json()["detail"]

        key = {"Idempotency-Key": "http-1", **facility}
        done = await client.post("/api/points/ac.setpoint/write", json=body, headers=key)
        assert done.status_code == 200, done.text
        assert done.json()["summary"] == {"zh": "ac.setpoint：已执行，设备回读确认",
                                          "en": "ac.setpoint: done, confirmed by the device's read-back"}  # fmt: skip
        assert done.json()["read_back"] == pytest.approx(22.5) and done.json()["replayed"] is False
        retry = await client.post("/api/points/ac.setpoint/write", json=body, headers=key)
        assert retry.status_code == 200 and retry.json()["replayed"] is True
        assert retry.json()["audit_id"] == done.json()["audit_id"]
        assert modbus.write_requests["holding"] == 1

        cases = [
            ("/api/points/ac.setpoint/write", {"value": 99, "reason": "x"}, 422, "invalid_value"),
            ("/api/points/ac.supply/write", {"value": 1, "reason": "x"}, 409, "not_writable"),
            ("/api/points/nope/write", {"value": 1, "reason": "x"}, 404, "unknown_point"),
            ("/api/points/ac.setpoint/release", {"reason": "x"}, 409, "not_releasable"),
        ]
        for path, payload, status, code in cases:
            answer = await client.post(path, json=payload, headers=facility)
            assert (answer.status_code, answer.json()["error"]) == (status, code), (path, answer.text)
            assert answer.json()["result"]["status"] == "refused"
        missing = await client.post("/api/points/ac.setpoint/write", json={"value": 20}, headers=facility)
        assert missing.status_code == 422  # FastAPI's own validation: no reason field

        listed = await client.get("/api/doors", headers=security)
        assert listed.status_code == 200
        [door] = listed.json()
        assert (door["id"], door["zone"], door["locked"], door["open"], door["quality"]) == (
            "door-1", "hall", True, False, "GOOD",
        )  # fmt: skip
        unlock = await client.post("/api/doors/door-1/unlock", json={"reason": "delivery", "duration_s": 1},
                                   headers=security)  # fmt: skip
        assert unlock.status_code == 200, unlock.text
        assert unlock.json()["unlocked_until"] is not None and bacnet.get_value("sec.lock") is False
        await wait_until(lambda: bacnet.get_value("sec.lock") is True, 10.0, "re-locked")
        await wait_until(lambda: "door-relock:door-1" not in runtime.task_names(), 5.0, "re-lock task ended")
        too_long = await client.post("/api/doors/door-1/unlock", json={"reason": "x", "duration_s": 7200},
                                     headers=security)  # fmt: skip
        assert too_long.status_code == 422
        locked = await client.post("/api/doors/door-1/lock", json={"reason": "end of day"}, headers=security)
        assert locked.status_code == 200 and locked.json()["read_back"] is True

    rows = await runtime.store.audit.query(limit=100, newest_first=False)
    commands = [(r.action, r.actor, r.result) for r in rows if r.action.startswith(("point.", "door."))]
    assert commands == [
        ("point.write", "security", "refused"),
        ("point.write", "facility", "ok"),
        ("point.write", "facility", "refused"),
        ("point.write", "facility", "refused"),
        ("point.write", "facility", "refused"),
        ("point.release", "facility", "refused"),
        ("door.unlock", "security", "ok"),
        ("door.relock", "system", "ok"),
        ("door.lock", "security", "ok"),
    ]

