"""Value objects of an order, and the strict parsing that guards them.

Events store these values as plain JSON-friendly dicts (money as strings), so a
stored event never depends on a Python class name; `to_data` / `from_data`
convert both ways and validate on the way in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orderledger.domain.bounds import (
    MAX_AMOUNT,
    MAX_LINES,
    MAX_QUANTITY,
    MAX_TEXT,
    clip,
    is_blank,
    is_phone,
    parse_calendar_date,
    refused_character,
)
from orderledger.domain.errors import InvalidInput
from orderledger.domain.personal import ERASED

CENT = Decimal("0.01")
# Decimal() happily parses "1E+2", "NaN" and "Infinity", and `\d` matches
# full-width and Arabic-Indic digits: money must match this pattern (ASCII
# digits, at most MAX_AMOUNT) before it ever reaches Decimal.
_MONEY = re.compile(r"^[0-9]{1,8}(\.[0-9]{1,2})?$")
_QUANTITY = re.compile(r"\s*[0-9]{1,9}\s*")


class PaymentMethod(StrEnum):
    ONLINE = "online"
    POSTAL = "postal"
    COD = "cod"

    @property
    def is_prepaid(self) -> bool:
        return self is not PaymentMethod.COD

    @property
    def label(self) -> str:
        return _PAYMENT_LABELS[self]

    @classmethod
    def parse(cls, value: object) -> PaymentMethod:
        exact = _PAYMENT_BY_VALUE.get(value) if type(value) is str else None
        if exact is not None:  # the common case, without the Enum call
            return exact
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise InvalidInput(
                f"unknown payment method {value!r}: use one of {choices}"
            ) from None


_PAYMENT_BY_VALUE = {m.value: m for m in PaymentMethod}
_PAYMENT_LABELS = {
    PaymentMethod.ONLINE: "在线支付",
    PaymentMethod.POSTAL: "邮局汇款",
    PaymentMethod.COD: "货到付款",
}


class Source(StrEnum):
    """Where a command came from."""

    WEBSITE = "website"
    BACK_OFFICE = "back_office"
    ERP = "erp"
    OPS = "ops"
    CLI = "cli"
    WAREHOUSE = "warehouse"  # the warehouse's own callers of the HTTP API

    @classmethod
    def parse(cls, value: object) -> Source:
        try:
            return cls(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise InvalidInput(
                f"unknown source {value!r}: use one of {choices}"
            ) from None


def parse_money(value: object, field: str) -> Decimal:
    """A non-negative amount with at most two decimals, as an exact Decimal."""
    if type(value) is str and _MONEY.match(value):  # the common case, fast
        return Decimal(value).quantize(CENT)
    if isinstance(value, Decimal):
        value = format(value, "f")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"{field} must be an amount like 12.50, not {clip(value)}")
    text = str(value).strip()
    if not _MONEY.match(text):
        raise InvalidInput(
            f"{field} must be a non-negative amount with at most two decimals, "
            f"at most {MAX_AMOUNT} (like 12.50), not {clip(text)}"
        )
    return Decimal(text).quantize(CENT)


def money_str(amount: Decimal) -> str:
    return format(amount.quantize(CENT), "f")


def parse_quantity(value: object, field: str = "quantity") -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a positive whole number, not {value!r}")
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        value = int(value)
    if type(value) is not int or value <= 0 or value > MAX_QUANTITY:
        raise InvalidInput(
            f"{field} must be a whole number from 1 to {MAX_QUANTITY}, "
            f"not {clip(value)}"
        )
    return value


def parse_text(
    value: object, field: str, *, required: bool = True, max_len: int = MAX_TEXT
) -> str:
    if value is None:
        value = ""
    if type(value) is not str and not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, not {type(value).__name__}")
    text = value.strip()
    if len(text) > max_len:
        raise InvalidInput(f"{field} is too long ({len(text)} > {max_len} characters)")
    bad = refused_character(text)
    if bad is not None:
        raise InvalidInput(
            f"{field} must not contain control, format or separator characters ({bad})"
        )
    if required and is_blank(text):
        raise InvalidInput(f"{field} is required")
    return text


def parse_phone(value: object, field: str = "phone") -> str:
    text = parse_text(value, field, max_len=20)
    if not is_phone(text):
        raise InvalidInput(
            f"{field} must be a phone number like 13800138000, 010-12345678 or "
            f"+852 9123 4567, not {clip(text)}"
        )
    return text


def _parse_date(value: object, field: str) -> str:
    text = parse_text(value, field, required=False, max_len=10)
    return parse_calendar_date(text, field) if text else text


def mask_phone(phone: str) -> str:
    """Personal data: keep the first three and last four digits only."""
    if phone == ERASED:
        return phone
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def require_mapping(
    data: object, what: str, known: frozenset[str]
) -> Mapping[str, Any]:
    """An object with no field but the `known` ones: a misspelt field (say
    `discont`) is refused, never silently dropped."""
    if type(data) is not dict and not isinstance(data, Mapping):
        raise InvalidInput(f"{what} must be an object, not {type(data).__name__}")
    if not known.issuperset(data):
        unknown = ", ".join(sorted(clip(k) for k in set(data) - known))
        raise InvalidInput(
            f"{what} has unknown field(s) {unknown}; known: {', '.join(sorted(known))}"
        )
    return data


CUSTOMER_KEYS = frozenset({"name", "contact", "phone"})
ADDRESS_KEYS = frozenset(
    {"receiver", "phone", "province", "city", "district", "detail"}
)
LINE_KEYS = frozenset(
    {
        "sku", "name", "spec", "brand", "category", "type", "quantity",
        "unit_price", "discount",
    }
)  # fmt: skip
# What a line taken from the catalog records besides: the codes of its
# brand, category and type (their names may change; the codes never do).
# Only the catalog sets them (domain/catalog.py), never an order's input.
LINE_CODE_KEYS = ("brand_code", "category_code", "type_code")
MAX_CODE = 32
DELIVERY_KEYS = frozenset({"carrier", "tracking_no", "estimated_arrival"})


@dataclass(frozen=True)
class Customer:
    name: str
    contact: str
    phone: str

    @classmethod
    def from_data(cls, data: object) -> Customer:
        d = require_mapping(data, "customer", CUSTOMER_KEYS)
        name = parse_text(d.get("name"), "customer name")
        return cls(
            name=name,
            contact=parse_text(d.get("contact") or name, "contact person"),
            phone=parse_phone(d.get("phone"), "customer phone"),
        )

    def to_data(self) -> dict[str, str]:
        return {"name": self.name, "contact": self.contact, "phone": self.phone}


@dataclass(frozen=True)
class Address:
    receiver: str
    phone: str
    province: str
    city: str
    district: str
    detail: str

    @classmethod
    def from_data(cls, data: object) -> Address:
        d = require_mapping(data, "address", ADDRESS_KEYS)
        return cls(
            receiver=parse_text(d.get("receiver"), "receiver"),
            phone=parse_phone(d.get("phone"), "receiver phone"),
            province=parse_text(d.get("province"), "province", required=False),
            city=parse_text(d.get("city"), "city", required=False),
            district=parse_text(d.get("district"), "district", required=False),
            detail=parse_text(d.get("detail"), "address detail"),
        )

    def to_data(self) -> dict[str, str]:
        return {
            "receiver": self.receiver,
            "phone": self.phone,
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    spec: str = ""
    brand: str = ""
    category: str = ""
    discount: Decimal = Decimal("0.00")
    type: str = ""
    brand_code: str = ""
    category_code: str = ""
    type_code: str = ""

    @property
    def amount(self) -> Decimal:
        return line_amount(self.unit_price, self.quantity, self.discount)

    @classmethod
    def from_data(cls, data: object, index: int = 1) -> OrderLine:
        d = require_mapping(data, f"line {index}", LINE_KEYS)
        return plain_line(d) or cls.field_by_field(d, index)

    @classmethod
    def revalidated(cls, data: object, index: int = 1) -> OrderLine:
        """A line built in code (from the catalog, say) checked as input is,
        its codes too, before it is recorded."""
        d = require_mapping(data, f"line {index}", LINE_KEYS.union(LINE_CODE_KEYS))
        line = cls.from_data({k: v for k, v in d.items() if k in LINE_KEYS}, index)
        brand, category, type_ = (
            parse_text(
                d.get(key), f"line {index} {key}", required=False, max_len=MAX_CODE
            )
            for key in LINE_CODE_KEYS
        )
        return replace(line, brand_code=brand, category_code=category, type_code=type_)

    @classmethod
    def field_by_field(cls, d: Mapping[str, Any], index: int) -> OrderLine:
        """Each field parsed on its own: the first one wrong is the error."""
        where = f"line {index}"
        line = cls(
            sku=parse_text(d.get("sku"), f"{where} SKU", max_len=64),
            name=parse_text(d.get("name"), f"{where} name"),
            quantity=parse_quantity(d.get("quantity"), f"{where} quantity"),
            unit_price=parse_money(d.get("unit_price"), f"{where} unit price"),
            spec=parse_text(d.get("spec"), f"{where} spec", required=False),
            brand=parse_text(d.get("brand"), f"{where} brand", required=False),
            category=parse_text(d.get("category"), f"{where} category", required=False),
            discount=parse_money(d.get("discount", "0"), f"{where} discount"),
            type=parse_text(d.get("type"), f"{where} type", required=False),
        )
        return line.checked(where)

    def checked(self, where: str) -> OrderLine:
        """The line's value within bounds: the discount at most its worth."""
        if self.discount > self.unit_price * self.quantity:
            raise InvalidInput(f"{where} discount is larger than the line's value")
        if self.amount > MAX_AMOUNT:
            raise InvalidInput(
                f"{where} is worth {money_str(self.amount)}: a line's value is at "
                f"most {MAX_AMOUNT}"
            )
        return self

    @classmethod
    def from_stored(cls, d: Mapping[str, Any]) -> OrderLine:
        """A line as an event recorded it: it was validated then, so not again
        (re-parsing every line showed in the relay's profile)."""
        return cls(
            sku=d["sku"],
            name=d["name"],
            quantity=d["quantity"],
            unit_price=Decimal(d["unit_price"]),
            spec=d.get("spec", ""),
            brand=d.get("brand", ""),
            category=d.get("category", ""),
            discount=Decimal(d.get("discount", "0")),
            type=d.get("type", ""),
            brand_code=d.get("brand_code", ""),
            category_code=d.get("category_code", ""),
            type_code=d.get("type_code", ""),
        )

    def to_data(self) -> dict[str, Any]:
        data = {
            "sku": self.sku,
            "name": self.name,
            "spec": self.spec,
            "brand": self.brand,
            "category": self.category,
            "quantity": self.quantity,
            "unit_price": money_str(self.unit_price),
            "discount": money_str(self.discount),
        }
        # Only when set: a line without them is stored as before the catalog
        # (an import run again compares what it would store with what is).
        for key in ("type", *LINE_CODE_KEYS):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


