"""The Pager on a real store: an alarm's page and a work order's page are each told once when made, the first
acknowledgement is told (with who and when) and a second is not, an unknown page is None, and a listener that fails
loses nothing stored."""

from __future__ import annotations

from pathlib import Path

from alarms.pager import Pager
from store import Store
from store.linkage_log import Page, PageRepository

TITLE = {"zh": "紧急按钮", "en": "Emergency button"}


class Told:
    def __init__(self, fail: bool = False) -> None:
        self.pages: list[Page] = []
        self.fail = fail

    def paged(self, page: Page) -> None:
        self.pages.append(page)
        if self.fail:
            raise RuntimeError("the listener is broken")


async def test_pages_and_their_first_acknowledgement_are_told_once(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        told = Told()
        pager = Pager(PageRepository(store.engine, store.clock), told)
        page, created = await pager.page_alarm(7, "security", TITLE, "1f-wait", "cam-3", False)
        assert created and (page.alarm_id, page.zone, page.camera) == (7, "1f-wait", "cam-3")
        assert (await pager.page_alarm(7, "security", TITLE, "1f-wait", "cam-3", False))[1] is False
        order_page, _ = await pager.page_order(3, "facility", {"zh": "工单", "en": "Order"}, None, False)
        await pager.page_order(3, "facility", {"zh": "工单", "en": "Order"}, None, False)
        assert [p.id for p in told.pages] == [page.id, order_page.id]  # once each

        acked = await pager.ack(page.id, "sam")
        assert acked is not None and acked.acked_by == "sam" and acked.acked_at is not None
        assert told.pages[-1] == acked
        again = await pager.ack(page.id, "other")
        assert again == acked and len(told.pages) == 3  # the first who/when kept, nothing told
        assert await pager.ack(999, "sam") is None

        broken = Pager(PageRepository(store.engine, store.clock), Told(fail=True))
        kept, created = await broken.page_alarm(8, "security", TITLE, None, None, True)
        assert created and (await broken.ack(kept.id, "sam")) is not None  # stored and acknowledged all the same
    finally:
        await store.close()
