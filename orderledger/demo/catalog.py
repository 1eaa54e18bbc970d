"""The demo's customers and goods, and orders drafted from them. The goods
are the catalog `products.csv` loads, as `orderledger product import` would."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

from orderledger.application.catalog import Catalog, ImportOutcome
from orderledger.application.catalog_import import read_products
from orderledger.application.who import Who
from orderledger.domain.catalog import ProductLookup
from orderledger.domain.draft import OrderDraft

PRODUCTS_FILE = Path(__file__).with_name("products.csv")
CUSTOMERS = [
    ("张三", "13800138000", "广东省", "深圳市", "南山区", "科技园南路 88 号"),
    ("李四", "13912345678", "浙江省", "杭州市", "西湖区", "文三路 200 号"),
    ("王五", "13698765432", "北京市", "北京市", "朝阳区", "建国路 1 号"),
]
# The goods orders take by index: a SKU, and a discount some take.
GOODS: list[dict[str, Any]] = [
    {"sku": "TEA-001"},
    {"sku": "CUP-010"},
    {"sku": "POT-002", "discount": "20.00"},
]


def load_catalog(catalog: Catalog, who: Who) -> ImportOutcome:
    """`product import products.csv`: the same reading and checks."""
    rows, bad = read_products(PRODUCTS_FILE, "csv")
    if bad:
        raise RuntimeError(f"the demo's catalog has bad rows: {bad}")
    return catalog.import_products(rows, who)


def demo_draft(
    order_no: str,
    customer: int,
    payment: str,
    goods: list[tuple[int, int]],
    tz: tzinfo,
    products: ProductLookup,
) -> OrderDraft:
    """An order of `goods` ((index, quantity) pairs) for customer `customer`,
    its lines from the catalog."""
    name, phone, province, city, district, detail = CUSTOMERS[customer]
    return OrderDraft.from_data(
        {
            "order_no": order_no,
            "customer": {"name": name, "phone": phone},
            "payment": payment,
            "address": {
                "receiver": name,
                "phone": phone,
                "province": province,
                "city": city,
                "district": district,
                "detail": detail,
            },
            "shipping_fee": "10.00",
            "lines": [{**GOODS[g], "quantity": qty} for g, qty in goods],
        },
        tz,
        products,
    )
