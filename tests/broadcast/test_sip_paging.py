"""SIP paging against a real SIP peer: sipp as the answering speaker (auto-answer), RTP to its SDP, BYE at the end."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from broadcast.rtp import parse_rtp
from broadcast.simulator import SpeakerSimulator
from store.audit import PlainActor
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import udp_port

FACILITY = PlainActor("fac", "facility", "127.0.0.1")


@needs("sipp")
@needs("espeak-ng")
async def test_sip_page_answered_by_sipp(make_hall: Any, tmp_path: Path) -> None:
    sip_port, media_port = udp_port(), udp_port()
    # sipp's built-in UAS scenario: INVITE -> 180/200 (with SDP) -> ACK -> BYE -> 200. -rtp_echo sends
    # every RTP packet it receives on its SDP port back to the sender: proof the audio followed the answer.
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(sip_port), "-mp", str(media_port), "-rtp_echo",
        "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.sleep(0.3)
        hall = await make_hall({}, sip={"pa-s": [("spk-sip", f"sip:spk-sip@127.0.0.1:{sip_port}")]})
        service = hall.service
        page = await service.start_broadcast(FACILITY, "page", ["pa-s"], text={"zh": "测试寻呼", "en": "Test page"})
        end = time.monotonic() + 10
        while "spk-sip" not in page.confirmed:
            assert time.monotonic() < end, "sipp did not answer the INVITE"
            await asyncio.sleep(0.02)
        state = service.zone_states()[0]
        assert state["playing"]["broadcast"] == page.id
        assert state["speakers"] == [
            {"id": "spk-sip", "transport": "sip", "confirmed": True, "last_report_at": None, "error": None}
        ]
        sock = service.sender.rtp_socket
        assert sock is not None
        echoed = 0
        while echoed < 25:
            await asyncio.sleep(0.05)
            while True:
                try:
                    packet = parse_rtp(sock.recv(2048))
                except BlockingIOError:
                    break
                assert packet.payload_type == 0 and len(packet.payload) == 160
                echoed += 1
            assert time.monotonic() < end, f"only {echoed} RTP packets came back from sipp's media port"
        await service.stop_broadcast(FACILITY, page.id, "heard")  # the zone falls silent: the call is ended (BYE)
        driver = service.drivers["pa-s"][0]
        while getattr(driver, "last_bye", None) is None:
            assert time.monotonic() < end, "no BYE answered"
            await asyncio.sleep(0.02)
        assert driver.last_bye == 200
        assert sipp.returncode is None  # sipp's scenario holds the call's end for 4 s before it exits
        record = await service.log.get(page.id)
        assert record is not None and record.confirmed.keys() == {"spk-sip"} and record.end_reason == "heard"
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()


@needs("espeak-ng")
async def test_unanswered_sip_speaker_is_reported_not_fatal(make_hall: Any) -> None:
    """A SIP speaker that never answers: the zone's RTP speaker still plays; the SIP one shows why it does not."""
    hall = await make_hall({"pa-s": ["spk-1"]}, sip={"pa-s": [("spk-dead", f"sip:dead@127.0.0.1:{udp_port()}")]})
    page = await hall.service.start_broadcast(FACILITY, "page", ["pa-s"], text={"zh": "测试", "en": "Test"})
    end = time.monotonic() + 8
    while True:
        speakers = {s["id"]: s for s in hall.service.zone_states()[0]["speakers"]}
        if speakers["spk-dead"]["error"]:
            break
        assert time.monotonic() < end
        await asyncio.sleep(0.05)
    assert "no final answer" in speakers["spk-dead"]["error"]
    assert speakers["spk-1"]["confirmed"] and hall.sims["spk-1"].playing()
    assert "spk-dead" not in page.confirmed


@needs("espeak-ng")
async def test_a_sip_speaker_that_did_not_answer_is_called_again_while_its_zone_plays(make_hall: Any) -> None:
    """Down when its zone started (background music plays on for hours), back a moment later: the node calls it
    again, and it plays and confirms the broadcast that is on."""
    port = udp_port()
    hall = await make_hall({"pa-s": ["spk-1"]}, sip={"pa-s": [("spk-late", f"sip:late@127.0.0.1:{port}")]},
                           extra={"broadcast": {"sip_retry_s": 1.0}})  # fmt: skip
    text = {"zh": "测试", "en": "Test"}
    page = await hall.service.start_broadcast(FACILITY, "page", ["pa-s"], text=text, repeat=None)  # until stopped
    late = SpeakerSimulator("spk-late", sip_port=port)
    try:
        await _until(lambda: bool(_speaker(hall, "spk-late")["error"]), 8.0)  # the first call went unanswered
        assert "no final answer" in _speaker(hall, "spk-late")["error"]
        await late.start()  # the speaker is back
        await _until(lambda: "spk-late" in page.confirmed and late.playing(), 10.0)
        assert late.sip_calls == 1 and _speaker(hall, "spk-late")["error"] is None
        assert _speaker(hall, "spk-1")["confirmed"] and hall.sims["spk-1"].playing()  # the others played on
    finally:
        await late.stop()


def _speaker(hall: Any, speaker: str) -> dict[str, Any]:
    return next(s for s in hall.service.zone_states()[0]["speakers"] if s["id"] == speaker)


async def _until(check: Any, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < end, "not within the time"
        await asyncio.sleep(0.05)
