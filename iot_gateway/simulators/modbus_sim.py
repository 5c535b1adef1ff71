"""Modbus device simulator: a real pymodbus TCP server holding one site device's points in its register map.

The simulator keeps its own memory (register and bit values by address) as the truth and serves it through the
pymodbus 3.16 simulator datastore (``SimDevice`` with an ``action`` hook): the hook copies memory into the
served registers before every read, stores client writes back into memory, counts requests, and injects
exception responses. Values are encoded with the driver's codec, so ``set_value(p, 230.1)`` reads back as
230.1 through the driver, and ``get_value`` sees what clients wrote.

Like a real meter, register addresses that are not in the map answer ILLEGAL ADDRESS, and so does every read
of a table the device has no points in, and writes to registers/coils of points that are not writable. Coils
and discrete inputs are served in 16-bit groups by pymodbus, so an unmapped bit next to mapped ones reads 0.
Requests to another unit id answer ILLEGAL ADDRESS.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from iot_gateway.drivers.modbus_codec import EncodeError, PointCodec
from twin.points import Value
from twin.site.model import Device, ModbusAddress, ModbusConnection, ModbusTable

_FC_TABLE: dict[int, ModbusTable] = {
    1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding", 16: "holding",
    22: "holding", 23: "holding", 4: "input",
}  # fmt: skip
_READ_FCS = frozenset({1, 2, 3, 4, 23})
_BIT_TABLES = ("coil", "discrete")
_WORD_TABLES = ("holding", "input")


@dataclass(frozen=True, slots=True)
class _Failure:
    table: ModbusTable
    start: int
    end: int  # exclusive
    code: ExcCodes


class ModbusDeviceSimulator:
    """A simulated Modbus TCP device serving ``device``'s points on its connection's host/port/unit id."""

    def __init__(self, device: Device, *, host: str | None = None, port: int | None = None) -> None:
        if not isinstance(device.connection, ModbusConnection):
            raise ValueError(f"device {device.id}: connection is not modbus_tcp")
        self.device = device
        self.host = host or device.connection.host
        self.port = port or device.connection.port
        self.unit = device.connection.device_id
        self._codecs: dict[str, PointCodec] = {}
        self._words: dict[ModbusTable, dict[int, int]] = {"holding": {}, "input": {}}
        self._bits: dict[ModbusTable, dict[int, bool]] = {"coil": {}, "discrete": {}}
        self._writable: dict[ModbusTable, set[int]] = {"holding": set(), "coil": set()}
        for point in device.points:
            address = point.address
            if not isinstance(address, ModbusAddress):
                raise ValueError(f"point {point.id}: address type {address.type!r} is not modbus")
            codec = PointCodec(address)
            self._codecs[point.id] = codec
            span = range(address.offset, address.offset + codec.width)
            if codec.is_bit_table:
                self._bits[address.table].update((a, False) for a in span)
            else:
                self._words[address.table].update((a, 0) for a in span)
            if point.writable and address.table in self._writable:
                self._writable[address.table].update(span)
        self._failures: dict[str, _Failure] = {}
        # Requests served, by table: tests check block coalescing with these.
        self.read_requests: Counter[str] = Counter()
        self.write_requests: Counter[str] = Counter()
        self._server: ModbusTcpServer | None = None
        # Called with the table before the device answers a read of it: dynamics that compute values on
        # demand (an energy counter from elapsed time, a bench that changes every value per read) hook in here.
        self.on_read: Callable[[ModbusTable], None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        devices = [SimDevice(id=self.unit, simdata=self._simdata(), action=self._on_request)]
        if self.unit != 0:
            # pymodbus falls back to unit 0 for unknown ids (and fails with a traceback without one).
            devices.append(SimDevice(id=0, simdata=_empty_simdata(), action=_reject_all))
        server = ModbusTcpServer(devices, address=(self.host, self.port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            await server.shutdown()
            where = f"{self.host}:{self.port}"
            raise OSError(f"modbus simulator {self.device.id}: cannot listen on {where}") from exc
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # closes the listener and every client connection: the port is free again
            await asyncio.sleep(0)  # let request handlers that were already scheduled finish

    async def __aenter__(self) -> ModbusDeviceSimulator:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # --- values --------------------------------------------------------------------------------------------

    def set_value(self, point_id: str, value: Value) -> None:
        """What the device reports for ``point_id`` from now on (NaN/inf allowed for float points)."""
        codec = self._codec(point_id)
        address = codec.address
        try:
            if codec.is_bit_table:
                self._bits[address.table][address.offset] = codec.encode_bit(value)
                return
            memory = self._words[address.table]
            span = range(address.offset, address.offset + codec.width)
            registers = codec.encode(value, [memory[a] for a in span])
        except EncodeError as exc:
            raise ValueError(f"{self.device.id}: cannot set {point_id} to {value!r}: {exc}") from None
        memory.update(zip(span, registers, strict=True))

    def get_value(self, point_id: str) -> Value:
        """The value the device holds for ``point_id``, including writes made by clients."""
        codec = self._codec(point_id)
        address = codec.address
        if codec.is_bit_table:
            return self._bits[address.table][address.offset]
        memory = self._words[address.table]
        return codec.decode([memory[a] for a in range(address.offset, address.offset + codec.width)])

    def fail_with_exception(self, point_id: str | None, code: ExcCodes = ExcCodes.DEVICE_FAILURE) -> None:
        """Answer every request touching ``point_id``'s registers with exception ``code``; None heals all."""
        if point_id is None:
            self._failures.clear()
            return
        address = self._codec(point_id).address
        width = self._codecs[point_id].width
        self._failures[point_id] = _Failure(address.table, address.offset, address.offset + width, code)

    def _codec(self, point_id: str) -> PointCodec:
        try:
            return self._codecs[point_id]
        except KeyError:
            raise KeyError(f"device {self.device.id} has no point {point_id!r}") from None

    # --- the pymodbus datastore ----------------------------------------------------------------------------

    def _simdata(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        """(coils, discrete inputs, holding, input) register maps covering exactly the points' addresses."""
        empty = _empty_simdata()
        coils = _bit_runs(self._bits["coil"]) or empty[0]
        discretes = _bit_runs(self._bits["discrete"]) or empty[1]
        holding = _word_runs(self._words["holding"], self._writable["holding"]) or empty[2]
        inputs = _word_runs(self._words["input"], set()) or empty[3]
        return coils, discretes, holding, inputs

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus SimDevice action: runs for every request after its addresses were found valid."""
        table = _FC_TABLE.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        writing = set_values is not None
        if writing:
            self.write_requests[table] += 1
        elif function_code in _READ_FCS:
            self.read_requests[table] += 1
            if self.on_read is not None:
                self.on_read(table)
        if table in _BIT_TABLES:
            bits = self._bits[table]
            if not bits:
                return ExcCodes.ILLEGAL_ADDRESS
            # For bit tables pymodbus passes the bit address but counts 16-bit groups.
            if set_values is not None:
                low, high = address, address + len(set_values)
                if any(a not in self._writable["coil"] for a in range(low, high)):
                    return ExcCodes.ILLEGAL_ADDRESS
            else:
                low = address - address % 16
                high = low + 16 * count
        else:
            low, high = address, address + count
        for failure in self._failures.values():
            if failure.table == table and failure.start < high and low < failure.end:
                return failure.code
        if set_values is not None:
            if table in _BIT_TABLES:
                self._bits[table].update((address + i, bool(v)) for i, v in enumerate(set_values))
            else:
                self._words[table].update((address + i, int(v)) for i, v in enumerate(set_values))
            return None
        if table in _BIT_TABLES:  # serve packed 16-bit groups, bit 0 = lowest address
            bits = self._bits[table]
            for group in range(address // 16, address // 16 + count):
                base = group * 16
                registers[group - start_address] = sum(1 << i for i in range(16) if bits.get(base + i, False))
        else:
            words = self._words[table]
            for a in range(address, address + count):
                registers[a - start_address] = words[a]
        return None


def _word_runs(memory: dict[int, int], writable: Iterable[int]) -> list[SimData]:
    """Register runs of consecutive addresses with the same writability, one SimData each; registers of
    points that are not writable are read-only, so a client write to them answers ILLEGAL ADDRESS."""
    readonly = set(memory) - set(writable)
    runs: list[SimData] = []
    run: list[int] = []
    for addr in sorted(memory):
        if run and (addr != run[-1] + 1 or (addr in readonly) != (run[0] in readonly)):
            runs.append(_registers(run, memory, run[0] in readonly))
            run = []
        run.append(addr)
    if run:
        runs.append(_registers(run, memory, run[0] in readonly))
    return runs


def _registers(run: list[int], memory: dict[int, int], readonly: bool) -> SimData:
    return SimData(run[0], values=[memory[a] for a in run], datatype=DataType.REGISTERS, readonly=readonly)


def _bit_runs(memory: dict[int, bool]) -> list[SimData]:
    runs: list[SimData] = []
    run: list[int] = []
    for addr in sorted(memory):
        if run and addr != run[-1] + 1:
            runs.append(SimData(run[0], values=[memory[a] for a in run], datatype=DataType.BITS))
            run = []
        run.append(addr)
    if run:
        runs.append(SimData(run[0], values=[memory[a] for a in run], datatype=DataType.BITS))
    return runs


def _empty_simdata() -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
    """Placeholders for tables without points: pymodbus needs an entry per table. Register placeholders are
    marked invalid (ILLEGAL ADDRESS); bit placeholders cannot be, so the action rejects those tables."""
    return (
        [SimData(0, values=[False], datatype=DataType.BITS)],
        [SimData(0, values=[False], datatype=DataType.BITS)],
        [SimData(0, datatype=DataType.INVALID)],
        [SimData(0, datatype=DataType.INVALID)],
    )


async def _reject_all(
    _fc: int, _start: int, _address: int, _count: int, _regs: list[int], _vals: list[int] | list[bool] | None
) -> ExcCodes | None:
    return ExcCodes.ILLEGAL_ADDRESS
