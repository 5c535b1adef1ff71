"""Multicast speaker: listens to its PA zone's group (sent once per zone); confirms by RTCP with its CNAME."""

from __future__ import annotations

from broadcast.speakers.base import Address, Announcement, Confirms
from twin.site.broadcast_model import MulticastSpeaker


class MulticastSpeakerDriver:
    transport = "multicast"
    confirms: Confirms = "rtcp"

    def __init__(self, endpoint: MulticastSpeaker, zone: str) -> None:
        self.speaker = endpoint.device
        self.zone = zone
        self.address: Address | None = None  # reports are matched by CNAME: the group has no per-speaker address

    async def open(self) -> Address | None:
        return None  # the zone's stream carries the group address

    async def announce(self, announcement: Announcement) -> bool:
        return True

    async def close(self) -> None:
        return None
