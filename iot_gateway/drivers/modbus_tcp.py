"""Modbus TCP driver: block reads of a device's points, typed decoding, writes, errors mapped to qualities.

One ``ModbusTcpDriver`` per device. The read plan (blocks, decoders, bound client methods) is computed at
construction and at connect(), so a poll is: one awaited request per block, decode (skipped when the block's
registers did not change since the last poll), build Readings. bench/bench_modbus.py keeps it within 10% of a
bare pymodbus request loop.

Failure mapping (the Poller owns schedule, backoff and reconnects):
- connection refused/lost, no answer within ``connection.timeout_s`` -> the client is closed and
  read()/write() raise DeviceUnavailable; the Poller calls connect() again later.
- a Modbus exception response to a block read -> that block's points are BAD with the exception as their
  reason (counted and logged), the other blocks are still read. An ILLEGAL_ADDRESS answer to a block of several
  points is split in halves until the one point the device refuses is alone: the others are GOOD. When that point
  answers again (the device was reconfigured) or the device is connected again (it may have been replaced), the
  planned blocks come back; an address still refused is split again in that first poll.
- a NaN/inf float or a short response -> that point is BAD.
- a write to a non-writable point, a value that does not fit, or an exception response -> WriteRejected.

Logging: the Poller logs the device going unavailable and recovering (once each); this driver logs what only it
knows: a block answering exception responses (and healing), and the TCP link detail at debug level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from itertools import repeat
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException, ModbusIOException

from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.drivers.modbus_blocks import Block, plan_blocks, split_block
from iot_gateway.drivers.modbus_codec import EncodeError, PointCodec
from twin.clock import Clock, SystemClock
from twin.points import Quality, Reading, Value, new_readings
from twin.site.model import Device, ModbusAddress, ModbusConnection, Point

log = logging.getLogger(__name__)

# Errors that mean "the link is gone or the device is mute"; everything else is a bug and propagates.
_LINK_ERRORS = (ModbusException, OSError, TimeoutError)
_BACKSTOP_S = 0.1  # outer guard beyond the client's own timeout, for the few non-hot awaits
_GOOD = Quality.GOOD
_BAD = Quality.BAD
_ALWAYS_GOOD = repeat(_GOOD)  # endless and stateless: shared by every zip() of readings
_NO_REASON = repeat(None)
_REFUSED_ADDRESS = f"exception {ExcCodes.ILLEGAL_ADDRESS.value} (ILLEGAL_ADDRESS)"  # a block state, as logged
NOT_FINITE = "not a number (NaN or infinite)"
ReadCall = Callable[..., Awaitable[Any]]


class ModbusWriteRejected(WriteRejected):
    """The device answered a write with a Modbus exception response."""

    def __init__(self, message: str, exception_code: int) -> None:
        super().__init__(message)
        self.exception_code = exception_code


def exception_name(code: int) -> str:
    try:
        return ExcCodes(code).name
    except ValueError:
        return "UNKNOWN"


class ModbusTcpDriver:
    """Driver for one Modbus TCP device (``iot_gateway.driver.Driver``)."""

    def __init__(self, device: Device, *, clock: Clock | None = None) -> None:
        if not isinstance(device.connection, ModbusConnection):
            raise ValueError(f"device {device.id}: connection is not modbus_tcp")
        self.device = device
        self.connection: ModbusConnection = device.connection
        self._clock: Clock = clock or SystemClock()
        # The real clock's time.time itself: SystemClock.time is one more Python call per block read.
        self._now: Callable[[], float] = time.time if type(self._clock) is SystemClock else self._clock.time
        self._where = f"modbus device {device.id} ({self.connection.host}:{self.connection.port} "
        self._where += f"unit {self.connection.device_id})"
        connection = self.connection
        self._planned: list[Block] = plan_blocks(device.points, connection.max_block, connection.max_gap)
        self._codecs: dict[str, PointCodec] = {p.point_id: p.codec for b in self._planned for p in b.points}
        self._client: AsyncModbusTcpClient | None = None
        self._timeout = self.connection.timeout_s
        self._unit = self.connection.device_id
        # Counters by kind, for health pages and tests: reads, requests, exception_responses, bad_values...
        self.stats: Counter[str] = Counter()
        self._link_state = "new"  # new | up | down: logged on change only
        self._in_flight = False  # a request is waiting for its answer
        self._read_calls: dict[str, ReadCall] = {}
        self._use_planned_blocks()

    def _use_planned_blocks(self) -> None:
        """Read the blocks as planned from site.yaml (again, after splits), with fresh per-block state."""
        self.blocks: list[Block] = list(self._planned)
        self._split_blocks = False
        self._block_states: list[str] = ["ok"] * len(self.blocks)
        # The last registers of each block and what they decoded to: an unchanged block is not decoded again.
        self._last_registers: list[list[int] | None] = [None] * len(self.blocks)
        self._last_decoded: list[tuple[list[Value], int]] = [([], 0)] * len(self.blocks)
        self._reads: list[tuple[Block, ReadCall]] = (
            [(block, self._read_calls[block.table]) for block in self.blocks] if self._read_calls else []
        )

    # --- connection ----------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        await self.close()
        # The client enforces timeout_s on the connect and on every request (an asyncio.timeout of our own
        # around each read would cost ~5 us a request); retries=0, reconnect_delay=0: the Poller retries.
        client = AsyncModbusTcpClient(
            self.connection.host,
            port=self.connection.port,
            timeout=self._timeout,
            retries=0,
            reconnect_delay=0,
            name=f"modbus-{self.device.id}",
            trace_connect=self._on_link_change,
        )
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(self._timeout + _BACKSTOP_S):
                ok = await client.connect()
        except TimeoutError:
            ok = False
        if not ok:
            client.close()
            self.stats["connect_failures"] += 1
            # pymodbus only says False; a failure well before the timeout is a refusal (RST) or an ICMP error.
            if self._clock.monotonic() - started < 0.9 * self._timeout:
                reason = "cannot connect: connection refused or host unreachable"
            else:
                reason = f"cannot connect: no answer within {self._timeout:.3g} s"
            self._set_link_state("down", reason)
            raise DeviceUnavailable(f"{self._where}: {reason}")
        self._client = client
        self._read_calls = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }
        self._use_planned_blocks()  # a device connected again may have been fixed or replaced: splits start over
        self._set_link_state("up", "connected")

    async def close(self) -> None:
        client, self._client = self._client, None
        self._reads = []
        self._read_calls = {}
        if client is not None:
            client.close()

    def _on_link_change(self, up: bool) -> None:
        """pymodbus calls this when the TCP connection opens or drops. A request waiting for its answer on a
        dropped connection would otherwise wait out the whole timeout: fail it now. (pymodbus 3.16 keeps the
        pending answer in ``ctx.response_future``; without it we still fail, only later.)"""
        if up or not self._in_flight or self._client is None:
            return
        pending = getattr(getattr(self._client, "ctx", None), "response_future", None)
        if isinstance(pending, asyncio.Future) and not pending.done():
            pending.set_exception(ConnectionResetError("connection closed by the device"))

    def _lost(self, exc: BaseException) -> DeviceUnavailable:
        """Drop the connection after a failed request and describe why; the caller raises the result."""
        # pymodbus reports "no response within timeout" as ModbusIOException.
        kind = "timeouts" if isinstance(exc, TimeoutError | ModbusIOException) else "connection_errors"
        self.stats[kind] += 1
        if kind == "timeouts":
            reason = f"no answer within {self._timeout:.3g} s"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        if self._client is not None:
            self._client.close()
            self._client = None
            self._reads = []
            self._read_calls = {}
        self._set_link_state("down", reason)
        return DeviceUnavailable(f"{self._where}: {reason}")

    def _set_link_state(self, state: str, reason: str) -> None:
        # Debug only: the Poller logs the device's unavailable/recovered once (it knows the device state, house
        # rule 4); this line adds the TCP-level detail for whoever debugs the link.
        if state != self._link_state:
            self._link_state = state
            log.debug("%s link %s: %s", self._where, state, reason)

    def _set_block_state(self, index: int, state: str) -> None:
        if self._block_states[index] == state:
            return
        self._block_states[index] = state
        block = self.blocks[index]
        if state == "ok":
            log.info("%s: %s answers again", self._where, block.describe())
        else:
            log.warning("%s: %s answered %s", self._where, block.describe(), state)

    # --- reads ---------------------------------------------------------------------------------------------

    async def read(self) -> list[Reading]:
        """A Reading for every point: GOOD, or BAD where the device answered an exception or a bad value."""
        client = self._client
        if client is None:
            raise DeviceUnavailable(f"{self._where}: not connected")
        if not client.connected:
            raise self._lost(ConnectionError("connection closed by the device"))
        readings: list[Reading] = []
        stats = self.stats
        unit = self._unit
        now = self._now
        healed = False
        index = 0
        while index < len(self._reads):
            block, read_call = self._reads[index]
            index += 1
            self._in_flight = True
            try:
                response = await read_call(block.start, count=block.count, device_id=unit)
            except _LINK_ERRORS as exc:
                raise self._lost(exc) from None
            finally:
                self._in_flight = False
            stats["requests"] += 1
            ts = now()
            if response.isError():
                stats["exception_responses"] += 1
                code = int(response.exception_code)
                if code == ExcCodes.ILLEGAL_ADDRESS and len(block.points) > 1:
                    self._split(index - 1)  # the halves are read next, in this same poll
                    index -= 1
                    continue
                why = f"exception {code} {exception_name(code)}"
                self._set_block_state(index - 1, f"exception {code} ({exception_name(code)})")
                readings.extend(Reading(p.point_id, None, _BAD, ts, why) for p in block.points)
                continue
            if block.is_bits:
                bits = response.bits  # padded to whole bytes
                if len(bits) < block.count:
                    self._malformed(index - 1, block, len(bits), readings, ts)
                    continue
                if self._block_states[index - 1] != "ok":
                    healed = healed or self._was_refused_address(index - 1)
                    self._set_block_state(index - 1, "ok")
                for planned in block.points:
                    readings.append(Reading(planned.point_id, bool(bits[planned.index]), _GOOD, ts))
                continue
            registers = response.registers
            slot = index - 1
            if registers != self._last_registers[slot]:  # most registers hold still between polls
                if len(registers) != block.count:
                    self._malformed(slot, block, len(registers), readings, ts)
                    continue
                self._last_decoded[slot] = block.decode_values(registers)
                self._last_registers[slot] = registers
            if self._block_states[slot] != "ok":
                healed = healed or self._was_refused_address(slot)
                self._set_block_state(slot, "ok")
            values, bad = self._last_decoded[slot]
            if bad:
                stats["bad_values"] += bad
                for point_id, value in zip(block.ids, values, strict=True):
                    if value is None:
                        readings.append(Reading(point_id, None, _BAD, ts, NOT_FINITE))
                    else:
                        readings.append(Reading(point_id, value, _GOOD, ts))
            else:  # zip() and new_readings build them in C: no Python frame per point
                readings.extend(new_readings(zip(block.ids, values, _ALWAYS_GOOD, repeat(ts), _NO_REASON)))
        stats["reads"] += 1
        if healed:
            # A refused address answers again: read whole blocks from the next poll (splitting again if need be).
            log.info("%s: a refused address answers again: reading the planned blocks", self._where)
            self._use_planned_blocks()
        return readings

    def _malformed(self, index: int, block: Block, got: int, readings: list[Reading], ts: float) -> None:
        self.stats["malformed_responses"] += 1
        why = f"short answer: {got} values for {block.count}"
        self._set_block_state(index, why)
        readings.extend(Reading(p.point_id, None, _BAD, ts, why) for p in block.points)

    def _was_refused_address(self, index: int) -> bool:
        """Whether block ``index`` is the split-off address the device refused (not a block that was busy)."""
        return self._split_blocks and self._block_states[index] == _REFUSED_ADDRESS

    def _split(self, index: int) -> None:
        """Replace block ``index`` by two blocks of half its points each (kept while the device refuses some
        address in it: a whole-block read would fail again at every poll)."""
        block, read_call = self._reads[index]
        halves = split_block(block)
        self.stats["blocks_split"] += 1
        self._split_blocks = True
        log.info("%s: %s answered ILLEGAL_ADDRESS: reading it as %s", self._where, block.describe(),
                 " and ".join(half.describe() for half in halves))  # fmt: skip
        position = self.blocks.index(block)
        self.blocks[position : position + 1] = halves
        self._reads[index : index + 1] = [(half, read_call) for half in halves]
        self._block_states[index : index + 1] = ["ok"] * len(halves)
        self._last_registers[index : index + 1] = [None] * len(halves)
        self._last_decoded[index : index + 1] = [([], 0)] * len(halves)

    # --- writes --------------------------------------------------------------------------------------------

    async def write(self, point: Point, value: Value) -> None:
        """Write one point's value; raises WriteRejected (with the exception code for device refusals)."""
        codec = self._codecs.get(point.id)
        if codec is None or not isinstance(point.address, ModbusAddress):
            raise WriteRejected(f"{self._where}: point {point.id} is not one of this device's Modbus points")
        address = codec.address
        if not point.writable:
            raise WriteRejected(f"point {point.id} is not writable")
        if address.table in ("input", "discrete"):
            raise WriteRejected(f"point {point.id}: {address.table} {address.offset} is read-only in Modbus")
        client = self._client
        if client is None or not client.connected:
            raise DeviceUnavailable(f"{self._where}: not connected")
        try:
            registers = None if codec.is_bit_table or codec.bit is not None else codec.encode(value)
            coil = codec.encode_bit(value) if codec.is_bit_table else False
            self._in_flight = True
            async with asyncio.timeout(2 * self._timeout + _BACKSTOP_S):  # bit fields take two requests
                if codec.is_bit_table:
                    response = await client.write_coil(address.offset, coil, device_id=self._unit)
                else:
                    if registers is None:  # a bit field: read-modify-write of the register(s) holding it
                        current = await client.read_holding_registers(
                            address.offset, count=codec.width, device_id=self._unit
                        )
                        self._check_write_answer(point, current)
                        registers = codec.encode(value, current.registers)
                    response = await client.write_registers(address.offset, registers, device_id=self._unit)
        except EncodeError as exc:
            self.stats["writes_rejected"] += 1
            raise WriteRejected(f"point {point.id}: {exc}") from None
        except _LINK_ERRORS as exc:
            raise self._lost(exc) from None
        finally:
            self._in_flight = False
        self._check_write_answer(point, response)
        self.stats["writes"] += 1

    def _check_write_answer(self, point: Point, response: Any) -> None:
        if response.isError():
            self.stats["writes_rejected"] += 1
            code = int(response.exception_code)
            raise ModbusWriteRejected(
                f"point {point.id}: device answered exception code {code} ({exception_name(code)})", code
            )
