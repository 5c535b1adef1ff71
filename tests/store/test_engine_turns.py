"""SQLite transactions of one process take turns in the order they asked (no busy-handler sleeps); PostgreSQL's
do not need to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.engine import TurnTakingEngine, create_engine
from store.url import async_url


async def test_transactions_take_turns_in_the_order_they_asked(tmp_path: Path) -> None:
    engine = create_engine(async_url(f"sqlite:///{tmp_path / 'turns.sqlite'}"))
    assert isinstance(engine, TurnTakingEngine)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, writer INT)"))
        asked: list[int] = []
        log: list[tuple[str, int]] = []

        async def writer(number: int) -> None:
            for _ in range(5):
                asked.append(number)
                async with engine.begin() as conn:
                    log.append(("in", number))
                    await conn.execute(sa.text("INSERT INTO t (writer) VALUES (:w)"), {"w": number})
                    await asyncio.sleep(0.001)  # another writer runs meanwhile, and must wait for this one
                    await conn.execute(sa.text("SELECT count(*) FROM t"))
                    log.append(("out", number))

        await asyncio.gather(*(writer(n) for n in range(6)))
        assert [kind for kind, _ in log] == ["in", "out"] * 30  # never two transactions at once
        assert [number for kind, number in log if kind == "in"] == asked  # first come, first served
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 30
    finally:
        await engine.dispose()


async def test_a_transaction_begun_inside_one_of_the_same_task_does_not_wait_for_itself(tmp_path: Path) -> None:
    engine = create_engine(async_url(f"sqlite:///{tmp_path / 'nested.sqlite'}"))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        async with asyncio.timeout(10):
            async with engine.begin() as outer:
                await outer.execute(sa.text("SELECT count(*) FROM t"))  # a read that then calls a writer
                async with engine.begin() as inner:
                    await inner.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
            async with engine.begin() as after:  # and the turn was handed back
                assert (await after.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_circular_wait_goes_ahead_after_the_turn_wait_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A transaction that waits inside its turn for another task which waits for the turn would wait for ever:
    the second goes ahead after ``turn_wait_s``, as it would have without turns, and says so."""
    engine = create_engine(async_url(f"sqlite:///{tmp_path / 'circle.sqlite'}"))
    assert isinstance(engine, TurnTakingEngine)
    engine.turn_wait_s = 0.5
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        second_done = asyncio.Event()

        async def second() -> None:
            async with engine.begin() as conn:
                await conn.execute(sa.text("SELECT count(*) FROM t"))
            second_done.set()

        async with asyncio.timeout(10), engine.begin() as conn:  # the first task's turn
            await conn.execute(sa.text("SELECT count(*) FROM t"))
            waiting = asyncio.create_task(second(), name="second-writer")
            await second_done.wait()  # e.g. a lock that the second task holds while it waits for the turn
            await waiting
        assert any("waited 0.5 s for a transaction's turn" in r.getMessage() for r in caplog.records), caplog.text
        async with engine.begin() as conn:  # the turn is free again
            await conn.execute(sa.text("INSERT INTO t DEFAULT VALUES"))
    finally:
        await engine.dispose()


def test_postgresql_engines_do_not_take_turns() -> None:
    engine = create_engine(async_url("postgresql://127.0.0.1:1/none"))  # not connected: only the type is looked at
    assert not isinstance(engine, TurnTakingEngine)
