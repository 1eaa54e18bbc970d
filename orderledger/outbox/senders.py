"""Per destination: how a batch of messages goes over the wire."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from orderledger.outbox.clients import Outcome, TransientError, U8Client, WdtClient
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
        """Trades go to trade_push, refunds to sales_refund_push; the outcomes
        come back in the batch's order."""
        trades = [d for d in batch if d.kind != "refund"]
        refunds = [d for d in batch if d.kind == "refund"]
        outcomes: dict[int, Outcome] = {}
        for group, push in (
            (trades, self.client.push_trades),
            (refunds, self.client.push_refunds),
        ):
            if group:
                sent = push([json.loads(d.payload) for d in group])
                outcomes.update(zip((d.id for d in group), sent, strict=True))
        return [outcomes[d.id] for d in batch]


class U8Sender:
    """U8 takes one document per call; a failure stops the rest of the batch."""

    batch_size = 20

    def __init__(self, client: U8Client) -> None:
        self.client = client

    def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for delivery in batch:
            try:
                outcomes.append(
                    self.client.add(
                        delivery.kind, delivery.remote_key, json.loads(delivery.payload)
                    )
                )
            except TransientError:
                if not outcomes:
                    raise
                break  # the rest stay pending and go in a later round
        return outcomes
