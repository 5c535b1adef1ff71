"""The compact JSON wire forms of a PointUpdate (/ws frames, MQTT payloads), written out by hand.

Byte for byte what ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` gives for
``PointUpdate.to_json()`` (and the MQTT subset), which stays the definition (tests compare the two). These run
for every value on its way to every browser and to the broker: building a dict per update and walking it with
the json encoder took two to three times as long as these f-strings. Numbers are written with ``repr``, as the
json module writes them; strings, and any value of another type, still go through json.dumps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from math import isfinite

from twin.points import PointUpdate

_ID_CACHE_MAX = 200_000  # point ids of a site are bounded; the cap only guards against a runaway source
_ids: dict[str, str] = {}


def dumps(value: object) -> str:
    """json.dumps as the wire uses it: compact, UTF-8 text kept as it is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _value(value: object) -> str:
    kind = type(value)
    if kind is float:
        return repr(value) if isfinite(value) else "null"  # type: ignore[arg-type]  # JSON has no NaN
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    return dumps(value)


def _time(ts: float) -> str:
    return repr(ts) if type(ts) is float and isfinite(ts) else dumps(ts)


def _id(point_id: str) -> str:
    text = _ids.get(point_id)
    if text is None:
        if len(_ids) >= _ID_CACHE_MAX:
            _ids.clear()
        text = _ids[point_id] = dumps(point_id)
    return text


# The text of the last ts and source_ts written, by identity: the readings of one device read share one stamp
# object (and a publisher's batch often one), and repr() of a float was half the cost of an update's JSON.
# One tuple each, swapped whole, so a reader in another thread never sees a time with another's text.
_ts_memo: tuple[object, str] = (None, "null")
_sts_memo: tuple[object, str] = (None, "null")


def update_json(update: PointUpdate) -> str:
    """``{"id","v","q","ts","sts"}`` plus ``"r"`` when a reason is set: the /ws form of PointUpdate.to_json()."""
    global _ts_memo, _sts_memo
    ts, memo = update.ts, _ts_memo
    if memo[0] is ts:
        ts_text = memo[1]
    else:
        ts_text = _time(ts)
        _ts_memo = (ts, ts_text)
    sts, memo = update.source_ts, _sts_memo
    if memo[0] is sts:
        sts_text = memo[1]
    else:
        sts_text = _time(sts)
        _sts_memo = (sts, sts_text)
    head = (
        f'{{"id":{_id(update.point_id)},"v":{_value(update.value)},"q":"{update.quality.value}",'
        f'"ts":{ts_text},"sts":{sts_text}'
    )
    reason = update.reason
    return head + "}" if reason is None else f'{head},"r":{dumps(reason)}}}'


def payload_json(update: PointUpdate) -> str:
    """``{"v","q","ts"}`` plus ``"r"`` when a reason is set: the retained MQTT payload of a point."""
    head = f'{{"v":{_value(update.value)},"q":"{update.quality.value}","ts":{_time(update.ts)}'
    reason = update.reason
    return head + "}" if reason is None else f'{head},"r":{dumps(reason)}}}'


def points_frame(frame_type: str, updates: Iterable[PointUpdate]) -> str:
    """``{"type": frame_type, "points": [...]}`` as text, every update in its /ws form."""
    return frame_of_parts(frame_type, map(update_json, updates))


def frame_of_parts(frame_type: str, parts: Iterable[str]) -> str:
    """``{"type": frame_type, "points": [...]}`` of updates already written by update_json (shared by many
    clients, or a shared batch cut for one)."""
    return f'{{"type":{dumps(frame_type)},"points":[{",".join(parts)}]}}'
