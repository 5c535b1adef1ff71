"""The audit log: hash chain, filters and paging, idempotency keys, tamper detection, no fork under concurrency."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from store import Store
from store.audit import GENESIS, AuditError, AuditRecord, row_hash
from twin.clock import ManualClock


async def _fill(store: Store, clock: ManualClock, count: int) -> None:
    for i in range(count):
        await store.audit.append(
            action="point.write" if i % 2 else "auth.login",
            actor=f"user{i % 3}",
            role="facility",
            client="127.0.0.1",
            target=f"p{i}",
            arguments={"value": i, "reason": "测试"},
            result="ok",
        )
        await clock.advance(10)


async def test_rows_chain_to_each_other(store: Store, clock: ManualClock) -> None:
    await _fill(store, clock, 4)
    rows = await store.audit.query(newest_first=False)
    assert [r.id for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert rows[1].arguments == {"value": 1, "reason": "测试"}
    assert rows[1].ts == pytest.approx(clock.time() - 30)
    report = await store.audit.verify()
    assert report.ok and report.checked == 4


async def test_filters_and_paging(store: Store, clock: ManualClock) -> None:
    start = clock.time()
    await _fill(store, clock, 9)
    assert await store.audit.count() == 9
    assert [r.id for r in await store.audit.query(limit=3)] == [9, 8, 7]
    assert [r.id for r in await store.audit.query(limit=3, offset=3)] == [6, 5, 4]
    assert {r.actor for r in await store.audit.query(actor="user1")} == {"user1"}
    assert await store.audit.count(action="point.write") == 4
    assert [r.id for r in await store.audit.query(target="p4")] == [5]
    assert [r.id for r in await store.audit.query(since=start + 20, until=start + 40, newest_first=False)] == [3, 4]


async def test_idempotency_key_finds_the_first_attempt(store: Store) -> None:
    first = await store.audit.append(
        action="point.write", actor="ops", role="facility", client="c", result="ok", idempotency_key="k-1"
    )
    await store.audit.append(action="point.write", actor="ops", role="facility", client="c", result="ok")
    assert await store.audit.find_by_idempotency_key("k-1", "ops") == first
    assert await store.audit.find_by_idempotency_key("k-1", "someone else") is None
    assert await store.audit.find_by_idempotency_key("k-2", "ops") is None


async def test_bad_entries_are_refused(store: Store) -> None:
    with pytest.raises(AuditError, match="result 'maybe'"):
        await store.audit.append(action="x", actor=None, role=None, client=None, result="maybe")
    with pytest.raises(AuditError, match="not plain JSON"):
        await store.audit.append(action="x", actor=None, role=None, client=None, result="ok", arguments={"v": object()})
    assert await store.audit.count() == 0


async def test_append_many_chains_its_records_in_one_go_or_not_at_all(store: Store, clock: ManualClock) -> None:
    """A flood acknowledged at once is audited in one transaction: the records in order, one chain with the rows
    before and after; a bad record refuses the whole call."""
    await _fill(store, clock, 1)
    records = [AuditRecord("alarm.ack", "ops", "security", "c", f"alarm:{i}", {"comment": "flood"}) for i in (7, 8)]
    records.append(AuditRecord("alarm.ack", "ops", "security", "c", "alarm:9", None, "refused", "nothing to ack"))
    written = await store.audit.append_many(records)
    assert [(e.id, e.target, e.result) for e in written] == [(2, "alarm:7", "ok"), (3, "alarm:8", "ok"),
                                                              (4, "alarm:9", "refused")]  # fmt: skip
    await _fill(store, clock, 1)
    rows = await store.audit.query(newest_first=False)
    assert [r.id for r in rows] == [1, 2, 3, 4, 5] and rows[1:4] == written
    assert all(after.prev_hash == before.hash for before, after in zip(rows, rows[1:], strict=False))
    assert (await store.audit.verify()).ok
    with pytest.raises(AuditError, match="result 'maybe'"):
        await store.audit.append_many([records[0], AuditRecord("x", None, None, None, result="maybe")])
    assert await store.audit.count() == 5 and await store.audit.append_many([]) == []


async def test_verify_names_an_edited_row(store: Store, clock: ManualClock) -> None:
    await _fill(store, clock, 5)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE audit_log SET result = 'refused' WHERE id = 3"))
    report = await store.audit.verify()
    assert not report.ok and report.first_bad_id == 3 and report.checked == 2
    assert report.problem == "row 3 was changed: its content does not match its hash"


async def test_verify_names_a_row_edited_with_a_recomputed_hash(store: Store, clock: ManualClock) -> None:
    await _fill(store, clock, 5)
    async with store.engine.begin() as conn:
        row = (await conn.execute(sa.text("SELECT * FROM audit_log WHERE id = 2"))).one()._asdict()
        row["actor"] = "someone else"
        await conn.execute(
            sa.text("UPDATE audit_log SET actor = :actor, hash = :hash WHERE id = 2"),
            {"actor": row["actor"], "hash": row_hash(row)},
        )
    report = await store.audit.verify()
    assert not report.ok and report.first_bad_id == 2 and "row 2 was changed or replaced" in (report.problem or "")


async def test_verify_names_a_deleted_row(store: Store, clock: ManualClock) -> None:
    await _fill(store, clock, 5)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM audit_log WHERE id = 3"))
    report = await store.audit.verify()
    assert not report.ok and report.first_bad_id == 3
    assert report.problem == "row 3 was removed (the log goes from row 2 to row 4)"


async def test_verify_names_deleted_newest_rows(store: Store, clock: ManualClock) -> None:
    await _fill(store, clock, 5)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM audit_log WHERE id >= 4"))
    report = await store.audit.verify()
    assert not report.ok and report.first_bad_id == 4 and "should end at row 5" in (report.problem or "")


async def test_concurrent_appends_from_two_engines_never_fork(db_url: str, clock: ManualClock) -> None:
    """Two Store objects (two engines and pools, as two processes would have) append at once: one chain."""
    first = await Store.open(db_url, clock=clock)
    second = await Store.open(db_url, clock=clock)
    try:

        async def writer(store: Store, name: str) -> None:
            for i in range(15):
                await store.audit.append(action="t", actor=name, role=None, client=None, target=str(i), result="ok")

        await asyncio.gather(writer(first, "a"), writer(second, "b"), writer(first, "c"), writer(second, "d"))
        report = await first.audit.verify()
        assert report.ok and report.checked == 60
        assert await second.audit.count(actor="d") == 15
    finally:
        await first.close()
        await second.close()


APPENDER = """
import asyncio, sys
from store import Store

