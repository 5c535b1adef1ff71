"""Cross-reference checks of the ``alarms:`` section on the raw YAML data: rules and overrides that name points,
devices, zones, plans or rules the site does not have, found by ``halltwin check`` with the line and the nearest
id instead of an AlarmConfigError when the engine starts.

Types, priorities, alarm classes and template names are the schema's (pydantic Literals, reported with "did you
mean" by the loader); what needs the built-in templates' own rules (an override that matches nothing) stays the
engine's, which ``halltwin check`` runs after these checks pass (api/cli_check.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from twin.site.alarm_rules import TEMPLATE_NAMES
from twin.site.checks import ErrorAt, Path_, entries, text, undefined_zone
from twin.site.errors import SiteError
from twin.site.suggest import did_you_mean


def _ids(data: Any, key: str) -> dict[str, int]:
    return {item_id: i for i, item in entries(data, key) if (item_id := text(item, "id")) is not None}


def _point_ids(data: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for d, device in entries(data, "devices"):
        device_id = text(device, "id")
        if device_id is not None:
            found.setdefault(f"{device_id}.comm_lost", d)  # the gateway's own point of every device
        for _, point in entries(device, "points"):
            point_id = text(point, "id")
            if point_id is not None:
                found.setdefault(point_id, d)
    return found


def _unknown(what: str, value: str, known: Mapping[str, int], section: str) -> str:
    return f"{what} {value!r} is not defined under {section}:{did_you_mean(value, known)}"


def _suppressor_known(name: str, own_rules: Mapping[str, int]) -> bool:
    """A rule of this section, a template name (every rule it makes) or a template's rule ("leak.<point>")."""
    return name in own_rules or name in TEMPLATE_NAMES or name.split(".", 1)[0] in TEMPLATE_NAMES and "." in name


def check_alarms(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Every reference of alarms.rules and alarms.overrides resolves."""
    settings = data.get("alarms") if isinstance(data, dict) else None
    if not isinstance(settings, dict):
        return
    points, devices, zones = _point_ids(data), _ids(data, "devices"), _ids(data, "zones")
    plans = _ids(data, "plans")
    own_rules = _ids(settings, "rules")
    for r, rule in entries(settings, "rules"):
        here: Path_ = ("alarms", "rules", r)
        yield from _point_ref(rule, here, "point", points, error)
        condition = rule.get("condition")
        listed = condition.get("points") if isinstance(condition, dict) else None
        for p, point_id in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(point_id, str) and point_id not in points:
                yield error(
                    (*here, "condition", "points", p), _unknown("point", point_id, points, "any device's points")
                )
        device_id = text(rule, "device")
        if device_id is not None and device_id not in devices:
            yield error((*here, "device"), _unknown("device", device_id, devices, "devices"))
        zone_id = text(rule, "zone")
        if zone_id is not None and zone_id not in zones:
            yield error((*here, "zone"), undefined_zone(zone_id, zones))
        plan_id = text(rule, "plan")
        if plan_id is not None and plan_id not in plans:
            yield error((*here, "plan"), _unknown("plan", plan_id, plans, "plans"))
        yield from _suppressors(rule, here, own_rules, error)
    for o, override in entries(settings, "overrides"):
        here = ("alarms", "overrides", o)
        yield from _point_ref(override, here, "point", points, error)
        device_id = text(override, "device")
        if device_id is not None and device_id not in devices:
            yield error((*here, "device"), _unknown("device", device_id, devices, "devices"))
        yield from _suppressors(override, here, own_rules, error)


def _point_ref(
    node: dict[str, Any], here: Path_, key: str, points: Mapping[str, int], error: ErrorAt
) -> Iterator[SiteError]:
    point_id = text(node, key)
    if point_id is not None and point_id not in points:
        yield error((*here, key), _unknown("point", point_id, points, "any device's points"))


def _suppressors(
    node: dict[str, Any], here: Path_, own_rules: Mapping[str, int], error: ErrorAt
) -> Iterator[SiteError]:
    names = node.get("suppressed_by")
    for s, name in enumerate(names if isinstance(names, list) else []):
        if isinstance(name, str) and not _suppressor_known(name, own_rules):
            hint = did_you_mean(name, [*own_rules, *TEMPLATE_NAMES])
            yield error((*here, "suppressed_by", s), f"{name!r} is neither a rule of alarms.rules nor a template{hint}")


__all__ = ["check_alarms"]
