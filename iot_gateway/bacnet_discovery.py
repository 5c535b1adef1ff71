"""Find the BACnet devices on the gateway's network: a broadcast Who-Is, then what each device says about itself.

Used by ``halltwin discover``. It opens the same kind of application the gateway runs (site.yaml ``bacnet:``), so
what it finds is what the gateway will reach. Reads are one ReadProperty each (not ReadPropertyMultiple): a
discovery meets devices of every age, and the oldest know no RPM; on a building network each takes milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder, BacnetConfigError, GatewayApplication
from iot_gateway.site_fragment import KIND_OF_OBJECT, DiscoveredDevice, DiscoveredObject
from twin.points import Value
from twin.site.model import BacnetNetwork

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 2.0
TICK_S = 0.1


@dataclass(frozen=True, slots=True)
class WhoIsRange:
    """Device instances to ask for (both None: every device)."""

    low: int | None = None
    high: int | None = None

    def __post_init__(self) -> None:
        if (self.low is None) != (self.high is None):
            raise ValueError("give both --low and --high, or neither")
        if self.low is not None and self.high is not None and not 0 <= self.low <= self.high <= 4_194_303:
            raise ValueError(f"instance range {self.low}..{self.high}: need 0 <= low <= high <= 4194303")


def host_port(address: Address) -> str:
    host, port = address.addrTuple
    return f"{host}:{port}"


async def _read(app: GatewayApplication, address: Address, object_id: ObjectIdentifier, prop: str,
                index: int | None = None) -> Any:  # fmt: skip
    """One property, or None when the device refuses it or does not answer (discovery shows what it can)."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            value = await app.read_property(address, object_id, prop, index)
    except (TimeoutError, ErrorRejectAbortNack):
        return None
    except Exception as exc:  # a device's odd answer must not end the discovery of the others
        log.debug("%s %s %s: %r", address, object_id, prop, exc)
        return None
    return None if isinstance(value, ErrorRejectAbortNack) else value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _present_value(object_type: str, raw: Any) -> Value:
    if raw is None:
        return None
    kind = KIND_OF_OBJECT.get(object_type)
    try:
        if kind == "analog":
            return round(float(raw), 6)
        if kind == "binary":
            return str(raw) in ("active", "1", "unlocked")
        if kind == "multistate":
            return int(raw)
    except (TypeError, ValueError):
        pass
    return str(raw)


async def _object_list(app: GatewayApplication, address: Address, device_id: ObjectIdentifier) -> list[Any]:
    """The device's object list: whole, or element by element from a device that cannot send it in one APDU."""
    whole = await _read(app, address, device_id, "object-list")
    if whole is not None:
        return list(whole)
    count = await _read(app, address, device_id, "object-list", 0)
    if count is None:
        return []
    items = [await _read(app, address, device_id, "object-list", i) for i in range(1, int(count) + 1)]
    return [item for item in items if item is not None]


async def _describe_object(app: GatewayApplication, address: Address, object_id: Any) -> DiscoveredObject:
    object_type, instance = str(object_id[0]), int(object_id[1])
    wanted = ["object-name", "description", "present-value"]
    if object_type.startswith("analog-"):
        wanted.append("units")
    if object_type.startswith("multi-state-"):
        wanted.append("state-text")
    values = dict(zip(wanted, await asyncio.gather(*(_read(app, address, object_id, p) for p in wanted)),
                      strict=True))  # fmt: skip
    states = tuple(str(s) for s in values.get("state-text") or ())
    return DiscoveredObject(
        object_type=object_type,
        instance=instance,
        name=_text(values["object-name"]),
        units=_text(values.get("units")) or None,
        present_value=_present_value(object_type, values["present-value"]),
        description=_text(values["description"]),
        state_texts=states,
    )


async def describe_device(app: GatewayApplication, i_am: Any, *, objects: bool) -> DiscoveredDevice:
    """Name, vendor and model of the device that sent ``i_am``; with ``objects``, every object it lists."""
    address: Address = i_am.pduSource
    device_id = ObjectIdentifier(("device", int(i_am.iAmDeviceIdentifier[1])))
    name, vendor, model = await asyncio.gather(
        *(_read(app, address, device_id, p) for p in ("object-name", "vendor-name", "model-name"))
    )
    found: tuple[DiscoveredObject, ...] = ()
    if objects:
        listed = [oid for oid in await _object_list(app, address, device_id) if str(oid[0]) != "device"]
        found = tuple([await _describe_object(app, address, oid) for oid in listed])
    return DiscoveredDevice(
        instance=device_id[1],
        address=host_port(address),
        name=_text(name),
        vendor=_text(vendor),
        model=_text(model),
        objects=found,
    )


async def discover(
    network: BacnetNetwork,
    *,
    instances: WhoIsRange | None = None,
    wait_s: float = 3.0,
    objects: bool = False,
    progress: Callable[[float], None] | None = None,
) -> list[DiscoveredDevice]:
    """Broadcast a Who-Is on ``network``, collect I-Ams for ``wait_s`` (``progress`` gets the seconds waited at
    every tick), then describe every device that answered, by instance. BacnetConfigError when the interface or
    port cannot be used, or the interface is loopback (broadcasts reach no device there)."""
    if network.foreign_device is None and network.interface.startswith("127."):
        raise BacnetConfigError(
            f"bacnet.interface: {network.interface} is loopback, where a broadcast Who-Is reaches no device; "
            "give the building network's interface (--interface ADDR/PREFIX)"
        )
    span = instances or WhoIsRange()
    holder = BacnetApplicationHolder(network)
    app = await holder.open()
    try:
        if holder.foreign is not None:
            await _wait_registered(holder, wait_s)
        loop = asyncio.get_running_loop()
        started = loop.time()
        answers = asyncio.ensure_future(app.who_is(span.low, span.high, timeout=wait_s))
        while not answers.done():
            await asyncio.wait({answers}, timeout=TICK_S)
            if progress is not None:
                progress(min(wait_s, loop.time() - started))
        i_ams = {int(i_am.iAmDeviceIdentifier[1]): i_am for i_am in answers.result()}
        devices = [await describe_device(app, i_ams[n], objects=objects) for n in sorted(i_ams)]
    finally:
        await holder.close()
    return devices


async def _wait_registered(holder: BacnetApplicationHolder, within_s: float) -> None:
    foreign = holder.foreign
    assert foreign is not None
    try:
        async with asyncio.timeout(within_s + 2.0):
            await foreign._registration_event.wait()  # bacpypes3 sets it on the BBMD's positive Result
    except TimeoutError:
        raise BacnetConfigError(
            f"bacnet.foreign_device.bbmd: no answer from BBMD {foreign.bbmdAddress} to the registration"
        ) from None


def table(devices: list[DiscoveredDevice], known: dict[int, str] | None = None) -> str:
    """The devices as a fixed-width table (``known``: instance -> the site's device id, shown in a last column)."""
    header = ["instance", "address", "vendor", "model", "name"] + (["site device"] if known is not None else [])
    rows = [
        [str(d.instance), d.address or "", d.vendor, d.model, d.name]
        + ([(known or {}).get(d.instance, "-")] if known is not None else [])
        for d in devices
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    return "\n".join(lines) + "\n"
