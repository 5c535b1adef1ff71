"""The engine on the real bus types and store: templates, conditions, ISA-18.2 transitions, operator actions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from alarms import Actor, AlarmActionError, AlarmOperator
from alarms.lifecycle import TRANSITIONS, State, Trigger, next_state
from store import Store
from tests.alarms.conftest import Harness, small_site
from twin.clock import ManualClock

SECURITY = Actor("sam", "security", "127.0.0.1")
FACILITY = Actor("fay", "facility", "127.0.0.1")


def test_the_state_table_is_total_and_latched_alarms_never_return_by_themselves() -> None:
    for latched, state, trigger in itertools.product((False, True), State, Trigger):
        assert (latched, state, trigger) in TRANSITIONS
    assert next_state(False, State.UNACK, Trigger.CLEAR) is State.RTN_UNACK
    assert next_state(False, State.RTN_UNACK, Trigger.ACK) is State.NORMAL
    assert next_state(False, State.ACK, Trigger.CLEAR) is State.NORMAL
    assert next_state(True, State.UNACK, Trigger.CLEAR) is State.UNACK
    assert next_state(True, State.ACK, Trigger.CLEAR) is State.ACK
    assert next_state(False, State.ACK, Trigger.RESET) is None


async def test_templates_give_the_site_its_alarms_without_rules(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    keys = set(h.engine.rule_by_key)
    assert {"leak.env.leak_1", "ups_on_battery.ups.on_battery", "ups_low_runtime.ups.battery_runtime",
            "machine_room_temperature.env.temp", "emergency_button.sec.ebtn_1", "smoke.fire.smoke_1",
            "fire_confirmed.hall", "equipment_fault.fire.trouble", "comm_loss.ups"} <= keys  # fmt: skip
    # A leak point raises an alarm because it is a Leak_Alarm, whatever its id says.
    await h.feed(("env.leak_1", True))
    alarm = h.open("leak.env.leak_1")
    assert alarm.state == "unack" and alarm.alarm_class == "leak" and alarm.zone == "server"
    assert [e.kind for e in h.events] == ["raised"] and h.events[0].alarm.id == alarm.id


async def test_isa_lifecycle_ack_rtn_and_history(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    op = AlarmOperator(h.engine)
    await h.feed(("env.leak_1", True))
    alarm = h.open("leak.env.leak_1")
    await h.feed(("env.leak_1", False))
    assert alarm.state == "rtn_unack" and not alarm.active
    await op.ack(alarm.id, FACILITY, "mopped")
    assert h.open("leak.env.leak_1") is None  # back to normal: history
    stored = await h.store.alarms.get(alarm.id)
    assert stored is not None and stored.state == "normal" and stored.acked_by == "fay"
    kinds = [(e.kind, e.by) for e in await h.store.alarms.events(alarm.id)]
    assert kinds == [("raised", None), ("rtn", None), ("acked", "fay")]
    audit = await h.store.audit.query(action="alarm.ack")
    assert audit[0].actor == "fay" and audit[0].result == "ok" and audit[0].target == f"alarm:{alarm.id}"
    with pytest.raises(AlarmActionError) as refused:
        await op.ack(alarm.id, FACILITY)
    assert refused.value.status == 409
    await h.feed(("env.leak_1", True))  # a new occurrence is a new alarm
    assert h.open("leak.env.leak_1").id != alarm.id


async def test_a_flood_is_acknowledged_in_one_commit_and_every_id_is_audited(harness_factory: Any) -> None:
    """ack_many: the alarms that can be acknowledged are, stored and published in one batch; the others are
    refused with the reason; each id has its audit row, the refused ones too."""
    h: Harness = await harness_factory()
    op = AlarmOperator(h.engine)
    await h.feed(("env.leak_1", True), ("ups.on_battery", True))
    leak, ups = h.open("leak.env.leak_1"), h.open("ups_on_battery.ups.on_battery")
    await h.feed(("env.leak_1", False))  # returned to normal, unacknowledged: the ack closes it
    await op.ack(ups.id, FACILITY)
    stored_before = h.engine.transitions
    done, refused = await op.ack_many([leak.id, ups.id, 99_999, leak.id], SECURITY, "flood")
    assert [a.id for a in done] == [leak.id]
    assert set(refused) == {ups.id, 99_999} and "nothing to acknowledge" in refused[ups.id]
    assert h.engine.transitions == stored_before + 1 and h.open("leak.env.leak_1") is None
    assert [(e.kind, e.by, e.reason) for e in await h.store.alarms.events(leak.id)][-1] == ("acked", "sam", "flood")
    rows = await h.store.audit.query(action="alarm.ack", actor="sam", newest_first=False)
    assert [(r.target, r.result) for r in rows] == [(f"alarm:{leak.id}", "ok"), (f"alarm:{ups.id}", "refused"),
                                                    ("alarm:99999", "refused")]  # fmt: skip
    assert rows[0].arguments == {"comment": "flood"} and (await h.store.audit.verify()).ok


async def test_threshold_deadband_and_on_delay(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    key = "machine_room_temperature.env.temp"
    await h.feed(("env.temp", 31.0))
    assert h.open(key) is None  # 30 s on-delay
    await h.advance(29)
    assert h.open(key) is None
    await h.advance(2)
    assert h.open(key).active
    await h.feed(("env.temp", 29.5))  # inside the 1 degC deadband: still in alarm
    assert h.open(key).active
    await h.feed(("env.temp", 28.9))
    assert not h.open(key).active and h.open(key).state == "rtn_unack"
    await h.feed(("env.temp", 31.0))
    await h.advance(10)
    await h.feed(("env.temp", 25.0))  # gone before the delay ran out: never raised again
    await h.advance(60)
    assert h.open(key).state == "rtn_unack"


async def test_two_detectors_confirm_a_fire_and_one_does_not(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    await h.feed(("fire.smoke_1", True))
    assert h.open("smoke.fire.smoke_1") is not None and h.open("fire_confirmed.hall") is None
    await h.feed(("fire.smoke_2", True))
    confirmed = h.open("fire_confirmed.hall")
    assert confirmed.priority == "critical" and confirmed.latched and confirmed.value == ["fire.smoke_1",
                                                                                         "fire.smoke_2"]
    await h.feed(("fire.smoke_1", False), ("fire.smoke_2", False))
    assert h.open("fire_confirmed.hall").state == "unack"  # latched: stays until reset
    with pytest.raises(AlarmActionError) as refused:
        await AlarmOperator(h.engine).shelve(confirmed.id, FACILITY, 10, "noisy")
    assert refused.value.status == 409 and "life-safety" in refused.value.message


async def test_emergency_buttons_latch_reset_by_security_after_release_and_two_presses_are_two_alarms(
    harness_factory: Any,
) -> None:
    h: Harness = await harness_factory()
    op = AlarmOperator(h.engine)
    await h.feed(("sec.ebtn_1", True), ("sec.ebtn_2", True))
    first, second = h.open("emergency_button.sec.ebtn_1"), h.open("emergency_button.sec.ebtn_2")
    assert first.id != second.id and first.priority == second.priority == "critical"
    for action in (op.shelve(first.id, SECURITY, 5, "x"), op.out_of_service(first.id, SECURITY, "x")):
        with pytest.raises(AlarmActionError) as refused:
            await action
        assert refused.value.status == 409
    with pytest.raises(AlarmActionError) as refused:
        await op.reset(first.id, SECURITY)
    assert refused.value.code == "still_active"
    await h.feed(("sec.ebtn_1", False))
    assert h.open("emergency_button.sec.ebtn_1").state == "unack"  # released, still latched
    with pytest.raises(AlarmActionError) as refused:
        await op.reset(first.id, FACILITY)
    assert refused.value.status == 403
    done = await op.reset(first.id, SECURITY, "checked the room")
    assert done.state == "normal" and done.reset_by == "sam" and done.acked_by == "sam"
    assert h.open("emergency_button.sec.ebtn_1") is None and h.open("emergency_button.sec.ebtn_2") is not None
    results = [(e.action, e.actor, e.result) for e in await h.store.audit.query(newest_first=False)]
    assert ("alarm.reset", "fay", "refused") in results and ("alarm.reset", "sam", "ok") in results


async def test_shelving_times_out_and_one_shot_ends_at_clear(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    op = AlarmOperator(h.engine)
    await h.feed(("env.leak_1", True))
    alarm = h.open("leak.env.leak_1")
    await op.shelve(alarm.id, FACILITY, 1, "plumber on site")
    assert alarm.shelved_until is not None
    await h.advance(61)
    assert alarm.shelved_until is None
    await op.shelve(alarm.id, FACILITY, 30, "plumber", one_shot=True)
    await op.ack(alarm.id, FACILITY)
    await h.feed(("env.leak_1", False))
    assert alarm.shelved_until is None and h.open("leak.env.leak_1") is None
    kinds = [e.kind for e in await h.store.alarms.events(alarm.id)]
    assert kinds == ["raised", "shelved", "unshelved", "shelved", "acked", "cleared", "unshelved"]


async def test_downstream_fault_is_suppressed_by_design_while_mains_failed(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    await h.feed(("ups.on_battery", True), ("fire.trouble", True))
    trouble = h.open("equipment_fault.fire.trouble")
    assert trouble.suppressed
    await h.feed(("ups.on_battery", False))
    assert not trouble.suppressed
    assert [e.kind for e in await h.store.alarms.events(trouble.id)] == ["raised", "unsuppressed"]


async def test_out_of_service_with_reason_and_chattering(harness_factory: Any) -> None:
    h: Harness = await harness_factory()
    op = AlarmOperator(h.engine)
    await h.feed(("env.leak_1", True))
    alarm = h.open("leak.env.leak_1")
    for value in (False, True, False, True):
        await h.feed(("env.leak_1", value))
    assert alarm.chattering and alarm.id == h.open("leak.env.leak_1").id  # one alarm, flagged
    await op.out_of_service(alarm.id, FACILITY, "sensor replaced")
    await op.ack(alarm.id, FACILITY)
    await h.feed(("env.leak_1", False))
    assert h.open("leak.env.leak_1") is alarm  # held open while out of service
    await op.in_service(alarm.id, FACILITY)
    assert h.open("leak.env.leak_1") is None


async def test_a_restart_keeps_unacknowledged_alarms_and_the_first_value_brings_them_up_to_date(
    harness_factory: Any, db_url: str
) -> None:
    clock = ManualClock()
    h: Harness = await harness_factory(url=db_url, clock=clock)
    await h.feed(("env.leak_1", True), ("sec.ebtn_1", True), ("fire.smoke_1", True))
    ids = {key: h.open(key).id for key in ("leak.env.leak_1", "emergency_button.sec.ebtn_1", "smoke.fire.smoke_1")}
    await h.engine.stop()
    again: Harness = await harness_factory(url=db_url, clock=clock)
    assert {k: a.id for k, a in again.engine.open.items()} == ids
    assert all(a.state == "unack" for a in again.engine.open.values())
    # While it was down: the leak went, the button was released, the smoke stays; a new leak elsewhere... none.
    await again.feed(("env.leak_1", False), ("sec.ebtn_1", False), ("fire.smoke_1", True))
    assert again.open("leak.env.leak_1").state == "rtn_unack"
    assert again.open("emergency_button.sec.ebtn_1").state == "unack"  # latched
    assert again.open("smoke.fire.smoke_1").active
    store: Store = again.store
    assert await store.alarms.count() == 3 and await store.alarms.duplicates_open() == 0
    assert await store.alarms.count_events("raised") == 3


async def test_site_rules_and_overrides(harness_factory: Any) -> None:
    site = small_site(
        rules=[{"id": "hot-ups", "name": {"zh": "UPS 过热", "en": "UPS hot"}, "alarm_class": "temperature",
                "priority": "low", "point": "env.temp", "condition": {"type": "rate_of_change", "rise_per_min": 5}}],
        overrides=[{"template": "leak", "priority": "critical"}, {"point": "fire.smoke_3", "enabled": False}],
    )  # fmt: skip
    h: Harness = await harness_factory(site)
    assert h.engine.rule_by_key["leak.env.leak_1"].rule.priority == "critical"
    assert "smoke.fire.smoke_3" not in h.engine.rule_by_key
    start = h.clock.time()
    from tests.alarms.conftest import update

    await h.feed(update("env.temp", 20.0, start), update("env.temp", 24.0, start + 30))  # 8 degC/min
    assert h.open("hot-ups").active and h.open("hot-ups").value == 8.0


async def test_set_work_order_is_an_updated_transition_stored_then_heard(harness_factory: Any) -> None:
    """engine.set_work_order (the follow-up's public way in): the open alarm keeps the link through its next
    transition; a closed alarm is left to the repository (False)."""
    h: Harness = await harness_factory()
    await h.feed(("env.leak_1", True))
    alarm = h.open("leak.env.leak_1")
    assert await h.engine.set_work_order(alarm.id, 42, h.clock.time()) is True
    await h.clock.advance(0)
    assert (h.events[-1].kind, h.events[-1].alarm.work_order) == ("updated", 42)
    stored = await h.store.alarms.get(alarm.id)
    assert stored is not None and stored.work_order == 42
    assert [e.kind for e in await h.store.alarms.events(alarm.id)] == ["raised", "updated"]
    await h.feed(("env.leak_1", False))  # the next transition keeps the link
    assert (await h.store.alarms.get(alarm.id)).work_order == 42  # type: ignore[union-attr]
    await AlarmOperator(h.engine).ack(alarm.id, FACILITY)
    assert h.open("leak.env.leak_1") is None
    heard = len(h.events)
    assert await h.engine.set_work_order(alarm.id, 43, h.clock.time()) is False  # closed: not the engine's
    assert len(h.events) == heard and (await h.store.alarms.get(alarm.id)).work_order == 42  # type: ignore[union-attr]


async def test_every_stored_view_of_an_alarm_has_a_higher_revision_also_after_a_restart(
    harness_factory: Any, db_url: str
) -> None:
    """A page drops a view older than the one it shows (web_viewer/src/alarm_feed.js): the revision must grow
    with every write of the row, in the published events too, and go on from the stored one after a restart."""
    clock = ManualClock()
    h: Harness = await harness_factory(url=db_url, clock=clock)
    await h.feed(("sec.ebtn_1", True))
    alarm = h.open("emergency_button.sec.ebtn_1")
    await AlarmOperator(h.engine).ack(alarm.id, SECURITY)
    await h.feed(("sec.ebtn_1", False))
    await h.clock.advance(0)
    heard = [e.alarm.revision for e in h.events if e.alarm.id == alarm.id]
    assert heard == sorted(heard) and len(set(heard)) == 3, heard  # raised, acked, released: three views
    stored = await h.store.alarms.get(alarm.id)
    assert stored is not None and stored.revision == heard[-1]
    await h.engine.stop()
    again: Harness = await harness_factory(url=db_url, clock=clock)
    await AlarmOperator(again.engine).reset(alarm.id, SECURITY, "released on site")
    await again.clock.advance(0)
    assert [e.alarm.revision for e in again.events if e.alarm.id == alarm.id] == [heard[-1] + 1]
    await again.store.alarms.set_work_order(alarm.id, 7, clock.time())  # closed: the row alone takes the link
    assert (await again.store.alarms.get(alarm.id)).revision == heard[-1] + 2  # type: ignore[union-attr]
