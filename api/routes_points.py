"""/api/points, /api/points/{id} and /api/points/{id}/history: point metadata, live value and history."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from api.errors import error_responses
from iot_gateway.gateway import PointInfo, point_catalog
from twin.points import PointUpdate, Quality

router = APIRouter()

MAX_RANGE_S = 400 * 86_400.0  # a little over a year: longer ranges are exports, not charts
MAX_BUCKETS = 10_000  # what a chart can draw; a finer step over a long range is refused, not truncated
# The last second of year 9999, the largest time ISO 8601 (and datetime) can write: a larger epoch number is a
# mistake (milliseconds, nanoseconds), and past ~9.2e15 it would overflow the history store's 64-bit integers.
MAX_EPOCH_S = 253_402_300_799
# History keeps milliseconds: a finer step means nothing (and 1e-309 s made the bucket count infinite, a 500).
MIN_STEP_S = 0.001
# What the parameters accept, as the OpenAPI document tells clients (and the fuzzer): epoch seconds or RFC 3339.
TIME_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": MAX_EPOCH_S},
        {"type": "string", "format": "date-time"},
    ]
}
# "anyOf" replaces the one FastAPI derives from ``str | None`` (the value is parsed here, to name it in errors).
STEP_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number", "minimum": MIN_STEP_S, "maximum": MAX_RANGE_S}]}
TimeParam = Annotated[
    str | None,
    Query(description="epoch seconds or ISO 8601 (no offset: UTC)", json_schema_extra=TIME_SCHEMA),
]
StepParam = Annotated[
    str | None,
    Query(description="seconds per bucket; none or under 60: raw samples", json_schema_extra=STEP_SCHEMA),
]


def catalog_of(request: Request) -> dict[str, PointInfo]:
    runtime = request.app.state.runtime
    catalog: dict[str, PointInfo] | None = getattr(runtime, "point_catalog", None)
    if catalog is None:
        catalog = point_catalog(runtime.site)
        runtime.point_catalog = catalog
    return catalog


def point_json(info: PointInfo, update: PointUpdate | None) -> dict[str, Any]:
    value: Any = None
    if update is not None:
        value = update.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None  # JSON has no NaN
    return {
        "id": info.id,
        "device": info.device,
        "name": {"zh": info.name.zh, "en": info.name.en},
        "unit": info.unit,
        "kind": info.kind.value,
        "ifc_guid": info.ifc_guid,
        "writable": info.writable,
        "states": list(info.states) or None,
        "value": value,
        "quality": (update.quality if update is not None else Quality.UNAVAILABLE).value,
        # Why the value is not GOOD (the device's answer, a timeout...); None when GOOD.
        "reason": update.reason if update is not None else "no value received yet",
        "ts": update.ts if update is not None else None,
        "source_ts": update.source_ts if update is not None else None,
    }


def _lookup(request: Request, point_id: str) -> PointInfo:
    info = catalog_of(request).get(point_id)
    if info is None:
        site_id = request.app.state.runtime.site.site.id
        raise HTTPException(404, detail=f"no point {point_id!r} in site {site_id}: see /api/points for the ids")
    return info


@router.get("/api/points")
async def list_points(request: Request) -> list[dict[str, Any]]:
    latest = request.app.state.runtime.bus.latest
    return [point_json(info, latest.get(point_id)) for point_id, info in catalog_of(request).items()]


@router.get("/api/points/{point_id}", responses=error_responses(404))
async def get_point(request: Request, point_id: str) -> dict[str, Any]:
    info = _lookup(request, point_id)
    return point_json(info, request.app.state.runtime.bus.latest.get(point_id))


def parse_time(name: str, raw: str) -> float:
    """Epoch seconds or ISO 8601 (a time without offset is UTC) -> epoch seconds; 422 naming the parameter."""
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        iso = text.upper()  # RFC 3339 allows a lower-case "t" and "z"; fromisoformat does not
        try:
            moment = datetime.fromisoformat(iso[:-1] + "+00:00" if iso.endswith("Z") else iso)
        except ValueError:
            raise HTTPException(
                422, detail=f"{name}={raw!r} is neither epoch seconds nor an ISO 8601 time (2024-05-01T08:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(number) or number < 0:
        raise HTTPException(422, detail=f"{name}={raw!r} must be a finite, non-negative epoch time in seconds")
    if number > MAX_EPOCH_S:
        raise HTTPException(
            422, detail=f"{name}={raw!r} is after the year 9999: epoch seconds, not milliseconds, are expected"
        )
    return number


def parse_step(raw: str | None) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        step = float(raw.strip().removesuffix("s"))
    except ValueError:
        raise HTTPException(422, detail=f"step={raw!r} must be a number of seconds, e.g. 60") from None
    if not math.isfinite(step) or step <= 0:
        raise HTTPException(422, detail=f"step={raw!r} must be a positive number of seconds")
    if step < MIN_STEP_S:
        raise HTTPException(422, detail=f"step={raw!r} is shorter than the history's resolution (0.001 s)")
    if step > MAX_RANGE_S:
        raise HTTPException(422, detail=f"step={raw!r} is longer than the longest range served (400 days)")
    return step


@router.get("/api/points/{point_id}/history", responses=error_responses(404, 422, 500, 503))
async def point_history(
    request: Request, point_id: str, start: TimeParam = None, end: TimeParam = None, step: StepParam = None
) -> dict[str, Any]:
    """Samples (no step, or a step under a minute) or per-step aggregates of one point; default: the last hour.

    The parameters must also fit together (422 otherwise): start before end, at most 400 days between them,
    and at most 10,000 steps in the range."""
    _lookup(request, point_id)
    runtime = request.app.state.runtime
    end_ts = parse_time("end", end) if end is not None else runtime.clock.time()
    start_ts = parse_time("start", start) if start is not None else end_ts - 3600.0
    step_s = parse_step(step)
    if start_ts >= end_ts:
        raise HTTPException(422, detail=f"start ({start_ts:.3f}) must be before end ({end_ts:.3f})")
    if end_ts - start_ts > MAX_RANGE_S:
        raise HTTPException(422, detail=f"the range is {(end_ts - start_ts) / 86_400:.0f} days; at most 400 are served")
    if step_s is not None and (end_ts - start_ts) / step_s > MAX_BUCKETS:
        buckets = math.ceil((end_ts - start_ts) / step_s)
        raise HTTPException(
            422,
            detail=f"step={step_s:g} s gives {buckets} buckets over this range; at most {MAX_BUCKETS}: "
            "use a larger step",
        )
    history = getattr(runtime, "history", None)
    if history is None:
        raise HTTPException(503, detail="no history store is running")
    from monitoring.history.base import HistoryBackendUnavailable, HistoryStoreError

    try:
        result = await history.query(point_id, start_ts, end_ts, step_s)
    except HistoryBackendUnavailable as exc:
        raise HTTPException(503, detail=f"history store unavailable: {exc}") from None
    except HistoryStoreError as exc:
        raise HTTPException(500, detail=f"history store failed: {exc}") from None
    except ValueError as exc:  # the store's own range check
        raise HTTPException(422, detail=str(exc)) from None
    body: dict[str, Any] = {
        "id": point_id,
        "start": result.start,
        "end": result.end,
        "step": result.step,
        "resolution": result.resolution.value,
        "truncated": result.truncated,
    }
    if result.resolution.value == "raw":
        body["samples"] = [{"ts": s.ts, "v": _finite(s.value), "q": s.quality.value} for s in result.samples]
    else:
        body["buckets"] = [
            {"ts": b.ts, "avg": b.avg, "min": b.min, "max": b.max, "last": b.last, "count": b.count}
            for b in result.buckets
        ]
    return body


def _finite(value: float | str | None) -> float | str | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value
