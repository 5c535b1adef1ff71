"""VictoriaMetricsStore: point history in VictoriaMetrics (influxdb-client writes, Prometheus API reads).

Data model: measurement ``halltwin`` with tags ``site`` and ``point`` and two fields, ``value`` (numbers;
bools as 0/1) and ``quality`` (integer code, base.QUALITY_CODES), so VM holds two series per point,
``halltwin_value`` and ``halltwin_quality``. Quality is a field, not a tag, so a quality change does not split
a point into several series. Text values (e.g. queue.last_called) and None are not stored as values: only
their quality sample is kept. Timestamps are PointUpdate.ts in milliseconds, sent as given: VM keeps one
sample per series and millisecond, so StoreAndForward (the only way the runtime writes to VM) first moves a
second update of a point in the same millisecond 1 ms later, once, durably (distinct_ts.py). Start VM with
``-dedup.minScrapeInterval=1ms`` so that a batch re-sent after a lost acknowledgement, or after VM restarted
and lost what it had acknowledged (current_run), is stored once.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from monitoring.history.base import (
    HOUR_S,
    QUALITY_BY_CODE,
    QUALITY_CODES,
    RAW_MAX_STEP_S,
    HistoryBackendUnavailable,
    HistoryBucket,
    HistoryRejected,
    HistoryResult,
    HistorySample,
    HistoryStoreError,
    RemoteRun,
    Resolution,
    check_range,
    numeric_value,
)
from twin.points import PointUpdate, Quality

_AGGREGATES = ("avg", "min", "max", "last", "count")
_RUN_METRICS = ("process_start_time_seconds", "vm_http_requests_all_total")


def _escape_tag(text: str) -> str:
    """Line protocol tag key/value escaping: commas, equals signs and spaces."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_label(text: str) -> str:
    """A PromQL double-quoted string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


class VictoriaMetricsStore:
    """HistoryStore on a VictoriaMetrics server. Writes go through influxdb-client's synchronous WriteApi in
    one worker thread (its asyncio client needs aiohttp, which this project does not ship); reads use httpx.
    Every aggregate is computed by VM from raw samples, so the result's resolution only reflects the step."""

    def __init__(
        self,
        url: str,
        site: str,
        measurement: str = "halltwin",
        timeout_s: float = 10.0,
        token: str = "",
        max_samples: int = 200_000,
    ) -> None:
        self.url = url.rstrip("/")
        self.site = site
        self.measurement = measurement
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self._tags = f"{_escape_tag(measurement)},site={_escape_tag(site)},point="
        # retries=False: a failed write surfaces at once; StoreAndForward owns retrying with backoff.
        self._client = InfluxDBClient(
            url=self.url, token=token, org="halltwin", timeout=int(timeout_s * 1000), retries=False
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-vm-writer")
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s)
        self._closed = False

    def lines(self, updates: Sequence[PointUpdate]) -> list[str]:
        """Line protocol for a batch (public so the bench and tests can see exactly what is sent)."""
        out = []
        for update in updates:
            number = numeric_value(update.value)
            fields = f"quality={QUALITY_CODES[update.quality]}i"
            if number is not None:
                fields = f"value={number!r},{fields}"
            out.append(f"{self._tags}{_escape_tag(update.point_id)} {fields} {round(update.ts * 1000)}")
        return out

    def _write_sync(self, lines: list[str]) -> None:
        try:
            # WritePrecision.MS is a plain str constant that the library's own annotation does not accept.
            precision: Any = WritePrecision.MS
            self._write_api.write(bucket="halltwin", record=lines, write_precision=precision)
        except ApiException as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 429):
                raise HistoryRejected(f"VictoriaMetrics {self.url} rejected a write: {exc.status} {exc.body}") from exc
            raise HistoryBackendUnavailable(f"VictoriaMetrics {self.url} write failed: {exc.status}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise HistoryBackendUnavailable(f"VictoriaMetrics {self.url} unreachable: {exc}") from exc

    async def append(self, updates: Sequence[PointUpdate]) -> None:
        if self._closed:
            raise HistoryStoreError(f"VictoriaMetrics {self.url}: store is closed")
        if updates:
            lines = self.lines(updates)
            await asyncio.get_running_loop().run_in_executor(self._writer, self._write_sync, lines)

    async def current_run(self) -> RemoteRun:
        """Which run of the VM process answers, from its own /metrics (start time and requests served)."""
        response = await self._get("/metrics", {})
        found: dict[str, float] = {}
        for line in response.text.splitlines():
            name, _, value = line.partition(" ")
            if name in _RUN_METRICS:
                found[name] = float(value)
        missing = [name for name in _RUN_METRICS if name not in found]
        if missing:
            raise HistoryStoreError(f"VictoriaMetrics {self.url}/metrics: no {', '.join(missing)}")
        return RemoteRun(found["process_start_time_seconds"], found["vm_http_requests_all_total"])

    def _selector(self, point_id: str, name: str) -> str:
        return f'{name}{{site="{_escape_label(self.site)}",point="{_escape_label(point_id)}"}}'

    async def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        try:
            response = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise HistoryBackendUnavailable(f"VictoriaMetrics {self.url}{path} unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise HistoryBackendUnavailable(f"VictoriaMetrics {self.url}{path}: {response.status_code}")
        if response.status_code != 200:
            raise HistoryStoreError(f"VictoriaMetrics {self.url}{path}: {response.status_code} {response.text[:300]}")
        return response

    async def query(self, point_id: str, start: float, end: float, step: float | None = None) -> HistoryResult:
        """Raw samples from /api/v1/export when step is None or < 60 s, else per-step avg/min/max/last/count
        from /api/v1/query_range (``*_over_time`` over the step). Bucket ts is the bucket's start."""
        check_range(start, end, step)
        if self._closed:
            raise HistoryStoreError(f"VictoriaMetrics {self.url}: store is closed")
        if step is None or step < RAW_MAX_STEP_S:
            return await self._query_raw(point_id, start, end, step)
        return await self._query_steps(point_id, start, end, step)

    async def _query_raw(self, point_id: str, start: float, end: float, step: float | None) -> HistoryResult:
        match = (
            f'{{__name__=~"{self.measurement}_(value|quality)",site="{_escape_label(self.site)}",'
            f'point="{_escape_label(point_id)}"}}'
        )
        response = await self._get("/api/v1/export", {"match[]": match, "start": start, "end": end})
        values: dict[int, float] = {}
        qualities: dict[int, float] = {}
        for line in response.text.splitlines():
            if not line.strip():
                continue
            series = json.loads(line)
            target = values if series["metric"]["__name__"].endswith("_value") else qualities
            target.update(zip(series["timestamps"], map(float, series["values"]), strict=True))
        stamps = sorted(qualities.keys() | values.keys())
        samples = (
            HistorySample(ts / 1000.0, values.get(ts), QUALITY_BY_CODE.get(int(qualities.get(ts, 0)), Quality.BAD))
            for ts in stamps
        )
        return HistoryResult.raw(point_id, start, end, step, samples, self.max_samples)

    async def _query_steps(self, point_id: str, start: float, end: float, step: float) -> HistoryResult:
        selector = self._selector(point_id, f"{self.measurement}_value")
        window = f"{math.ceil(step * 1000)}ms"
        # VM evaluates at t = start + k*step over the window (t - step, t]. Evaluating at t = b + step with
        # "offset 1ms" covers [b, b + step) at millisecond resolution: the same buckets as the SQLite store.
        first = math.floor(start / step) * step  # epoch-aligned buckets, as in the SQLite store
        params = {"start": first + step, "end": end + step, "step": window}
        responses = await asyncio.gather(
            *(
                self._get(
                    "/api/v1/query_range",
                    {**params, "query": f"{name}_over_time({selector}[{window}] offset 1ms)"},
                )
                for name in _AGGREGATES
            )
        )
        columns: list[dict[float, float]] = []
        for response in responses:
            result = response.json()["data"]["result"]
            columns.append({float(t): float(v) for t, v in result[0]["values"]} if result else {})
        avg, low, high, last, count = columns
        buckets = tuple(
            HistoryBucket(t - step, avg[t], low[t], high[t], last[t], int(count[t]))
            for t in sorted(avg)
            if t in low and t in high and t in last and t in count and count[t] > 0
        )
        resolution = Resolution.HOUR if step >= HOUR_S else Resolution.MINUTE
        return HistoryResult(point_id, start, end, step, resolution, buckets=buckets)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, self._client.close)
        self._writer.shutdown(wait=True)