def plain_line(d: Mapping[str, Any]) -> OrderLine | None:
    """The common line (texts that need no more than stripping, a whole
    quantity, amounts as strings) in one go; None for anything else, which
    `OrderLine.from_data` then reads field by field and, if it is wrong,
    says what is wrong. Bulk imports read hundreds of thousands of lines."""
    sku, name, quantity = d.get("sku"), d.get("name"), d.get("quantity")
    spec, brand, category = d.get("spec"), d.get("brand"), d.get("category")
    price, discount = d.get("unit_price"), d.get("discount", "0")
    if not (
        type(sku) is str
        and type(name) is str
        and type(quantity) is int
        and 0 < quantity <= MAX_QUANTITY
        and type(price) is str
        and type(discount) is str
        and (spec is None or type(spec) is str)
        and (brand is None or type(brand) is str)
        and (category is None or type(category) is str)
        and "type" not in d
        and _MONEY.match(price)
        and _MONEY.match(discount)
    ):
        return None
    texts = (
        sku.strip(),
        name.strip(),
        (spec or "").strip(),
        (brand or "").strip(),
        (category or "").strip(),
    )
    if (
        not texts[0]
        or not texts[1]
        or len(texts[0]) > 64
        or max(map(len, texts[1:])) > MAX_TEXT
        or refused_character("".join(texts)) is not None
        or is_blank(texts[1])
    ):
        return None
    unit_price, off = Decimal(price).quantize(CENT), Decimal(discount).quantize(CENT)
    if not 0 <= unit_price * quantity - off <= MAX_AMOUNT:
        return None
    return OrderLine(texts[0], texts[1], quantity, unit_price, *texts[2:], off)


