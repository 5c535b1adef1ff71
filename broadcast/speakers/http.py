"""Vendor HTTP speaker: POSTs the stored message's id to the device's API; a 2xx answer confirms it."""

from __future__ import annotations

import logging

import httpx

from broadcast.speakers.base import Address, Announcement, Confirms, DriverContext
from twin.site.broadcast_model import HttpSpeaker

log = logging.getLogger(__name__)


class HttpSpeakerDriver:
    transport = "http"
    confirms: Confirms = "answer"

    def __init__(self, endpoint: HttpSpeaker, zone: str, context: DriverContext) -> None:
        self.speaker = endpoint.device
        self.zone = zone
        self.url = endpoint.url
        self.timeout_s = endpoint.timeout_s
        self.address: Address | None = None
        self.last_error: str | None = None

    async def open(self) -> Address | None:
        return None

    async def announce(self, announcement: Announcement) -> bool:
        if announcement.message is None and announcement.text is None:
            self.last_error = "live audio cannot be played through a vendor HTTP API"
            return False
        body = {"broadcast": announcement.broadcast_id, "kind": announcement.kind, "priority": announcement.priority,
                "message": announcement.message, "text": announcement.text, "zone": self.zone}  # fmt: skip
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("HTTP speaker %s: %s", self.speaker, self.last_error)
            return False
        self.last_error = None if response.is_success else f"HTTP {response.status_code}"
        return response.is_success

    async def close(self) -> None:
        return None
