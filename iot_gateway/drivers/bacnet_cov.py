"""COV subscriptions of one BACnet device: subscribe, renew before the lifetime ends, cancel.

A renewal re-sends SubscribeCOV with the same subscriber process identifier (clause 13.14.1.1.1: that renews
instead of adding a subscription). Objects the device refused or did not answer are retried at each renewal,
so a restored object or a device that was briefly away gets its COV back without a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bacpypes3.apdu import AbortPDU, AbortReason, ErrorRejectAbortNack, RejectPDU, SubscribeCOVRequest
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from iot_gateway.drivers.bacnet_app import CovHandler, GatewayApplication
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# Renew this long before the lifetime ends (at most half of it): time for a retry if a renewal is lost.
RENEW_MARGIN_S = 60.0


def describe(error: BaseException) -> str:
    """A BACnet error, reject or abort as 'error object/unknown-object', 'reject unrecognized-service' ..."""
    if isinstance(error, RejectPDU):
        return f"reject {error.apduAbortRejectReason}"
    if isinstance(error, AbortPDU):
        return f"abort {error.apduAbortRejectReason}"
    error_class = getattr(error, "errorClass", None)
    if error_class is not None:
        return f"error {error_class}/{getattr(error, 'errorCode', '?')}"
    return f"{type(error).__name__}: {error}".rstrip(": ")


def no_response(error: BaseException) -> bool:
    """The device did not answer at all (the stack gave up on its own timer): unreachable, not a refusal."""
    return isinstance(error, AbortPDU) and error.apduAbortRejectReason == AbortReason.noResponse


def object_text(object_id: ObjectIdentifier) -> str:
    return f"{object_id[0]}:{object_id[1]}"


def renewal_delay(lifetime_s: int) -> float:
    """Seconds from a subscription to its renewal: before the lifetime ends, with a margin for one retry."""
    return lifetime_s - min(lifetime_s / 2, RENEW_MARGIN_S)


class CovSubscriptions:
    """The subscriptions one driver holds on one device."""

    def __init__(
        self,
        device_id: str,
        address: Address,
        objects: list[ObjectIdentifier],
        *,
        lifetime_s: int,
        timeout_s: float,
        confirmed: bool,
        handler: CovHandler,
    ) -> None:
        self.device_id = device_id
        self.address = address
        self.objects = objects
        self.lifetime_s = lifetime_s
        self.timeout_s = timeout_s
        self.confirmed = confirmed
        self.handler = handler
        self.active: set[ObjectIdentifier] = set()  # the device accepted these
        self.refusals: dict[ObjectIdentifier, str] = {}  # the device refused these (polled only); why
        self.renewals = 0  # renewal rounds completed
        self.renewal_due: float | None = None  # event-loop time of the next renewal round
        self._process_ids: dict[ObjectIdentifier, int] = {}
        self._app: GatewayApplication | None = None
        self._task: asyncio.Task[None] | None = None
        self._on_unreachable: Callable[[], None] = lambda: None

    async def start(self, app: GatewayApplication, on_unreachable: Callable[[], None]) -> None:
        """Subscribe every object (failures only mean polling) and start the renewal task."""
        await self.stop(cancel_on_device=False)
        self._app = app
        self._on_unreachable = on_unreachable
        for object_id in self.objects:
            process_id = self._process_ids.get(object_id) or app.next_process_id()
            self._process_ids[object_id] = process_id
            app.cov_handlers[(self.address, process_id)] = self.handler
        await self._subscribe_all()
        self.renewal_due = asyncio.get_running_loop().time() + renewal_delay(self.lifetime_s)
        self._task = asyncio.create_task(self._renew_forever(), name=f"bacnet-cov-renewal:{self.device_id}")

    async def stop(self, *, cancel_on_device: bool) -> None:
        """Stop renewing; if the device is reachable also cancel its subscriptions (politely, briefly)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        app, self._app = self._app, None
        if app is None:
            return
        if cancel_on_device and self.active:
            cancels = [self._send(app, object_id, cancel=True) for object_id in self.active]
            await asyncio.gather(*cancels, return_exceptions=True)
        for process_id in self._process_ids.values():
            app.cov_handlers.pop((self.address, process_id), None)
        self.active.clear()
        self.renewal_due = None

    async def renew_now(self) -> None:
        """One renewal round (also (re)subscribes objects that failed before)."""
        await self._subscribe_all()
        self.renewals += 1

    async def _renew_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, (self.renewal_due or 0.0) - loop.time()))
            try:
                await self.renew_now()
            except Exception:  # a renewal problem must never end renewing; polling covers the gap
                log.exception("device %s: COV renewal failed", self.device_id)
            self.renewal_due = loop.time() + renewal_delay(self.lifetime_s)

    async def _subscribe_all(self) -> None:
        app = self._app
        if app is None:
            return
        outcomes = await asyncio.gather(
            *(self._send(app, oid) for oid in self.objects), return_exceptions=True
        )
        unreachable = False
        for object_id, outcome in zip(self.objects, outcomes, strict=True):
            if outcome is None:
                self._accepted(object_id)
            elif isinstance(outcome, TimeoutError) or no_response(outcome):
                # Silence is the Poller's to report (device unavailable, once), not a COV refusal per object.
                unreachable = True
                self.active.discard(object_id)  # retried at the next renewal
            elif isinstance(outcome, asyncio.CancelledError):
                raise outcome
            else:
                self._refused(object_id, describe(outcome))
        if unreachable:
            self._on_unreachable()

    def _accepted(self, object_id: ObjectIdentifier) -> None:
        if object_id not in self.active:
            self.active.add(object_id)
            if self.refusals.pop(object_id, None) is not None:
                log.info("device %s: %s accepts COV now", self.device_id, object_text(object_id))

    def _refused(self, object_id: ObjectIdentifier, why: str) -> None:
        self.active.discard(object_id)
        if self.refusals.get(object_id) != why:
            self.refusals[object_id] = why
            log.warning(
                "device %s: %s refused COV (%s): polled only", self.device_id, object_text(object_id), why
            )

    async def _send(
        self, app: GatewayApplication, object_id: ObjectIdentifier, *, cancel: bool = False
    ) -> Any:
        """SubscribeCOV (or its cancellation); None on success, raises the device's answer or TimeoutError."""
        request = SubscribeCOVRequest(
            subscriberProcessIdentifier=self._process_ids[object_id],
            monitoredObjectIdentifier=object_id,
            destination=self.address,
        )
        if not cancel:  # a request without these two fields is a cancellation
            request.issueConfirmedNotifications = self.confirmed
            request.lifetime = self.lifetime_s
        async with asyncio.timeout(self.timeout_s):  # not wait_for: it can swallow a cancel on Python 3.11
            response = await app.request(request)
        if isinstance(response, ErrorRejectAbortNack):
            raise response
        return None
