"""Request and reply plumbing shared by the routes: the body (bounded in
size, strict JSON), its fields, and replies with the order's ETag."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from orderledger.api.errors import ApiError
from orderledger.api.service import MAX_BODY, etag
from orderledger.domain.errors import InvalidInput
from orderledger.domain.json_input import loads_strict

# Every write may say why, and the website for which customer it acts.
COMMON = frozenset({"reason", "on_behalf_of"})


async def read_body(request: Request) -> tuple[bytes, dict[str, Any]]:
    """The raw body (for the idempotency hash) and its JSON object ({} when
    empty). Over MAX_BODY: 413, before reading it when the size is declared."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    if not body.strip():
        return body, {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8") from None
    data = loads_strict(text, "the body")
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    return body, data


def _too_large() -> ApiError:
    return ApiError(413, "body_too_large", f"the body is over {MAX_BODY} bytes")


def fields(
    data: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> dict[str, Any]:
    """The body's fields, checked: every required one present, none unknown."""
    known = {*required, *optional, *COMMON}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    missing = [k for k in required if data.get(k) in (None, "")]
    if missing:
        raise InvalidInput(f"missing field(s): {', '.join(missing)}")
    return dict(data)


def order_reply(status: int, order: dict[str, Any]) -> Response:
    """The order object with its version as the ETag (orjson: the replies are
    plain JSON values already, and it is several times faster)."""
    return Response(
        orjson.dumps(order),
        status_code=status,
        media_type="application/json",
        headers={"ETag": etag(order["version"])},
    )
