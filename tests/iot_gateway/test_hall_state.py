"""The simulated hall's dynamics: the daily visitor curve, queues and windows, climate drift, UPS discharge."""

from __future__ import annotations

import pytest

from iot_gateway.simulators.hall_state import CLOSING_HOUR, OPENING_HOUR, HallState, visitor_shape


def run_day(state: HallState, step_s: float = 60.0) -> list[HallState]:
    for _ in range(int(24 * 3600 / step_s)):
        state.step(step_s)
    return [state]


def test_a_day_brings_the_configured_number_of_visitors() -> None:
    state = HallState(daily_visitors=2000, hour=0.0)
    run_day(state)
    # The night trickle (24-hour zone) adds a little on top of the opening-hours visitors.
    assert 2000 <= state.entered <= 2000 * 1.1
    assert state.occupancy < 5  # everybody has gone home by midnight


def test_peaks_at_opening_and_after_lunch() -> None:
    morning = max(visitor_shape(OPENING_HOUR + i / 10) for i in range(0, 20))
    lunch = visitor_shape(12.5)
    afternoon = max(visitor_shape(14 + i / 10) for i in range(0, 20))
    assert morning > lunch and afternoon > lunch
    assert visitor_shape(3.0) < 0.05 and visitor_shape(CLOSING_HOUR) < 0.05


def test_windows_open_as_queues_grow_and_close_as_they_shrink() -> None:
    state = HallState(daily_visitors=3000, hour=9.0)
    opened = []
    for _ in range(90):
        state.step(60)
        opened.append(state.queues["integrated"].open_windows)
    assert max(opened) > 3
    assert state.queues["integrated"].last_called.startswith("A")
    state.hour = 17.5
    state.queues["integrated"].waiting = 0
    for _ in range(30):
        state.step(60)
    assert state.queues["integrated"].open_windows == 1


def test_room_temperature_follows_cooling_and_drifts_without() -> None:
    state = HallState(hour=10.0, outdoor_temp=32.0, zone_temp={"hall": 28.0}, setpoint={"hall": 24.0})
    for _ in range(120):
        state.step(60)
    assert 23.0 < state.zone_temp["hall"] < 25.5
    state.zone_cooling["hall"] = False
    for _ in range(120):
        state.step(60)
    assert state.zone_temp["hall"] > 30.0


def test_ups_discharges_on_mains_failure_and_recharges() -> None:
    state = HallState(ups_load=50.0)
    full_runtime = state.ups_runtime_min()
    state.mains_ok = False
    for _ in range(5):
        state.step(60)
    assert state.battery_charge == pytest.approx(100 - 5 * 100 / 12 * 0.5, abs=0.01)
    assert state.ups_runtime_min() == pytest.approx(full_runtime - 5, abs=0.01)
    state.mains_ok = True
    before = state.battery_charge
    state.step(600)
    assert state.battery_charge > before


def test_seeded_runs_repeat() -> None:
    a, b = HallState(seed=3, zone_temp={"z": 25.0}), HallState(seed=3, zone_temp={"z": 25.0})
    for state in (a, b):
        for _ in range(50):
            state.step(30)
    assert a.zone_temp == b.zone_temp and a.entered == b.entered


def test_meters_count_energy_and_stop_without_mains() -> None:
    from bim_models.demo_hall import SITE_PATH
    from iot_gateway.simulators.hall import HallLayout
    from iot_gateway.simulators.hall_model import HallModel
    from twin.site import load_site

    state = HallState(hour=10.0)
    model = HallModel(load_site(SITE_PATH, guid_index=None), HallLayout(), state)
    before = model.values({})["pm-1.energy"]
    assert isinstance(before, float) and before >= 10_000
    power = model.meter_power_kw("pm-1")
    model.integrate(3600)
    after = model.values({})["pm-1.energy"]
    assert isinstance(after, float) and after == pytest.approx(before + power, abs=0.2)
    state.mains_ok = False
    model.integrate(3600)
    assert model.values({})["pm-1.energy"] == after
    assert model.values({})["pm-1.voltage"] == 0.0
