"""The after-sales commands of OrderLedger (退换货 and refunds): each one
load → act → save through the ledger's `_act`."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderledger.domain.aftersales import CaseKind
from orderledger.domain.order import Order
from orderledger.domain.values import Delivery, Source


class AfterSalesCommands:
    _act: Callable[[str, Callable[[Order], Any]], dict[str, Any]]
    _decide: Callable[..., tuple[Any, dict[str, Any]]]

    def apply_after_sales(
        self,
        order_no: str,
        *,
        kind: CaseKind,
        items: object,
        actor: str,
        source: Source,
        reason: str,
    ) -> dict[str, Any]:
        """Open a return or exchange case; the order's view plus `case_id`."""
        return self._decide(
            order_no,
            lambda o: o.apply_after_sales(
                kind=kind, items=items, actor=actor, source=source, reason=reason
            ),
            reply_key="case_id",
        )[1]

    def review_after_sales(
        self,
        order_no: str,
        case_id: str,
        *,
        approve: bool,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.review_after_sales(
                case_id, approve=approve, actor=actor, source=source, reason=reason
            ),
        )

    def receive_after_sales(
        self,
        order_no: str,
        case_id: str,
        *,
        accepted: object,
        rejected: object,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.receive_after_sales(
                case_id,
                accepted=accepted,
                rejected=rejected,
                actor=actor,
                source=source,
                reason=reason,
            ),
        )

    def ship_exchange(
        self,
        order_no: str,
        case_id: str,
        delivery: Delivery,
        *,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.ship_exchange(
                case_id, delivery, actor=actor, source=source, reason=reason
            ),
        )

    def refund(
        self,
        order_no: str,
        amount: Decimal,
        *,
        case_id: str | None = None,
        reference: str = "",
        override: bool = False,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        """Refund money; the order's view plus `refund_id`."""
        return self._decide(
            order_no,
            lambda o: o.refund(
                amount,
                case_id=case_id,
                reference=reference,
                override=override,
                actor=actor,
                source=source,
                reason=reason,
            ),
            reply_key="refund_id",
        )[1]
