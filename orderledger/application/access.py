"""Who may do what over the HTTP API: one table, read by the API and the docs.

The seed makes confirmation, payment and shipping back-office steps, and
lets the customer (through the website) or the back office confirm receipt
and cancel (订单流程文档 V1.0: "网站后台确认收货或者用户确认收货"). Each caller
of the API holds a token of one role; the event's actor and source come from
the token, never from the request. The CLI stays the local administrator's
tool and is not governed by this table.
"""

from __future__ import annotations

from enum import StrEnum

from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import Source


class Role(StrEnum):
    WEBSITE = "website"  # acts for customers, sees only the named customer's
    BACK_OFFICE = "back_office"
    WAREHOUSE = "warehouse"
    OPS = "ops"
    AUDITOR = "auditor"  # reads everything, personal data masked

    @classmethod
    def parse(cls, value: object) -> Role:
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(r.value for r in cls)
            raise InvalidInput(
                f"unknown role {value!r}: use one of {choices}"
            ) from None

    @property
    def source(self) -> Source:
        """What the role's events record as their source."""
        return _SOURCES[self]


_SOURCES = {
    Role.WEBSITE: Source.WEBSITE,
    Role.BACK_OFFICE: Source.BACK_OFFICE,
    Role.WAREHOUSE: Source.WAREHOUSE,
    Role.OPS: Source.OPS,
    Role.AUDITOR: Source.OPS,  # an auditor writes nothing
}

WEB, OFFICE, HOUSE = Role.WEBSITE, Role.BACK_OFFICE, Role.WAREHOUSE
OPS, AUDIT = Role.OPS, Role.AUDITOR

# action -> the roles allowed to take it. Reads by the website are scoped to
# the customer the call names (CUSTOMER_SCOPED).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "order.create": frozenset({WEB, OFFICE}),
    "order.modify": frozenset({OFFICE}),
    "order.confirm": frozenset({OFFICE}),
    "order.pay": frozenset({OFFICE}),
    "order.ship": frozenset({OFFICE, HOUSE}),
    "order.receive": frozenset({WEB, OFFICE}),
    "order.refuse": frozenset({OFFICE, HOUSE}),  # the carrier brings the parcel back
    "order.cancel": frozenset({WEB, OFFICE}),
    "order.read": frozenset({WEB, OFFICE, HOUSE, OPS, AUDIT}),
    # unmasked, recorded in the order (who, what, why); the website: its own
    # customer's order only
    "order.reveal": frozenset({WEB, OFFICE, HOUSE}),
    "order.history": frozenset({OFFICE, OPS, AUDIT}),
    "order.list": frozenset({WEB, OFFICE, HOUSE, OPS, AUDIT}),
    "return.apply": frozenset({WEB, OFFICE}),
    "return.review": frozenset({OFFICE}),
    "return.receive": frozenset({HOUSE}),
    "return.ship": frozenset({HOUSE}),
    "return.refund": frozenset({OFFICE}),
    "stats.read": frozenset({OFFICE, OPS, AUDIT}),
    "audit.history": frozenset({AUDIT}),
    "audit.verify": frozenset({AUDIT, OPS}),
    "reconcile.report": frozenset({OPS, AUDIT}),
    "ops.status": frozenset({OPS}),
    # the auditor's console (read-only pages under /console)
    "console.read": frozenset({OFFICE, OPS, AUDIT}),
    "console.reveal": frozenset({OFFICE, AUDIT}),  # recorded in the order
    "console.ops": frozenset({OPS}),
    "console.ledger": frozenset({AUDIT, OPS}),  # digests, checks, exports
}

# Reads the website makes for one customer: the call names the customer's
# phone, and only that customer's orders are seen.
CUSTOMER_SCOPED = frozenset({"order.read", "order.list", "order.reveal"})


def allowed(role: Role, action: str) -> bool:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}: add it to PERMISSIONS")
    return role in PERMISSIONS[action]


def customer_scoped(role: Role, action: str) -> bool:
    return role is Role.WEBSITE and action in CUSTOMER_SCOPED
