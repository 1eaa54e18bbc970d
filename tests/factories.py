"""Test data: valid orders in the shape the website sends them."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from orderledger.domain.draft import OrderDraft


def order_data(payment: str = "online", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer": {"name": "张三", "contact": "张三", "phone": "13800138000"},
        "payment": payment,
        "address": {
            "receiver": "张三",
            "phone": "13800138000",
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "detail": "科技园南路 88 号",
        },
        "shipping_fee": "10.00",
        "lines": [
            {
                "sku": "TEA-001",
                "name": "西湖龙井",
                "quantity": 2,
                "unit_price": "50.00",
            },
            {
                "sku": "CUP-010",
                "name": "青瓷茶杯",
                "quantity": 1,
                "unit_price": "19.90",
                "discount": "1.90",
            },
        ],
    }
    data.update(overrides)
    return data


# 2 x 50.00 + (19.90 - 1.90) + 10.00
ORDER_TOTAL = "128.00"


def draft(payment: str = "online", **overrides: Any) -> OrderDraft:
    return OrderDraft.from_data(order_data(payment, **overrides), UTC)
