"""Every destination the relay serves: which remote's settings it needs and
which log it follows. One table, so that the CLI, the status reports and
the composition root agree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from orderledger.domain.errors import InvalidInput
from orderledger.outbox.catalog_messages import U8_INVENTORY, WDT_GOODS
from orderledger.outbox.messages import CRM, U8, WDT
from orderledger.outbox.store import DeliveryStore

ORDERS_LOG, CATALOG_LOG = "orders", "catalog"


@dataclass(frozen=True)
class Route:
    name: str
    remote: str  # whose settings it needs: wdt, u8 or crm
    log: str  # the log it follows: the orders' or the catalog's


ROUTES = {
    r.name: r
    for r in (
        Route(WDT, WDT, ORDERS_LOG),
        Route(U8, U8, ORDERS_LOG),
        Route(CRM, CRM, ORDERS_LOG),
        Route(WDT_GOODS, WDT, CATALOG_LOG),
        Route(U8_INVENTORY, U8, CATALOG_LOG),
    )
}
ALL_DESTINATIONS = tuple(ROUTES)


def route(destination: str) -> Route:
    found = ROUTES.get(destination)
    if found is None:
        raise InvalidInput(
            f"unknown destination {destination!r}: use {', '.join(ALL_DESTINATIONS)}"
        )
    return found


def delivery_store(engine: Engine) -> DeliveryStore:
    """The delivery rows on `engine`, every destination's tracking ready."""
    store = DeliveryStore(engine)
    store.ensure(ALL_DESTINATIONS)
    return store
