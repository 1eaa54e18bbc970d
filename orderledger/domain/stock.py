"""Whether WDT's warehouse can fill an order (the seed: 2.2 验证客户信息和库存
情况): its lines against the available stock WDT reports. Stock itself stays
WDT's; the ledger never keeps a count of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from orderledger.domain.errors import RuleViolation
from orderledger.domain.values import OrderLine


def spec_no(sku: str, spec: str) -> str:
    """WDT's spec number (商家编码) of a product or a line: its spec, else its
    SKU. Goods are pushed and stock is asked for by this number."""
    return spec or sku


@dataclass(frozen=True)
class Shortage:
    line: int  # the order's line number, from 1
    sku: str
    spec_no: str
    wanted: int
    available: int

    def to_data(self) -> dict[str, str | int]:
        return asdict(self)

    def describe(self) -> str:
        return (
            f"line {self.line} {self.sku} wants {self.wanted}, WDT has "
            f"{self.available} available"
        )


class StockLevels(Protocol):
    def available(self, spec_nos: Sequence[str]) -> Mapping[str, int]:
        """Available stock by spec number (one WDT does not know: left out);
        raises RemoteUnavailable when WDT cannot be asked."""


def shortages(
    lines: Sequence[OrderLine], available: Mapping[str, int]
) -> list[Shortage]:
    """The lines WDT cannot fill now (a spec it does not know has none)."""
    short = []
    for number, line in enumerate(lines, 1):
        spec = spec_no(line.sku, line.spec)
        have = available.get(spec, 0)
        if line.quantity > have:
            short.append(Shortage(number, line.sku, spec, line.quantity, have))
    return short


class StockShort(RuleViolation):
    """An order WDT cannot fill: confirmed only with an explicit override."""

    def __init__(self, order_no: str, short: Sequence[Shortage]) -> None:
        self.shortages = tuple(short)
        lines = "; ".join(s.describe() for s in short)
        super().__init__(
            f"order {order_no} cannot be filled now ({lines}): confirm it anyway "
            "with --override-stock REASON (HTTP: override_stock), which is recorded"
        )
