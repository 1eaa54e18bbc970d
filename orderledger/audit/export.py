"""Export events with their chain hashes, stably, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table

from orderledger.audit.chainscan import orders
from orderledger.domain.chain import CHAIN_FIELDS
from orderledger.domain.order import order_id
from orderledger.projections.log import event_type, plain

FIELDS = (
    "position", "order_no", "order_key", "version", "type", "topic", "time",
    "actor", "source", "reason", "chain_prev", "chain_hash", "content",
)  # fmt: skip


def rows(
    engine: Engine,
    events: Table,
    *,
    order_no: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    only = None if order_no is None else order_id(order_no).hex
    for order_key, order_events in orders(engine, events, only=only):
        number = next(
            (str(e.content.get("order_no")) for e in order_events if e.version == 1), ""
        )
        for e in order_events:
            moment = datetime.fromisoformat(str(plain(e.content.get("timestamp", ""))))
            if (since and moment < since) or (until and moment >= until):
                continue
            content = {k: v for k, v in e.content.items() if k not in CHAIN_FIELDS}
            yield {
                "position": e.position,
                "order_no": number,
                "order_key": order_key,
                "version": e.version,
                "type": event_type(e.topic),
                "topic": e.topic,
                "time": moment.isoformat(),
                "actor": content.get("actor", ""),
                "source": content.get("source", ""),
                "reason": content.get("reason", ""),
                "chain_prev": e.content.get("chain_prev", ""),
                "chain_hash": e.content.get("chain_hash", ""),
                "content": json.dumps(
                    content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ),
            }


def render(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=1)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
