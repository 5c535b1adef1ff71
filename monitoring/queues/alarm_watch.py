"""Queue and crowding alarms with their advice, raised through the alarm engine's external alarms: a figure must
stay over its limit for ``on_delay_s`` to raise, and fall under ``clear_ratio`` of it to clear (no flapping)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


class ExternalAlarms(Protocol):
    """The alarm engine's API for alarms that no point rule raises (alarms.engine.AlarmEngine)."""

    def raise_external(self, *, key: str, alarm_class: str, priority: str, title: dict[str, str],
                       message: dict[str, str], zone: str | None = None, device: str | None = None,
                       ifc_guid: str | None = None, value: Any = None) -> Awaitable[Any]: ...  # fmt: skip

    def clear_external(self, key: str) -> Awaitable[None]: ...


@dataclass
class Watch:
    """One figure against its limit: when it went over, whether the alarm is up."""

    over_since: float | None = None
    raised: bool = False
    revision: tuple[Any, ...] | None = None  # as last sent: a raised alarm is updated only when it changes


@dataclass(frozen=True)
class Finding:
    """A figure of one place (group or zone) now, with the alarm's texts should it be raised."""

    key: str
    value: float
    limit: float
    alarm_class: str
    zone: str | None
    title: dict[str, str]
    message: dict[str, str]
    evidence: dict[str, Any] = field(default_factory=dict)
    revision: tuple[Any, ...] = ()  # what must change for a raised alarm's message to be sent again


class AlarmWatch:
    """Turns findings into external alarms: raise after the on-delay, update the message while raised (the
    advice changes as windows open), clear under ``clear_ratio`` x limit."""

    def __init__(self, engine: ExternalAlarms, on_delay_s: float = 60.0, clear_ratio: float = 0.8) -> None:
        self.engine = engine
        self.on_delay_s = on_delay_s
        self.clear_ratio = clear_ratio
        self.watches: dict[str, Watch] = {}

    async def review(self, findings: list[Finding], now: float) -> None:
        for finding in findings:
            watch = self.watches.setdefault(finding.key, Watch())
            if finding.value > finding.limit:
                watch.over_since = now if watch.over_since is None else watch.over_since
                if now - watch.over_since >= self.on_delay_s and watch.revision != finding.revision:
                    await self.engine.raise_external(
                        key=finding.key, alarm_class=finding.alarm_class, priority="medium", title=finding.title,
                        message=finding.message, zone=finding.zone, value=finding.evidence,
                    )  # fmt: skip
                    if not watch.raised:
                        log.warning("%s: %s", finding.title["en"], finding.message["en"])
                    watch.raised, watch.revision = True, finding.revision
                continue
            watch.over_since = None
            if watch.raised and finding.value < finding.limit * self.clear_ratio:
                await self.engine.clear_external(finding.key)
                watch.raised, watch.revision = False, None
