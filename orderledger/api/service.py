"""What every route needs: the caller, its rights, and writes that are safe
to retry (Idempotency-Key) and to race (If-Match / ETag).

The routes stay thin: they name the action, parse the body and hand the
command to `Service.write`, which runs it on a worker thread with the
request's key and expected version set for that thread only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from orderledger.api.errors import ApiError
from orderledger.application import OrderLedger
from orderledger.application.access import (
    Role,
    allowed,
    customer_scoped,
)
from orderledger.application.catalog import Catalog
from orderledger.application.preconditions import expecting_version
from orderledger.bootstrap import build_reconciler, build_stock_levels
from orderledger.config import Settings, load_erp_settings, load_reconcile_settings
from orderledger.domain.catalog import ProductLookup
from orderledger.domain.errors import ConcurrencyConflict, StaleVersion
from orderledger.domain.order import order_id
from orderledger.domain.stock import StockLevels
from orderledger.projections.store import ProjectionStore
from orderledger.store.requests import (
    MAX_KEY,
    Request,
    RequestLog,
    SeenRequest,
    kept_reply,
    recording,
)
from orderledger.store.sessions import SessionStore
from orderledger.store.tokens import Caller, TokenStore

MAX_BODY = 64 * 1024  # an order of hundreds of lines fits many times over


@dataclass(frozen=True)
class Who:
    """The authenticated caller, as the events record it."""

    caller: Caller
    role: Role

    def meta(self, on_behalf_of: object = None) -> dict[str, Any]:
        """actor and source from the token; the website may name the
        customer it acts for (recorded in the actor)."""
        actor = self.caller.name
        if on_behalf_of not in (None, ""):
            actor = f"{actor} for {str(on_behalf_of)[:40]}"
        return {"actor": actor[:64], "source": self.role.source}


class Service:
    def __init__(
        self,
        settings: Settings,
        ledger: OrderLedger,
        projections: ProjectionStore,
        tokens: TokenStore,
        requests: RequestLog,
        sessions: SessionStore,
        catalog: Catalog,
    ) -> None:
        self.settings, self.ledger, self.projections = settings, ledger, projections
        self.tokens, self.requests, self.sessions = tokens, requests, sessions
        self.catalog = catalog
        wdt, _ = load_erp_settings(None, os.environ)
        self.wdt_configured = wdt is not None

    def stock_levels(self) -> StockLevels | None:
        """Where a confirmation asks for stock (docs/catalog.md)."""
        return build_stock_levels(self.settings, load_erp_settings(None, os.environ)[0])

    def products(self) -> ProductLookup:
        """The catalog as order lines read it (docs/catalog.md)."""
        return self.catalog.lookup(allow_unknown=self.settings.allow_unknown_skus)

    def reconciliation(self) -> dict[str, Any]:
        """The reconciliation report, a dry run (never --apply over HTTP),
        with the shop's settings from the environment."""
        reconciler = build_reconciler(
            self.ledger, self.projections, load_reconcile_settings(None, os.environ)
        )
        report: dict[str, Any] = reconciler.run().to_data()
        return report

    # ---- who ----------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Who:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
        caller = self.tokens.caller(token.strip())
        if caller is None:
            raise ApiError(401, "unauthorized", "unknown or revoked token")
        return Who(caller, Role(caller.role))

    def authorize(self, who: Who, action: str) -> None:
        if not allowed(who.role, action):
            raise ApiError(
                403,
                "forbidden",
                f"role {who.role.value} may not {action}",
                action=action,
            )

    def scoped_phone(self, who: Who, action: str, phone: str | None) -> str | None:
        """The customer a website read is limited to (its phone), or None
        for roles that see every order."""
        if not customer_scoped(who.role, action):
            return None
        if not phone:
            raise ApiError(
                422,
                "customer_required",
                "the website reads one customer's orders: give customer_phone",
            )
        return phone

    # ---- writes ---------------------------------------------------------------

    def write(
        self,
        who: Who,
        *,
        method_path: str,
        body: bytes,
        key: str | None,
        if_match: str | None,
        command: Callable[[], dict[str, Any]],
        created: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Run a command once per idempotency key; (HTTP status, the reply)."""
        expected = parse_if_match(if_match)
        request = None
        if key is not None:
            check_key(key)
            digest = hashlib.sha256(method_path.encode() + b"\n" + body).hexdigest()
            seen = self.requests.seen(who.caller.token_id, key)
            if seen is not None:
                return self._replay(seen, digest, created)
            request = Request(who.caller.token_id, key, digest)
        try:
            marked = recording(request) if request else nullcontext()
            with marked, expecting_version(expected):
                reply = command()
        except ConcurrencyConflict as error:
            # A twin request with the same key may have won the race.
            if request is None or isinstance(error, StaleVersion):
                raise
            seen = self.requests.seen(who.caller.token_id, request.key)
            if seen is None:
                raise
            return self._replay(seen, request.request_hash, created)
        if request is not None:
            self.requests.complete(
                request,
                order_key=order_id(reply["order_no"]).hex,
                version=int(reply["version"]),
                reply=kept_reply(reply),
            )
        return _status(reply, created), reply

    def _replay(
        self, seen: SeenRequest, digest: str, created: bool
    ) -> tuple[int, dict[str, Any]]:
        if seen.request_hash != digest:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        reply: dict[str, Any] = json.loads(seen.reply)
        if "customer" in reply:  # the log keeps no personal data: read afresh
            fresh = self.ledger.get(reply["order_no"])
            reply["customer"], reply["address"] = fresh["customer"], fresh["address"]
        return _status(reply, created), reply


def _status(reply: dict[str, Any], created: bool) -> int:
    """201 for a new order, 200 for everything else (an identical create too)."""
    return 201 if created and reply.get("created", True) else 200


def parse_if_match(value: str | None) -> int | None:
    """An ETag as this API sends it ("7", or W/"7"), or None."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiError(
            422, "invalid_if_match", 'If-Match must be the ETag of a reply, e.g. "3"'
        )
    return int(text)


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            422,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY} printable characters",
        )


def etag(version: int) -> str:
    return f'"{version}"'
