"""The product catalog the ledger owns (docs/catalog.md): products, and the
small lists of brands, categories and types they refer to by stable code.

A product is one sellable SKU (WDT's goods number, with its spec number if
any). Its brand, category and type are codes into their lists: renaming a
brand changes one list entry, never the products or the orders that carry
the code, so statistics keep one row per brand across a rename.

Like the Order aggregate: public commands check, private `@event` methods
only record; every event says who, from where and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from orderledger.domain.errors import IllegalTransition, InvalidInput, RuleViolation
from orderledger.domain.values import (
    LINE_KEYS,
    MAX_CODE,
    OrderLine,
    money_str,
    parse_lines,
    parse_money,
    parse_quantity,
    parse_text,
    require_mapping,
)

# Fixed forever: catalog ids are uuid5 of the SKU or the list's kind.
CATALOG_NAMESPACE = UUID("3b0f5a52-8c1e-5d7a-b0c4-7e9d2a6f1c38")
CODE_KINDS = ("brand", "category", "type")
PRODUCT_FIELDS = ("name", "spec", "brand", "category", "type", "unit_price")
# A product's fields besides its SKU and price, each checked by _text_field.
TEXT_FIELDS = ("name", "spec", *CODE_KINDS)
# Every product event's topic starts so (the lists' events do not).
PRODUCT_TOPICS = "orderledger.catalog:Product"
RENAMED_TOPIC = "orderledger.catalog:CodeRenamed.v1"
# WDT's goods and spec numbers are at most 40 characters (and so is the
# delivery ledger's subject column the catalog's messages go under).
MAX_SKU = 40
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-./]*$")


def product_id(sku: str) -> UUID:
    return uuid5(CATALOG_NAMESPACE, f"product:{sku}")


def code_list_id(kind: str) -> UUID:
    return uuid5(CATALOG_NAMESPACE, f"list:{kind}")


def parse_sku(value: object) -> str:
    text = parse_text(value, "SKU", max_len=MAX_SKU)
    if not _SKU.match(text):
        raise InvalidInput(
            f"SKU {text!r} may hold only letters, digits and - _ . / "
            "(it is WDT's goods number)"
        )
    return text


def parse_kind(kind: str) -> str:
    if kind not in CODE_KINDS:
        raise InvalidInput(f"the lists are {', '.join(CODE_KINDS)}, not {kind!r}")
    return kind


def parse_code_name(value: object, kind: str) -> str:
    return parse_text(value, f"{kind} name")


@dataclass(frozen=True)
class ProductDraft:
    """A product as `product add` (or a line of `product import`) gives it.
    Brand, category and type are as given: a code or a name, resolved
    against their lists when the product is saved."""

    sku: str
    name: str
    unit_price: Decimal
    spec: str = ""
    brand: str = ""
    category: str = ""
    type: str = ""
    # The fields the input had: an import updates only those of a product
    # already in the catalog (a price list leaves the brands alone).
    given: frozenset[str] = frozenset()

    KEYS = frozenset({"sku", "name", "spec", "brand", "category", "type", "price"})

    @classmethod
    def from_data(cls, data: object) -> ProductDraft:
        d = require_mapping(data, "a product", cls.KEYS)
        return cls(
            given=frozenset(k for k, v in d.items() if v not in (None, "")),
            sku=parse_sku(d.get("sku")),
            unit_price=parse_money(d.get("price"), "price"),
            **{key: _text_field(key, d.get(key)) for key in TEXT_FIELDS},
        )


def _text_field(key: str, value: object) -> str:
    """A product's text field, checked the one way add, update and import
    check it (brand, category and type as given: a code or a name)."""
    if key == "name":
        return parse_text(value, "product name")
    if key == "spec":
        return parse_text(value, "spec", required=False, max_len=MAX_SKU)
    return parse_text(value, key, required=False)


def parse_changes(data: Mapping[str, Any]) -> dict[str, str]:
    """`product update`'s fields (those given), checked as `product add`
    checks them; brand, category and type still as given."""
    changes: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in TEXT_FIELDS:
            changes[key] = _text_field(key, value)
        elif key in ("price", "unit_price"):
            changes["unit_price"] = money_str(parse_money(value, "price"))
        else:
            raise InvalidInput(f"a product has no field {key!r}")
    if not changes:
        raise InvalidInput(
            "nothing to update: give --name, --spec, --brand, --category, "
            "--type or --price"
        )
    return changes


class Product(Aggregate):
    TOPIC = "orderledger.catalog:Product.v1"

    @staticmethod
    def create_id(sku: str, **_: Any) -> UUID:
        return product_id(sku)

    @event("Created", topic="orderledger.catalog:ProductAdded.v1")
    def __init__(
        self,
        sku: str,
        spec: str,
        name: str,
        brand: str,
        category: str,
        type: str,
        unit_price: str,
        actor: str,
        source: str,
        reason: str,
    ) -> None:
        self.sku = sku
        self.active = True
        self.fields = {
            "name": name, "spec": spec, "brand": brand, "category": category,
            "type": type, "unit_price": unit_price,
        }  # fmt: skip

    def update(
        self, changes: Mapping[str, str], *, actor: str, source: str, reason: str
    ) -> None:
        """Change some fields (codes already resolved); the same values
        again change nothing and are refused, so every event is a change."""
        self._require_active("update")
        changed = {k: v for k, v in changes.items() if self.fields.get(k) != v}
        if not changed:
            raise RuleViolation(f"product {self.sku} already has these values")
        self._updated(dict(changed), actor, source, reason)

    @event("Updated", topic="orderledger.catalog:ProductUpdated.v1")
    def _updated(
        self, changes: dict[str, str], actor: str, source: str, reason: str
    ) -> None:
        self.fields = {**self.fields, **changes}

    def retire(self, *, actor: str, source: str, reason: str) -> None:
        """No longer sold: new orders refuse it; its history stays."""
        self._require_active("retire")
        self._retired(actor, source, reason)

    @event("Retired", topic="orderledger.catalog:ProductRetired.v1")
    def _retired(self, actor: str, source: str, reason: str) -> None:
        self.active = False

    def _require_active(self, action: str) -> None:
        if not self.active:
            raise IllegalTransition(
                f"product {self.sku}", "retired", action, "it is retired", []
            )

    def to_data(self) -> dict[str, Any]:
        return {"sku": self.sku, **self.fields, "active": self.active}


class CodeList(Aggregate):
    """The brands, the categories or the types: stable code → current name."""

    TOPIC = "orderledger.catalog:CodeList.v1"

    @staticmethod
    def create_id(kind: str, **_: Any) -> UUID:
        return code_list_id(kind)

    @event("Created", topic="orderledger.catalog:CodeListOpened.v1")
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.names: dict[str, str] = {}

    def resolve(self, value: str) -> str | None:
        """The code `value` names: a code itself, or an entry's current name."""
        if value in self.names:
            return value
        folded = value.casefold()
        for code, name in self.names.items():
            if name.casefold() == folded or code.casefold() == folded:
                return code
        return None

    def add(
        self, code: str, name: str, *, actor: str, source: str, reason: str
    ) -> None:
        code = parse_text(code, f"{self.kind} code", max_len=MAX_CODE)
        name = parse_code_name(name, self.kind)
        if self.resolve(code) is not None or self.resolve(name) is not None:
            raise RuleViolation(
                f"the {self.kind} {code!r} ({name}) is already in the list"
            )
        self._added(code, name, actor, source, reason)

    @event("Added", topic="orderledger.catalog:CodeAdded.v1")
    def _added(
        self, code: str, name: str, actor: str, source: str, reason: str
    ) -> None:
        self.names = {**self.names, code: name}

    def rename(
        self, code: str, name: str, *, actor: str, source: str, reason: str
    ) -> None:
        name = parse_code_name(name, self.kind)
        if code not in self.names:
            raise InvalidInput(f"no {self.kind} has the code {code!r}")
        other = self.resolve(name)
        if other is not None and other != code:
            raise RuleViolation(f"{name!r} already names the {self.kind} {other!r}")
        if self.names[code] == name:
            raise RuleViolation(f"the {self.kind} {code!r} is already named {name!r}")
        self._renamed(code, name, actor, source, reason)

    @event("Renamed", topic=RENAMED_TOPIC)
    def _renamed(
        self, code: str, name: str, actor: str, source: str, reason: str
    ) -> None:
        self.names = {**self.names, code: name}


