"""The per-zone arbiter: its rules as a table, and through real RTP: music preempted by a page, the page by the
evacuation, each resumed in turn; emergency stoppable by security only; every start and stop audited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from broadcast.arbiter import Arbiter, Priority, ZoneChange
from broadcast.model import BroadcastRefused
from store.audit import SYSTEM, PlainActor
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import wait_until

SECURITY = PlainActor("sec", "security", "127.0.0.1")
FACILITY = PlainActor("fac", "facility", "127.0.0.1")


def test_arbiter_preempts_at_once_and_resumes_in_order() -> None:
    arbiter = Arbiter(["a", "b"])
    assert arbiter.claim(1, Priority.MUSIC, ["a", "b"]) == [ZoneChange("a", None, 1), ZoneChange("b", None, 1)]
    assert arbiter.claim(2, Priority.PAGE, ["a"]) == [ZoneChange("a", 1, 2)]  # manual zone selection: only a
    assert arbiter.claim(3, Priority.EVACUATION, ["a", "b"]) == [ZoneChange("a", 2, 3), ZoneChange("b", 1, 3)]
    assert arbiter.claim(4, Priority.NOTICE, ["a"]) == []  # a queue call waits behind the evacuation
    assert arbiter.waiting("a") == [2, 4, 1]
    assert arbiter.release(3) == [ZoneChange("a", 3, 2), ZoneChange("b", 3, 1)]  # each zone resumes its own
    assert arbiter.release(2) == [ZoneChange("a", 2, 4)]
    assert arbiter.release(4, ["a"]) == [ZoneChange("a", 4, 1)]
    assert arbiter.winner("a") == arbiter.winner("b") == 1


def test_equal_priority_waits_its_turn_and_bad_claims_are_refused() -> None:
    arbiter = Arbiter(["a"])
    arbiter.claim(1, Priority.PAGE, ["a"])
    assert arbiter.claim(2, Priority.PAGE, ["a"]) == []  # never two streams in one zone
    assert arbiter.winner("a") == 1
    with pytest.raises(KeyError, match="no PA zone x"):
        arbiter.claim(3, Priority.PAGE, ["x"])
    with pytest.raises(ValueError, match="at least one zone"):
        arbiter.claim(3, Priority.PAGE, [])
    with pytest.raises(ValueError, match="already claims"):
        arbiter.claim(1, Priority.PAGE, ["a"])
    assert arbiter.release(99) == []


@needs("espeak-ng")
async def test_music_page_evacuation_preempt_and_resume_over_rtp(make_hall: Any) -> None:
    hall = await make_hall({"pa-a": ["spk-1"], "pa-b": ["spk-2"]})
    service, sim = hall.service, hall.sims["spk-1"]

    def playing(zone: str) -> str | None:
        state = next(s for s in service.zone_states() if s["zone"] == zone)
        return state["playing"]["kind"] if state["playing"] else None

    def ssrc() -> int:
        return sim.receptions[-1].ssrc if sim.receptions else 0

    music = await service.start_broadcast(SYSTEM, "music", None, message="music")
    await wait_until(lambda: sim.playing(), 5, "the zone to change")
    music_ssrc = ssrc()
    page = await service.start_broadcast(FACILITY, "page", ["pa-a"], text={"zh": "请注意", "en": "Attention"}, repeat=5)
    await wait_until(lambda: ssrc() != music_ssrc, 5, "the zone to change")
    page_ssrc = ssrc()
    assert (playing("pa-a"), playing("pa-b")) == ("page", "music")  # pa-b was not selected: it keeps its music
    evacuation = await service.start_broadcast(SYSTEM, "evacuation", None)
    await wait_until(lambda: ssrc() not in (music_ssrc, page_ssrc), 5, "the zone to change")
    assert (playing("pa-a"), playing("pa-b")) == ("evacuation", "evacuation")
    with pytest.raises(BroadcastRefused, match="security desk only"):
        await service.stop_broadcast(FACILITY, evacuation.id)
    evacuation_ssrc = ssrc()
    await service.stop_broadcast(SECURITY, evacuation.id, "drill over")
    await wait_until(lambda: ssrc() != evacuation_ssrc, 5, "the zone to change")
    assert (playing("pa-a"), playing("pa-b")) == ("page", "music")  # resumed, each zone its own
    await service.stop_broadcast(FACILITY, page.id)
    await wait_until(lambda: playing("pa-a") == "music", 5, "the zone to change")
    resumed = ssrc()
    await asyncio.sleep(0.2)
    assert ssrc() == resumed and sim.playing()
    # One stream at a time: every reception ended before the next one started.
    for before, after in zip(sim.receptions, sim.receptions[1:], strict=False):
        assert before.last_at <= after.first_at + 0.025
    audit = await hall.store.audit.query(newest_first=False, limit=50)
    rows = [(e.action, e.actor, e.result) for e in audit if e.action.startswith("broadcast.")]
    assert rows == [
        ("broadcast.start", "system", "ok"), ("broadcast.start", "fac", "ok"), ("broadcast.start", "system", "ok"),
        ("broadcast.stop", "fac", "refused"), ("broadcast.stop", "sec", "ok"), ("broadcast.stop", "fac", "ok"),
    ]  # fmt: skip
    records = {r.id: r for r in await service.log.list()}
    assert records[evacuation.id].ended_by == "sec" and records[page.id].confirmed.keys() == {"spk-1"}
    assert records[music.id].ended_at is None  # still playing


@needs("espeak-ng")
async def test_refusals_are_clear_and_audited(make_hall: Any) -> None:
    hall = await make_hall({"pa-a": ["spk-1"]})
    service = hall.service
    cases: list[tuple[dict[str, Any], str, str]] = [
        (dict(kind="page", zones=["pa-x"], text={"zh": "a", "en": "b"}), "unknown_zone", "no PA zone pa-x"),
        (dict(kind="page", zones=None, message="nope"), "unknown_message", "no message 'nope'"),
        (dict(kind="page", zones=None), "invalid", "exactly one of message, text or audio"),
        (dict(kind="siren", zones=None, message="music"), "invalid", "kind must be one of"),
        (dict(kind="emergency", zones=None, message="emergency"), "forbidden_role", "only the security desk"),
        (dict(kind="page", zones=None, audio=b"not audio at all"), "bad_audio", "not audio ffmpeg can read"),
        (dict(kind="page", zones=None, text={"zh": " ", "en": "x"}), "invalid", "text needs zh and en"),
    ]
    for arguments, code, words in cases:
        kind, zones = arguments.pop("kind"), arguments.pop("zones")
        with pytest.raises(BroadcastRefused) as refused:
            await service.start_broadcast(FACILITY, kind, zones, **arguments)
        assert refused.value.code == code and words in refused.value.message, (kind, refused.value.message)
    with pytest.raises(BroadcastRefused, match="no running broadcast 42"):
        await service.stop_broadcast(FACILITY, 42)
    refused_rows = await hall.store.audit.query(action="broadcast.start", limit=20)
    assert len(refused_rows) == len(cases) and all(e.result == "refused" and e.detail for e in refused_rows)
    assert await service.log.list() == []  # nothing half-started was recorded
    assert all(state["playing"] is None for state in service.zone_states())
