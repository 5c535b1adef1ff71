"""The physical state of the simulated hall: visitors, queues, room climate, mains power, UPS battery, incidents.

The state moves in steps of simulated time. It knows nothing about protocols; ``point_values`` turns it into the
values each device reports.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

OPENING_HOUR, CLOSING_HOUR = 9.0, 17.0
QUEUE_CATEGORIES = ("integrated", "domain", "cross_province", "pickup")
QUEUE_SHARE = {"integrated": 0.5, "domain": 0.25, "cross_province": 0.1, "pickup": 0.15}
QUEUE_LETTER = {"integrated": "A", "domain": "B", "cross_province": "C", "pickup": "D"}
SERVICE_MINUTES = {"integrated": 6.0, "domain": 8.0, "cross_province": 10.0, "pickup": 2.0}
MAX_WINDOWS = {"integrated": 14, "domain": 8, "cross_province": 4, "pickup": 4}
MEAN_VISIT_MINUTES = 40.0
UPS_FULL_LOAD_RUNTIME_MIN = 12.0  # a typical 30-minute-at-40%-load hall UPS
NOMINAL_VOLTAGE = 230.0


def visitor_shape(hour: float) -> float:
    """Relative arrival rate over the day: peaks at opening and after lunch (HALL.md), a trickle at night
    (the 24-hour self-service zone)."""
    if not OPENING_HOUR <= hour < CLOSING_HOUR:
        return 0.02
    lunch_dip = 0.5 if 12.0 <= hour < 13.0 else 1.0
    return lunch_dip * (
        0.3 + math.exp(-(((hour - 9.6) / 0.8) ** 2)) + 0.8 * math.exp(-(((hour - 14.5) / 1.0) ** 2))
    )


# Integral of visitor_shape over opening hours, so that daily_visitors means what it says.
_SHAPE_AREA = sum(visitor_shape(OPENING_HOUR + i / 60) for i in range(int((CLOSING_HOUR - OPENING_HOUR) * 60))) / 60


@dataclass
class QueueState:
    """One ticket category: people waiting, windows open, the last number called."""

    waiting: float = 0.0
    open_windows: int = 1
    served_total: float = 0.0
    letter: str = "A"

    @property
    def served(self) -> int:
        return int(self.served_total)

    @property
    def last_called(self) -> str:
        return f"{self.letter}{self.served:03d}" if self.served else ""


@dataclass
class HallState:
    """Everything the simulated devices report, advanced by ``step``."""

    daily_visitors: float = 1500.0
    seed: int = 7
    hour: float = 9.0
    occupancy: float = 0.0
    entered: float = 0.0
    left: float = 0.0
    mains_ok: bool = True
    battery_charge: float = 100.0
    ups_load: float = 40.0
    outdoor_temp: float = 30.0
    zone_temp: dict[str, float] = field(default_factory=dict)
    zone_humidity: dict[str, float] = field(default_factory=dict)
    zone_cooling: dict[str, bool] = field(default_factory=dict)
    setpoint: dict[str, float] = field(default_factory=dict)
    queues: dict[str, QueueState] = field(default_factory=dict)
    fire_zones: set[str] = field(default_factory=set)  # hall zone ids on fire
    leaking_zones: set[str] = field(default_factory=set)
    forced_doors: set[str] = field(default_factory=set)  # door point prefixes, e.g. security-ctl.door_2
    pressed_buttons: set[str] = field(default_factory=set)  # point ids; latched until reset by hand
    energy_kwh: dict[str, float] = field(default_factory=dict)
    public_zones: set[str] = field(default_factory=set)  # zones visitors stand in: they warm with the crowd

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for category in QUEUE_CATEGORIES:
            self.queues.setdefault(category, QueueState(letter=QUEUE_LETTER[category]))

    @property
    def open(self) -> bool:
        return OPENING_HOUR <= self.hour < CLOSING_HOUR

    def arrivals_per_second(self) -> float:
        return self.daily_visitors / _SHAPE_AREA * visitor_shape(self.hour) / 3600.0

    def step(self, seconds: float) -> None:
        """Advance the hall by ``seconds`` of simulated time."""
        if seconds <= 0:
            return
        self.hour = (self.hour + seconds / 3600.0) % 24.0
        arrivals = self.arrivals_per_second() * seconds
        departures = self.occupancy * (1 - math.exp(-seconds / (MEAN_VISIT_MINUTES * 60)))
        if not self.open and self.hour >= CLOSING_HOUR:
            departures = max(departures, min(self.occupancy, seconds / 60.0 * 10))  # closing: people leave
        self.occupancy += arrivals - departures
        self.entered += arrivals
        self.left += departures
        self._step_queues(arrivals, seconds)
        self._step_climate(seconds)
        self._step_ups(seconds)

    def _step_queues(self, arrivals: float, seconds: float) -> None:
        for category, queue in self.queues.items():
            queue.waiting += arrivals * QUEUE_SHARE[category]
            service_rate = queue.open_windows / (SERVICE_MINUTES[category] * 60.0) if self.open else 0.0
            served = min(queue.waiting, service_rate * seconds)
            queue.waiting -= served
            queue.served_total += served
            # Open or close windows as the queue grows or shrinks (T/ZAS 7.1.3): five waiting per window is the
            # point where a manager opens another.
            per_window = queue.waiting / max(queue.open_windows, 1)
            if per_window > 5 and queue.open_windows < MAX_WINDOWS[category]:
                queue.open_windows += 1
            elif per_window < 1.5 and queue.open_windows > 1:
                queue.open_windows -= 1

    def average_wait_s(self, category: str) -> float:
        queue = self.queues[category]
        if queue.waiting < 0.5:
            return 0.0
        return queue.waiting * SERVICE_MINUTES[category] * 60.0 / max(queue.open_windows, 1)

    def _step_climate(self, seconds: float) -> None:
        people_heat = min(self.occupancy / 400.0, 1.5)  # a full hall warms rooms by about 1.5 degC
        for zone, temp in self.zone_temp.items():
            target = self.setpoint.get(zone, 24.0) if self.zone_cooling.get(zone, True) else self.outdoor_temp
            target += people_heat if zone in self.public_zones else 0.0
            if zone in self.fire_zones:
                target = 60.0
            # Mean reversion with a 15-minute time constant plus a random walk: a room's air drifts.
            alpha = 1 - math.exp(-seconds / 900.0)
            noise = self.rng.gauss(0.0, 0.03 * math.sqrt(seconds))
            self.zone_temp[zone] = temp + (target - temp) * alpha + noise
            humidity = self.zone_humidity.get(zone, 50.0)
            self.zone_humidity[zone] = min(95.0, max(20.0, humidity + (50.0 - humidity) * alpha
                                                     + self.rng.gauss(0.0, 0.1 * math.sqrt(seconds))))

    def _step_ups(self, seconds: float) -> None:
        if self.mains_ok:
            self.battery_charge = min(100.0, self.battery_charge + seconds / 60.0 * 0.5)
        else:
            # Discharge in proportion to load: full load empties the battery in UPS_FULL_LOAD_RUNTIME_MIN.
            per_minute = 100.0 / UPS_FULL_LOAD_RUNTIME_MIN * (self.ups_load / 100.0)
            self.battery_charge = max(0.0, self.battery_charge - per_minute * seconds / 60.0)

    def ups_runtime_min(self) -> float:
        full = UPS_FULL_LOAD_RUNTIME_MIN * 100.0 / max(self.ups_load, 1.0)
        return full * self.battery_charge / 100.0
