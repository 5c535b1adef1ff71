"""Live conditions of routes from what the hall reports: spaces with an active fire or smoke alarm, crowd density.

Pure functions over plain data (alarms as the engine's records, the PointBus's latest values), so the runtime
calls them per query and tests call them directly. Crowds come from the computed points that exist on the site:
``crowding`` density or people per zone (the occupancy fusion), and ``queues`` waiting per window group (counted
in the group's waiting zone). A site without them routes without crowd costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twin.points import PointUpdate, Quality
from twin.site.computed_model import ComputedAddress
from twin.site.model import SiteConfig

DANGER_CLASSES = frozenset({"fire", "smoke"})


@dataclass(frozen=True)
class Danger:
    """The alarms that make evacuation routes go around spaces: which, where and since when."""

    alarm_ids: tuple[int, ...]
    classes: tuple[str, ...]
    zones: tuple[str, ...]
    spaces: frozenset[str]
    since: float | None
    drill: bool

    @property
    def active(self) -> bool:
        return bool(self.alarm_ids)


def danger(alarms: Iterable[Any], site: SiteConfig, classes: Iterable[str] = ()) -> Danger:
    """Open fire/smoke alarms (and the site's fire classes) that are active or latched and in service."""
    wanted = DANGER_CLASSES | frozenset(classes)
    zone_space = {z.id: z.ifc_guid for z in site.zones}
    hits = [a for a in alarms if a.alarm_class in wanted and (a.active or a.latched) and not a.out_of_service]
    spaces: set[str] = set()
    zones: list[str] = []
    for alarm in hits:
        spaces.update(alarm.space_guids or ())
        if alarm.zone:
            zones.append(alarm.zone)
            if alarm.zone in zone_space:
                spaces.add(zone_space[alarm.zone])
    zones += [z.id for z in site.zones if z.ifc_guid in spaces]  # a fire zone's alarm names spaces, not zones
    return Danger(
        alarm_ids=tuple(getattr(a, "id", 0) for a in hits),
        classes=tuple(sorted({a.alarm_class for a in hits})),
        zones=tuple(dict.fromkeys(zones)),
        spaces=frozenset(spaces),
        since=min((a.raised_at for a in hits), default=None),
        drill=bool(hits) and all(a.drill for a in hits),
    )


def crowd_density(site: SiteConfig, latest: Mapping[str, PointUpdate], area: Mapping[str, float]) -> dict[str, float]:
    """Persons per m^2 by space GlobalId, from the computed crowding and queue points that have a GOOD value;
    ``area`` gives each space's floor area (m^2)."""
    zone_space = {z.id: z.ifc_guid for z in site.zones}
    groups = {g.id: g.waiting_zone or g.zone for g in site.queues.groups}
    density: dict[str, float] = {}
    people: dict[str, float] = {}
    waiting: dict[str, float] = {}
    for device in site.devices:
        for point in device.points:
            address = point.address
            if not isinstance(address, ComputedAddress) or address.ref is None:
                continue
            update = latest.get(point.id)
            if update is None or update.quality != Quality.GOOD or not isinstance(update.value, int | float):
                continue
            value = max(float(update.value), 0.0)
            if address.measure == "density" and address.ref in zone_space:
                density[zone_space[address.ref]] = value
            elif address.measure == "people" and address.ref in zone_space:
                people[zone_space[address.ref]] = value
            elif address.measure == "waiting" and address.ref in groups and groups[address.ref] in zone_space:
                # a service and its group may both report (the same ids in many sites): one figure per group
                waiting[address.ref] = max(waiting.get(address.ref, 0.0), value)
    for group, count in waiting.items():
        space = zone_space[groups[group]]
        people[space] = people.get(space, 0.0) + count
    for space, count in people.items():
        if space not in density and area.get(space, 0.0) > 0:
            density[space] = count / area[space]
    return density
