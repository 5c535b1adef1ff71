"""The HistoryStore interface and its result types: raw samples or per-step aggregates of one point."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from twin.points import PointUpdate, Quality

# Quality as a small integer: the column/field form used by every store (stable: it is on disk and in VM).
QUALITY_CODES: dict[Quality, int] = {
    Quality.GOOD: 0,
    Quality.STALE: 1,
    Quality.BAD: 2,
    Quality.UNAVAILABLE: 3,
}
QUALITY_BY_CODE: dict[int, Quality] = {code: quality for quality, code in QUALITY_CODES.items()}
# Rollups average only values an operator would trust: GOOD, and STALE (a repeat of the last good value).
MAX_ROLLUP_QUALITY_CODE = QUALITY_CODES[Quality.STALE]

RAW_MAX_STEP_S = 60.0  # a step below this returns raw samples; from this on, per-step aggregates
HOUR_S = 3600.0


class Resolution(StrEnum):
    """Which data a query result was computed from."""

    RAW = "raw"
    MINUTE = "minute"  # per-minute rollups (plus the newest raw samples not rolled up yet)
    HOUR = "hour"  # per-hour rollups (plus finer data newer than the last closed hour)


class HistoryStoreError(Exception):
    """A history store cannot do what was asked; the message names the store (file or URL)."""


class HistoryBackendUnavailable(HistoryStoreError):
    """A remote store cannot be reached right now (connection refused, timeout, 5xx): worth retrying."""


class HistoryRejected(HistoryStoreError):
    """A remote store refused the data itself (4xx): retrying the same data will not help."""


@dataclass(frozen=True, slots=True)
class HistorySample:
    """One stored value: numbers (bools as 0/1) are floats, text stays text, None when there was no value."""

    ts: float
    value: float | str | None
    quality: Quality


@dataclass(frozen=True, slots=True)
class HistoryBucket:
    """Aggregates of the trusted numeric values in [ts, ts + step)."""

    ts: float
    avg: float
    min: float
    max: float
    last: float
    count: int


@dataclass(frozen=True, slots=True)
class HistoryResult:
    """The answer to one query: ``samples`` for raw resolution, ``buckets`` otherwise."""

    point_id: str
    start: float
    end: float
    step: float | None
    resolution: Resolution
    samples: tuple[HistorySample, ...] = ()
    buckets: tuple[HistoryBucket, ...] = ()
    truncated: bool = False  # raw results stop at the store's max_samples

    def __len__(self) -> int:
        return len(self.samples) if self.resolution is Resolution.RAW else len(self.buckets)

    @classmethod
    def raw(
        cls,
        point_id: str,
        start: float,
        end: float,
        step: float | None,
        samples: Iterable[HistorySample],
        max_samples: int,
    ) -> HistoryResult:
        """A raw result of at most ``max_samples``; stores pass up to one more so that ``truncated`` is known
        without counting the rest."""
        kept = tuple(itertools.islice(samples, max_samples + 1))
        return cls(
            point_id,
            start,
            end,
            step,
            Resolution.RAW,
            samples=kept[:max_samples],
            truncated=len(kept) > max_samples,
        )


@dataclass(frozen=True, slots=True)
class RemoteRun:
    """One run of a remote store's process: a restart loses what it had acknowledged but not yet made durable."""

    started_at: float  # process start, epoch seconds (whole seconds for VictoriaMetrics)
    served: float  # a counter that only grows during one run (requests served)

    def is_new_run_after(self, before: RemoteRun) -> bool:
        # The counter catches most restarts within the same second as the previous start. Left undetected: a run
        # that crashed in the second it started, replaced by one that served more requests by the next check.
        return self.started_at != before.started_at or self.served < before.served


@runtime_checkable
class RestartDetecting(Protocol):
    """A remote store that can say which run of its process is answering (StoreAndForward re-sends on a new one)."""

    async def current_run(self) -> RemoteRun: ...


@runtime_checkable
class HistoryStore(Protocol):
    """Point history: appended in batches from the PointBus, queried per point with a resolution."""

    async def append(self, updates: Sequence[PointUpdate]) -> None: ...

    async def query(self, point_id: str, start: float, end: float, step: float | None = None) -> HistoryResult: ...

    async def close(self) -> None: ...


def check_range(start: float, end: float, step: float | None) -> None:
    """Reject a query range that cannot mean anything, naming the bad argument."""
    for name, value in (("start", start), ("end", end)):
        if not math.isfinite(value):
            raise ValueError(f"history query: {name} must be a finite epoch time in seconds, got {value!r}")
    if start > end:
        raise ValueError(f"history query: start ({start}) is after end ({end})")
    if step is not None and (not math.isfinite(step) or step <= 0):
        raise ValueError(f"history query: step must be a positive number of seconds, got {step!r}")


def numeric_value(value: object) -> float | None:
    """The number a value stands for in history: bool -> 0/1, finite int/float -> float, else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return None
