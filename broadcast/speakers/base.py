"""What every speaker driver offers the broadcast service: open a zone's session, close it, and how it confirms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from broadcast.sip_ua import SipUserAgent

Confirms = Literal["rtcp", "answer"]
Address = tuple[str, int]


@dataclass(frozen=True)
class DriverContext:
    """What drivers share: this node's RTP source address, the codec's payload type and the SIP agent."""

    rtp_host: str
    rtp_port: int
    payload_type: int
    sip: SipUserAgent | None


@dataclass(frozen=True)
class Announcement:
    """A broadcast as a vendor API sees it (HTTP speakers play stored messages by id, never live audio)."""

    broadcast_id: int
    kind: str
    priority: int
    message: str | None
    text: str | None


class SpeakerDriver(Protocol):
    """One speaker. ``open`` when its zone starts playing (from silence) returns where RTP goes (None: no RTP);
    ``close`` when the zone falls silent. ``confirms`` says how reception is known: an RTCP receiver report per
    broadcast ("rtcp"), or the device's answer (SIP 200, HTTP 2xx: "answer")."""

    speaker: str
    zone: str
    transport: str
    confirms: Confirms
    address: Address | None  # where its RTCP reports come from, when known

    async def open(self) -> Address | None: ...

    async def announce(self, announcement: Announcement) -> bool: ...

    async def close(self) -> None: ...
