"""The next hour's arrivals per service: the weekday profile of past weeks (15-minute slots, from the event
journal) scaled by how today compares so far; without a profile, the last hour's rate carries on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from monitoring.queues.analytics import SLOT_S
from monitoring.queues.journal import EventJournal

SLOTS = 86_400 // SLOT_S
MIN_SCALE, MAX_SCALE = 0.25, 4.0
MIN_BASIS = 5.0  # arrivals the profile must expect so far before today's ratio is trusted


@dataclass(frozen=True)
class WeekdayProfile:
    """Mean arrivals per 15-minute slot for each (weekday, service), over the days the journal has."""

    means: Mapping[tuple[int, str], tuple[float, ...]]
    days: Mapping[int, int]  # weekday -> how many past days made its profile

    def of(self, weekday: int, service: str) -> tuple[float, ...] | None:
        return self.means.get((weekday, service))


def build_profile(journal: EventJournal, today: date, weeks: int, services: Iterable[str]) -> WeekdayProfile:
    """Count the issued tickets of the ``weeks`` past weeks (blocking file reads: run it in a thread)."""
    wanted = set(services)
    sums: dict[tuple[int, str], list[float]] = {}
    days: dict[int, int] = {}
    for back in range(1, weeks * 7 + 1):
        day = today - timedelta(days=back)
        counts: dict[str, list[float]] = {}
        seen = False
        for record in journal.read("events", day):
            seen = True
            if record.get("type") != "issued" or record.get("service") not in wanted:
                continue
            local = datetime.fromtimestamp(float(record["at"]), journal.local)
            slot = (local.hour * 3600 + local.minute * 60 + local.second) // SLOT_S
            counts.setdefault(record["service"], [0.0] * SLOTS)[slot] += 1
        if not seen:
            continue
        weekday = day.weekday()
        days[weekday] = days.get(weekday, 0) + 1
        for service in wanted:
            row = sums.setdefault((weekday, service), [0.0] * SLOTS)
            for slot, count in enumerate(counts.get(service, ())):
                row[slot] += count
    means = {key: tuple(v / days[key[0]] for v in row) for key, row in sums.items() if days.get(key[0])}
    return WeekdayProfile(means, days)


@dataclass(frozen=True)
class Forecast:
    arrivals: float  # tickets expected in the next hour
    method: str  # "profile" or "last_hour"
    scale: float  # today's arrivals so far / the profile's, applied to the profile
    profile_days: int


def forecast_next_hour(
    profile: WeekdayProfile, service: str, now: float, local: tzinfo, today_slots: Mapping[int, int],
    arrivals_last_hour: int,
) -> Forecast:
    """Arrivals of ``service`` in [now, now + 1 h)."""
    moment = datetime.fromtimestamp(now, local)
    weekday = moment.weekday()
    row = profile.of(weekday, service)
    if row is None or not any(row):
        return Forecast(float(arrivals_last_hour), "last_hour", 1.0, 0)
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    slot, into = int(seconds // SLOT_S), (seconds % SLOT_S) / SLOT_S
    expected_so_far = sum(row[:slot]) + row[slot] * into
    actual_so_far = float(sum(count for s, count in today_slots.items() if s <= slot))
    scale = 1.0
    if expected_so_far >= MIN_BASIS:
        scale = min(MAX_SCALE, max(MIN_SCALE, actual_so_far / expected_so_far))
    # The next hour: the rest of this slot, three whole slots, and the start of the fifth (past midnight: zero).
    ahead = row[slot] * (1 - into)
    for step in range(1, 4):
        ahead += row[slot + step] if slot + step < SLOTS else 0.0
    ahead += (row[slot + 4] if slot + 4 < SLOTS else 0.0) * into
    return Forecast(ahead * scale, "profile", scale, profile.days.get(weekday, 0))
