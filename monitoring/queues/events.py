"""Ticket events of the queue system: the validated schema (one JSON object per event) and clear parse errors.

The shape follows what ticketing systems send (Qminder webhooks: created/called/served/cancelled with a desk;
Qmatic Orchestra: VISIT_CREATE, VISIT_CALL, VISIT_RECALL, VISIT_END, VISIT_NOSHOW, VISIT_TRANSFER_TO_QUEUE, and
service points opened and closed), reduced to one flat object:

    {"id": "e-1042", "type": "called", "ticket": "A023", "service": "integrated", "window": "5",
     "at": "2026-12-07T09:31:05+08:00"}

``type`` is issued | called | recalled | served | transferred | no_show | window_opened | window_closed; ``at`` is
RFC 3339 (a time without offset is the site's local time) or epoch seconds; ``id`` (optional) makes a resent
event harmless; ``service`` may be left out when the ticket's letters name it; ``to_service`` is where a
transfer goes; ``rating`` (1-5) is the visitor's satisfaction given when served.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

EventType = Literal[
    "issued", "called", "recalled", "served", "transferred", "no_show", "window_opened", "window_closed"
]
WINDOW_EVENTS = frozenset({"called", "recalled", "served", "no_show", "window_opened", "window_closed"})
TICKET_EVENTS = frozenset({"issued", "called", "recalled", "served", "transferred", "no_show"})
MAX_EVENT_BYTES = 8_192


class RawEvent(BaseModel):
    """The wire form, validated field by field (names and limits are what error messages cite)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    type: EventType
    ticket: Annotated[str, Field(pattern=r"^[A-Z]{1,3}\d{1,5}$")] | None = None
    service: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=96)] | None = None
    to_service: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=96)] | None = None
    window: Annotated[str, Field(pattern=r"^\d{1,3}[A-Z]?$")] | None = None
    at: datetime | float | None = Field(default=None, description="RFC 3339 or epoch seconds; none: when received")
    rating: Annotated[int, Field(ge=1, le=5)] | None = None

    @field_validator("ticket", "window", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("at")
    @classmethod
    def _finite(cls, value: datetime | float | None) -> datetime | float | None:
        if isinstance(value, float) and (not math.isfinite(value) or not 0 < value < 253_402_300_800):
            raise ValueError("epoch seconds must be a time between 1970 and 9999")
        return value


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One accepted event, normalised: epoch time, the service resolved, upper-case ticket and window."""

    type: str
    at: float
    ticket: str | None
    service: str | None
    window: str | None
    to_service: str | None = None
    rating: int | None = None
    id: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "at": self.at}
        for key in ("id", "ticket", "service", "window", "to_service", "rating"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class EventError(ValueError):
    """An event that cannot be used; the message names the field and what is wrong (kept, never dropped)."""


def describe(error: ValidationError) -> str:
    """Pydantic's issues as one line: `field: message; field: message`."""
    parts = []
    for issue in error.errors():
        where = ".".join(str(p) for p in issue["loc"]) or "event"
        parts.append(f"{where}: {issue['msg']}")
    return "; ".join(parts)


def parse_payload(payload: bytes | str) -> list[object]:
    """The JSON objects of one message: an object, or a list of objects (a batch); EventError otherwise."""
    if isinstance(payload, bytes) and len(payload) > MAX_EVENT_BYTES * 100:
        raise EventError(f"message of {len(payload)} bytes is over the limit of {MAX_EVENT_BYTES * 100}")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and data:
        return data
    raise EventError("expected a JSON object (one event) or a non-empty list of events")


def validate(data: object, local: tzinfo, received_at: float) -> RawEvent:
    """The wire event, or EventError naming every field that is wrong."""
    if not isinstance(data, dict):
        raise EventError(f"an event must be a JSON object, got {type(data).__name__}")
    try:
        event = RawEvent.model_validate(data)
    except ValidationError as exc:
        raise EventError(describe(exc)) from None
    if event.type in TICKET_EVENTS and event.ticket is None:
        raise EventError(f"ticket: a {event.type} event needs the ticket number (e.g. A023)")
    if event.type in WINDOW_EVENTS and event.window is None:
        raise EventError(f"window: a {event.type} event needs the window number")
    if event.type == "transferred" and event.to_service is None:
        raise EventError("to_service: a transferred event needs the service the ticket goes to")
    if event.rating is not None and event.type != "served":
        raise EventError("rating: only a served event carries the visitor's rating")
    return event


def epoch(at: datetime | float | None, local: tzinfo, received_at: float) -> float:
    if at is None:
        return received_at
    if isinstance(at, float | int):
        return float(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=local)
    return at.timestamp()
