"""The ERP-side commands of OrderLedger: observations, the website following
the ERP, and reconciliation's own records (re-push, intercept, tasks)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from orderledger.domain.order import Order
from orderledger.domain.reconcile import Mismatch, TaskKind


class ErpCommands:
    _act: Callable[[str, Callable[[Order], Any]], dict[str, Any]]
    _decide: Callable[..., tuple[Any, dict[str, Any]]]

    def observe_erp(
        self,
        order_no: str,
        *,
        actor: str,
        follow: Collection[str] = (),
        **observation: Any,
    ) -> tuple[bool, list[str]]:
        """Record what the ERP reports, then take the ERP-first website steps
        in `follow`, in one save: (anything new recorded, steps taken)."""

        def observe(order: Order) -> tuple[bool, list[str]]:
            changed = order.observe_erp(actor=actor, **observation)
            return changed, order.follow_erp(follow, actor=actor)

        outcome: tuple[bool, list[str]] = self._decide(order_no, observe)[0]
        return outcome

    def observe_shipment(
        self,
        order_no: str,
        *,
        actor: str,
        follow: Collection[str] = (),
        **shipment: Any,
    ) -> tuple[bool, list[str]]:
        """Record a shipment from the ERP's logistics data, then follow it."""

        def observe(order: Order) -> tuple[bool, list[str]]:
            changed = order.observe_shipment(actor=actor, **shipment)
            return changed, order.follow_erp(follow, actor=actor)

        outcome: tuple[bool, list[str]] = self._decide(order_no, observe)[0]
        return outcome

    def observe_replacement_shipment(
        self, order_no: str, case_id: str, *, actor: str, **shipment: str
    ) -> bool:
        """Record that WDT shipped an exchange's replacement (False: already)."""
        shipped: bool = self._decide(
            order_no,
            lambda o: o.observe_replacement_shipment(case_id, actor=actor, **shipment),
        )[0]
        return shipped

    def follow_erp(
        self, order_no: str, steps: Collection[str], *, actor: str
    ) -> list[str]:
        """Take the ERP-first website steps in `steps` (source ERP)."""
        taken: list[str] = self._decide(
            order_no, lambda o: o.follow_erp(steps, actor=actor)
        )[0]
        return taken

    def request_erp_resync(
        self, order_no: str, *, mismatch: str, detail: str, actor: str
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.request_erp_resync(
                mismatch=mismatch, detail=detail, actor=actor
            ),
        )

    def request_intercept(
        self, order_no: str, *, detail: str, actor: str
    ) -> dict[str, Any]:
        """Push the close again and leave the order to a person."""

        def intercept(order: Order) -> None:
            order.request_intercept(detail=detail, actor=actor)
            order.open_task(
                kind=TaskKind.INTERCEPT,
                mismatch=Mismatch.CANCEL_BLOCKED,
                detail=detail,
                actor=actor,
            )

        return self._act(order_no, intercept)

    def open_task(
        self, order_no: str, *, kind: str, mismatch: str, detail: str, actor: str
    ) -> bool:
        opened: bool = self._decide(
            order_no,
            lambda o: o.open_task(
                kind=kind, mismatch=mismatch, detail=detail, actor=actor
            ),
        )[0]
        return opened

    def close_task(self, order_no: str, *, resolution: str, actor: str) -> bool:
        closed: bool = self._decide(
            order_no, lambda o: o.close_task(resolution=resolution, actor=actor)
        )[0]
        return closed
