"""Alarm system health (ISA-18.2 / EEMUA 191): rate per 10 minutes, floods, stale, chattering, bad actors, mix."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from store.alarms import Alarm

BUCKET_S = 600.0  # ISA-18.2 counts alarms per operator per 10 minutes
FLOOD_PER_10_MIN = 10  # more than 10 annunciations in 10 minutes is a flood
TARGET_PER_10_MIN = 1.0  # ~1 per 10 minutes is manageable
CRITICAL_MAX_SHARE = 0.05  # critical alarms should be under 5 % of all
PRIORITIES = ("critical", "high", "medium", "low")


def alarm_kpis(
    raised: list[tuple[float, str, str, str, bool]],
    open_alarms: list[Alarm],
    *,
    since: float,
    until: float,
    stale_after_s: float,
    chatter_count: int,
    chatter_window_s: float,
) -> dict[str, Any]:
    """KPIs over [since, until) from the annunciations (time, source, priority, rule, suppressed) stored then."""
    shown = [r for r in raised if not r[4]]  # suppressed by design: recorded, never annunciated
    buckets = max(1, math.ceil((until - since) / BUCKET_S))
    counts = [0] * buckets
    for at, *_ in shown:
        counts[min(buckets - 1, int((at - since) // BUCKET_S))] += 1
    sources = Counter(source for _, source, *_ in shown)
    priorities = Counter(priority for _, _, priority, *_ in shown)
    total = len(shown)
    chattering_sources = _chattering(shown, chatter_count, chatter_window_s)
    stale = [a for a in open_alarms if a.active and until - a.raised_at > stale_after_s]
    window_min = (until - since) / 60.0
    return {
        "window_min": round(window_min, 3),
        "total": total,
        "suppressed": len(raised) - total,
        "per_10_min": round(total / (window_min / 10.0), 3) if window_min > 0 else 0.0,
        "per_10_min_target": TARGET_PER_10_MIN,
        "buckets": [{"start": since + i * BUCKET_S, "count": c} for i, c in enumerate(counts)],
        "peak_10_min": max(counts) if counts else 0,
        "floods": sum(1 for c in counts if c > FLOOD_PER_10_MIN),
        "flood_threshold": FLOOD_PER_10_MIN,
        "stale": len(stale),
        "stale_ids": [a.id for a in stale],
        "chattering": len(chattering_sources | {a.source_key for a in open_alarms if a.chattering}),
        "top_sources": [{"source": s, "count": c} for s, c in sources.most_common(10)],
        "priority_mix": {
            p: {"count": priorities.get(p, 0), "share": round(priorities.get(p, 0) / total, 4) if total else 0.0}
            for p in PRIORITIES
        },
        "critical_share_max": CRITICAL_MAX_SHARE,
        "active": sum(1 for a in open_alarms if a.active),
        "unacknowledged": sum(1 for a in open_alarms if a.state in ("unack", "rtn_unack")),
        "shelved": sum(1 for a in open_alarms if a.shelved_until is not None),
        "out_of_service": sum(1 for a in open_alarms if a.out_of_service),
    }


def _chattering(shown: list[tuple[float, str, str, str, bool]], count: int, window_s: float) -> set[str]:
    """Sources with ``count`` or more annunciations within any ``window_s`` of the period."""
    times: dict[str, list[float]] = {}
    for at, source, *_ in shown:
        times.setdefault(source, []).append(at)
    found = set()
    for source, stamps in times.items():
        for i in range(len(stamps) - count + 1):
            if stamps[i + count - 1] - stamps[i] <= window_s:
                found.add(source)
                break
    return found
