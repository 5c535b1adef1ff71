"""RTP unicast speaker: G.711 packets to its own address; it confirms by RTCP receiver reports."""

from __future__ import annotations

from broadcast.speakers.base import Address, Announcement, Confirms
from twin.site.broadcast_model import RtpSpeaker


class RtpSpeakerDriver:
    transport = "rtp"
    confirms: Confirms = "rtcp"

    def __init__(self, endpoint: RtpSpeaker, zone: str) -> None:
        self.speaker = endpoint.device
        self.zone = zone
        self.address: Address | None = (endpoint.host, endpoint.port)

    async def open(self) -> Address | None:
        return self.address

    async def announce(self, announcement: Announcement) -> bool:
        return True  # the audio is the announcement

    async def close(self) -> None:
        return None
