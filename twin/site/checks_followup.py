"""Cross-reference checks of the follow-up sections (plans, linkage, rounds) on the raw YAML data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twin.site.checks import ErrorAt, Path_, entries, text, undefined_zone
from twin.site.errors import SiteError
from twin.site.suggest import did_you_mean


def _ids(data: Any, key: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, item in entries(data, key):
        item_id = text(item, "id")
        if item_id is not None:
            found.setdefault(item_id, index)
    return found


def check_followup(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Plans cover each alarm class once; evacuation routes and round stops name zones, doors and devices that
    exist; plan and round ids are unique."""
    zones, doors, devices = _ids(data, "zones"), _ids(data, "doors"), _ids(data, "devices")
    yield from _unique(data, "plans", "plan", error)
    yield from _unique(data, "rounds", "inspection round", error)
    covered: dict[str, int] = {}
    for p, plan in entries(data, "plans"):
        classes = plan.get("alarm_classes")
        for c, alarm_class in enumerate(classes if isinstance(classes, list) else []):
            if not isinstance(alarm_class, str):
                continue
            if alarm_class in covered and covered[alarm_class] != p:
                message = f"alarm class {alarm_class!r} already has a plan (plans[{covered[alarm_class]}])"
                yield error(("plans", p, "alarm_classes", c), message)
            covered.setdefault(alarm_class, p)
    linkage = data.get("linkage") if isinstance(data, dict) else None
    for r, route in entries(linkage, "evacuation"):
        yield from _refs(route, ("linkage", "evacuation", r), "zones", zones, "zone", error)
        yield from _refs(route, ("linkage", "evacuation", r), "doors", doors, "door", error)
    for r, round_ in entries(data, "rounds"):
        for s, stop in entries(round_, "stops"):
            here: Path_ = ("rounds", r, "stops", s)
            zone, device = text(stop, "zone"), text(stop, "device")
            if zone is not None and zone not in zones:
                yield error((*here, "zone"), undefined_zone(zone, zones))
            if device is not None and device not in devices:
                message = f"device {device!r} is not defined under devices:{did_you_mean(device, devices)}"
                yield error((*here, "device"), message)


def _unique(data: Any, key: str, what: str, error: ErrorAt) -> Iterator[SiteError]:
    seen: dict[str, int] = {}
    for index, item in entries(data, key):
        item_id = text(item, "id")
        if item_id is None:
            continue
        if item_id in seen:
            yield error((key, index, "id"), f"duplicate {what} id {item_id!r} (also {key}[{seen[item_id]}])")
        seen.setdefault(item_id, index)


def _refs(
    node: dict[str, Any], here: Path_, key: str, known: dict[str, int], what: str, error: ErrorAt
) -> Iterator[SiteError]:
    values = node.get(key)
    for i, value in enumerate(values if isinstance(values, list) else []):
        if not isinstance(value, str) or value in known:
            continue
        message = (
            undefined_zone(value, known)
            if what == "zone"
            else f"{what} {value!r} is not defined under {what}s:{did_you_mean(value, known)}"
        )
        yield error((*here, key, i), message)
