"""Errors a client can act on: an HTTP status and a stable `code` per kind.

No stack trace, SQL, token or secret ever reaches a reply: the message is the
project error's own first line (domain/errors.py `first_line`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from orderledger.domain.errors import (
    ConcurrencyConflict,
    DuplicateOrder,
    IllegalTransition,
    InvalidInput,
    NotFound,
    OrderLedgerError,
    OrderNotFound,
    RemoteUnavailable,
    RuleViolation,
    StaleVersion,
    StorageError,
    first_line,
)
from orderledger.domain.stock import StockShort

LOG = logging.getLogger("orderledger.api")

# The first matching class wins: subclasses before their bases.
_KINDS: list[tuple[type[OrderLedgerError], int, str]] = [
    (InvalidInput, 422, "invalid_input"),
    (OrderNotFound, 404, "order_not_found"),
    (NotFound, 404, "not_found"),
    (IllegalTransition, 409, "transition_refused"),
    (StockShort, 409, "stock_short"),
    (DuplicateOrder, 409, "duplicate_order"),
    (RuleViolation, 409, "rule_violated"),
    (StaleVersion, 412, "version_mismatch"),
    (ConcurrencyConflict, 409, "conflict"),
    (StorageError, 503, "storage_unavailable"),
    (RemoteUnavailable, 503, "remote_unavailable"),
]


class ApiError(Exception):
    """A refusal of the HTTP layer itself (auth, role, size, idempotency)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _reply(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status)


def ledger_error(error: OrderLedgerError) -> JSONResponse:
    for cls, status, code in _KINDS:
        if isinstance(error, cls):
            extra: dict[str, Any] = {}
            if isinstance(error, IllegalTransition):
                extra = {
                    "order_status": error.status,
                    "allowed_actions": list(error.allowed),
                }
            if isinstance(error, StockShort):
                extra = {"short_lines": [s.to_data() for s in error.shortages]}
            return _reply(status, code, first_line(error), **extra)
    return _reply(500, "internal", "internal error")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _reply(error.status, error.code, str(error), **error.extra)

    @app.exception_handler(OrderLedgerError)
    async def domain_error(_: Request, error: OrderLedgerError) -> JSONResponse:
        return ledger_error(error)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, error: RequestValidationError) -> JSONResponse:
        where = ", ".join(
            ".".join(str(p) for p in e.get("loc", ())) for e in error.errors()
        )
        return _reply(422, "invalid_input", f"invalid request: {where}")

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(
            error.status_code, "http_error"
        )
        return _reply(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def internal(_: Request, error: Exception) -> JSONResponse:
        # Never the exception's text: it may hold SQL and customer data.
        return _reply(500, "internal", f"internal error ({type(error).__name__})")


class Shield:
    """The outermost ASGI layer. An exception that escapes the application
    (Starlette re-raises even after its handler replied) stops here: the
    client gets a 500 with the exception's class name only, and the log one
    line, never its text or a traceback (they may hold SQL and customer data).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            name = type(error).__name__
            LOG.error(
                "internal error (%s) on %s %s", name, scope["method"], scope["path"]
            )
            if not started:
                response = _reply(500, "internal", f"internal error ({name})")
                await response(scope, receive, send)
