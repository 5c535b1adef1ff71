"""QueueAnalytics: the state of every ticket and window from the event stream, and the figures per service and
window group (waiting, waits p50/p90, service time, windows open, the ticket called at each window).

Rules (what a ticket's life counts as):
- A ticket waits from ``issued`` (or from ``transferred`` into another service) until its first ``called``; that
  span is its wait, counted for the service it waited in, whatever happens next (served, no-show).
- Service time runs from the last call (``called``/``recalled``) to ``served`` or ``transferred``.
- A window is open after ``window_opened`` or any call at it, closed after ``window_closed``.
- A resent event (same ``id``) changes nothing. Events out of order (a call of a ticket never issued, a serve at
  another window) are applied as far as they make sense and counted as anomalies with the reason; events that
  name a service or window the site does not have are refused (EventError) and kept by the caller.
- The day ends at local midnight: today's counts start again and tickets still waiting are dropped.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from monitoring.queues.events import EventError, RawEvent, TicketEvent, epoch
from monitoring.queues.percentiles import nearest_rank
from twin.site.queue_model import QueueSettings

SLOT_S = 900  # arrivals are counted in 15-minute slots (the forecast's profile resolution)
SEEN_IDS = 50_000  # event ids remembered for de-duplication


@dataclass
class Ticket:
    number: str
    service: str
    waiting_since: float | None  # None once called
    called_at: float | None = None
    window: str | None = None


@dataclass
class WindowState:
    number: str
    group: str
    open: bool = False
    ticket: str | None = None  # the number shown at the window (last called)
    service: str | None = None
    called_at: float | None = None
    busy: bool = False  # serving the ticket now


@dataclass
class ServiceDay:
    """One service's samples: (time, seconds) of waits and service times, today's counts and ratings."""

    waits: deque[tuple[float, float]] = field(default_factory=deque)
    services: deque[tuple[float, float]] = field(default_factory=deque)
    issued: int = 0
    served: int = 0
    no_show: int = 0
    transferred_out: int = 0
    ratings: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # issue times today (sorted as they come)


@dataclass(frozen=True)
class Anomaly:
    at: float
    reason: str


class QueueAnalytics:
    """Everything the ticket stream says; pure (no I/O, no clock): ``apply`` events, ask ``service_stats``."""

    def __init__(self, settings: QueueSettings, local: tzinfo) -> None:
        self.settings = settings
        self.local = local
        self.services = {s.id: s for s in settings.services}
        self.by_prefix = {s.prefix: s.id for s in settings.services}
        self.groups = {g.id: g for g in settings.groups}
        self.windows: dict[str, WindowState] = {
            w: WindowState(w, g.id) for g in settings.groups for w in g.windows
        }
        self.tickets: dict[str, Ticket] = {}
        self.days: dict[str, ServiceDay] = {s: ServiceDay() for s in self.services}
        self.day: date | None = None
        self.anomalies: deque[Anomaly] = deque(maxlen=200)
        self.anomaly_count = 0
        self.applied = 0
        self.duplicates = 0
        self.last_event_at: float | None = None
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()

    # --- input ---------------------------------------------------------------------------------------------

    def resolve(self, raw: RawEvent, received_at: float) -> TicketEvent:
        """The normalised event, or EventError naming what the site does not know."""
        service = raw.service
        if service is None and raw.ticket is not None:
            prefix = raw.ticket.rstrip("0123456789")
            service = self.by_prefix.get(prefix)
            if service is None:
                known = ", ".join(sorted(self.by_prefix)) or "none"
                raise EventError(f"ticket: no service has the prefix {prefix!r} (prefixes: {known}); name service:")
        if service is not None and service not in self.services:
            raise EventError(f"service: {service!r} is not a service of this site "
                             f"({', '.join(sorted(self.services)) or 'none configured'})")
        if raw.to_service is not None and raw.to_service not in self.services:
            raise EventError(f"to_service: {raw.to_service!r} is not a service of this site")
        if raw.window is not None and raw.window not in self.windows:
            raise EventError(f"window: {raw.window} is in no window group of this site")
        at = epoch(raw.at, self.local, received_at)
        return TicketEvent(raw.type, at, raw.ticket, service, raw.window, raw.to_service, raw.rating, raw.id)

    def apply(self, event: TicketEvent) -> bool:
        """Apply one accepted event; False for a duplicate (same id seen before)."""
        if event.id is not None:
            if event.id in self._seen:
                self.duplicates += 1
                return False
            self._seen.add(event.id)
            self._seen_order.append(event.id)
            if len(self._seen_order) > SEEN_IDS:
                self._seen.discard(self._seen_order.popleft())
        self.roll_day(event.at)
        handler = getattr(self, f"_on_{event.type}")
        handler(event)
        self.applied += 1
        self.last_event_at = event.at if self.last_event_at is None else max(self.last_event_at, event.at)
        return True

    def roll_day(self, now: float) -> None:
        """A new local day: counts start again, tickets left waiting yesterday are dropped, windows close."""
        today = datetime.fromtimestamp(now, self.local).date()
        if self.day is None:
            self.day = today
            return
        if today <= self.day:
            return
        self.day = today
        self.tickets.clear()
        self.days = {s: ServiceDay() for s in self.services}
        for window in self.windows.values():
            window.open, window.ticket, window.service, window.called_at, window.busy = False, None, None, None, False

    def _anomaly(self, event: TicketEvent, reason: str) -> None:
        self.anomaly_count += 1
        self.anomalies.append(Anomaly(event.at, f"{event.type} {event.ticket or ''} {reason}".replace("  ", " ")))

    def _on_issued(self, event: TicketEvent) -> None:
        assert event.ticket is not None and event.service is not None
        if event.ticket in self.tickets:
            self._anomaly(event, "was issued before: a new ticket with the same number replaces it")
        self.tickets[event.ticket] = Ticket(event.ticket, event.service, event.at)
        day = self.days[event.service]
        day.issued += 1
        bisect.insort(day.arrivals, event.at)

    def _on_called(self, event: TicketEvent) -> None:
        assert event.ticket is not None and event.window is not None
        ticket = self.tickets.get(event.ticket)
        if ticket is None:
            self._anomaly(event, "was never issued (no wait counted)")
            ticket = Ticket(event.ticket, event.service or self.windows[event.window].group, None)
            if ticket.service not in self.services:
                return
            self.tickets[event.ticket] = ticket
        if ticket.waiting_since is not None:
            self.days[ticket.service].waits.append((event.at, max(0.0, event.at - ticket.waiting_since)))
            ticket.waiting_since = None
        self._call(ticket, event)

    def _on_recalled(self, event: TicketEvent) -> None:
        assert event.ticket is not None
        ticket = self.tickets.get(event.ticket)
        if ticket is None:
            self._anomaly(event, "is not a known ticket")
            return
        if ticket.waiting_since is not None:  # recalled from the queue (after a no-show, say): its wait ends now
            self.days[ticket.service].waits.append((event.at, max(0.0, event.at - ticket.waiting_since)))
            ticket.waiting_since = None
        self._call(ticket, event)

    def _call(self, ticket: Ticket, event: TicketEvent) -> None:
        assert event.window is not None
        ticket.called_at, ticket.window = event.at, event.window
        window = self.windows[event.window]
        window.open, window.ticket, window.service = True, ticket.number, ticket.service
        window.called_at, window.busy = event.at, True

    def _finish(self, event: TicketEvent, outcome: str) -> Ticket | None:
        assert event.ticket is not None
        ticket = self.tickets.get(event.ticket)
        if ticket is None:
            self._anomaly(event, "is not a known ticket")
            return None
        if ticket.called_at is None:
            self._anomaly(event, "was never called")
            if ticket.waiting_since is not None:
                self.tickets.pop(ticket.number, None)
            return None
        if event.window is not None and ticket.window is not None and event.window != ticket.window:
            self._anomaly(event, f"was called at window {ticket.window}, not {event.window}")
        window = self.windows.get(ticket.window or "")
        if window is not None and window.ticket == ticket.number:
            window.busy = False
        if outcome != "no_show":
            self.days[ticket.service].services.append((event.at, max(0.0, event.at - ticket.called_at)))
        self.tickets.pop(ticket.number, None)
        return ticket

    def _on_served(self, event: TicketEvent) -> None:
        ticket = self._finish(event, "served")
        if ticket is not None:
            day = self.days[ticket.service]
            day.served += 1
            if event.rating is not None:
                day.ratings.append(event.rating)

    def _on_no_show(self, event: TicketEvent) -> None:
        assert event.ticket is not None
        ticket = self.tickets.get(event.ticket)
        if ticket is not None and ticket.called_at is not None:
            self._finish(event, "no_show")
            self.days[ticket.service].no_show += 1
        else:
            self._anomaly(event, "was not called")

    def _on_transferred(self, event: TicketEvent) -> None:
        assert event.ticket is not None and event.to_service is not None
        ticket = self.tickets.get(event.ticket)
        if ticket is not None and ticket.called_at is not None:
            self._finish(event, "transferred")
            self.days[ticket.service].transferred_out += 1
        elif ticket is None:
            self._anomaly(event, "is not a known ticket: it joins the target queue now")
        else:
            self.tickets.pop(ticket.number, None)  # moved before being called: it waits afresh in the target
        self.tickets[event.ticket] = Ticket(event.ticket, event.to_service, event.at)

    def _on_window_opened(self, event: TicketEvent) -> None:
        assert event.window is not None
        self.windows[event.window].open = True

    def _on_window_closed(self, event: TicketEvent) -> None:
        assert event.window is not None
        window = self.windows[event.window]
        window.open, window.busy = False, False

    # --- figures -------------------------------------------------------------------------------------------

    def prune(self, now: float) -> None:
        """Forget samples older than the statistics window (the counts of the day stay)."""
        horizon = now - self.settings.stats_window_min * 60.0
        for day in self.days.values():
            for samples in (day.waits, day.services):
                while samples and samples[0][0] < horizon:
                    samples.popleft()

    def waiting(self, service: str) -> list[Ticket]:
        return [t for t in self.tickets.values() if t.service == service and t.waiting_since is not None]

    def service_stats(self, service: str, now: float) -> dict[str, float | int | None]:
        """Waiting count, waits and service times of the statistics window (seconds), today's counts."""
        self.prune(now)
        day = self.days[service]
        waits = sorted(s for _, s in day.waits)
        services = sorted(s for _, s in day.services)
        waiting = self.waiting(service)
        oldest = min((t.waiting_since for t in waiting if t.waiting_since is not None), default=None)
        hour_ago = now - 3600.0
        arrivals_hour = len(day.arrivals) - bisect.bisect_left(day.arrivals, hour_ago)
        return {
            "waiting": len(waiting),
            "wait_p50_s": nearest_rank(waits, 50),
            "wait_p90_s": nearest_rank(waits, 90),
            "wait_samples": len(waits),
            "longest_wait_s": None if oldest is None else max(0.0, now - oldest),
            "service_p50_s": nearest_rank(services, 50),
            "service_mean_s": sum(services) / len(services) if services else None,
            "service_samples": len(services),
            "issued_today": day.issued,
            "served_today": day.served,
            "no_show_today": day.no_show,
            "transferred_today": day.transferred_out,
            "arrivals_last_hour": arrivals_hour,
            "satisfaction": round(sum(day.ratings) / len(day.ratings), 2) if day.ratings else None,
            "ratings": len(day.ratings),
        }

    def group_windows(self, group: str) -> list[WindowState]:
        return [self.windows[w] for w in self.groups[group].windows]

    def slot_arrivals(self, service: str) -> dict[int, int]:
        """Today's arrivals of ``service`` per 15-minute slot of the local day (slot 0 = 00:00-00:15)."""
        counts: dict[int, int] = {}
        for at in self.days[service].arrivals:
            local = datetime.fromtimestamp(at, self.local)
            slot = (local.hour * 3600 + local.minute * 60 + local.second) // SLOT_S
            counts[slot] = counts.get(slot, 0) + 1
        return counts
