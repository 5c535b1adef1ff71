"""The CommandRouter: the one path to any device write; checked, confirmed by read-back, idempotent, audited.

Every command goes through ``CommandRouter.command`` (``write`` and ``release`` for points; the door service and,
later, alarm linkage and broadcast call it the same way, with their own ``action`` name). It checks, in this
order, each refusal with its reason: the point exists; it is writable (and its protocol can write: MQTT points are
read-only); the caller's role is one the site allows (point ``write_roles``, else the device's, else
``commands.write_roles``; doors pass their own roles); the value fits the point (kind, states, range); a reason
is given. Then the device's own Poller writes (Modbus encoding with the point's scale and word order; BACnet
WriteProperty at the point's priority) and reads back: the command is done only when the device reports the new
value (analog within the register's step) before ``confirm_timeout_s``. Otherwise it fails with what the device
answered: a Modbus exception name, a BACnet error class and code, no answer, "overridden at priority 3" from
the priority array, or "reads back X".

Idempotency: a command carrying a key is acted on once per (caller, key). A retry while the first is running
waits for it (an in-memory in-flight map); a retry after it finished gets the first result back from the audit
log (``find_by_idempotency_key``), so a restart does not forget. Every attempt, refused, failed or done, is one
audit row; a retry answered from the first result adds none (it did nothing).

The caller is anything with ``name``, ``role`` and ``client`` (api.auth.Principal in HTTP handlers);
``SYSTEM`` (role None) is the runtime itself, for commands no person gave (a door re-locking when its unlock
runs out); only code in this process can pass it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from api.command_values import InvalidValue, check_value, commandable, read_back_matches
from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.gateway import Gateway, UnknownPoint
from store.audit import Actor, AuditEntry, AuditLog
from twin import i18n
from twin.clock import Clock
from twin.points import Quality, Reading, Value
from twin.site.model import BacnetAddress, Device, Names, Point, SiteConfig

log = logging.getLogger(__name__)

Status = Literal["ok", "refused", "failed"]
MAX_REASON = 500  # characters: a reason is a sentence, not a report
READ_BACK_INTERVAL_S = 0.1  # between read-backs of a device that has not yet taken the value

# Outcome codes: the status each stands for, and the HTTP status the API answers with (documented in OpenAPI).
CODES: dict[str, tuple[Status, int]] = {
    "ok": ("ok", 200),
    "unknown_point": ("refused", 404),
    "unknown_door": ("refused", 404),
    "not_writable": ("refused", 409),
    "read_only_protocol": ("refused", 409),
    "not_releasable": ("refused", 409),
    "not_polled": ("refused", 409),
    "idempotency_key_reused": ("refused", 409),
    "forbidden_role": ("refused", 403),
    "invalid_value": ("refused", 422),
    "missing_reason": ("refused", 422),
    "invalid_duration": ("refused", 422),
    "device_rejected": ("failed", 502),
    "read_back_mismatch": ("failed", 502),
    "overridden": ("failed", 409),
    "device_unavailable": ("failed", 504),
    "read_back_timeout": ("failed", 504),
}



@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of one command: ``status`` ok / refused / failed, a ``code`` (see CODES) and a sentence."""

    action: str
    target: str
    point_id: str | None
    status: Status
    code: str
    message: str
    value: Value = None  # what was asked (in the point's own form once checked)
    read_back: Value = None  # what the device reports after the command
    priority: int | None = None  # BACnet: the priority written, or the higher one that holds the point
    audit_id: int | None = None
    replayed: bool = False  # True: the answer of an earlier request with the same idempotency key
    extra: dict[str, Any] = field(default_factory=dict)  # action-specific facts (a door's unlocked_until)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def http_status(self) -> int:
        return CODES[self.code][1]

    @property
    def summary(self) -> Names:
        """The outcome as a short bilingual line for the operator (Chinese first); ``message`` has the detail."""
        return i18n.names(f"command.{self.code}", target=self.target)


class CommandRefused(Exception):
    """Raised inside the router to end a command early with a code and a reason."""

    def __init__(self, code: str, message: str, *, read_back: Value = None, priority: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.read_back = read_back
        self.priority = priority


@dataclass(frozen=True, slots=True)
class Command:
    """One command as the router executes it."""

    action: str
    target: str  # what the audit row names: the point, or the door
    point: Point | None
    value: Value  # as given; None with release=True relinquishes
    reason: str
    roles: frozenset[str] | None  # None: the roles the site gives the point
    release: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)  # extra facts to audit (a door's duration)
    # (code, reason) of a refusal the caller found before the router's own checks (an unknown door, a bad duration)
    refused: tuple[str, str] | None = None


