"""Speaker simulators: receive RTP (unicast or a zone's multicast group) and SIP pages like an IP speaker, keep
what they play, and confirm reception with RTCP receiver reports carrying their CNAME (the speaker id).

Used by ``halltwin demo`` and the tests: a stopped simulator is a failed speaker (no reports, no SIP answers).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import time
from dataclasses import dataclass, field

import numpy as np

from broadcast import g711
from broadcast.g711 import CODEC_OF_PAYLOAD, Pcm
from broadcast.rtp import RtpError, parse_rtp, receiver_report
from broadcast.sounder import rms

log = logging.getLogger(__name__)

REPORT_EVERY_S = 1.0
PLAYING_WITHIN_S = 0.3  # a speaker that received a packet this recently is playing
KEEP_SECONDS = 600  # audio kept per simulator (G.711: 8 kB a second)
KEEP_STREAMS = 1000  # streams (SSRCs) kept per simulator


@dataclass
class Reception:
    """One stream (SSRC) a simulated speaker received."""

    ssrc: int
    payload_type: int
    first_at: float
    last_at: float
    packets: int = 0
    highest_sequence: int = 0
    payload: bytearray = field(default_factory=bytearray)
    source: tuple[str, int] | None = None  # where its packets came from (RTCP goes to its port + 1)
    reports: int = 0  # RTCP receiver reports sent for it


class SpeakerSimulator:
    """One simulated IP speaker on ``host``: RTP on ``rtp_port`` (0: any), optionally a multicast ``group``
    and a SIP port answering pages at once."""

    def __init__(self, speaker: str, host: str = "127.0.0.1", rtp_port: int = 0, *,
                 group: tuple[str, int] | None = None, sip_port: int | None = None) -> None:  # fmt: skip
        self.speaker = speaker
        self.host = host
        self.requested_port = rtp_port
        self.group = group
        self.requested_sip_port = sip_port
        self.receptions: list[Reception] = []
        self._kept_bytes = 0  # the payload bytes of the receptions kept
        self.sip_calls = 0
        self.sip_byes = 0
        self.ssrc = random.randrange(1, 1 << 32)
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp_out: socket.socket | None = None
        self._sip: asyncio.DatagramTransport | None = None
        self._reported: dict[int, float] = {}
        self.running = False

    # --- life ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        simulator = self

        class _Rtp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                simulator._rtp_received(data, (str(addr[0]), int(str(addr[1]))))

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if self.group is not None:
            # Several speakers of one zone listen to the same group and port. Only here: Linux gives two UDP
            # sockets with SO_REUSEADDR the same port for port 0, and the later one then takes the other's packets.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.group[0], self.group[1]))
            membership = struct.pack("4s4s", socket.inet_aton(self.group[0]), socket.inet_aton(self.host))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        else:
            sock.bind((self.host, self.requested_port))
        self._rtp, _ = await loop.create_datagram_endpoint(_Rtp, sock=sock)
        self._rtcp_out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rtcp_out.bind((self.host, 0))
        self._rtcp_out.setblocking(False)
        if self.requested_sip_port is not None:

            class _Sip(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                    simulator._sip_received(data, (str(addr[0]), int(str(addr[1]))))

            self._sip, _ = await loop.create_datagram_endpoint(_Sip, local_addr=(self.host, self.requested_sip_port))
        self.running = True

    async def stop(self) -> None:
        """Silence the speaker: it receives, answers and reports nothing any more (a failed speaker)."""
        self.running = False
        for transport in (self._rtp, self._sip):
            if transport is not None:
                transport.close()
        if self._rtcp_out is not None:
            self._rtcp_out.close()
        self._rtp = self._sip = None
        self._rtcp_out = None

    @property
    def rtp_port(self) -> int:
        if self._rtp is None:
            raise RuntimeError(f"speaker simulator {self.speaker} is not running")
        return int(self._rtp.get_extra_info("sockname")[1])

    @property
    def sip_port(self) -> int:
        if self._sip is None:
            raise RuntimeError(f"speaker simulator {self.speaker} has no SIP port")
        return int(self._sip.get_extra_info("sockname")[1])

    # --- RTP and RTCP --------------------------------------------------------------------------------------

    def _rtp_received(self, data: bytes, source: tuple[str, int]) -> None:
        try:
            packet = parse_rtp(data)
        except RtpError:
            return
        if packet.payload_type not in CODEC_OF_PAYLOAD:
            return
        now = time.time()
        current = self.receptions[-1] if self.receptions else None
        if current is None or current.ssrc != packet.ssrc:
            current = Reception(packet.ssrc, packet.payload_type, now, now, source=source)
            self.receptions.append(current)
        current.last_at = now
        current.packets += 1
        current.highest_sequence = packet.sequence
        current.payload += packet.payload
        self._kept_bytes += len(packet.payload)
        self._trim()
        last = self._reported.get(packet.ssrc)
        if last is None or now - last >= REPORT_EVERY_S:
            # The first packet of a stream is reported at once: the sender learns within a round trip that this
            # speaker plays its broadcast. RTCP goes to the RTP source port + 1 (RFC 3550 11).
            self._reported[packet.ssrc] = now
            report = receiver_report(self.ssrc, packet.ssrc, current.highest_sequence, 0, 0, self.speaker)
            if self._rtcp_out is not None:
                try:
                    self._rtcp_out.sendto(report, (source[0], source[1] + 1))
                    current.reports += 1
                except OSError as exc:
                    log.debug("speaker %s RTCP: %s", self.speaker, exc)

    def _trim(self) -> None:
        # Once per packet: constant time. Streams from two sources at once (a misconfigured site) start a new
        # Reception at every switch of SSRC, so their number is bounded as well as their audio.
        while len(self.receptions) > 1 and (
            self._kept_bytes > KEEP_SECONDS * 8000 or len(self.receptions) > KEEP_STREAMS
        ):
            self._kept_bytes -= len(self.receptions.pop(0).payload)

    # --- SIP (answers at once, like a paging speaker set to auto-answer) -----------------------------------

    def _sip_received(self, data: bytes, source: tuple[str, int]) -> None:
        text = data.decode("utf-8", "replace")
        method = text.split(" ", 1)[0]
        if method not in ("INVITE", "ACK", "BYE", "OPTIONS", "CANCEL"):
            return
        headers, vias = _headers(text)
        if method == "ACK" or self._sip is None:
            return
        body = ""
        if method == "INVITE":
            self.sip_calls += 1
            body = (
                f"v=0\r\no=speaker 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
                f"m=audio {self.rtp_port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=recvonly\r\n"
            )
        elif method == "BYE":
            self.sip_byes += 1
        to = headers.get("to", "")
        if method == "INVITE" and ";tag=" not in to:
            to += f";tag={self.speaker}-{self.sip_calls}"
        lines = [
            "SIP/2.0 200 OK",
            *(f"Via: {via}" for via in vias),
            f"From: {headers.get('from', '')}",
            f"To: {to}",
            f"Call-ID: {headers.get('call-id', '')}",
            f"CSeq: {headers.get('cseq', '')}",
            f"Contact: <sip:{self.speaker}@{self.host}:{self.sip_port}>",
            *(["Content-Type: application/sdp"] if body else []),
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        self._sip.sendto("\r\n".join(lines).encode(), source)

    # --- what it plays -------------------------------------------------------------------------------------

    def playing(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return bool(self.receptions) and now - self.receptions[-1].last_at <= PLAYING_WITHIN_S

    def audio(self, ssrc: int | None = None) -> tuple[bytes, g711.Codec]:
        """The G.711 bytes received (of one stream, or all in order) and their codec."""
        chosen = [r for r in self.receptions if ssrc is None or r.ssrc == ssrc]
        if not chosen:
            return b"", "pcmu"
        return b"".join(bytes(r.payload) for r in chosen), CODEC_OF_PAYLOAD[chosen[-1].payload_type]

    def pcm(self, ssrc: int | None = None) -> Pcm:
        data, codec = self.audio(ssrc)
        return g711.decode(data, codec) if data else np.zeros(0, dtype=np.int16)

    def status(self) -> dict[str, object]:
        """What the speaker plays now, as it would show on its own web page."""
        current = self.receptions[-1] if self.receptions else None
        level = (
            rms(g711.decode(bytes(current.payload[-8000:]), CODEC_OF_PAYLOAD[current.payload_type])) if current else 0.0
        )
        return {
            "speaker": self.speaker,
            "running": self.running,
            "playing": self.playing(),
            "ssrc": current.ssrc if current else None,
            "codec": CODEC_OF_PAYLOAD[current.payload_type] if current else None,
            "packets": current.packets if current else 0,
            "since": current.first_at if current else None,
            "level_rms": round(level, 1),
            "streams": len(self.receptions),
            "sip_calls": self.sip_calls,
        }


def _headers(text: str) -> tuple[dict[str, str], list[str]]:
    """The first value of each header (lower-case names, compact forms expanded), and every Via in order."""
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    found: dict[str, str] = {}
    vias: list[str] = []
    for line in head:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = {"v": "via", "f": "from", "t": "to", "i": "call-id"}.get(key, key)
        if key == "via":
            vias.append(value.strip())
        found.setdefault(key, value.strip())
    return found, vias