async def main(url: str, count: int) -> None:
    store = await Store.open(url)
    try:
        for i in range(count):
            await store.audit.append(action="t", actor="child", role=None, client=None, target=str(i), result="ok")
            if i == 0:
                print("appending", flush=True)
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_appends_from_two_processes_keep_one_chain(db_url: str) -> None:
    """Another process appends while this one does: the head-row lock serialises them across processes."""
    import sys

    from tests.peers import REPO_ROOT

    store = await Store.open(db_url)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", APPENDER, db_url, "100", cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert child.stdout is not None
            await asyncio.wait_for(child.stdout.readline(), 60)  # the child has started appending
            for i in range(40):
                await store.audit.append(action="t", actor="parent", role=None, client=None, target=str(i), result="ok")
            _, err = await asyncio.wait_for(child.communicate(), 60)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert child.returncode == 0, err.decode()
        report = await store.audit.verify()
        assert report.ok and report.checked == 140, report
        assert await store.audit.count(actor="child") == 100 and await store.audit.count(actor="parent") == 40
    finally:
        await store.close()


async def test_text_with_nul_is_kept_and_filters_with_nul_match_nothing(store: Store) -> None:
    """PostgreSQL text cannot hold NUL: the row is kept with U+FFFD, and a NUL filter is no error."""
    entry = await store.audit.append(action="auth.login", actor="a\x00b", role=None, client="c\x00", result="failed",
                                     detail="x\x00y", arguments={"k": "v\x00"})  # fmt: skip
    assert (entry.actor, entry.client, entry.detail) == ("a\ufffdb", "c\ufffd", "x\ufffdy")
    assert entry.arguments == {"k": "v\x00"}  # JSON escapes it
    assert await store.audit.query(actor="a\x00b") == []
    assert await store.audit.count(target="\x00") == 0
    assert await store.audit.find_by_idempotency_key("k\x00", "a\x00b") is None
    assert (await store.audit.verify()).ok
    assert await store.users.get("a\x00b") is None
    assert await store.users.verify_password("a\x00b", "pw") is None
