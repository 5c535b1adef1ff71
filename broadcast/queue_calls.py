"""Spoken queue calls (T/ZAS 4012 7.1.3.4): "请 A023 号到 5 号窗口办理" and its English, in the window's PA zone.

The queue system calls ``call_ticket`` (directly or through POST /api/broadcast/queue-call); the arbiter plays it at
queue-call priority, so a page or an evacuation is never interrupted by it. Sites (or PA zones) configured silent
show calls on the displays only: the call is answered ``spoken: false`` with the reason and nothing plays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from broadcast import texts
from broadcast.model import BroadcastRefused
from broadcast.service import BroadcastService
from store.audit import Actor

TICKET = re.compile(r"^[A-Z]{0,3}\d{1,5}$")
WINDOW = re.compile(r"^\d{1,3}[A-Z]?$")


@dataclass(frozen=True)
class QueueCall:
    ticket: str
    window: str
    pa_zone: str
    spoken: bool
    broadcast: int | None
    text: dict[str, str]
    reason: str | None = None


def pa_zone_of(service: BroadcastService, zone: str) -> str:
    """The PA zone that covers site zone ``zone`` (or ``zone`` itself when it is a PA zone)."""
    if zone in service.zones:
        return zone
    for pa_id, pa in service.zones.items():
        if zone in pa.zones:
            return pa_id
    raise BroadcastRefused("unknown_zone", f"zone {zone!r} is in no PA zone")


def spoken_ticket(ticket: str, language: str) -> str:
    """The ticket as it is read out: Chinese reads each digit (A023 -> A零二三), English spaces them."""
    if language == "zh":
        digits = "零一二三四五六七八九"
        return "".join(digits[int(c)] if c.isdigit() else c for c in ticket)
    return " ".join(ticket)


async def call_ticket(service: BroadcastService, caller: Actor, ticket: str, window: str, zone: str) -> QueueCall:
    ticket, window = ticket.strip().upper(), window.strip().upper()
    if not TICKET.match(ticket):
        raise BroadcastRefused("invalid", f"ticket must be up to 3 letters and 1-5 digits (A023), got {ticket!r}")
    if not WINDOW.match(window):
        raise BroadcastRefused("invalid", f"window must be a window number (5, 12B), got {window!r}")
    pa_zone = pa_zone_of(service, zone)
    shown = texts.both("queue.call", ticket=ticket, window=window)
    settings = service.settings.queue_calls
    if settings.silent or pa_zone in settings.silent_zones:
        reason = "silent calling: shown on the displays only"
        return QueueCall(ticket, window, pa_zone, False, None, shown, reason)
    spoken = {
        "zh": texts.text("queue.call", "zh", ticket=spoken_ticket(ticket, "zh"), window=window),
        "en": texts.text("queue.call", "en", ticket=spoken_ticket(ticket, "en"), window=window),
    }
    broadcast = await service.start_broadcast(caller, "queue_call", [pa_zone], text=spoken,
                                              repeat=settings.repeat, title=shown)  # fmt: skip
    return QueueCall(ticket, window, pa_zone, True, broadcast.id, shown)