def new_code(value: str, kind: str) -> str:
    """The code a value not yet in its list gets: the value itself, if it
    fits a code (a product added with --brand 华为 adds the brand 华为)."""
    return parse_text(value, f"new {kind} code", max_len=MAX_CODE)


@dataclass(frozen=True)
class Coded:
    """A brand, category or type as an order line records it: the code and
    its name at ordering time."""

    code: str = ""
    name: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    """What an order line takes from the catalog."""

    sku: str
    name: str
    spec: str
    unit_price: Decimal
    active: bool
    brand: Coded = Coded()
    category: Coded = Coded()
    type: Coded = Coded()


class ProductLookup(Protocol):
    """The catalog as order lines see it (store-backed in the application)."""

    @property
    def allow_unknown(self) -> bool:
        """Whether a line may name a SKU the catalog does not know, in full
        (SKU, name, quantity, price) as before the catalog."""

    def entry(self, sku: str) -> CatalogEntry | None: ...


UNKNOWN_SKUS_HINT = (
    "add it with `orderledger product add`, or take lines of SKUs the catalog "
    "does not know in full (SKU:NAME:QTY:PRICE) with [catalog] unknown_skus = "
    "allow (ORDERLEDGER_UNKNOWN_SKUS=allow)"
)


def catalog_line_parser(products: ProductLookup) -> Callable[[object, int], OrderLine]:
    """How `parse_lines` reads a line when there is a catalog: a SKU the
    catalog knows takes its name, spec, brand, category and type from it (as
    they are now: the order records them), and its price unless the line
    gives one (a promotion); a retired SKU is refused; a SKU it does not
    know is taken in full only where unknown SKUs are allowed."""

    def parse(item: object, index: int) -> OrderLine:
        where = f"line {index}"
        item = require_mapping(item, where, LINE_KEYS)
        sku = parse_text(item.get("sku"), f"{where} SKU", max_len=64)
        entry = products.entry(sku)
        if entry is None:
            if not products.allow_unknown:
                raise InvalidInput(
                    f"{where}: SKU {sku} is not in the catalog: {UNKNOWN_SKUS_HINT}"
                )
            if item.get("name") in (None, ""):
                raise InvalidInput(
                    f"{where}: SKU {sku} is not in the catalog: give the line in "
                    "full (SKU:NAME:QTY:PRICE)"
                )
            return OrderLine.from_data(item, index)
        if not entry.active:
            raise InvalidInput(f"{where}: SKU {sku} is retired from the catalog")
        return _from_catalog(entry, item, where)

    return parse


def _from_catalog(
    entry: CatalogEntry, item: Mapping[str, Any], where: str
) -> OrderLine:
    price = item.get("unit_price")
    return OrderLine(
        sku=entry.sku,
        name=entry.name,
        quantity=parse_quantity(item.get("quantity"), f"{where} quantity"),
        unit_price=(
            entry.unit_price
            if price in (None, "")
            else parse_money(price, f"{where} unit price")
        ),
        spec=entry.spec,
        brand=entry.brand.name,
        category=entry.category.name,
        discount=parse_money(item.get("discount", "0"), f"{where} discount"),
        type=entry.type.name,
        brand_code=entry.brand.code,
        category_code=entry.category.code,
        type_code=entry.type.code,
    ).checked(where)


def order_lines(data: object, products: ProductLookup | None) -> tuple[OrderLine, ...]:
    """An order's lines, from the catalog when there is one."""
    if products is None:
        return parse_lines(data)
    return parse_lines(data, catalog_line_parser(products))


def line_key(line: Mapping[str, Any], kind: str) -> str:
    """What statistics group a stored line's brand, category or type by: the
    catalog's code, which a rename does not change, or for a line taken
    without the catalog its own text."""
    return str(line.get(f"{kind}_code") or line.get(kind) or "")
