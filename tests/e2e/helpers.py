"""Driving orders and relays in end-to-end tests."""

from __future__ import annotations

import itertools
import threading
import time
from decimal import Decimal

from orderledger.application import OrderLedger
from orderledger.bootstrap import build_relay
from orderledger.config import U8Settings, WdtSettings
from orderledger.domain.values import Delivery, Source
from orderledger.outbox.relay import Relay, RelayPolicy
from tests.factories import draft
from tests.simfixtures import FAST

WHO = {"actor": "e2e", "source": Source.BACK_OFFICE}


def relays(
    ledger: OrderLedger,
    wdt: WdtSettings | None,
    u8: U8Settings | None,
    policy: RelayPolicy = FAST,
) -> list[Relay]:
    chosen = [d for d, s in (("wdt", wdt), ("u8", u8)) if s is not None]
    return [build_relay(ledger, d, wdt=wdt, u8=u8, policy=policy) for d in chosen]


def drained(relay: Relay) -> bool:
    """Caught up, and nothing left that could ever be sent (parked orders wait)."""
    caught_up = relay.store.position(relay.destination) == relay.source.log_head()
    return caught_up and not relay.store.next_batch(relay.destination, 1, float("inf"))


def drain(all_relays: list[Relay], seconds: float = 60.0) -> None:
    """Run the relays until everything is delivered (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    stop = threading.Event()
    while not all(drained(r) for r in all_relays):
        assert time.monotonic() < deadline, "the relays did not drain in time"
        for r in all_relays:
            r.run(stop, once=True)
        time.sleep(0.02)


def full_lifecycle(ledger: OrderLedger, order_no: str, payment: str) -> None:
    ledger.create(draft(payment, order_no=order_no), **WHO)
    ledger.confirm(order_no, **WHO)
    total = Decimal(ledger.get(order_no)["total"])
    if payment != "cod":
        ledger.confirm_payment(order_no, total, **WHO)
    ledger.ship(order_no, Delivery("SF", f"T-{order_no}"), **WHO)
    ledger.confirm_receipt(order_no, **WHO)
    if payment == "cod":
        ledger.confirm_payment(order_no, total, **WHO)


def is_non_decreasing(values: list[int]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))
