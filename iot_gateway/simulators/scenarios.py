"""Incident scenarios for the simulated hall: fire in a zone, water leak in the server room, mains failure,
door forced, emergency button pressed. Each one starts and clears by changing the HallState."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from iot_gateway.simulators.hall_state import HallState
from iot_gateway.simulators.scenario_names import SCENARIO_NAMES
from twin.i18n import names
from twin.site.model import Names, SiteConfig, ZoneType


class ScenarioError(ValueError):
    """A scenario that cannot run on this site (unknown name, no such zone, no such device)."""


@dataclass(frozen=True)
class Scenario:
    """A named incident: ``start`` applies it, ``clear`` undoes it (as staff would: reset by hand).
    ``title`` is for people (Chinese first), ``description`` for the log."""

    name: str
    title: Names
    description: str
    target: str
    start: Callable[[HallState], None]
    clear: Callable[[HallState], None]


def _zone(site: SiteConfig, wanted: str | None, default_type: ZoneType) -> str:
    ids = [zone.id for zone in site.zones]
    if wanted is not None:
        if wanted not in ids:
            raise ScenarioError(f"zone {wanted!r} is not in site {site.site.id} (zones: {', '.join(ids)})")
        return wanted
    for zone in site.zones:
        if zone.zone_type == default_type:
            return zone.id
    raise ScenarioError(f"site {site.site.id} has no {default_type.value} zone")


def _point_with(site: SiteConfig, wanted: str | None, marker: str, what: str) -> str:
    """A point id whose suffix starts with ``marker`` (``ebtn_``, ``door_``); ``wanted`` must be one of them."""
    found = [p.id for d in site.devices for p in d.points if p.id.removeprefix(d.id + ".").startswith(marker)]
    if wanted is not None:
        matches = [p for p in found if p == wanted or p.startswith(wanted + ".")]
        if not matches:
            raise ScenarioError(f"{what} {wanted!r} is not in site {site.site.id}")
        return matches[0]
    if not found:
        raise ScenarioError(f"site {site.site.id} has no {what}")
    return found[0]


def build_scenario(site: SiteConfig, name: str, target: str | None = None) -> Scenario:
    """The scenario ``name`` on ``site``; ``target`` picks the zone, door or button (a sensible default else)."""
    if name == "fire":
        zone = _zone(site, target, ZoneType.WAITING)
        return Scenario(name, names("scenario.fire", zone=site.zone(zone).name), f"fire in zone {zone}", zone,
                        lambda s: s.fire_zones.add(zone), lambda s: s.fire_zones.discard(zone))
    if name == "water_leak":
        zone = _zone(site, target, ZoneType.SERVER_ROOM)
        title = names("scenario.water_leak", zone=site.zone(zone).name)
        return Scenario(name, title, f"water leak in zone {zone}", zone,
                        lambda s: s.leaking_zones.add(zone), lambda s: s.leaking_zones.discard(zone))
    if name == "mains_failure":
        def fail(s: HallState) -> None:
            s.mains_ok = False

        def restore(s: HallState) -> None:
            s.mains_ok = True

        title = names("scenario.mains_failure")
        return Scenario(name, title, "mains power failure: UPS on battery", "mains", fail, restore)
    if name == "door_forced":
        door = _point_with(site, target, "door_", "access-controlled door").rsplit(".", 1)[0]
        return Scenario(name, names("scenario.door_forced", door=door), f"door {door} forced open", door,
                        lambda s: s.forced_doors.add(door), lambda s: s.forced_doors.discard(door))
    if name == "emergency_button":
        button = _point_with(site, target, "ebtn_", "emergency button")
        title = names("scenario.emergency_button", button=button)
        return Scenario(name, title, f"emergency button {button} pressed (latched)", button,
                        lambda s: s.pressed_buttons.add(button), lambda s: s.pressed_buttons.discard(button))
    raise ScenarioError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIO_NAMES)}")

