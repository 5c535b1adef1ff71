"""The ``queues:`` and ``heatmap:`` sections of site.yaml: ticket services, window groups, where events come from,
and the occupancy grid's resolution (T/ZAS 4012 7.1.3, DB31/T 862 4.3.3.5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from twin.site.model import Ident, Names, Strict

WindowNumber = Annotated[str, Field(pattern=r"^\d{1,3}[A-Z]?$")]


class WindowGroup(Strict):
    """Windows that serve the same tickets (无差别综合窗口, per-domain windows ...): opened and closed together as
    its queues grow (DB31/T 862 4.3.3.5)."""

    id: Ident
    name: Names
    zone: Ident = Field(description="The window service zone the windows stand in")
    waiting_zone: Ident | None = Field(default=None, description="Where its visitors wait (the heatmap puts the "
                                       "queue there); default: the group's own zone")
    windows: list[WindowNumber] = Field(min_length=1, max_length=300, description="Window numbers, e.g. ['1', '12B']")
    target_wait_min: float = Field(default=15.0, gt=0, le=600, description="Waits the advice keeps under")
    wait_alarm_min: float | None = Field(default=30.0, gt=0, le=600, description="A queue alarm (with the advice) "
                                         "when the p90 or the longest wait stays above this; none: no alarm")

    @field_validator("windows")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        repeated = sorted({w for w in value if value.count(w) > 1})
        if repeated:
            raise ValueError(f"window numbers repeat: {', '.join(repeated)}")
        return value


class TicketService(Strict):
    """A ticket category (a service): its ticket prefix and the window group that serves it."""

    id: Ident
    name: Names
    prefix: Annotated[str, Field(pattern=r"^[A-Z]{1,3}$")] = Field(description="Ticket letters, e.g. A for A023")
    group: Ident = Field(description="The window group that calls these tickets")


class QueueSettings(Strict):
    """Where the queue system's ticket events come from and what it serves."""

    events_topic: str | None = Field(default=None, description="MQTT topic of ticket events (JSON, one per message)"
                                     "; none: events come by the webhook only")
    webhook_secret_env: str | None = Field(
        default=None, description="Environment variable holding the webhook's HMAC-SHA256 secret; none: no webhook")
    stats_window_min: float = Field(default=60.0, gt=0, le=24 * 60, description="Waits and service times are "
                                    "taken over tickets called in this many minutes")
    profile_weeks: int = Field(default=8, ge=1, le=104, description="Past weeks the weekday arrival profile uses")
    groups: list[WindowGroup] = Field(default_factory=list)
    services: list[TicketService] = Field(default_factory=list)

    @field_validator("events_topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and ("+" in value or "#" in value or not value.strip()):
            raise ValueError("events_topic must be one topic without wildcards")
        return value

    @model_validator(mode="after")
    def _references(self) -> QueueSettings:
        groups = {g.id for g in self.groups}
        for kind, ids in (("group", [g.id for g in self.groups]), ("service", [s.id for s in self.services])):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} ids repeat: {', '.join(repeated)}")
        prefixes = [s.prefix for s in self.services]
        repeated = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if repeated:
            raise ValueError(f"ticket prefixes repeat (a ticket must name one service): {', '.join(repeated)}")
        for service in self.services:
            if service.group not in groups:
                raise ValueError(f"service {service.id}: no window group {service.group!r} "
                                 f"(groups: {', '.join(sorted(groups)) or 'none'})")
        seen: dict[str, str] = {}
        for group in self.groups:
            for window in group.windows:
                if window in seen:
                    raise ValueError(f"window {window} is in groups {seen[window]} and {group.id}")
                seen[window] = group.id
        return self

    def group_of_window(self, window: str) -> WindowGroup | None:
        for group in self.groups:
            if window in group.windows:
                return group
        return None


class HeatmapSettings(Strict):
    """The occupancy grid: cell size, how far a seen person spreads, and how long a time window may be."""

    cell_m: float = Field(default=0.5, ge=0.1, le=5.0, description="Grid cell edge, metres")
    sigma_m: float = Field(default=0.5, ge=0.05, le=5.0, description="A seen person spreads over this radius")
    crowding_density: float | None = Field(default=2.0, gt=0, le=10, description="People per m2 in a zone that "
                                           "raise a crowding alarm; none: no alarm")
    zone_density: dict[str, float] = Field(default_factory=dict, description="Per zone id: its own crowding limit")
    keep_min: int = Field(default=240, ge=5, le=24 * 60, description="Minutes of one-minute grids kept for "
                          "time-window heatmaps (about 20 KB per storey and minute for a 60 x 40 m floor)")
