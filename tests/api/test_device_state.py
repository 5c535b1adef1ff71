"""A device's state is the worst of its active alarms and of its points, wherever they are bound."""

from __future__ import annotations

from typing import Any

from api.device_state import device_state
from store import Alarm
from tests.alarms.conftest import small_site
from twin.points import PointUpdate, Quality

NOW = 1_000_000.0


def _update(point: str, value: Any, quality: Quality = Quality.GOOD) -> PointUpdate:
    return PointUpdate(point, value, quality, NOW, NOW)


def _alarm(**fields: Any) -> Alarm:
    base: dict[str, Any] = {"source_key": "k", "rule": "fire_zone.fire.smoke_1", "alarm_class": "fire",
                            "priority": "critical", "state": "unack", "active": True, "raised_at": NOW,
                            "title": {"zh": "火警", "en": "Fire"}, "message": {"zh": "", "en": ""}, "id": 7,
                            "device": "fire", "point": "fire.smoke_1"}  # fmt: skip
    return Alarm(**(base | fields))


def test_the_worst_point_quality_decides_without_alarms() -> None:
    fire = next(d for d in small_site().devices if d.id == "fire")
    good = {p.id: _update(p.id, False) for p in fire.points} | {"fire.comm_lost": _update("fire.comm_lost", False)}
    assert device_state(fire, good, [], NOW).state == "normal"
    assert device_state(fire, good, [], NOW).reason is None
    assert device_state(fire, {}, [], NOW).state == "unknown"
    stale = good | {"fire.smoke_2": _update("fire.smoke_2", False, Quality.STALE)}
    assert device_state(fire, stale, [], NOW).state == "stale"
    lost = stale | {"fire.comm_lost": _update("fire.comm_lost", True)}
    state = device_state(fire, lost, [], NOW)
    assert (state.state, state.reason) == ("unavailable", "fire.comm_lost: unavailable")


def test_an_alarm_on_the_device_or_any_of_its_points_makes_it_alarm_until_set_aside() -> None:
    fire = next(d for d in small_site().devices if d.id == "fire")
    good = {p.id: _update(p.id, False) for p in fire.points}
    on_point = _alarm(device=None)  # a zone alarm names only its point
    assert device_state(fire, good, [on_point], NOW).state == "alarm"
    assert device_state(fire, good, [on_point], NOW).reason == "alarm #7: Fire"
    assert device_state(fire, good, [_alarm(point=None)], NOW).state == "alarm"
    assert device_state(fire, good, [_alarm(device="ups", point="ups.on_battery")], NOW).state == "normal"
    # Cleared but unacknowledged, shelved, suppressed or out of service: the device reads its points again.
    for aside in ({"active": False, "state": "rtn_unack"}, {"shelved_until": NOW + 60}, {"suppressed": True},
                  {"out_of_service": True}, {"state": "normal", "active": False}):  # fmt: skip
        assert device_state(fire, good, [_alarm(**aside)], NOW).state == "normal", aside
    # A latched alarm (emergency button) marks it until reset, even once the condition is gone.
    assert device_state(fire, good, [_alarm(active=False, latched=True)], NOW).state == "alarm"
    assert device_state(fire, good, [_alarm(shelved_until=NOW - 1)], NOW).state == "alarm"  # shelving ran out
