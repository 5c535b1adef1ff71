"""Cross-reference checks of ``broadcast:`` on the raw YAML data: speakers, multicast groups, messages, zones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twin.site.checks import ErrorAt, entries, text
from twin.site.errors import SiteError
from twin.site.suggest import did_you_mean


def check_broadcast(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Each speaker endpoint names a speaker of some PA zone; multicast speakers need their zone's group; silent
    zones are PA zones."""
    section = data.get("broadcast") if isinstance(data, dict) else None
    zone_of: dict[str, str] = {}
    multicast: dict[str, bool] = {}
    pa_ids: dict[str, int] = {}
    for index, pa in entries(data, "pa_zones"):
        pa_id = text(pa, "id")
        if pa_id is None:
            continue
        pa_ids.setdefault(pa_id, index)
        multicast[pa_id] = isinstance(pa.get("multicast"), str)
        speakers = pa.get("speakers")
        for speaker in speakers if isinstance(speakers, list) else []:
            if isinstance(speaker, str):
                zone_of.setdefault(speaker, pa_id)
    for s, speaker in entries(section, "speakers"):
        device = text(speaker, "device")
        if device is None:
            continue
        where: tuple[str | int, ...] = ("broadcast", "speakers", s, "device")
        if device not in zone_of:
            yield error(where, f"speaker {device!r} is in no PA zone's speakers:{did_you_mean(device, zone_of)}")
        elif text(speaker, "type") == "multicast" and not multicast.get(zone_of[device], False):
            yield error(where, f"speaker {device!r} is multicast but PA zone {zone_of[device]!r} has no multicast:")
    queue = section.get("queue_calls") if isinstance(section, dict) else None
    silent = queue.get("silent_zones") if isinstance(queue, dict) else None
    for i, zone in enumerate(silent if isinstance(silent, list) else []):
        if isinstance(zone, str) and zone not in pa_ids:
            yield error(
                ("broadcast", "queue_calls", "silent_zones", i),
                f"PA zone {zone!r} is not defined under pa_zones:{did_you_mean(zone, pa_ids)}",
            )
