"""What a relay follows: a log, and how each of its events becomes the
messages of one destination. The orders' log gives WDT its trades, U8 its
documents and the CRM its webhooks; the catalog's log gives WDT its goods
and U8 its inventory records. Delivery, retries, parking and replay are the
relay's, the same for all."""

from __future__ import annotations

import json
from typing import Any, Protocol
from uuid import UUID

from orderledger.application import OrderLedger
from orderledger.application.catalog import Catalog
from orderledger.domain.catalog import (
    CODE_KINDS,
    PRODUCT_FIELDS,
    PRODUCT_TOPICS,
    RENAMED_TOPIC,
    Product,
    code_list_id,
)
from orderledger.domain.order import Order
from orderledger.outbox.catalog_messages import catalog_messages
from orderledger.outbox.messages import Message, messages_for
from orderledger.outbox.store import PENDING
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.vault import Vault

CACHED = 20_000  # aggregates kept between an event and the next of the same one
_KIND_OF_LIST = {code_list_id(kind): kind for kind in CODE_KINDS}


class MessageSource(Protocol):
    @property
    def recorder(self) -> Any:
        """The recorder whose notifications are followed."""

    @property
    def vault(self) -> Vault | None:
        """Where sealed personal data in a message is opened at send time."""

    def log_head(self) -> int: ...

    def rows_for(self, n: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
        """The delivery rows of one stored event (`base`: the columns every
        row of it shares)."""

    def subject_no(self, n: Any) -> str:
        """The order number (or SKU) of an event whose messages cannot be
        built, for the parked row in their place."""

    def forget(self) -> None:
        """Drop what is cached: another relay moved the position."""


def message_rows(
    base: dict[str, Any],
    subject_no: str,
    event_type: str,
    event_time: str,
    messages: list[Message],
) -> list[dict[str, Any]]:
    return [
        {
            **base,
            "order_no": subject_no,
            "seq": seq,
            "event_type": event_type,
            "event_time": event_time,
            "kind": message.kind,
            "remote_key": message.key,
            "payload": json.dumps(message.payload, ensure_ascii=False, sort_keys=True),
            "state": PENDING,
            "open": 1,
        }
        for seq, message in enumerate(messages)
    ]


class OrderMessages:
    """The orders' log: an event's messages are built from the order as
    that event left it."""

    def __init__(self, ledger: OrderLedger, destination: str) -> None:
        self.ledger, self.destination = ledger, destination
        self._orders: BoundedCache[UUID, Order] = BoundedCache(CACHED)

    @property
    def recorder(self) -> Any:
        return self.ledger.recorder

    @property
    def vault(self) -> Vault | None:
        return self.ledger.vault

    def log_head(self) -> int:
        return self.ledger.log_head()

    def _order_before(self, order_id: UUID, version: int) -> Order | None:
        if version == 1:
            return None
        cached = self._orders.get(order_id)
        if cached is not None and cached.version == version - 1:
            return cached
        order: Order = self.ledger.repository.get(order_id, version=version - 1)
        return order

    def rows_for(self, n: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
        order_id = UUID(str(n.originator_id))
        event: Any = self.ledger.mapper.to_domain_event(n)
        order = event.mutate(self._order_before(order_id, n.originator_version))
        event_type = type(event).__name__
        messages = messages_for(
            self.destination,
            order,
            event_type,
            n.originator_version,
            getattr(event, "source", ""),
            getattr(event, "case_id", ""),
        )
        self._orders.put(order_id, order)
        return message_rows(
            base, order.order_no, event_type, event.timestamp.isoformat(), messages
        )

    def subject_no(self, n: Any) -> str:
        known = self._orders.take(UUID(str(n.originator_id)))
        return known.order_no if known else _stored_field(n, "order_no")

    def forget(self) -> None:
        self._orders.clear()


class CatalogMessages:
    """The catalog's log: a product event's messages carry the product as
    that event left it (the lists' events send nothing)."""

    def __init__(self, catalog: Catalog, destination: str) -> None:
        self.catalog, self.destination = catalog, destination
        self._products: BoundedCache[UUID, Product] = BoundedCache(CACHED)

    @property
    def recorder(self) -> Any:
        return self.catalog.recorder

    @property
    def vault(self) -> Vault | None:
        return None  # a product holds no personal data

    def log_head(self) -> int:
        return self.catalog.log_head()

    def rows_for(self, n: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
        if str(n.topic) == RENAMED_TOPIC:
            return self._renamed(n, base)
        if not str(n.topic).startswith(PRODUCT_TOPICS):
            return []  # a code added to a list: no product changed
        product_id = UUID(str(n.originator_id))
        version = n.originator_version
        before = self._products.get(product_id)
        if version > 1 and (before is None or before.version != version - 1):
            before = self.catalog.repository.get(product_id, version=version - 1)
        event: Any = self.catalog.mapper.to_domain_event(n)
        product = event.mutate(before if version > 1 else None)
        self._products.put(product_id, product)
        event_type = type(event).__name__
        changed = frozenset(getattr(event, "changes", PRODUCT_FIELDS))
        (view,) = self.catalog.views_of([product])
        messages = catalog_messages(self.destination, view, event_type, changed)
        return message_rows(
            base, product.sku, event_type, event.timestamp.isoformat(), messages
        )

    def _renamed(self, n: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
        """A brand, category or type renamed: each product that has it, as it
        was then, goes again where the name is kept (WDT: brand and
        category; U8: category), in its own order among its messages."""
        kind = _KIND_OF_LIST[UUID(str(n.originator_id))]
        event: Any = self.catalog.mapper.to_domain_event(n)
        rows: list[dict[str, Any]] = []
        products = self.catalog.products_with(kind, event.code, n.id)
        for product, view in zip(
            products, self.catalog.views_of(products), strict=True
        ):
            messages = catalog_messages(
                self.destination,
                view,
                "Renamed",
                frozenset({kind}),
                occasion=f"{kind}-renamed-{n.id}",
            )
            rows += message_rows(
                {**base, "order_key": product.id.hex, "version": product.version},
                product.sku,
                "Renamed",
                event.timestamp.isoformat(),
                messages,
            )
        # one event, several products: numbered through
        return [{**row, "seq": seq} for seq, row in enumerate(rows)]

    def subject_no(self, n: Any) -> str:
        return _stored_field(n, "sku")

    def forget(self) -> None:
        self._products.clear()


def _stored_field(n: Any, name: str) -> str:
    """A field of a stored event, if its bytes still say it."""
    try:
        return str(json.loads(n.state).get(name, ""))[:40]
    except (ValueError, AttributeError):
        return ""
