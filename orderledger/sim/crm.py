"""A CRM simulator: a webhook subscriber that checks each delivery's
signature and age, records every event once (by its id) and can fail on
command (POST /_sim/fault, as the other simulators)."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from orderledger.outbox.clients import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    crm_signature,
)
from orderledger.sim.server import SimError, Simulator

MAX_AGE_SECONDS = 300


class CrmSimulator(Simulator):
    name = "crm"
    rate_limit_status = 429

    def __init__(self, *, secret: str) -> None:
        super().__init__()
        self._secret = secret
        self.events: dict[str, dict[str, Any]] = {}  # event id -> the first body
        self.deliveries = 0  # every accepted POST, duplicates included
        self.refused = 0  # bad signature, too old, not JSON

    def state(self) -> Any:
        return {
            "events": list(self.events.values()),
            "deliveries": self.deliveries,
            "duplicates": self.deliveries - len(self.events),
            "refused": self.refused,
        }

    def reset(self) -> None:
        self.events.clear()
        self.deliveries = self.refused = 0

    def rate_limited(self) -> Any:
        return {"error": "slow down"}

    def advance(self, body: dict[str, Any]) -> Any:
        raise SimError("the CRM simulator has no steps of its own")

    def api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        if method != "POST":
            return 405, {"error": "POST the events"}
        given = {k.lower(): v for k, v in (headers or {}).items()}
        stamp = given.get(TIMESTAMP_HEADER.lower(), "")
        expected = crm_signature(self._secret, stamp, body)
        signature = given.get(SIGNATURE_HEADER.lower(), "")
        if not hmac.compare_digest(signature, expected):
            self.refused += 1
            return 401, {"error": "bad signature"}
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_AGE_SECONDS:
            self.refused += 1
            return 401, {"error": "timestamp too old or too new"}
        try:
            event = json.loads(body)
            event_id = str(event["event_id"])
        except (ValueError, KeyError, TypeError):
            self.refused += 1
            return 400, {"error": "not an event"}
        if given.get(EVENT_HEADER.lower()) != event_id:
            self.refused += 1
            return 400, {"error": f"{EVENT_HEADER} does not name the body's event"}
        self.deliveries += 1
        self.events.setdefault(event_id, event)
        return 200, {"received": event_id}
