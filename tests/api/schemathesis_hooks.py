"""Schemathesis hooks (SCHEMATHESIS_HOOKS): two shipped checks, each narrowed by one documented exception.

positive_data_acceptance: the history route limits how its parameters combine (start before end, at most 400
days, at most 10,000 buckets), which OpenAPI cannot describe; each parameter on its own is fully described. A 422
for a schema-valid request passes only when this module, reading the request itself, finds such a combination.

not_a_server_error: a device command answers 502 (the device refused, or reads back another value) or 504 (no
answer, no read-back in time) as a gateway does about its upstream; under load a simulated device may be slow.
Such an answer passes only on a command route and only when its body names one of those device outcomes.

Anything else fails exactly as schemathesis's own check does."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import ServerError
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

HISTORY = "GET /api/points/{point_id}/history"
# The documented limits of the history route (README, and the route's description in /openapi.json).
MAX_RANGE_S = 400 * 86_400.0
MAX_BUCKETS = 10_000
DEFAULT_SPAN_S = 3600.0
COMMANDS = frozenset(
    {
        "POST /api/points/{point_id}/write",
        "POST /api/points/{point_id}/release",
        "POST /api/doors/{door_id}/unlock",
        "POST /api/doors/{door_id}/lock",
    }
)
# The CommandRouter's outcomes that are the device's doing (api/command_router.py), by HTTP status.
DEVICE_OUTCOMES = {502: {"device_rejected", "read_back_mismatch"}, 504: {"device_unavailable", "read_back_timeout"}}


def _seconds(raw: Any) -> float | None:
    """A start/end parameter as epoch seconds (number or RFC 3339), None when it cannot be read."""
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        pass
    iso = text.upper()
    try:
        moment = datetime.fromisoformat(iso[:-1] + "+00:00" if iso.endswith("Z") else iso)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def history_combination_is_invalid(query: dict[str, Any]) -> bool:
    """Whether the parameters, each valid, break one of the history route's limits on their combination."""
    end = _seconds(query.get("end")) if "end" in query else time.time()
    if end is None:
        return False
    start = _seconds(query.get("start")) if "start" in query else end - DEFAULT_SPAN_S
    if start is None:
        return False
    if start >= end or end - start > MAX_RANGE_S:
        return True
    try:
        step = float(str(query["step"]).removesuffix("s")) if query.get("step") not in (None, "") else None
    except ValueError:
        return False
    return step is not None and math.isfinite(step) and step > 0 and (end - start) / step > MAX_BUCKETS


@schemathesis.check
def positive_data_acceptance_across_parameters(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        refused_combination = (
            case.operation.label == HISTORY
            and response.status_code == 422
            and history_combination_is_invalid(dict(case.query or {}))
        )
        if (refused_combination or _refused_by_point_rule(case.operation.label, response)
                or _refused_photo(case.operation.label, response)
                or _refused_route(case.operation.label, response)
                or _refused_by_content_or_site(case.operation.label, response)
                or _null_from_a_link(case)):  # fmt: skip
            return None
        raise


def _null_from_a_link(case: Any) -> bool:
    """A stateful step whose inferred link filled a path parameter from a null field (GET /api/pages gives
    work_order_id null for an alarm's page, and /api/workorders/None/... is refused): data no schema calls valid."""
    return any(value is None or value == "None" for value in (case.path_parameters or {}).values())


# The CommandRouter checks a value against the point named in the path (kind, states, min/max, the register's
# range) and a duration against the site's commands.max_unlock_s: rules OpenAPI cannot state per path parameter.
COMMANDS = frozenset({"POST /api/points/{point_id}/write", "POST /api/doors/{door_id}/unlock"})
POINT_RULES = frozenset({"invalid_value", "invalid_duration"})


def _refused_by_point_rule(label: str, response: Any) -> bool:
    if label not in COMMANDS or response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") in POINT_RULES


# A work order's photo is checked on its bytes (JPEG, PNG or WebP by its first bytes; the site's size limit).
PHOTO = "POST /api/workorders/{order_id}/photo"
PHOTO_RULES = {415: "invalid_photo", 413: "photo_too_large"}


def _refused_photo(label: str, response: Any) -> bool:
    if label != PHOTO or response.status_code not in PHOTO_RULES:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == PHOTO_RULES[response.status_code]


# A route needs `to` unless mode=evacuation, and a `from` point must lie on a walkable floor (api/routes_wayfinding.py).
ROUTE = "GET /api/route"
ROUTE_RULES = frozenset({"destination_required", "not_walkable"})


def _refused_route(label: str, response: Any) -> bool:
    if label != ROUTE or response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") in ROUTE_RULES


# Rules a plain schema does not state: a page names exactly one of message, text or audio (a oneOf over optional
# fields); uploaded page audio is checked on its content (decodable, not empty); the heatmap keeps the window the
# site's `heatmap.keep_min` sets; a work-order room filter names a zone or room of this site's building model. Each
# refusal is told by its own code or sentence.
CONTENT_OR_SITE_RULES: dict[str, Any] = {
    "POST /api/broadcast": lambda body: str(body.get("detail", "")).startswith("give exactly one of"),
    "POST /api/broadcast/audio": lambda body: body.get("error") == "bad_audio",
    "GET /api/heatmap": lambda body: "(heatmap.keep_min)" in str(body.get("detail", "")),
    "GET /api/workorders": lambda body: body.get("error") == "unknown_room",
}


def _refused_by_content_or_site(label: str, response: Any) -> bool:
    rule = CONTENT_OR_SITE_RULES.get(label)
    if rule is None or response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(rule(body))


def is_device_outcome(label: str, status: int, body: Any) -> bool:
    """Whether a 5xx is a command route reporting what the device did (documented), not a failure of the server."""
    codes = DEVICE_OUTCOMES.get(status, set())
    return label in COMMANDS and isinstance(body, dict) and body.get("error") in codes


@schemathesis.check
def not_a_server_error_but_the_device(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return not_a_server_error(ctx, response, case)
    except ServerError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if is_device_outcome(case.operation.label, response.status_code, body):
            return None
        raise
