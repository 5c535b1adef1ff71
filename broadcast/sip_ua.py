"""A small SIP user agent over UDP for paging (RFC 3261 client side): INVITE with auto-answer, ACK, BYE.

Paging speakers and gateways answer at once when the INVITE asks for it: ``Call-Info: <sip:...>;answer-after=0``
(Polycom, Yealink, Snom, Cisco...) and ``Alert-Info: ...;info=alert-autoanswer`` (others) are both sent. The SDP
offer names PCMU and PCMA; the answer's connection address and audio port are where the RTP goes. INVITE and BYE
are retransmitted with RFC 3261's timer A (0.5 s, doubling) until a final answer or the deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import re
import string
from dataclasses import dataclass

log = logging.getLogger(__name__)

T1_S = 0.5
USER_AGENT = "HallTwin-paging/1"


class SipError(RuntimeError):
    """A call that did not come about; the message has the status line or the timeout."""


@dataclass(frozen=True, slots=True)
class SipResponse:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names, the first value of each
    body: str


@dataclass
class SipCall:
    """An established paging call."""

    uri: str
    call_id: str
    from_tag: str
    to_header: str
    target: str  # where in-dialog requests go (the answer's Contact)
    remote: tuple[str, int]  # the SIP address requests are sent to
    media: tuple[str, int]  # the RTP address of the answer
    cseq: int = 1


def parse_response(data: bytes) -> SipResponse:
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    match = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
    if match is None:
        raise SipError(f"not a SIP response: {lines[0][:60]!r}")
    headers: dict[str, str] = {}
    compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "c": "content-type",
               "l": "content-length"}  # fmt: skip
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.setdefault(compact.get(key, key), value.strip())
    return SipResponse(int(match.group(1)), match.group(2), headers, body)


def sdp_offer(host: str, port: int, payload_types: list[int], session_id: int) -> str:
    names = {0: "PCMU/8000", 8: "PCMA/8000"}
    lines = [
        "v=0",
        f"o=halltwin {session_id} {session_id} IN IP4 {host}",
        "s=HallTwin paging",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in payload_types)}",
        *(f"a=rtpmap:{pt} {names[pt]}" for pt in payload_types),
        "a=ptime:20",
        "a=sendonly",
    ]
    return "\r\n".join(lines) + "\r\n"


def sdp_media(body: str) -> tuple[str, int]:
    """The audio RTP address of an SDP answer (session or media level c=)."""
    host = re.search(r"^c=IN IP4 ([^\s/]+)", body, re.MULTILINE)
    media = re.search(r"^m=audio (\d+) ", body, re.MULTILINE)
    if host is None or media is None:
        raise SipError("the answer's SDP has no c=IN IP4 address or no m=audio port")
    if int(media.group(1)) == 0:
        raise SipError("the answer refused the audio stream (m=audio 0)")
    return host.group(1), int(media.group(1))


def _uri_address(uri: str) -> tuple[str, int]:
    match = re.match(r"^sips?:(?:[^@]+@)?([^:;>]+)(?::(\d+))?", uri)
    if match is None:
        raise SipError(f"cannot read host and port of {uri!r}")
    return match.group(1), int(match.group(2) or 5060)


def _token(size: int = 10) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=size))


class SipUserAgent:
    """One UDP socket for all paging calls of this node; answers are matched to requests by Call-ID and CSeq."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host = host
        self.requested_port = port
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[tuple[str, str], asyncio.Queue[SipResponse]] = {}
        self._counter = itertools.count(random.randrange(1, 1 << 30))

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("the SIP user agent is not started")
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        agent = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                agent._received(data)

        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(_Protocol, local_addr=(self.host, self.requested_port))

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _received(self, data: bytes) -> None:
        if not data.startswith(b"SIP/2.0"):
            return  # requests to the pager (an OPTIONS probe) are not served
        try:
            response = parse_response(data)
        except SipError:
            return
        method = response.headers.get("cseq", "").split()[-1:] or [""]
        queue = self._waiting.get((response.headers.get("call-id", ""), method[0].upper()))
        if queue is not None:
            queue.put_nowait(response)

    def _request(self, method: str, uri: str, call_id: str, cseq: int, from_tag: str, to: str, branch: str,
                 extra: list[str], body: str = "") -> bytes:  # fmt: skip
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:halltwin@{self.host}:{self.port}>;tag={from_tag}",
            f"To: {to}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:halltwin@{self.host}:{self.port}>",
            f"User-Agent: {USER_AGENT}",
            *extra,
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        return "\r\n".join(lines).encode()

    async def _transaction(self, message: bytes, remote: tuple[str, int], key: tuple[str, str],
                           deadline_s: float) -> SipResponse:  # fmt: skip
        """Send with retransmission until a final response (>= 200) or the deadline."""
        if self._transport is None:
            raise SipError("the SIP user agent is not started")
        queue: asyncio.Queue[SipResponse] = asyncio.Queue()
        self._waiting[key] = queue
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_s
        interval, provisional = T1_S, False
        try:
            self._transport.sendto(message, remote)
            while True:
                remaining = end - loop.time()
                if remaining <= 0:
                    raise SipError(f"no final answer from {remote[0]}:{remote[1]} within {deadline_s:g} s")
                try:
                    response = await asyncio.wait_for(queue.get(), min(interval, remaining))
                except TimeoutError:
                    if not provisional:  # a 1xx stops retransmission of an INVITE (RFC 3261 17.1.1.2)
                        self._transport.sendto(message, remote)
                    interval = min(interval * 2, 4.0)
                    continue
                if response.status >= 200:
                    return response
                provisional = True
        finally:
            self._waiting.pop(key, None)

    async def invite(self, uri: str, rtp: tuple[str, int], payload_types: list[int], deadline_s: float = 4.0,
                     subject: str = "page") -> SipCall:  # fmt: skip
        remote = _uri_address(uri)
        call_id = f"{_token(16)}@{self.host}"
        from_tag, branch = _token(), _token(16)
        to = f"<{uri}>"
        session = next(self._counter)
        body = sdp_offer(rtp[0], rtp[1], payload_types, session)
        extra = [
            f"Call-Info: <sip:{self.host}:{self.port}>;answer-after=0",
            "Alert-Info: <http://127.0.0.1/auto-answer>;info=alert-autoanswer;delay=0",
            f"Subject: {subject}",
            "Content-Type: application/sdp",
        ]
        message = self._request("INVITE", uri, call_id, 1, from_tag, to, branch, extra, body)
        response = await self._transaction(message, remote, (call_id, "INVITE"), deadline_s)
        to_header = response.headers.get("to", to)
        if not 200 <= response.status < 300:
            # Non-2xx: the ACK belongs to the INVITE transaction (same branch), then the call failed.
            ack = self._request("ACK", uri, call_id, 1, from_tag, to_header, branch, [])
            if self._transport is not None:
                self._transport.sendto(ack, remote)
            raise SipError(f"{uri} answered {response.status} {response.reason}")
        contact = re.search(r"<([^>]+)>", response.headers.get("contact", "")) or re.search(
            r"(sips?:\S+)", response.headers.get("contact", "")
        )
        target = contact.group(1) if contact else uri
        media = sdp_media(response.body)
        call = SipCall(uri, call_id, from_tag, to_header, target, remote, media)
        ack = self._request("ACK", target, call_id, 1, from_tag, to_header, _token(16), [])
        if self._transport is not None:
            self._transport.sendto(ack, remote)
        return call

    async def bye(self, call: SipCall, deadline_s: float = 2.0) -> int:
        """End the call; returns the answer's status (a speaker that is gone times out, which is logged only)."""
        call.cseq += 1
        message = self._request("BYE", call.target, call.call_id, call.cseq, call.from_tag, call.to_header,
                                _token(16), [])  # fmt: skip
        try:
            response = await self._transaction(message, call.remote, (call.call_id, "BYE"), deadline_s)
        except SipError as exc:
            log.info("BYE to %s: %s", call.uri, exc)
            return 0
        return response.status
