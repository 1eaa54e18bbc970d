"""Per destination: how a batch of messages goes over the wire."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from orderledger.outbox.catalog_messages import GOODS
from orderledger.outbox.clients import (
    CrmClient,
    Outcome,
    TransientError,
    U8Client,
    WdtClient,
)
from orderledger.outbox.store import Delivery
from orderledger.outbox.wdt_protocol import MAX_TRADES_PER_PUSH


class Sender(Protocol):
    batch_size: int

    def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per message; raises TransientError if none went."""
        ...


class WdtSender:
    batch_size = MAX_TRADES_PER_PUSH

    def __init__(self, client: WdtClient) -> None:
        self.client = client

    def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """Trades go to trade_push, refunds to sales_refund_push, goods to
        goods_push; the outcomes come back in the batch's order."""
        push_of = {"refund": self.client.push_refunds, GOODS: self.client.push_goods}
        groups: dict[Any, list[Delivery]] = {}
        for d in batch:
            groups.setdefault(push_of.get(d.kind, self.client.push_trades), []).append(
                d
            )
        outcomes: dict[int, Outcome] = {}
        for push, group in groups.items():
            if group:
                sent = push([json.loads(d.payload) for d in group])
                outcomes.update(zip((d.id for d in group), sent, strict=True))
        return [outcomes[d.id] for d in batch]


def _one_by_one(
    batch: Sequence[Delivery], send: Callable[[Delivery], Outcome]
) -> list[Outcome]:
    """A message per call; a failure of the call stops the rest of the batch
    (they stay pending and go in a later round)."""
    outcomes: list[Outcome] = []
    for delivery in batch:
        try:
            outcomes.append(send(delivery))
        except TransientError:
            if not outcomes:
                raise
            break
    return outcomes


class U8Sender:
    """U8 takes one document per call."""

    batch_size = 20

    def __init__(self, client: U8Client) -> None:
        self.client = client

    def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        return _one_by_one(
            batch,
            lambda d: self.client.add(d.kind, d.remote_key, json.loads(d.payload)),
        )


class CrmSender:
    """The CRM feed: a signed webhook per event."""

    batch_size = 20

    def __init__(self, client: CrmClient) -> None:
        self.client = client

    def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        return _one_by_one(
            batch, lambda d: self.client.deliver(d.remote_key, json.loads(d.payload))
        )
