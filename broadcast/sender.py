"""The RTP source of this node: one paced sender for every zone stream, and the RTCP port speakers report to.

Each zone that plays has a ZoneStream: its program (frame source), destinations (unicast speakers, SIP-answered
addresses, the zone's multicast group) and its own SSRC, new for every broadcast so that a speaker's RTCP receiver
report names exactly which broadcast it received. One pacer task sends every stream's frames on a 20 ms schedule
kept against the monotonic clock (a late wake-up sends at once and counts the packet late, never drifts); a new
stream's first packet goes out at once. RTCP receiver reports (with the speaker's CNAME, or its address) confirm
reception per speaker.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from broadcast import g711
from broadcast.audio import FRAME_SAMPLES
from broadcast.programs import Program
from broadcast.rtp import RtpError, RtpPacket, parse_rtcp

log = logging.getLogger(__name__)

PTIME_S = 0.02
LATE_AFTER_S = PTIME_S  # a packet sent more than one packet time after its slot is late
RESYNC_AFTER_S = 0.5  # further behind than this (a stalled loop): restart the schedule instead of bursting
Address = tuple[str, int]


@dataclass
class ZoneStream:
    """One zone's outgoing stream (the state the pacer works on)."""

    zone: str
    program: Program
    ssrc: int
    on_end: Callable[[ZoneStream], None]
    on_phase: Callable[[ZoneStream, str, float], None] | None = None
    destinations: dict[str, Address] = field(default_factory=dict)  # speaker id (or "group:<zone>") -> address
    sequence: int = field(default_factory=lambda: random.randrange(1 << 16))
    timestamp: int = field(default_factory=lambda: random.randrange(1 << 32))
    next_at: float = 0.0
    started_at: float = 0.0
    first_packet_at: float | None = None  # wall clock time of the first packet
    packets: int = 0
    late: int = 0
    phase: str = ""
    ended: bool = False
    marker: bool = True


