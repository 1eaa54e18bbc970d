"""The project's own errors. Each maps to one documented CLI exit code."""

from __future__ import annotations

from collections.abc import Sequence


class OrderLedgerError(Exception):
    """Base class of every error a user of the ledger is meant to see."""


class InvalidInput(OrderLedgerError):
    """A value was missing, malformed or out of range."""


class RuleViolation(OrderLedgerError):
    """A well-formed command that the order's rules refuse."""


class IllegalTransition(RuleViolation):
    """The command is not allowed from the order's current status."""

    def __init__(
        self,
        order_no: str,
        status: str,
        action: str,
        why: str,
        allowed: Sequence[str],
    ) -> None:
        self.order_no = order_no
        self.status = status
        self.action = action
        self.allowed = tuple(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "nothing"
        super().__init__(
            f"order {order_no} is {status}: cannot {action} ({why}); "
            f"allowed from here: {allowed_text}"
        )


class DuplicateOrder(RuleViolation):
    """An order with this number exists with different content."""


class NotFound(OrderLedgerError):
    """What the command names does not exist (an order, a product)."""


class OrderNotFound(NotFound):
    """No order has this number."""


class ConcurrencyConflict(OrderLedgerError):
    """Someone else changed the order between our read and our write."""


class RemoteUnavailable(OrderLedgerError):
    """A remote the command must ask (WDT's stock) could not be reached."""


class StorageError(OrderLedgerError):
    """The event store could not be reached or holds an unreadable event."""


def first_line(error: BaseException) -> str:
    """An exception's first line only. SQLAlchemy appends the SQL and its
    parameters (customer data) after it: those must never reach the output."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class StaleVersion(ConcurrencyConflict):
    """The caller acted on a version of the order that is no longer current
    (HTTP If-Match)."""
