"""Pager: the one way a page to staff is made or acknowledged, for an alarm and for an overdue work order alike.

A page is stored once per subject and role (store.linkage_log.PageRepository); a new page, and the first
acknowledgement of one, is then told to ``listener`` (api.followup.LiveNotices: a ``page`` frame on /ws to the
paged role and admins), so every desk showing pages adds or drops it without waiting for its refresh. The
alarm linkage and the work-order escalation both page through here, so neither can store a page nobody is told of.
"""

from __future__ import annotations

import logging
from typing import Protocol

from store.linkage_log import Page, PageRepository

log = logging.getLogger(__name__)


class PageListener(Protocol):
    """Who hears of a page once it is stored: made, or acknowledged for the first time."""

    def paged(self, page: Page) -> None: ...


class Pager:
    """page_alarm / page_order / ack over the page store, each change told to ``listener`` (module docstring)."""

    def __init__(self, repository: PageRepository, listener: PageListener | None = None) -> None:
        self.repository = repository
        self.listener = listener

    async def page_alarm(
        self, alarm_id: int, role: str, title: dict[str, str], zone: str | None, camera: str | None, drill: bool
    ) -> tuple[Page, bool]:
        """Page ``role`` about an alarm (its room's zone and nearest camera); the existing page and False when
        this alarm paged this role before (nothing is told then)."""
        page, created = await self.repository.page(alarm_id, role, title, zone, camera, drill)
        if created:
            self._tell(page)
        return page, created

    async def page_order(
        self, order_id: int, role: str, title: dict[str, str], zone: str | None, drill: bool
    ) -> tuple[Page, bool]:
        """Page ``role`` about an overdue work order; the existing page and False when it paged this role before."""
        page, created = await self.repository.page_order(order_id, role, title, zone, drill)
        if created:
            self._tell(page)
        return page, created

    async def ack(self, page_id: int, by: str) -> Page | None:
        """Acknowledge a page (the first who/when is kept, and only the first is told); None: no such page."""
        before = await self.repository.get(page_id)
        if before is None:
            return None
        acked = await self.repository.ack(page_id, by)
        if acked is not None and before.acked_at is None:
            self._tell(acked)
        return acked

    def _tell(self, page: Page) -> None:
        if self.listener is None:
            return
        try:
            self.listener.paged(page)
        except Exception:  # a listener's fault never undoes or fails a stored page
            log.exception("page %d: telling of it failed", page.id)
