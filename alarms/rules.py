"""The rules of a site as the engine runs them: templates with their overrides, plus the site's own rules,
each placed (device, zone, element, spaces, camera, plan) and checked against the site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alarms.conditions import Debounce, Evaluator, evaluator_for
from alarms.templates import TemplateRule, point_zone, template_rules
from iot_gateway.simulators.hall import HallLayout
from twin.site.alarm_rules import AlarmOverride, AlarmRule
from twin.site.model import DeviceKind, SiteConfig


class AlarmConfigError(ValueError):
    """The alarms: section refers to something the site does not have; the message says where and what."""


@dataclass
class RuleInstance:
    """One rule, placed, with its condition's running state."""

    rule: AlarmRule
    template: str | None
    device: str | None
    point: str | None
    zone: str | None
    ifc_guid: str | None
    space_guids: list[str]
    camera: str | None
    plan: str | None
    evaluator: Evaluator
    debounce: Debounce
    suppressors: frozenset[str] = field(default_factory=frozenset)  # rule ids whose active alarms suppress this

    @property
    def key(self) -> str:
        return self.rule.id

    @property
    def points(self) -> tuple[str, ...]:
        return self.evaluator.points


def _override_matches(override: AlarmOverride, made: TemplateRule) -> bool:
    rule = made.rule
    if override.template is not None and override.template != made.template:
        return False
    if override.point is not None and override.point != rule.point:
        return False
    if override.device is not None:
        condition_points = getattr(rule.condition, "points", None) or []
        devices = {rule.device} | {p.rsplit(".", 1)[0] for p in [rule.point, *condition_points] if p}
        if override.device not in devices:
            return False
    return True


def _apply_overrides(made: list[TemplateRule], overrides: list[AlarmOverride]) -> list[AlarmRule]:
    rules: list[AlarmRule] = []
    for item in made:
        rule, enabled = item.rule, True
        for override in overrides:
            if not _override_matches(override, item):
                continue
            if override.enabled is not None:
                enabled = override.enabled
            changes: dict[str, Any] = {}
            for name in ("priority", "condition", "work_order", "suppressed_by"):
                if getattr(override, name) is not None:
                    changes[name] = getattr(override, name)
            if changes:
                rule = AlarmRule.model_validate({**rule.model_dump(), **changes}, strict=False)
        if enabled:
            rules.append(rule)
    return rules


def _check_overrides(site: SiteConfig, overrides: list[AlarmOverride], made: list[TemplateRule]) -> None:
    points = site.points()
    devices = {device.id for device in site.devices}
    for index, override in enumerate(overrides):
        where = f"alarms.overrides[{index}]"
        if override.point is not None and override.point not in points:
            raise AlarmConfigError(f"{where}: point {override.point!r} is not a point of this site")
        if override.device is not None and override.device not in devices:
            raise AlarmConfigError(f"{where}: device {override.device!r} is not a device of this site")
        if not any(_override_matches(override, item) for item in made):
            raise AlarmConfigError(f"{where}: matches no rule the templates made (check template, device, point)")


def build_rules(site: SiteConfig, layout: HallLayout) -> list[RuleInstance]:
    """Every rule of ``site`` ready to run; AlarmConfigError names the first reference that does not resolve."""
    settings = site.alarms
    made: list[TemplateRule] = []
    if settings.templates:
        kinds = set(settings.template_kinds) if settings.template_kinds is not None else set(DeviceKind)
        made = [item for item in template_rules(site, layout.element_zone) if item.kind in kinds]
    _check_overrides(site, settings.overrides, made)
    templated = _apply_overrides(made, settings.overrides)
    template_of = {item.rule.id: item.template for item in made}
    own_ids = {rule.id for rule in settings.rules}
    clash = own_ids & set(template_of)
    if clash:
        raise AlarmConfigError(f"alarms.rules: id {sorted(clash)[0]!r} is also a template's rule id: rename it")
    rules = templated + list(settings.rules)
    placer = _Placer(site, layout)
    instances = [placer.place(rule, template_of.get(rule.id)) for rule in rules]
    _resolve_suppressors(instances, template_of)
    return instances


def _resolve_suppressors(instances: list[RuleInstance], template_of: Mapping[str, str]) -> None:
    """suppressed_by names rule ids, or a template name meaning every rule that template made."""
    ids = {instance.key for instance in instances}
    by_template: dict[str, set[str]] = {}
    for instance in instances:
        if instance.template is not None:
            by_template.setdefault(instance.template, set()).add(instance.key)
    for instance in instances:
        resolved: set[str] = set()
        for name in instance.rule.suppressed_by:
            if name in ids:
                resolved.add(name)
            elif name in by_template:
                resolved |= by_template[name]
            elif name not in template_of:  # a template rule that an override switched off suppresses nothing
                raise AlarmConfigError(f"alarm rule {instance.key!r}: suppressed_by {name!r} is no rule or template")
        resolved.discard(instance.key)
        instance.suppressors = frozenset(resolved)


