"""RTP (RFC 3550) packets and the RTCP receiver reports and SDES that speakers send back to confirm reception."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE = 200, 201, 202, 203
SDES_CNAME = 1


class RtpError(ValueError):
    """A datagram that is not the RTP/RTCP we expect; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return HEADER.pack(RTP_VERSION << 6, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                           self.ssrc) + self.payload  # fmt: skip


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < HEADER.size:
        raise RtpError(f"RTP packet of {len(data)} bytes is shorter than its 12-byte header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    if 72 <= second & 0x7F <= 76:
        raise RtpError("an RTCP packet on the RTP port")
    offset = HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            raise RtpError("RTP header extension is cut off")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes
        end -= data[-1]
    if offset > end:
        raise RtpError("RTP header runs past the end of the packet")
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bytes(data[offset:end]), bool(second & 0x80))


@dataclass(frozen=True, slots=True)
class ReceptionReport:
    """What one receiver (``reporter``, named by its CNAME when it sends one) says about one source (``ssrc``)."""

    reporter_ssrc: int
    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_sequence: int
    jitter: int
    cname: str | None = None


def receiver_report(reporter_ssrc: int, source_ssrc: int, highest_sequence: int, lost: int, jitter: int,
                    cname: str) -> bytes:  # fmt: skip
    """A compound RTCP packet: RR with one report block, then SDES with the receiver's CNAME (RFC 3550 6.1)."""
    block = struct.pack("!IBBHIIII", source_ssrc, 0, (lost >> 16) & 0xFF, lost & 0xFFFF,
                        highest_sequence & 0xFFFFFFFF, jitter & 0xFFFFFFFF, 0, 0)  # fmt: skip
    rr = struct.pack("!BBHI", 0x81, RTCP_RR, (8 + len(block)) // 4 - 1, reporter_ssrc) + block
    name = cname.encode("utf-8")[:255]
    chunk = struct.pack("!IBB", reporter_ssrc, SDES_CNAME, len(name)) + name + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, RTCP_SDES, (4 + len(chunk)) // 4 - 1) + chunk
    return rr + sdes


def parse_rtcp(data: bytes) -> list[ReceptionReport]:
    """The reception reports of a compound RTCP packet (RR or SR blocks), each with its sender's CNAME if given."""
    reports: list[ReceptionReport] = []
    cnames: dict[int, str] = {}
    offset = 0
    while offset + 4 <= len(data):
        first, packet_type, length = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != RTP_VERSION:
            raise RtpError(f"RTCP version {first >> 6}, expected 2")
        end = offset + 4 * (length + 1)
        if end > len(data):
            raise RtpError("RTCP packet runs past the end of the datagram")
        count = first & 0x1F
        if packet_type in (RTCP_RR, RTCP_SR) and end - offset >= 8:
            (reporter,) = struct.unpack_from("!I", data, offset + 4)
            blocks = offset + (28 if packet_type == RTCP_SR else 8)
            for i in range(count):
                at = blocks + 24 * i
                if at + 24 > end:
                    raise RtpError("RTCP report block is cut off")
                ssrc, fraction, lost_hi, lost_lo, highest, jitter = struct.unpack_from("!IBBHII", data, at)
                reports.append(ReceptionReport(reporter, ssrc, fraction, (lost_hi << 16) | lost_lo, highest, jitter))
        elif packet_type == RTCP_SDES:
            at = offset + 4
            for _ in range(count):
                if at + 4 > end:
                    break
                (source,) = struct.unpack_from("!I", data, at)
                at += 4
                while at < end and data[at] != 0:
                    item, size = data[at], data[at + 1] if at + 1 < end else 0
                    if item == SDES_CNAME:
                        cnames[source] = data[at + 2 : at + 2 + size].decode("utf-8", "replace")
                    at += 2 + size
                at += 4 - (at % 4)  # past the null item and the padding to the next 32-bit word
        offset = end
    return [
        ReceptionReport(
            r.reporter_ssrc,
            r.ssrc,
            r.fraction_lost,
            r.cumulative_lost,
            r.highest_sequence,
            r.jitter,
            cnames.get(r.reporter_ssrc),
        )  # fmt: skip
        for r in reports
    ]
