"""Cross-reference checks of computed points on the raw YAML data: each measure belongs to its source, and its ref
names a service or window group of ``queues:`` (queue figures) or a zone (crowding figures).

A computed point whose ref names nothing would never get a value: the queue service only logged it at start, so a
typo went unnoticed until someone wondered why a figure stayed empty. `halltwin check` says it with the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twin.site.checks import ErrorAt, Path_, entries, text
from twin.site.computed_model import CROWD_MEASURES, GROUP_MEASURES, SERVICE_MEASURES
from twin.site.errors import SiteError
from twin.site.suggest import did_you_mean

QUEUE_MEASURES = tuple(dict.fromkeys((*SERVICE_MEASURES, *GROUP_MEASURES, "satisfaction")))


def check_computed(data: Any, error: ErrorAt) -> Iterator[SiteError]:
    """Every computed point's measure and ref against its device's source (see the module docstring)."""
    queues = data.get("queues") if isinstance(data, dict) else None
    services = {sid: i for i, s in entries(queues, "services") if (sid := text(s, "id")) is not None}
    groups = {gid: i for i, g in entries(queues, "groups") if (gid := text(g, "id")) is not None}
    zones = {zid: i for i, z in entries(data, "zones") if (zid := text(z, "id")) is not None}
    for d, device in entries(data, "devices"):
        connection = device.get("connection")
        if text(connection, "type") != "computed":
            continue
        source = text(connection, "source")
        for p, point in entries(device, "points"):
            address = point.get("address")
            if text(address, "type") != "computed":
                continue
            measure, ref = text(address, "measure"), text(address, "ref")
            where: Path_ = ("devices", d, "points", p, "address")
            if measure is None:
                continue  # the schema reports it
            if source == "queues":
                yield from _queue_point(measure, ref, where, services, groups, error)
            elif source == "crowding":
                yield from _crowd_point(measure, ref, where, zones, error)


def _queue_point(measure: str, ref: str | None, where: Path_, services: dict[str, int], groups: dict[str, int],
                 error: ErrorAt) -> Iterator[SiteError]:  # fmt: skip
    if measure not in QUEUE_MEASURES:
        yield error((*where, "measure"), f"measure {measure!r} is not a queue figure (queue measures: "
                    f"{', '.join(QUEUE_MEASURES)}){did_you_mean(measure, QUEUE_MEASURES)}")  # fmt: skip
        return
    if ref is None:
        if measure != "satisfaction":  # the only hall-wide queue figure
            kind = "window group" if measure in GROUP_MEASURES and measure != "waiting" else "service"
            yield error(where, f"measure {measure!r} needs ref: (a {kind} id under queues:)")
        return
    if measure == "waiting":  # per service or per window group
        if ref not in services and ref not in groups:
            yield error((*where, "ref"), f"{ref!r} is neither a service nor a window group under queues:"
                        f"{did_you_mean(ref, [*services, *groups])}")  # fmt: skip
    elif measure in GROUP_MEASURES:
        if ref not in groups:
            hint = " (it is a service: its group is under queues.services)" if ref in services else ""
            yield error((*where, "ref"), f"window group {ref!r} is not defined under queues.groups:"
                        f"{did_you_mean(ref, groups) or hint}")  # fmt: skip
    elif ref not in services:
        hint = " (it is a window group; this figure is per service)" if ref in groups else ""
        yield error((*where, "ref"), f"service {ref!r} is not defined under queues.services:"
                    f"{did_you_mean(ref, services) or hint}")  # fmt: skip


def _crowd_point(measure: str, ref: str | None, where: Path_, zones: dict[str, int],
                 error: ErrorAt) -> Iterator[SiteError]:  # fmt: skip
    if measure not in CROWD_MEASURES:
        yield error((*where, "measure"), f"measure {measure!r} is not a crowding figure (crowding measures: "
                    f"{', '.join(CROWD_MEASURES)}){did_you_mean(measure, CROWD_MEASURES)}")  # fmt: skip
    elif ref is not None and ref not in zones:
        yield error((*where, "ref"), f"zone {ref!r} is not defined under zones:{did_you_mean(ref, zones)}")
