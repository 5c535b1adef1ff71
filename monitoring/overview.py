"""The operations overview of the big screen (T/ZAS 4012 7.3.2): people in the hall now and today's curve,
entrances in and out, energy today, all from the points' history (so a restart loses none of the day)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from monitoring.history.base import HistoryBucket, HistoryStore
from twin.points import PointUpdate, Quality
from twin.site.model import DeviceKind, SiteConfig

STEP_S = 900.0  # the day's curves in quarter hours


def increase(buckets: Sequence[HistoryBucket], start: float, from_zero: bool) -> float:
    """How much a counter or energy register rose since ``start``, robust to a reset (a drop counts as zero).
    The buckets run from a day before ``start``: the last value before it is the baseline. Without one, a people
    counter is taken to have started at zero today (``from_zero``; counters reset at midnight or were installed
    today), an energy register at its first value today (its reading is the building's lifetime)."""
    before = [b for b in buckets if b.ts < start]
    today = [b for b in buckets if b.ts >= start]
    if not today:
        return 0.0
    if before:
        baseline = before[-1].last
    else:
        baseline = 0.0 if from_zero else today[0].min
    total = max(0.0, today[0].last - baseline) if before or from_zero else max(0.0, today[0].last - today[0].min)
    for earlier, later in zip(today, today[1:], strict=False):
        total += max(0.0, later.last - earlier.last)
    return total


def midnight(now: float, local: tzinfo) -> float:
    day = datetime.fromtimestamp(now, local)
    return day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class HallOverview:
    """People, entrances and energy of one site, from its history store and the bus's latest values."""

    def __init__(self, site: SiteConfig, local: tzinfo) -> None:
        self.site = site
        self.local = local
        self.counters = [
            (d, next((p.id for p in d.points if p.id.endswith("count_in")), None),
            next((p.id for p in d.points if p.id.endswith("count_out")), None))
            for d in site.devices if d.kind == DeviceKind.PEOPLE_COUNTER
        ]  # fmt: skip
        self.meters = [(d, p) for d in site.devices for p in d.points if p.unit == "kWh" and p.kind == "analog"]

    async def figures(self, history: HistoryStore, latest: Mapping[str, PointUpdate], now: float) -> dict[str, Any]:
        start = midnight(now, self.local)
        end = max(now, start + 1.0)
        ids = [i for _, a, b in self.counters for i in (a, b) if i] + [p.id for _, p in self.meters]
        # From a day earlier: the last value before midnight is each register's baseline.
        results = await asyncio.gather(*(history.query(i, start - 86_400, end, STEP_S) for i in ids))
        buckets = {i: r.buckets for i, r in zip(ids, results, strict=True)}
        entrances = []
        for device, in_id, out_id in self.counters:
            entrances.append({
                "device": device.id, "name": device.name.model_dump(), "zone": device.zone,
                "in_today": round(increase(buckets.get(in_id or "", ()), start, from_zero=True)),
                "out_today": round(increase(buckets.get(out_id or "", ()), start, from_zero=True)),
            })  # fmt: skip
        energy: list[dict[str, Any]] = [
            {"point": p.id, "device": d.id, "name": d.name.model_dump(),
             "kwh_today": round(increase(buckets[p.id], start, from_zero=False), 1)}
            for d, p in self.meters
        ]  # fmt: skip
        return {
            "at": now, "day_start": start,
            "people_now": self._people_now(latest),
            "people_curve": self._curve(buckets, start, end),
            "entrances": entrances,
            "in_today": sum(e["in_today"] for e in entrances), "out_today": sum(e["out_today"] for e in entrances),
            "energy": energy,
            # The main incomer when the site names one meter per feeder: the largest of them is the building.
            "energy_today_kwh": max((float(e["kwh_today"]) for e in energy), default=None),
        }  # fmt: skip

    def _people_now(self, latest: Mapping[str, PointUpdate]) -> float | None:
        inside = 0.0
        seen = False
        for _, in_id, out_id in self.counters:
            entered, left = latest.get(in_id or ""), latest.get(out_id or "")
            if entered is None or entered.quality is not Quality.GOOD or not isinstance(entered.value, int | float):
                continue
            seen = True
            gone = left.value if left is not None and isinstance(left.value, int | float) else 0
            inside += float(entered.value) - float(gone)
        return max(0.0, round(inside)) if seen else None

    def _curve(self, buckets: Mapping[str, Sequence[HistoryBucket]], start: float, end: float) -> list[list[float]]:
        """[[time, people]] per quarter hour of today: every counter's in minus out (last values carried on)."""
        steps = int((end - start) // STEP_S) + 1
        total = [0.0] * steps
        seen = [False] * steps
        for _, in_id, out_id in self.counters:
            for point_id, sign in ((in_id, 1.0), (out_id, -1.0)):
                today = (b for b in buckets.get(point_id or "", ()) if b.ts >= start)
                by_slot = {int((b.ts - start) // STEP_S): b.last for b in today}
                value = None
                for slot in range(steps):
                    value = by_slot.get(slot, value)
                    if value is not None:
                        total[slot] += sign * value
                        seen[slot] = True
        return [[start + i * STEP_S, max(0.0, round(v))] for i, (v, s) in enumerate(zip(total, seen, strict=True)) if s]
