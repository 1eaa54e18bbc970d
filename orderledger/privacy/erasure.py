"""Erasing a customer on request (PIPL art. 47): crypto-shredding that keeps
the proof (docs/privacy.md).

Each of the customer's orders first gets a PersonalDataErased event (who,
when, why, whether forced); only then are the customer's key, salt, phone
index and encrypted records destroyed. The events' sealed references and
commitments stay, so every hash chain and every digest saved before still
verify; the values behind them can no longer be read by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orderledger.application import OrderLedger
from orderledger.domain.errors import InvalidInput, OrderNotFound, RuleViolation
from orderledger.domain.values import mask_phone, parse_phone
from orderledger.projections.search import orders_of_subject
from orderledger.projections.store import ProjectionStore


@dataclass
class Erasure:
    phone: str  # masked
    subjects: list[str]  # usually one
    orders: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)  # erased while in progress

    def to_data(self) -> dict[str, object]:
        return {
            "phone": self.phone,
            "subjects": self.subjects,
            "orders": self.orders,
            "forced": self.forced,
            "erased": True,
        }


def erase_customer(
    ledger: OrderLedger,
    store: ProjectionStore,
    phone: str,
    *,
    actor: str,
    reason: str,
    force: bool = False,
) -> Erasure:
    """Erase the customer this phone identifies; refused, with nothing
    recorded, when one of their orders is in progress and not `force`."""
    phone = parse_phone(phone, "phone")
    if not reason.strip():
        raise InvalidInput("--reason is required: why the customer is erased")
    vault = ledger.vault
    if vault is None:
        raise InvalidInput("this ledger keeps no personal-data vault")
    subjects = vault.subject_ids_for_phone(phone)
    if not subjects:
        raise OrderNotFound(
            f"no customer with the phone {mask_phone(phone)} (never ordered, or "
            "erased already)"
        )
    store.catch_up_all()
    orders = sorted({no for s in subjects for no in orders_of_subject(store, s)})
    busy = [no for no in orders if ledger.in_progress(no)]
    if busy and not force:
        raise RuleViolation(
            f"{len(busy)} order(s) of this customer still in progress "
            f"({', '.join(busy[:10])}): erase them when completed or voided, or "
            "with --force (recorded on each order)"
        )
    for order_no in orders:
        ledger.erase_personal_data(order_no, actor=actor, reason=reason, force=force)
    vault.erase(subjects, by=actor, reason=reason)
    store.catch_up_all()
    return Erasure(mask_phone(phone), subjects, orders, busy)
