"""An exception escaping the application never reaches a reply or the log
with its text: only its class name (it may hold SQL and customer data)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from orderledger.api.errors import Shield

SECRET = "SELECT * FROM orderledger_events WHERE phone = '13800138000'"


async def failing_app(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError(SECRET)


async def replied_then_failed(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
    raise RuntimeError(SECRET)  # as Starlette does after its handler replied


def call(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/orders", "headers": []}
    asyncio.run(Shield(app)(scope, receive, send))
    return sent


@pytest.mark.parametrize("app", [failing_app, replied_then_failed])
def test_the_shield_replies_500_with_the_class_name_only(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="orderledger.api"):
        sent = call(app)

    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1 and starts[0]["status"] == 500  # one reply, never two
    body = b"".join(m.get("body", b"") for m in sent)
    assert SECRET.encode() not in body
    if app is failing_app:
        assert json.loads(body)["error"] == {
            "code": "internal",
            "message": "internal error (RuntimeError)",
        }
    assert "internal error (RuntimeError) on POST /orders" in caplog.text
    assert SECRET not in caplog.text and "Traceback" not in caplog.text
