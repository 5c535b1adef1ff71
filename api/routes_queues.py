"""/api/queues: the public queue summary (visitors: waiting, expected wait, numbers called), the full figures for
staff (waits p50/p90, service times, windows, forecast, advice), and the queue system's webhook for ticket events."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from api.errors import error_responses
from monitoring.queues.service import QueueService

router = APIRouter(prefix="/api/queues", tags=["queues"])
SIGNATURE_HEADER = "X-HallTwin-Signature"
MAX_BODY = 1_000_000


def _service(request: Request) -> QueueService:
    node = getattr(request.app.state.runtime, "queues", None)
    if node is None:
        raise HTTPException(503, detail="the queue analytics are not running")
    service: QueueService = node.service
    return service


class IngestAnswer(BaseModel):
    accepted: int = Field(description="Events that now count")
    duplicates: int = Field(description="Events sent before (same id): ignored")
    refused: list[str] = Field(description="Why each refused event was refused (kept in the refused journal)")


@router.get("", responses=error_responses(503))
async def public_queues(request: Request) -> dict[str, Any]:
    """For visitors (GB/T 40756 9.4.4.5): per service the people waiting, the expected wait and the windows open,
    and the number called at each window."""
    service = _service(request)
    return {"configured": service.configured, **service.public_summary()}


@router.get("/detail", responses=error_responses(503))
async def queue_detail(request: Request) -> dict[str, Any]:
    """For staff: per service waits p50/p90 and the longest, service times, today's counts, satisfaction and the
    next hour's forecast; per window group the windows open, what each window called, and the advice."""
    service = _service(request)
    return {"configured": service.configured, **service.snapshot()}


@router.post("/events", response_model=IngestAnswer, responses=error_responses(401, 404, 422, 503))
async def ticket_events(
    request: Request,
    signature: str | None = Header(default=None, alias=SIGNATURE_HEADER, description="sha256=<hex HMAC-SHA256 "
                                   "of the raw body with the site's webhook secret>"),
) -> IngestAnswer:
    """The queue system's webhook: one ticket event (JSON object) or a list of them, signed like Qminder's
    webhooks with HMAC-SHA256 of the raw body. 422 when no event of the message could be used (each reason is
    given, and the events are kept in the refused journal)."""
    service = _service(request)
    env = service.settings.webhook_secret_env
    secret = os.environ.get(env) if env else None
    if not secret:
        raise HTTPException(404, detail="this site takes no ticket events by webhook (queues.webhook_secret_env "
                            "is not set, or its environment variable is empty)")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(422, detail=f"the body is over {MAX_BODY} bytes: send fewer events per request")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if signature is None or not hmac.compare_digest(signature.strip().lower(), expected):
        raise HTTPException(401, detail=f"{SIGNATURE_HEADER} is missing or does not match the body "
                            "(sha256=<hex HMAC-SHA256 of the raw body>)")
    result = service.ingest(body, "webhook")
    answer = IngestAnswer(accepted=result.accepted, duplicates=result.duplicates, refused=result.refused)
    if result.refused and not result.accepted and not result.duplicates:
        raise HTTPException(422, detail="; ".join(result.refused))
    return answer
