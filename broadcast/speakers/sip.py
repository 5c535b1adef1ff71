"""SIP paging speaker: an auto-answer INVITE when its zone starts playing, RTP to the answer's SDP, BYE at the end."""

from __future__ import annotations

import logging

from broadcast.sip_ua import SipCall, SipError
from broadcast.speakers.base import Address, Announcement, Confirms, DriverContext
from twin.site.broadcast_model import SipSpeaker

log = logging.getLogger(__name__)


class SipSpeakerDriver:
    transport = "sip"
    confirms: Confirms = "answer"

    def __init__(self, endpoint: SipSpeaker, zone: str, context: DriverContext) -> None:
        self.speaker = endpoint.device
        self.zone = zone
        self.uri = endpoint.uri
        self.answer_within_s = endpoint.answer_within_s
        self.context = context
        self.address: Address | None = None
        self.call: SipCall | None = None
        self.last_error: str | None = None
        self.last_bye: int | None = None  # the status that answered the last BYE (0: none came)

    async def open(self) -> Address | None:
        if self.context.sip is None:
            self.last_error = "no SIP user agent on this node"
            return None
        try:
            self.call = await self.context.sip.invite(
                self.uri,
                (self.context.rtp_host, self.context.rtp_port),
                [self.context.payload_type],
                self.answer_within_s,
            )
        except SipError as exc:
            self.last_error = str(exc)
            log.warning("SIP page to %s (%s) failed: %s", self.speaker, self.uri, exc)
            return None
        self.last_error = None
        self.address = self.call.media
        return self.call.media

    async def announce(self, announcement: Announcement) -> bool:
        return self.call is not None

    async def close(self) -> None:
        call, self.call = self.call, None
        if call is not None and self.context.sip is not None:
            self.last_bye = await self.context.sip.bye(call)