def _status(code: str) -> Status:
    return CODES[code][0]


class CommandRouter:
    """Checks, executes, confirms and audits commands (see the module docstring)."""

    def __init__(
        self,
        site: SiteConfig,
        gateway: Gateway | None,
        audit: AuditLog,
        clock: Clock,
        *,
        confirm_timeout_s: float | None = None,
    ) -> None:
        self.site = site
        self.gateway = gateway
        self.audit = audit
        self.clock = clock
        self.confirm_timeout_s = confirm_timeout_s or site.commands.confirm_timeout_s
        self._points: dict[str, tuple[Device, Point]] = site.points()
        self._in_flight: dict[tuple[str, str], asyncio.Future[CommandResult]] = {}

    # --- the Python API --------------------------------------------------------------------------------------

    async def write(
        self, caller: Actor, point_id: str, value: Value, reason: str, idempotency_key: str | None = None
    ) -> CommandResult:
        """Write ``value`` to a point; done when the device reads it back."""
        point = self.point(point_id)
        command = Command("point.write", point_id, point, value, reason, None)
        return await self.command(caller, command, idempotency_key)

    async def release(
        self, caller: Actor, point_id: str, reason: str, idempotency_key: str | None = None
    ) -> CommandResult:
        """Relinquish our BACnet command on a point (write null at its priority); done when the slot is free."""
        point = self.point(point_id)
        command = Command("point.release", point_id, point, None, reason, None, release=True)
        return await self.command(caller, command, idempotency_key)

    def point(self, point_id: str) -> Point | None:
        found = self._points.get(point_id)
        return found[1] if found is not None else None

    def allowed_roles(self, point: Point) -> frozenset[str]:
        """The roles that may write ``point``: its own list, else its device's, else the site default."""
        device = self._points[point.id][0]
        roles = point.write_roles or device.write_roles or self.site.commands.write_roles
        return frozenset(roles)

    async def command(self, caller: Actor, command: Command, idempotency_key: str | None = None) -> CommandResult:
        """Run one command once per (caller, idempotency key); every attempt audited."""
        if idempotency_key is None:
            return await self._run(caller, command, None)
        slot = (caller.name, idempotency_key)
        running = self._in_flight.get(slot)
        if running is not None:  # a duplicate while the first is still running: its answer, acted once
            first = await asyncio.shield(running)
            return await self._replay(caller, first, command, idempotency_key)
        # Claimed before the first await, so a duplicate arriving meanwhile waits for this one.
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._in_flight[slot] = future
        try:
            previous = await self.audit.find_by_idempotency_key(idempotency_key, caller.name)
            if previous is not None:
                first = _from_audit(previous)
                future.set_result(first)
                return await self._replay(caller, first, command, idempotency_key)
            result = await self._run(caller, command, idempotency_key)
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved here: waiting duplicates get it too, nobody logs it as unretrieved
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._in_flight[slot]

    async def _replay(self, caller: Actor, first: CommandResult, command: Command, key: str) -> CommandResult:
        """The first result again; a different command under the same key is refused (and that is audited)."""
        if first.action == command.action and first.target == command.target and _same_request(first, command):
            return replace(first, replayed=True)
        refused = CommandResult(
            command.action,
            command.target,
            command.point.id if command.point else None,
            "refused",
            "idempotency_key_reused",
            f"idempotency key {key!r} was used for {first.action} {first.target} with value "
            f"{_show(first.value)}: use a new key for a different command",
            value=command.value,
        )
        return await self._audited(caller, command, refused, None)

    # --- one command -----------------------------------------------------------------------------------------

    async def _run(self, caller: Actor, command: Command, key: str | None) -> CommandResult:
        value: Value = command.value
        try:
            value = self._check(caller, command)
            result = replace(await self._execute(command, value), extra=dict(command.arguments))
        except CommandRefused as refusal:
            result = CommandResult(
                command.action,
                command.target,
                command.point.id if command.point else None,
                _status(refusal.code),
                refusal.code,
                refusal.message,
                value=value,
                read_back=refusal.read_back,
                priority=refusal.priority,
            )
        return await self._audited(caller, command, result, key)

    async def _audited(self, caller: Actor, command: Command, result: CommandResult, key: str | None) -> CommandResult:
        try:
            entry = await self.audit.append(
                action=command.action,
                actor=caller.name,
                role=caller.role,
                client=caller.client,
                target=command.target,
                arguments=_audit_arguments(command, result),
                result=result.status,
                detail=result.message,
                idempotency_key=key,
            )
        except Exception:
            # The device may have acted: the log keeps what the store could not (and the caller gets the error).
            log.error("%s %s by %s (%s) could not be audited; outcome %s: %s", command.action, command.target,
                      caller.name, caller.role, result.code, result.message)  # fmt: skip
            raise
        log_at = logging.INFO if result.ok else logging.WARNING
        log.log(log_at, "%s %s by %s (%s): %s: %s", command.action, command.target, caller.name, caller.role,
                result.code, result.message)  # fmt: skip
        return replace(result, audit_id=entry.id)

    def _check(self, caller: Actor, command: Command) -> Value:
        """The refusals, in order; returns the value in the point's own form."""
        point = command.point
        if point is None:
            if command.refused is not None:  # an unknown door, say: the caller's reason is the better one
                raise CommandRefused(*command.refused)
            raise CommandRefused(
                "unknown_point", f"no point {command.target!r} in site {self.site.site.id}: see /api/points"
            )
        if point.address.type == "mqtt":
            raise CommandRefused(
                "read_only_protocol",
                f"point {point.id} is read over MQTT: the gateway only subscribes to it and cannot write it",
            )
        if not point.writable:
            raise CommandRefused("not_writable", f"point {point.id} is not writable (writable: false in the site file)")
        if command.release and not commandable(point):
            raise CommandRefused(
                "not_releasable", f"point {point.id} is not a BACnet command with a priority array: nothing to release"
            )
        roles = command.roles if command.roles is not None else self.allowed_roles(point)
        if caller.role is not None and str(caller.role) not in roles:
            raise CommandRefused(
                "forbidden_role",
                f"role {caller.role} may not {command.action.replace('.', ' ')} {command.target}; "
                f"the site allows {', '.join(sorted(roles))}",
            )
        if command.refused is not None:  # after the role check: an unauthorised caller learns nothing more
            raise CommandRefused(*command.refused)
        value: Value = None
        if not command.release:
            try:
                value = check_value(point, command.value)
            except InvalidValue as exc:
                raise CommandRefused("invalid_value", str(exc)) from None
        reason = command.reason.strip() if isinstance(command.reason, str) else ""
        if not reason:
            raise CommandRefused("missing_reason", f"a command on {command.target} needs a reason (who asked, why)")
        if len(reason) > MAX_REASON:
            raise CommandRefused("missing_reason", f"the reason is {len(reason)} characters; at most {MAX_REASON}")
        return value

    async def _execute(self, command: Command, value: Value) -> CommandResult:
        point = command.point
        assert point is not None  # _check refused a missing point
        if self.gateway is None:  # a node started without device polling: a state of the node, not a failure
            raise CommandRefused("not_polled", "this node does not poll devices (started without them)")
        priority = point.address.priority if isinstance(point.address, BacnetAddress) else None
        deadline = self.clock.monotonic() + self.confirm_timeout_s
        try:
            _, poller = self.gateway.poller_of(point.id)
            reading = await self.gateway.write(point.id, None if command.release else value)
            if command.release:
                return await self._confirm_release(command, poller, point, reading, deadline)
            while not (reading.quality is Quality.GOOD and read_back_matches(point, value, reading.value)):
                holder = await self._overriding(poller, point, priority) if priority is not None else None
                if holder is not None:
                    held_by, held = holder
                    raise CommandRefused(
                        "overridden",
                        f"{point.id} took the write at priority {priority}, but priority {held_by} holds "
                        f"{_show(held)}: the device keeps that value until it is released",
                        read_back=reading.value,
                        priority=held_by,
                    )
                if self.clock.monotonic() >= deadline:
                    raise self._not_confirmed(point, value, reading)
                await self.clock.sleep(READ_BACK_INTERVAL_S)
                reading = await poller.read_back(point)
        except UnknownPoint as exc:
            raise CommandRefused("unknown_point", str(exc)) from None
        except DeviceUnavailable as exc:
            raise CommandRefused("device_unavailable", str(exc)) from None
        except WriteRejected as exc:
            raise CommandRefused("device_rejected", str(exc)) from None
        message = f"{point.id} reads back {_show(reading.value)}{_unit(point)}"
        if priority is not None:
            message += f" (commanded at priority {priority})"
        return CommandResult(command.action, command.target, point.id, "ok", "ok", message, value=value,
                             read_back=reading.value, priority=priority)  # fmt: skip

    def _not_confirmed(self, point: Point, value: Value, reading: Reading) -> CommandRefused:
        if reading.quality is not Quality.GOOD:
            why = f": {reading.reason}" if getattr(reading, "reason", None) else ""
            return CommandRefused(
                "read_back_timeout",
                f"{point.id}: no good read-back within {self.confirm_timeout_s:g} s "
                f"(quality {reading.quality.value}{why})",
            )
        return CommandRefused(
            "read_back_mismatch",
            f"{point.id}: the device accepted {_show(value)} but reads back {_show(reading.value)}{_unit(point)} "
            f"after {self.confirm_timeout_s:g} s",
            read_back=reading.value,
        )

    async def _overriding(self, poller: Any, point: Point, priority: int) -> tuple[int, Value] | None:
        """(priority, value) of a command above ours that holds the point, from its priority array."""
        entries: list[Value] | None = await poller.priority_array(point)
        for number, entry in enumerate(entries or [], start=1):
            if number >= priority:
                return None
            if entry is not None:
                return number, entry
        return None

    async def _confirm_release(
        self, command: Command, poller: Any, point: Point, reading: Reading, deadline: float
    ) -> CommandResult:
        assert isinstance(point.address, BacnetAddress)
        priority = point.address.priority
        while True:
            entries: list[Value] = await poller.priority_array(point) or []
            if len(entries) >= priority and entries[priority - 1] is None:
                break
            if self.clock.monotonic() >= deadline:
                raise CommandRefused(
                    "read_back_mismatch",
                    f"{point.id}: priority {priority} still holds {_show(entries[priority - 1])} after the release",
                    read_back=reading.value,
                )
            await self.clock.sleep(READ_BACK_INTERVAL_S)
            reading = await poller.read_back(point)
        active = next(((n, v) for n, v in enumerate(entries, start=1) if v is not None), None)
        holder = f"priority {active[0]} holds it" if active else "no command holds it (relinquish-default)"
        message = f"released priority {priority} of {point.id}; it reads {_show(reading.value)}{_unit(point)}: {holder}"
        return CommandResult(command.action, command.target, point.id, "ok", "ok", message,
                             read_back=reading.value, priority=priority)  # fmt: skip


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _unit(point: Point) -> str:
    return f" {point.unit}" if point.unit else ""