class _Placer:
    """Finds each rule's device, zone, element, spaces, camera and plan in the site and its building model."""

    def __init__(self, site: SiteConfig, layout: HallLayout) -> None:
        self.site = site
        self.layout = layout
        self.points = site.points()
        self.devices = {device.id: device for device in site.devices}
        self.zones = {zone.id: zone for zone in site.zones}
        self.cameras: dict[str, str] = {}
        for device in site.devices:
            if device.kind == DeviceKind.CAMERA:
                self.cameras.setdefault(device.zone, device.id)
        self.plans: list[Any] = list(getattr(site, "plans", []) or [])

    def place(self, rule: AlarmRule, template: str | None) -> RuleInstance:
        where = f"alarm rule {rule.id!r}" if template else f"alarm rule {rule.id!r} (alarms.rules)"
        condition_points: list[str] = list(getattr(rule.condition, "points", []) or [])
        for point_id in [rule.point, *condition_points]:
            if point_id is not None and point_id not in self.points:
                raise AlarmConfigError(f"{where}: point {point_id!r} is not a point of this site")
        device_id = rule.device
        if device_id is not None and device_id not in self.devices:
            raise AlarmConfigError(f"{where}: device {device_id!r} is not a device of this site")
        states = None
        ifc_guid = rule.ifc_guid
        zone = rule.zone
        if rule.point is not None:
            device, point = self.points[rule.point]
            device_id = device_id or device.id
            states = point.states
            ifc_guid = ifc_guid or point.ifc_guid or device.ifc_guid
            zone = zone or point_zone(device, point, self.layout.element_zone)
        elif condition_points:
            device, point = self.points[condition_points[0]]
            device_id = device_id or device.id
            zone = zone or point_zone(device, point, self.layout.element_zone)
        elif device_id is not None:
            device = self.devices[device_id]
            ifc_guid = ifc_guid or device.ifc_guid
            zone = zone or device.zone
        if ifc_guid is not None and ifc_guid in self.layout.group_zones:
            # A point bound to an IfcZone (a fire zone): it is in every site zone the IfcZone covers, and has no
            # mesh to fly to, so its spaces (space_guids) are tinted instead.
            covered = sorted(self.layout.group_zones[ifc_guid])
            zone = rule.zone or (covered[0] if len(covered) == 1 else None)
            spaces = self._spaces(ifc_guid, None)
            ifc_guid = None
        else:
            if zone is not None and zone not in self.zones:
                raise AlarmConfigError(f"{where}: zone {zone!r} is not defined under zones:")
            spaces = self._spaces(None, zone)
            if ifc_guid is None and zone is not None:
                ifc_guid = self.zones[zone].ifc_guid
        condition = rule.condition
        evaluator = evaluator_for(condition, rule.point, device_id, states)
        return RuleInstance(
            rule=rule, template=template, device=device_id, point=rule.point, zone=zone, ifc_guid=ifc_guid,
            space_guids=spaces, camera=self._camera(zone, spaces), plan=self._plan(rule), evaluator=evaluator,
            debounce=Debounce(condition.on_delay_s, condition.off_delay_s),
        )  # fmt: skip

    def _spaces(self, ifc_guid: str | None, zone: str | None) -> list[str]:
        """Every IfcSpace of the IfcZone the point is bound to, else the space of its zone."""
        if ifc_guid is not None and ifc_guid in self.layout.group_zones:
            covered = self.layout.group_zones[ifc_guid]
            return sorted(self.zones[z].ifc_guid for z in covered if z in self.zones)
        if zone is not None:
            return [self.zones[zone].ifc_guid]
        return []

    def _camera(self, zone: str | None, spaces: list[str]) -> str | None:
        """A camera in the alarm's zone, else in another zone it covers (the nearest the site file can say)."""
        if zone is not None and zone in self.cameras:
            return self.cameras[zone]
        by_space = {z.ifc_guid: z.id for z in self.zones.values()}
        for guid in spaces:
            camera = self.cameras.get(by_space.get(guid, ""))
            if camera is not None:
                return camera
        return None

    def _plan(self, rule: AlarmRule) -> str | None:
        if rule.plan is not None:
            return rule.plan
        for plan in self.plans:
            if rule.alarm_class in getattr(plan, "alarm_classes", ()):
                return str(plan.id)
        return None