class RtpSender:
    """Binds the RTP/RTCP pair, paces every ZoneStream and reads the speakers' RTCP reports."""

    def __init__(self, host: str, port: int, codec: g711.Codec, multicast_ttl: int = 1) -> None:
        self.host = host
        self.requested_port = port
        self.codec = codec
        self.payload_type = g711.PAYLOAD_TYPE[codec]
        self.multicast_ttl = multicast_ttl
        self.streams: dict[str, ZoneStream] = {}
        self.by_ssrc: dict[int, ZoneStream] = {}
        self.on_report: Callable[[ZoneStream, str | None, Address, int], None] | None = None
        self._rtp: socket.socket | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.late = 0
        self.reports_received = 0  # RTCP receiver report blocks read
        self.reports_unmatched = 0  # ... of which named no stream of ours (an ended or foreign SSRC)

    @property
    def rtp_socket(self) -> socket.socket | None:
        """The RTP source socket (diagnostics: a SIP peer in RTP echo mode sends the packets back to it)."""
        return self._rtp

    @property
    def port(self) -> int:
        if self._rtp is None:
            raise RuntimeError("the RTP sender is not started")
        return int(self._rtp.getsockname()[1])

    async def start(self) -> None:
        self._rtp = self._bind_pair()
        loop = asyncio.get_running_loop()
        sender = self

        class _Rtcp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                sender._rtcp_received(data, (str(addr[0]), int(str(addr[1]))))

        self._rtcp, _ = await loop.create_datagram_endpoint(_Rtcp, local_addr=(self.host, self.port + 1))
        self._task = asyncio.create_task(self._pace(), name=f"rtp-sender:{self.port}")

    def _bind_pair(self) -> socket.socket:
        """An RTP socket on an even port whose odd neighbour (RTCP) is free too (RFC 3550 11)."""
        for _ in range(50):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.multicast_ttl)
            rtp.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.host))
            rtp.setblocking(False)
            try:
                rtp.bind((self.host, self.requested_port or _even_candidate()))
            except OSError:
                rtp.close()
                if self.requested_port:
                    raise
                continue
            port = rtp.getsockname()[1]
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind((self.host, port + 1))
            except OSError:
                rtp.close()
                if self.requested_port:
                    raise
                continue
            finally:
                probe.close()
            return rtp
        raise OSError("no free even RTP port with a free RTCP port beside it")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._rtcp is not None:
            self._rtcp.close()
            self._rtcp = None
        if self._rtp is not None:
            self._rtp.close()
            self._rtp = None
        self.streams.clear()
        self.by_ssrc.clear()

    # --- streams -------------------------------------------------------------------------------------------

    def play(self, stream: ZoneStream, now_wall: float) -> None:
        """Start (or replace) the zone's stream; its first packet is sent at once."""
        old = self.streams.get(stream.zone)
        if old is not None:
            self.by_ssrc.pop(old.ssrc, None)
            old.ended = True
        loop = asyncio.get_running_loop()
        stream.next_at = loop.time()
        stream.started_at = now_wall
        self.streams[stream.zone] = stream
        self.by_ssrc[stream.ssrc] = stream
        self._wake.set()

    def halt(self, zone: str) -> ZoneStream | None:
        stream = self.streams.pop(zone, None)
        if stream is not None:
            stream.ended = True
        return stream

    def new_ssrc(self) -> int:
        while True:
            ssrc = random.randrange(1, 1 << 32)
            if ssrc not in self.by_ssrc:
                return ssrc

    # --- pacing --------------------------------------------------------------------------------------------

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.streams:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = loop.time()
            soonest = min(stream.next_at for stream in self.streams.values())
            if soonest > now + 0.0005:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), soonest - now)
                except TimeoutError:
                    pass
                continue
            for stream in list(self.streams.values()):
                if stream.next_at <= now + 0.0005:
                    self._send(stream, now)

    def _send(self, stream: ZoneStream, now: float) -> None:
        assert self._rtp is not None
        behind = now - stream.next_at
        if behind > LATE_AFTER_S:
            stream.late += 1
            self.late += 1
        stream.next_at = now + PTIME_S if behind > RESYNC_AFTER_S else stream.next_at + PTIME_S
        phase = stream.program.phase
        if phase != stream.phase:
            stream.phase = phase
            if stream.on_phase is not None:
                stream.on_phase(stream, phase, _wall())
        frame = stream.program.next_frame()
        if frame is None:
            self.halt(stream.zone)
            self.by_ssrc.pop(stream.ssrc, None)
            stream.on_end(stream)
            return
        packet = RtpPacket(self.payload_type, stream.sequence, stream.timestamp, stream.ssrc,
                           g711.encode(frame, self.codec), stream.marker).to_bytes()  # fmt: skip
        stream.marker = False
        stream.sequence = (stream.sequence + 1) & 0xFFFF
        stream.timestamp = (stream.timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        for address in list(stream.destinations.values()):
            try:
                self._rtp.sendto(packet, address)
            except (BlockingIOError, InterruptedError):
                stream.late += 1  # the socket buffer is full: this packet is lost for that speaker
            except OSError as exc:
                log.debug("RTP to %s failed: %s", address, exc)
        stream.packets += 1
        self.sent += 1
        if stream.first_packet_at is None:
            stream.first_packet_at = _wall()

    # --- RTCP ----------------------------------------------------------------------------------------------

    def _rtcp_received(self, data: bytes, source: Address) -> None:
        try:
            reports = parse_rtcp(data)
        except RtpError as exc:
            log.debug("RTCP from %s:%d ignored: %s", source[0], source[1], exc)
            return
        for report in reports:
            self.reports_received += 1
            stream = self.by_ssrc.get(report.ssrc)
            if stream is None:
                self.reports_unmatched += 1
            if stream is not None and self.on_report is not None:
                self.on_report(stream, report.cname, source, report.highest_sequence)


def _even_candidate() -> int:
    from twin.ports import free_port

    port = free_port(socket.SOCK_DGRAM)
    return port - (port % 2)


def _wall() -> float:
    import time

    return time.time()
