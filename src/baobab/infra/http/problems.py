"""Errors as RFC 9457 problem details (``application/problem+json``).

A Baobab error keeps its stable ``code`` as an extension member, and ``type`` is a URN built from
it, so clients can branch on either. Request validation failures list each bad field in ``errors``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baobab.kernel.errors import (
    BaobabError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("baobab.http")

_STATUS: tuple[tuple[type[BaobabError], int], ...] = (
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
)


def status_for(error: BaobabError) -> int:
    """The HTTP status that goes with an error's kind."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def problem(
    *, status: int, code: str, title: str, detail: str, request: Request, **extra: Any
) -> JSONResponse:
    """A problem+json response carrying ``code`` and the request id."""
    body: dict[str, Any] = {
        "type": f"urn:baobab:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="baobab"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _baobab_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BaobabError)
    status = status_for(exc)
    if status >= 500:
        _log.error("request failed", extra={"code": exc.code})
    return problem(
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        request=request,
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    malformed = any(e["type"] == "json_invalid" for e in errors)
    return problem(
        status=400 if malformed else 422,
        code="http.malformed_json" if malformed else "http.invalid_request",
        title="Malformed JSON" if malformed else "Invalid request",
        detail="the request body is not valid JSON"
        if malformed
        else "the request does not match the API's schema",
        request=request,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        status=exc.status_code,
        code=f"http.{exc.status_code}",
        title=str(exc.detail),
        detail=str(exc.detail),
        request=request,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unexpected error", extra={"error_type": type(exc).__name__})
    return problem(
        status=500,
        code="http.internal_error",
        title="Internal error",
        detail="an unexpected error occurred; the request id identifies it in the logs",
        request=request,
    )


def install(app: FastAPI) -> None:
    """Route every error an app can raise through problem+json."""
    app.add_exception_handler(BaobabError, _baobab_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