def _same_request(first: CommandResult, command: Command) -> bool:
    """Whether a retry asks for what the first request asked (compared in the point's own form)."""
    if command.release:
        return first.value is None
    asked = command.value
    if command.point is not None:
        try:
            asked = check_value(command.point, command.value)
        except InvalidValue:
            pass
    if isinstance(asked, bool) or isinstance(first.value, bool):
        return asked is first.value
    return bool(asked == first.value)


def _audit_arguments(command: Command, result: CommandResult) -> dict[str, Any]:
    """What the audit row keeps: the request, and the outcome an idempotent retry answers with."""
    arguments: dict[str, Any] = {"reason": command.reason}
    if command.point is not None and command.point.id != command.target:
        arguments["point"] = command.point.id
    arguments["value"] = None if command.release else command.value
    arguments.update(command.arguments)
    arguments["outcome"] = {
        "code": result.code,
        "value": result.value,
        "read_back": result.read_back,
        "priority": result.priority,
        "point": result.point_id,
        **({"extra": result.extra} if result.extra else {}),
    }
    return arguments


def _from_audit(entry: AuditEntry) -> CommandResult:
    """The result an audit row recorded (for an idempotent retry after the first finished)."""
    arguments = dict(entry.arguments or {})
    outcome = dict(arguments.get("outcome") or {})
    code = str(outcome.get("code", "ok" if entry.result == "ok" else "device_rejected"))
    status: Status = entry.result if entry.result in ("ok", "refused", "failed") else "failed"  # type: ignore[assignment]
    return CommandResult(
        entry.action,
        entry.target or "",
        outcome.get("point"),
        status,
        code if code in CODES else "device_rejected",
        entry.detail or "",
        value=outcome.get("value"),
        read_back=outcome.get("read_back"),
        priority=outcome.get("priority"),
        audit_id=entry.id,
        extra=dict(outcome.get("extra") or {}),
    )
