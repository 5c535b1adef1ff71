"""PlanService: the emergency plan of an alarm as a checklist, and each step's completion with who and when
(T/ZAS 4012 8.4.5, DB31/T 862 11.2.5). Plans come from site.yaml ``plans:``, one per alarm class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from store.audit import Actor, AuditLog
from store.plans import PlanStepRepository, StepAlreadyDone, StepRecord
from store.text import storable
from twin.site.model import EmergencyPlan, SiteConfig

STEP_ROLES = frozenset({"security", "admin"})  # the security desk works through a plan; admins may stand in


class PlanError(ValueError):
    """A plan request that cannot be done: ``code`` for programs, ``status`` the HTTP answer, the message for people."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class AlarmLookup(Protocol):
    async def get(self, alarm_id: int) -> Any: ...


@dataclass(frozen=True)
class Checklist:
    alarm_id: int
    plan: EmergencyPlan
    records: dict[int, StepRecord]
    raised_at: float

    def to_json(self) -> dict[str, Any]:
        steps = []
        for n, text in enumerate(self.plan.steps, start=1):
            record = self.records.get(n)
            steps.append({
                "n": n, "text": {"zh": text.zh, "en": text.en}, "done": record is not None,
                "done_at": record.done_at if record else None, "done_by": record.done_by if record else None,
                "role": record.role if record else None, "note": record.note if record else None,
                "after_s": round(record.done_at - self.raised_at, 3) if record else None,
            })  # fmt: skip
        return {"alarm_id": self.alarm_id, "plan": self.plan.id,
                "name": {"zh": self.plan.name.zh, "en": self.plan.name.en},
                "done": sum(1 for s in steps if s["done"]), "total": len(steps), "steps": steps}  # fmt: skip


def plan_json(plan: EmergencyPlan) -> dict[str, Any]:
    steps = [{"n": n, "text": {"zh": s.zh, "en": s.en}} for n, s in enumerate(plan.steps, start=1)]
    name = {"zh": plan.name.zh, "en": plan.name.en}
    return {"id": plan.id, "name": name, "alarm_classes": list(plan.alarm_classes), "steps": steps}


class PlanService:
    """plans, plan_for, checklist, mark_done (audited as ``plan.step``)."""

    def __init__(self, site: SiteConfig, steps: PlanStepRepository, alarms: AlarmLookup, audit: AuditLog) -> None:
        self.site = site
        self.steps = steps
        self.alarms = alarms
        self.audit = audit
        self.by_id = {plan.id: plan for plan in site.plans}

    def plan_for(self, alarm: Any) -> EmergencyPlan | None:
        """The alarm's plan: the one the engine named, else the plan of its class."""
        named = getattr(alarm, "plan", None)
        if named and named in self.by_id:
            return self.by_id[named]
        alarm_class: str = getattr(alarm, "alarm_class", "")
        return next((plan for plan in self.site.plans if alarm_class in plan.alarm_classes), None)

    async def checklist(self, alarm_id: int) -> Checklist:
        alarm = await self._alarm(alarm_id)
        plan = self.plan_for(alarm)
        if plan is None:
            raise PlanError("no_plan", 404, f"alarm {alarm_id} ({alarm.alarm_class}) has no emergency plan "
                                             "(site.yaml plans: names none for its class)")  # fmt: skip
        records = {r.step: r for r in await self.steps.for_alarm(alarm_id)}
        return Checklist(alarm_id, plan, records, alarm.raised_at)

    async def mark_done(self, actor: Actor, alarm_id: int, step: int, note: str | None = None) -> Checklist:
        """Record step ``step`` (1-based) of the alarm's plan as done by ``actor``; refusals are audited too."""
        target = f"alarm:{alarm_id}"
        note = storable(note, 2000) or None
        try:
            if actor.role is not None and actor.role not in STEP_ROLES:
                raise PlanError("forbidden", 403, f"role {actor.role} may not record plan steps (security does)")
            checklist = await self.checklist(alarm_id)
            if not 1 <= step <= len(checklist.plan.steps):
                raise PlanError("unknown_step", 404, f"plan {checklist.plan.id} has steps 1 to "
                                                     f"{len(checklist.plan.steps)}, not {step}")  # fmt: skip
            try:
                await self.steps.done(alarm_id, checklist.plan.id, step, actor.name, actor.role, note)
            except StepAlreadyDone as exc:
                raise PlanError("step_done", 409, f"step {step} was done by {exc.record.done_by} at "
                                                  f"{exc.record.done_at:.0f}") from None  # fmt: skip
        except PlanError as exc:
            await self.audit.append(action="plan.step", actor=actor.name, role=actor.role, client=actor.client,
                                    target=target, arguments={"step": step, "note": note}, result="refused",
                                    detail=str(exc))  # fmt: skip
            raise
        text = checklist.plan.steps[step - 1]
        await self.audit.append(action="plan.step", actor=actor.name, role=actor.role, client=actor.client,
                                target=target, arguments={"plan": checklist.plan.id, "step": step, "note": note},
                                result="ok", detail=f"step {step} done: {text.en}")  # fmt: skip
        return await self.checklist(alarm_id)

    async def _alarm(self, alarm_id: int) -> Any:
        alarm = await self.alarms.get(alarm_id)
        if alarm is None:
            raise PlanError("unknown_alarm", 404, f"no alarm {alarm_id}")
        return alarm
