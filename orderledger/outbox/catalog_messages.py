"""From catalog events to what WDT and U8 receive: pure and deterministic.

WDT (`goods_push.php`) takes a product as goods with one spec: goods number,
spec number, name, price, and the brand and category names it accepts; the
type stays in the ledger, where statistics read it. Each push carries the
product's whole current state, so WDT updates a known goods number.
U8 (存货档案) takes an inventory record with its class (the category): the
first version is an `inventory/add`, each later change an `inventory/edit`,
its biz_id naming the product's version, so a resend never doubles it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderledger.domain.stock import spec_no
from orderledger.outbox.messages import Message

WDT_GOODS = "wdt-goods"
U8_INVENTORY = "u8-inventory"
CATALOG_DESTINATIONS = (WDT_GOODS, U8_INVENTORY)
GOODS = "goods"
INVENTORY_ADD = "inventory"
INVENTORY_EDIT = "inventory.edit"
# What each remote keeps of a product: a change to anything else (the type,
# for WDT) sends nothing there.
WDT_FIELDS = frozenset({"name", "spec", "brand", "category", "unit_price"})
U8_FIELDS = frozenset({"name", "spec", "category", "unit_price"})


def wdt_goods(product: Mapping[str, Any]) -> dict[str, Any]:
    """The goods as goods_push.php takes them (`product`: Catalog's view)."""
    return {
        "goods_no": product["sku"],
        "goods_name": product["name"],
        "brand_name": product["brand"],
        "class_name": product["category"],
        "deleted": 0 if product["active"] else 1,
        "spec_list": [
            {
                "spec_no": spec_no(product["sku"], product["spec"]),
                "spec_name": product["spec"],
                "retail_price": product["price"],
            }
        ],
    }


def u8_inventory(product: Mapping[str, Any]) -> dict[str, Any]:
    """The inventory record (存货档案) as U8's inventory API takes it."""
    return {
        "code": product["sku"],
        "name": product["name"],
        "specs": product["spec"],
        "invccode": product["category_code"],
        "invcname": product["category"],
        "refsaleprice": product["price"],
        "enabled": bool(product["active"]),
    }


def catalog_messages(
    destination: str,
    product: Mapping[str, Any],
    event_type: str,
    changed: frozenset[str],
    occasion: str = "",
) -> list[Message]:
    """The messages for `destination` caused by a product event that left the
    product as `product` (Catalog's view of it) and changed `changed`; a
    rename in a list changes the product's names without a version of its
    own: `occasion` then tells its U8 biz_id apart."""
    sku, version = product["sku"], product["version"]
    if destination == WDT_GOODS:
        if event_type in ("Updated", "Renamed") and not changed & WDT_FIELDS:
            return []
        return [Message(WDT_GOODS, GOODS, sku, wdt_goods(product))]
    if destination == U8_INVENTORY:
        if event_type in ("Updated", "Renamed") and not changed & U8_FIELDS:
            return []
        kind = INVENTORY_ADD if event_type == "Created" else INVENTORY_EDIT
        body = {"inventory": u8_inventory(product)}
        biz_id = f"INV-{sku}-v{version}" + (f"-{occasion}" if occasion else "")
        return [Message(U8_INVENTORY, kind, biz_id, body)]
    raise ValueError(f"unknown catalog destination {destination!r}")
