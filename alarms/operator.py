"""What people do to alarms: acknowledge, shelve, reset, comment, take out of service; checked and audited.

Each action takes the engine's lock, changes the alarm, stores it with its event (who, role, when, why) and is
written to the audit log, refused ones too (a refused reset of an emergency button is worth knowing about).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alarms.batch import Batch
from alarms.engine import AlarmEngine
from alarms.lifecycle import State, Trigger, next_state
from store.alarms import Alarm
from store.audit import AuditRecord

MAX_SHELVE_MIN = 24 * 60  # ISA-18.2: shelving is time-limited; a day at most, then it must be renewed
DEFAULT_RESET_ROLES = ("security", "facility", "admin")


@dataclass(frozen=True)
class Actor:
    """Who acts: the logged-in user's name, role and client address."""

    name: str
    role: str
    client: str | None = None


class AlarmActionError(Exception):
    """A refused action: ``status`` is the HTTP status (404, 403, 409, 422), ``code`` a short word for programs."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _acknowledge(engine: AlarmEngine, actor: Actor, comment: str | None) -> Callable[[Alarm, float, Batch], None]:
    """The change an acknowledgement makes: unacknowledged -> acknowledged (or, returned to normal, closed)."""

    def change(alarm: Alarm, now: float, batch: Batch) -> None:
        state = next_state(alarm.latched, alarm.state, Trigger.ACK)
        if state is None:
            raise AlarmActionError(409, "not_unacknowledged", f"alarm {alarm.id} is {alarm.state}: nothing to "
                                   "acknowledge")  # fmt: skip
        previous = alarm.state
        alarm.state, alarm.acked_at, alarm.acked_by = state.value, now, actor.name
        batch.record(alarm, "acked", now, previous=previous, by=actor.name, role=actor.role, reason=comment)
        engine.close_if_done(alarm, now)

    return change


class AlarmOperator:
    """The operator actions of one engine."""

    def __init__(self, engine: AlarmEngine) -> None:
        self.engine = engine

    async def _find(self, alarm_id: int) -> Alarm:
        alarm = self.engine.by_id.get(alarm_id)
        if alarm is not None:
            return alarm
        stored = await self.engine.store.alarms.get(alarm_id)
        if stored is None:
            raise AlarmActionError(404, "not_found", f"no alarm {alarm_id}")
        return stored

    async def _act(
        self, action: str, alarm_id: int, actor: Actor, arguments: dict[str, Any], change: Any
    ) -> Alarm:
        """Run ``change(alarm, now, batch)`` under the lock, store and publish it, audit the outcome."""
        engine = self.engine
        batch = Batch()
        try:
            async with engine.lock:
                alarm = await self._find(alarm_id)
                change(alarm, engine.clock.time(), batch)
                await engine.commit(batch)
        except AlarmActionError as refused:
            await self._audit(action, alarm_id, actor, arguments, "refused", refused.message)
            raise
        engine.publish(batch)
        await self._audit(action, alarm_id, actor, arguments, "ok", None)
        return alarm

    async def _audit(
        self, action: str, alarm_id: int, actor: Actor, arguments: dict[str, Any], result: str, detail: str | None
    ) -> None:
        await self.engine.store.audit.append_many([_record(action, alarm_id, actor, arguments, result, detail)])

    # --- the actions ---------------------------------------------------------------------------------------

    async def ack(self, alarm_id: int, actor: Actor, comment: str | None = None) -> Alarm:
        change = _acknowledge(self.engine, actor, comment)
        return await self._act("ack", alarm_id, actor, _args(comment=comment), change)

    async def ack_many(
        self, alarm_ids: list[int], actor: Actor, comment: str | None = None
    ) -> tuple[list[Alarm], dict[int, str]]:
        """Acknowledge each (a flood at once); returns the acknowledged and, per refused id, why. One store commit
        and one audit transaction for them all: one at a time, a flood of start-up alarms on a busy machine took
        over 10 s."""
        engine = self.engine
        change = _acknowledge(engine, actor, comment)
        batch = Batch()
        done: list[Alarm] = []
        refused: dict[int, str] = {}
        async with engine.lock:
            now = engine.clock.time()
            for alarm_id in dict.fromkeys(alarm_ids):
                try:
                    alarm = await self._find(alarm_id)
                    change(alarm, now, batch)
                except AlarmActionError as error:
                    refused[alarm_id] = error.message
                else:
                    done.append(alarm)
            await engine.commit(batch)
        engine.publish(batch)
        arguments = _args(comment=comment)
        records = [_record("ack", alarm.id, actor, arguments, "ok", None) for alarm in done]
        records += [_record("ack", alarm_id, actor, arguments, "refused", why) for alarm_id, why in refused.items()]
        await engine.store.audit.append_many(records)
        return done, refused

    async def shelve(self, alarm_id: int, actor: Actor, minutes: float, reason: str, one_shot: bool = False) -> Alarm:
        rule_of = self.engine.rule_by_key

        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            _check_shelvable(alarm, rule_of, "shelved")
            if not 0 < minutes <= MAX_SHELVE_MIN:
                raise AlarmActionError(422, "bad_minutes", f"shelve for 1 s to {MAX_SHELVE_MIN} minutes, not {minutes}")
            _check_open(alarm)
            alarm.shelved_until, alarm.shelved_by = now + minutes * 60.0, actor.name
            alarm.shelve_reason, alarm.shelve_one_shot = reason, one_shot
            batch.record(alarm, "shelved", now, previous=alarm.state, by=actor.name, role=actor.role, reason=reason,
                         value={"minutes": minutes, "one_shot": one_shot})  # fmt: skip
            self.engine.by_id[alarm.id] = alarm

        arguments = {"minutes": minutes, "reason": reason, "one_shot": one_shot}
        return await self._act("shelve", alarm_id, actor, arguments, change)

    async def unshelve(self, alarm_id: int, actor: Actor) -> Alarm:
        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            if alarm.shelved_until is None:
                raise AlarmActionError(409, "not_shelved", f"alarm {alarm.id} is not shelved")
            self.engine.unshelve_now(alarm, now, batch, by=actor.name, role=actor.role, reason=None)

        return await self._act("unshelve", alarm_id, actor, {}, change)

    async def reset(self, alarm_id: int, actor: Actor, comment: str | None = None) -> Alarm:
        rule_of = self.engine.rule_by_key

        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            if not alarm.latched:
                raise AlarmActionError(409, "not_latched", f"alarm {alarm.id} is not latched: it needs no reset")
            rule = rule_of.get(alarm.source_key)
            roles = rule.rule.reset_roles if rule is not None and rule.rule.reset_roles else DEFAULT_RESET_ROLES
            if alarm.alarm_class == "emergency":
                roles = ["security"]  # GB 50394 5.2.3: an emergency button is reset by hand, by security staff
            if actor.role not in roles:
                raise AlarmActionError(403, "forbidden_role", f"alarm {alarm.id} may be reset by {', '.join(roles)} "
                                       f"only, not by {actor.role}")  # fmt: skip
            if alarm.active:
                raise AlarmActionError(409, "still_active", f"alarm {alarm.id} cannot be reset while its condition is "
                                       "still there (the button is still pressed, the zone in alarm)")  # fmt: skip
            state = next_state(True, alarm.state, Trigger.RESET)
            if state is None:
                raise AlarmActionError(409, "not_resettable", f"alarm {alarm.id} is {alarm.state}: nothing to reset")
            previous = alarm.state
            alarm.state, alarm.reset_at, alarm.reset_by = state.value, now, actor.name
            if alarm.acked_at is None:
                alarm.acked_at, alarm.acked_by = now, actor.name  # resetting by hand acknowledges it too
            batch.record(alarm, "reset", now, previous=previous, by=actor.name, role=actor.role, reason=comment)
            self.engine.close_if_done(alarm, now)

        return await self._act("reset", alarm_id, actor, _args(comment=comment), change)

    async def comment(self, alarm_id: int, actor: Actor, text: str) -> Alarm:
        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            alarm.comments += 1
            batch.record(alarm, "comment", now, previous=alarm.state, by=actor.name, role=actor.role, reason=text)

        return await self._act("comment", alarm_id, actor, {"text": text}, change)

    async def out_of_service(self, alarm_id: int, actor: Actor, reason: str) -> Alarm:
        rule_of = self.engine.rule_by_key

        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            _check_shelvable(alarm, rule_of, "taken out of service")
            _check_open(alarm)
            if alarm.out_of_service:
                raise AlarmActionError(409, "already_out_of_service", f"alarm {alarm.id} is already out of service")
            alarm.out_of_service, alarm.oos_reason, alarm.oos_by = True, reason, actor.name
            batch.record(alarm, "out_of_service", now, previous=alarm.state, by=actor.name, role=actor.role,
                         reason=reason)  # fmt: skip
            self.engine.by_id[alarm.id] = alarm

        return await self._act("out_of_service", alarm_id, actor, {"reason": reason}, change)

    async def in_service(self, alarm_id: int, actor: Actor) -> Alarm:
        def change(alarm: Alarm, now: float, batch: Batch) -> None:
            if not alarm.out_of_service:
                raise AlarmActionError(409, "in_service", f"alarm {alarm.id} is in service")
            alarm.out_of_service, alarm.oos_reason, alarm.oos_by = False, None, None
            batch.record(alarm, "in_service", now, previous=alarm.state, by=actor.name, role=actor.role)
            self.engine.close_if_done(alarm, now)

        return await self._act("in_service", alarm_id, actor, {}, change)


def _check_shelvable(alarm: Alarm, rule_of: dict[str, Any], what: str) -> None:
    rule = rule_of.get(alarm.source_key)
    shelvable = rule.rule.shelvable if rule is not None else not alarm.latched
    if not shelvable or alarm.alarm_class == "emergency":
        raise AlarmActionError(409, "life_safety", f"alarm {alarm.id} ({alarm.alarm_class}) is a life-safety alarm: "
                               f"it can never be {what} (GB 50394 5.2.3)")  # fmt: skip


def _check_open(alarm: Alarm) -> None:
    if not alarm.is_open and alarm.state == State.NORMAL:
        raise AlarmActionError(409, "closed", f"alarm {alarm.id} is over (back to normal): nothing to hold")


def _args(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _record(
    action: str, alarm_id: int, actor: Actor, arguments: dict[str, Any], result: str, detail: str | None
) -> AuditRecord:
    """The audit entry of one action on one alarm."""
    return AuditRecord(
        f"alarm.{action}", actor.name, actor.role, actor.client, f"alarm:{alarm_id}", arguments or None, result, detail
    )