def parse_lines(
    data: object,
    parse_line: Callable[[object, int], OrderLine] = OrderLine.from_data,
) -> tuple[OrderLine, ...]:
    """An order's lines; `parse_line` reads each (domain/catalog.py's takes
    them from the catalog)."""
    if not isinstance(data, list | tuple) or not data:
        raise InvalidInput("an order needs at least one line")
    if len(data) > MAX_LINES:
        raise InvalidInput(f"an order has at most {MAX_LINES} lines, not {len(data)}")
    lines = tuple(parse_line(item, i) for i, item in enumerate(data, 1))
    skus = [(line.sku, line.spec) for line in lines]
    if len(set(skus)) != len(skus):
        raise InvalidInput("the same SKU and spec appear on two lines: merge them")
    return lines


def line_amount(unit_price: Decimal, quantity: int, discount: Decimal) -> Decimal:
    """A line's value: quantity × unit price − discount (the one place for it)."""
    return (unit_price * quantity - discount).quantize(CENT)


def stored_line_amount(line: Mapping[str, Any]) -> Decimal:
    """The amount of a line as events store it (validated when it was recorded)."""
    return line_amount(
        Decimal(line["unit_price"]),
        line["quantity"],
        Decimal(line.get("discount", "0")),
    )


def stored_lines_total(
    lines: Sequence[Mapping[str, Any]], shipping_fee: Decimal
) -> Decimal:
    """The order total from stored lines, without re-validating every field."""
    amounts = (stored_line_amount(line) for line in lines)
    return (sum(amounts, Decimal("0")) + shipping_fee).quantize(CENT)


