"""The ``alarms:`` section of site.yaml: rules, overrides of the built-in templates, and the conditions they test.

Conditions are a discriminated union on ``type`` (like drivers): each one's evaluation is one file in
alarms/conditions/. Templates (alarms/templates.py) give a site sensible alarms without a rule written; rules
add to them and overrides change or switch off what a template made, per template, device or point.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.site.model import DeviceKind, Ident, Names, Strict

AlarmClass = Literal[
    "fire", "smoke", "leak", "ups", "temperature", "humidity", "door", "emergency", "comm", "power", "crowding",
    "queue", "linkage", "other",
]  # fmt: skip
Priority = Literal["critical", "high", "medium", "low"]
StateValue = bool | int | str
TEMPLATE_NAMES = (
    "leak", "ups_on_battery", "ups_battery_low", "ups_low_runtime", "ups_fault", "equipment_fault",
    "machine_room_temperature", "door_forced", "door_held_open", "smoke", "fire_zone", "fire_confirmed",
    "emergency_button", "comm_loss",
)  # fmt: skip
TemplateName = Literal[
    "leak", "ups_on_battery", "ups_battery_low", "ups_low_runtime", "ups_fault", "equipment_fault",
    "machine_room_temperature", "door_forced", "door_held_open", "smoke", "fire_zone", "fire_confirmed",
    "emergency_button", "comm_loss",
]  # fmt: skip
LinkageHint = Literal["release_doors", "surface_cameras", "evacuate", "page_security"]


class Delays(Strict):
    on_delay_s: float = Field(default=0.0, ge=0, le=86_400, description="The condition must hold this long to raise")
    off_delay_s: float = Field(default=0.0, ge=0, le=86_400, description="...and be gone this long to clear")


class ThresholdCondition(Delays):
    """Above ``high`` or below ``low``; clears ``deadband`` inside the limit (no flapping at the limit)."""

    type: Literal["threshold"]
    high: float | None = Field(default=None, allow_inf_nan=False)
    low: float | None = Field(default=None, allow_inf_nan=False)
    deadband: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _limits(self) -> ThresholdCondition:
        if self.high is None and self.low is None:
            raise ValueError("a threshold needs high:, low: or both")
        if self.high is not None and self.low is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class StateCondition(Delays):
    """The point's value equals ``equals`` (a binary true, a multistate number or name, a text)."""

    type: Literal["state"]
    equals: StateValue


class RateCondition(Delays):
    """The value rises (or falls) faster than the given rate, measured over ``window_s``."""

    type: Literal["rate_of_change"]
    rise_per_min: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    fall_per_min: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    window_s: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_rate(self) -> RateCondition:
        if self.rise_per_min is None and self.fall_per_min is None:
            raise ValueError("a rate_of_change needs rise_per_min:, fall_per_min: or both")
        return self


class StaleCondition(Delays):
    """The point's value is STALE, or (with ``after_s``) no new value came for that long."""

    type: Literal["stale"]
    after_s: float | None = Field(default=None, gt=0, le=30 * 86_400)


class CommLossCondition(Delays):
    """The gateway cannot reach the device (its ``<device>.comm_lost`` point is true)."""

    type: Literal["comm_loss"]


class KOfNCondition(Delays):
    """At least ``k`` of ``points`` equal ``equals`` at once (two independent detectors: GB 50116 4.1.6)."""

    type: Literal["k_of_n"]
    points: list[Ident] = Field(min_length=2)
    k: int = Field(default=2, ge=1)
    equals: StateValue = True

    @model_validator(mode="after")
    def _k(self) -> KOfNCondition:
        if self.k > len(self.points):
            raise ValueError(f"k ({self.k}) is more than the {len(self.points)} points listed")
        if len(set(self.points)) != len(self.points):
            raise ValueError("points: lists a point twice")
        return self


Condition = Annotated[
    ThresholdCondition | StateCondition | RateCondition | StaleCondition | CommLossCondition | KOfNCondition,
    Field(discriminator="type"),
]


class AlarmRule(Strict):
    """One alarm rule: what raises it, how important it is, and what the follow-up services should do."""

    id: Ident
    name: Names = Field(description="The alarm's title")
    alarm_class: AlarmClass
    priority: Priority
    condition: Condition
    point: Ident | None = Field(default=None, description="The point tested (all but k_of_n and comm_loss)")
    device: Ident | None = Field(default=None, description="comm_loss: the device; else the point's device")
    zone: Ident | None = Field(default=None, description="Default: the zone of the point's device")
    ifc_guid: str | None = Field(default=None, description="Element to fly to; default: the point's")
    latched: bool = Field(default=False, description="Stays until reset by hand after the condition is gone")
    shelvable: bool = Field(default=True, description="False: never shelved, suppressed or out of service")
    suppressed_by: list[Ident] = Field(
        default_factory=list, description="Rule ids: while one of their alarms is active this one is suppressed"
    )
    reset_roles: list[Literal["admin", "facility", "security"]] | None = Field(
        default=None, description="Roles that may reset it when latched; default security, facility, admin"
    )
    work_order: bool = Field(default=False, description="The follow-up service opens a work order")
    linkage: list[LinkageHint] = Field(default_factory=list, description="Hints for the follow-up service")
    plan: Ident | None = Field(default=None, description="The emergency plan shown with it")

    @model_validator(mode="after")
    def _target(self) -> AlarmRule:
        kind = self.condition.type
        if kind == "k_of_n":
            if self.point is not None:
                raise ValueError("a k_of_n rule lists its points under condition.points, not point:")
        elif kind == "comm_loss":
            if self.device is None:
                raise ValueError("a comm_loss rule needs device:")
        elif self.point is None:
            raise ValueError(f"a {kind} rule needs point:")
        if not self.shelvable and self.suppressed_by:
            raise ValueError("a rule that is not shelvable cannot be suppressed_by other rules either")
        return self


class AlarmOverride(Strict):
    """Change what the templates made, for one template, device or point (all given must match)."""

    template: TemplateName | None = None
    device: Ident | None = None
    point: Ident | None = None
    enabled: bool | None = None
    priority: Priority | None = None
    condition: Condition | None = Field(default=None, description="Replaces the template's condition")
    work_order: bool | None = None
    suppressed_by: list[Ident] | None = None

    @model_validator(mode="after")
    def _matches_something(self) -> AlarmOverride:
        if self.template is None and self.device is None and self.point is None:
            raise ValueError("an override needs template:, device: or point: to say what it changes")
        return self


class AlarmSettings(Strict):
    """The ``alarms:`` section (optional: without it every template is on and there are no own rules)."""

    templates: bool = Field(default=True, description="False: only the rules written here")
    template_kinds: list[DeviceKind] | None = Field(
        default=None, description="Device kinds whose templates apply; default: every kind"
    )
    chatter_count: int = Field(default=3, ge=2, le=100, description="Raises within chatter_window_s = chattering")
    chatter_window_s: float = Field(default=60.0, gt=0, le=3600)
    stale_after_h: float = Field(default=24.0, gt=0, le=24 * 365, description="Active longer = a stale alarm (KPI)")
    rules: list[AlarmRule] = Field(default_factory=list)
    overrides: list[AlarmOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_rules(self) -> AlarmSettings:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate alarm rule id {rule.id!r}")
            seen.add(rule.id)
        return self
