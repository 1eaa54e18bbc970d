"""The demo's customers and goods, and orders drafted from them."""

from __future__ import annotations

from datetime import tzinfo

from orderledger.domain.draft import OrderDraft

CUSTOMERS = [
    ("张三", "13800138000", "广东省", "深圳市", "南山区", "科技园南路 88 号"),
    ("李四", "13912345678", "浙江省", "杭州市", "西湖区", "文三路 200 号"),
    ("王五", "13698765432", "北京市", "北京市", "朝阳区", "建国路 1 号"),
]
GOODS = [
    {
        "sku": "TEA-001",
        "name": "西湖龙井 250g",
        "unit_price": "168.00",
        "brand": "西湖",
        "category": "茶叶",
    },
    {
        "sku": "CUP-010",
        "name": "青瓷茶杯",
        "unit_price": "39.90",
        "brand": "龙泉",
        "category": "茶具",
        "spec": "白色",
    },
    {
        "sku": "POT-002",
        "name": "紫砂壶",
        "unit_price": "420.00",
        "brand": "宜兴",
        "category": "茶具",
        "discount": "20.00",
    },
]


def demo_draft(
    order_no: str,
    customer: int,
    payment: str,
    goods: list[tuple[int, int]],
    tz: tzinfo,
) -> OrderDraft:
    """An order of `goods` ((index, quantity) pairs) for customer `customer`."""
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
    )