def lines_total(lines: tuple[OrderLine, ...], shipping_fee: Decimal) -> Decimal:
    return (sum((line.amount for line in lines), Decimal("0")) + shipping_fee).quantize(
        CENT
    )


def check_total(lines: tuple[OrderLine, ...], shipping_fee: Decimal) -> None:
    """An order's total (lines and shipping) is at most MAX_AMOUNT."""
    total = lines_total(lines, shipping_fee)
    if total > MAX_AMOUNT:
        raise InvalidInput(
            f"the order's total would be {money_str(total)}: an order is worth at "
            f"most {MAX_AMOUNT} (split it)"
        )


@dataclass(frozen=True)
class Delivery:
    carrier: str
    tracking_no: str
    estimated_arrival: str = ""

    @classmethod
    def from_data(cls, data: object) -> Delivery:
        d = require_mapping(data, "delivery", DELIVERY_KEYS)
        return cls(
            carrier=parse_text(d.get("carrier"), "carrier", max_len=64),
            tracking_no=parse_text(d.get("tracking_no"), "tracking number", max_len=64),
            estimated_arrival=_parse_date(
                d.get("estimated_arrival"), "estimated arrival"
            ),
        )

    def to_data(self) -> dict[str, str]:
        return {
            "carrier": self.carrier,
            "tracking_no": self.tracking_no,
            "estimated_arrival": self.estimated_arrival,
        }
