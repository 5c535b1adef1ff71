"""The one documented shape of every error the API answers, and the `responses=` that declare it per route."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class ValidationIssue(BaseModel):
    """One problem FastAPI found in a request (its own 422 shape: where, what, which rule)."""

    model_config = ConfigDict(extra="allow")  # FastAPI adds "input" and "ctx" to some issues

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: ``detail`` says what is wrong and where. Our own checks give one sentence; FastAPI's
    request validation gives its list of issues. Both are documented, so clients (and schemathesis) can rely
    on either."""

    model_config = ConfigDict(extra="allow")  # some routes add a machine-readable "error" code

    detail: str | list[ValidationIssue] = Field(description="what is wrong, naming the parameter or the object")
    error: str | None = Field(default=None, description="a short code for programs, where the route has one")


DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read",
    401: "No valid session: log in (POST /api/auth/login) and send the cookie or the bearer token",
    403: "The caller's role may not use this route",
    404: "No such object; the detail names it",
    409: "The request conflicts with the object's current state",
    422: "A parameter or the body is invalid; the detail names it and says why",
    429: "Too many attempts: wait and retry (Retry-After)",
    500: "The server failed; the detail says where",
    503: "A service this route needs is not available now; retry later (Retry-After where known)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer these error codes, all with the ErrorBody shape."""
    unknown = [code for code in codes if code not in DESCRIPTIONS]
    if unknown:
        raise ValueError(f"no description for HTTP status {unknown}: add it to api.errors.DESCRIPTIONS")
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def document_body_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare 400 on every operation that takes a body: FastAPI answers 400 itself, before any route runs, when
    the body is not valid JSON (or not the declared media type)."""
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    body_schema.pop("$defs", None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ValidationIssue", ValidationIssue.model_json_schema())
    components.setdefault("ErrorBody", body_schema)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "400",
                    {
                        "description": DESCRIPTIONS[400],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    },
                )
    return schema


class _AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: the one form that can carry a lone surrogate."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 body, which echoes the input. A lone UTF-16 surrogate in that input (valid JSON escape,
    invalid UTF-8) made FastAPI's handler fail with a 500; the body is then sent with escapes instead."""
    assert isinstance(exc, RequestValidationError)
    content = {"detail": jsonable_encoder(exc.errors())}
    try:
        return JSONResponse(content, status_code=422)
    except UnicodeEncodeError:
        return _AsciiJSONResponse(content, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Answer request validation errors with the documented ErrorBody, whatever characters the input holds."""
    app.add_exception_handler(RequestValidationError, _validation_error)
