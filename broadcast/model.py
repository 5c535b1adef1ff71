"""The broadcast service's in-memory objects: a running broadcast, a zone's live state, a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from broadcast.arbiter import Priority
from broadcast.g711 import Pcm
from broadcast.programs import Program

KINDS = ("evacuation", "emergency", "page", "queue_call", "notice", "music")
# Who may stop a broadcast of this priority or above: the security desk only (GB 16806: the fire/emergency
# broadcast is not silenced by anyone else); the system itself may end what it started (fire cleared).
SECURITY_ONLY = Priority.EMERGENCY


class BroadcastRefused(Exception):
    """A start or stop that was not done: ``code`` for programs (and the HTTP status), the message for people."""

    STATUS = {"unknown_zone": 404, "unknown_broadcast": 404, "unknown_message": 404, "forbidden_role": 403,
              "invalid": 422, "bad_audio": 422, "not_running": 409, "unavailable": 503}  # fmt: skip

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return self.STATUS.get(self.code, 400)



@dataclass
class Broadcast:
    """One broadcast while it runs (the store keeps it for ever after)."""

    id: int
    kind: str
    priority: Priority
    zones: tuple[str, ...]
    title: dict[str, str]
    source: dict[str, Any]
    started_at: float
    started_by: str
    role: str | None
    pcm: Pcm | None  # None: the evacuation programme, built per zone
    repeat: int | None  # plays of the clip; None: until stopped
    programs: dict[str, Program] = field(default_factory=dict)
    zone_started: dict[str, float] = field(default_factory=dict)  # zone -> first packet (wall clock)
    confirmed: dict[str, float] = field(default_factory=dict)  # speaker -> first confirmation
    done_zones: set[str] = field(default_factory=set)
    phases: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # zone -> [(phase, started at)]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "priority": int(self.priority),
            "priority_name": self.priority.name.lower(),
            "zones": list(self.zones), "title": self.title, "source": self.source, "started_at": self.started_at,
            "started_by": self.started_by, "role": self.role, "confirmed": dict(self.confirmed),
        }  # fmt: skip
