"""G.711 against ffmpeg's encoder, RTP/RTCP packets and their refusals, the evacuation programme's timing, SIP
answers, and multicast zones on loopback."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import numpy as np
import pytest

from broadcast import g711
from broadcast.audio import RATE
from broadcast.programs import ClipProgram, EvacuationProgram, voice_segment
from broadcast.rtp import RtpError, RtpPacket, parse_rtcp, parse_rtp, receiver_report
from broadcast.sip_ua import SipError, parse_response, sdp_media
from broadcast.sounder import band_fraction, sounder
from store.audit import SYSTEM
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import udp_port, wait_until


@needs("ffmpeg")
@pytest.mark.parametrize("codec", ["pcmu", "pcma"])
async def test_g711_matches_ffmpeg_for_every_sample(codec: g711.Codec) -> None:
    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    process = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "pipe:0",
        "-f", "mulaw" if codec == "pcmu" else "alaw", "pipe:1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    theirs, _ = await process.communicate(every.tobytes())
    assert g711.encode(every, codec) == theirs  # all 65,536 samples encoded as ffmpeg does
    codes = bytes(range(256))
    assert (g711.decode(codes, codec)[: len(codes)] != 0).sum() >= 254  # two zero codes at most (+0/-0)


def test_rtp_round_trip_and_refusals() -> None:
    packet = RtpPacket(0, 65535, 2**32 - 1, 0xDEADBEEF, b"\xff" * 160, marker=True)
    assert parse_rtp(packet.to_bytes()) == packet
    with_csrc = bytearray(packet.to_bytes())
    with_csrc[0] |= 0x01  # one CSRC: 4 bytes skipped
    assert parse_rtp(bytes(with_csrc[:12]) + b"\x00" * 4 + b"ab").payload == b"ab"
    for bad, words in [(b"\x80\x00", "shorter than its 12-byte header"), (b"\x40" + b"\x00" * 15, "version 1"),
                       (b"\x80\xc9" + b"\x00" * 10, "RTCP packet on the RTP port")]:  # fmt: skip
        with pytest.raises(RtpError, match=words):
            parse_rtp(bad)
    report = receiver_report(7, 0xDEADBEEF, 70000, 3, 12, "spk-12")
    (parsed,) = parse_rtcp(report)
    assert (parsed.reporter_ssrc, parsed.ssrc, parsed.highest_sequence, parsed.cumulative_lost, parsed.cname) == (
        7, 0xDEADBEEF, 70000, 3, "spk-12"
    )  # fmt: skip
    with pytest.raises(RtpError, match="runs past the end"):
        parse_rtcp(report[:20])


def test_evacuation_alternates_sounder_and_voice_within_the_norm() -> None:
    voice = (np.random.default_rng(1).normal(0, 3000, 3 * RATE)).astype(np.int16)  # a 3 s "message"
    segment = voice_segment(voice, 10, 30)
    assert 10 <= len(segment) / RATE <= 30  # repeated until it lasts at least 10 s
    assert len(voice_segment(np.ones(40 * RATE, dtype=np.int16), 10, 30)) == 30 * RATE  # cut at 30 s
    program = EvacuationProgram(voice, sounder_s=8, voice_min_s=10, voice_max_s=30)
    phases: list[list[Any]] = []
    for _ in range(int(2 * (8 + program.part_seconds("voice")) * 50)):
        phase = program.phase
        program.next_frame()
        if not phases or phases[-1][0] != phase:
            phases.append([phase, 0])
        phases[-1][1] += 1
    assert [p for p, _ in phases] == ["sounder", "voice", "sounder", "voice"]
    assert phases[0][1] / 50 == 8 and 10 <= phases[1][1] / 50 <= 30
    assert band_fraction(sounder(1.0)) > 0.95 and band_fraction(voice[:8000]) < 0.2
    clip = ClipProgram(np.ones(330, dtype=np.int16), repeat=2)
    frames = [clip.next_frame() for _ in range(7)]
    assert [f is None for f in frames] == [False] * 6 + [True]  # 330 samples: 3 frames (padded), twice


def test_sip_answers_are_read_and_refused_clearly() -> None:
    answer = parse_response(
        b"SIP/2.0 200 OK\r\ni: abc\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 4000 RTP/AVP 0\r\n"
    )
    assert (answer.status, answer.headers["call-id"]) == (200, "abc")
    assert sdp_media(answer.body) == ("10.0.0.9", 4000)
    with pytest.raises(SipError, match="refused the audio"):
        sdp_media("c=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\n")
    with pytest.raises(SipError, match="no c=IN IP4"):
        sdp_media("v=0\r\n")
    with pytest.raises(SipError, match="not a SIP response"):
        parse_response(b"HTTP/1.1 200 OK\r\n\r\n")


async def test_multicast_zone_reaches_every_member_and_each_confirms(make_hall: Any) -> None:
    port = udp_port()
    group = ("239.255.77.1", port - port % 2)
    hall = await make_hall({}, multicast={"pa-m": (group, ["spk-m1", "spk-m2"])})
    music = await hall.service.start_broadcast(SYSTEM, "music", ["pa-m"], message="music")
    await wait_until(lambda: set(music.confirmed) == {"spk-m1", "spk-m2"}, 5, "both members' RTCP reports (CNAME)")
    members = list(hall.sims.values())
    assert all(member.playing() for member in members)
    assert members[0].receptions[-1].ssrc == members[1].receptions[-1].ssrc  # one stream, sent once to the group
    assert hall.service.destinations["pa-m"] == {"group:pa-m": group}
