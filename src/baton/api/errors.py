"""One error body for every failure: `{"error": {"code", "message", "field"?}}`.

Codes are the stable ones of `baton.errors`; a database that is busy or down is a 503 with
`Retry-After` (the sender retries; nothing was answered 2xx and lost).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from baton.errors import BatonError, PayloadInvalid, StorageError, Unavailable

log = logging.getLogger("baton.api")
RETRY_AFTER_SECONDS = "5"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return {"error": body}


def respond(exc: BatonError) -> JSONResponse:
    field = exc.field if isinstance(exc, PayloadInvalid) else None
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if exc.status == 503 else None
    if exc.status == 401:  # RFC 9110 15.5.2: a 401 names the scheme that would work
        headers = {"WWW-Authenticate": 'Bearer realm="baton"'}
    return JSONResponse(error_body(exc.code, exc.message, field), exc.status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "(body)"


ErrorPage = Callable[[Request, int, str, str], Response]
"""Renders an error for a person (the web app); JSON is for everything else."""


def _for_person(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/v1/", "/metrics", "/healthz", "/readyz", "/openapi")) and (
        "text/html" in request.headers.get("accept", "")
    )


def install(app: FastAPI, page: ErrorPage | None = None) -> None:
    def answer(request: Request, body: JSONResponse, code: str, message: str) -> Response:
        if page is not None and _for_person(request):
            return page(request, body.status_code, code, message)
        return body

    @app.exception_handler(BatonError)
    async def _baton(request: Request, exc: BatonError) -> Response:
        return answer(request, respond(exc), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = _where(tuple(first.get("loc", ())))
        message = f"{field}: {first.get('msg')}"
        body = JSONResponse(error_body("input_error", message, field), 422)
        return answer(request, body, "input_error", message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = {
            400: "input_error",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
        }.get(exc.status_code, "http_error")
        body = JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
        return answer(request, body, code, str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(sqlite3.OperationalError)
    async def _busy(request: Request, exc: Exception) -> Response:
        orig = getattr(exc, "orig", None) or exc
        log.warning("database unavailable: %s", orig)
        error = Unavailable(f"the database is busy or down ({orig}); retry")
        return answer(request, respond(error), error.code, error.message)

    @app.exception_handler(DBAPIError)
    async def _storage(request: Request, exc: DBAPIError) -> Response:
        log.error("database error: %s", exc.orig)
        error = StorageError(f"the database refused: {exc.orig}")
        return answer(request, respond(error), error.code, error.message)
