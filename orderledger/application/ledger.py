"""OrderLedger: one method per command, each load → act → save.

Methods take validated domain values and return plain data (dicts). Storage
failures become the project's own errors here, so the outer layers never see
eventsourcing's exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import (
    IntegrityError,
    MapperDeserialisationError,
    PersistenceError,
)
from eventsourcing.utils import TopicError

from orderledger.application.aftersales import AfterSalesCommands
from orderledger.application.erp_commands import ErpCommands
from orderledger.application.event_store import ChainedApplication
from orderledger.application.order_json import event_to_data, order_to_data
from orderledger.application.preconditions import check_version
from orderledger.domain.draft import OrderDraft
from orderledger.domain.errors import (
    ConcurrencyConflict,
    DuplicateOrder,
    OrderLedgerError,
    OrderNotFound,
    RemoteUnavailable,
    StorageError,
    first_line,
)
from orderledger.domain.order import Order, new_order, order_id
from orderledger.domain.stock import Shortage, StockLevels, shortages, spec_no
from orderledger.domain.values import Delivery, OrderLine, Source
from orderledger.store import requests
from orderledger.store.bounded_cache import BoundedCache
from orderledger.store.chaining_mapper import ChainingMapper
from orderledger.store.first_events import CREATED_TOPIC
from orderledger.store.master_key import MasterKey
from orderledger.store.sealing import Sealer
from orderledger.store.sealing_keys import RecordRow, SubjectRow
from orderledger.store.vault import Vault

# A generated order number is SO<date>-<n>; n starts from the log's head, so
# numbers are readable and rise over time. A collision just tries the next n.
_GENERATE_ATTEMPTS = 20
AGGREGATE_CACHE = 5_000  # orders kept in memory per process


class OrderLedger(AfterSalesCommands, ErpCommands, ChainedApplication):
    # The stored-events table is named after this: never change it.
    name = "orderledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Order: 50}

    def __init__(
        self,
        env: Mapping[str, str],
        tz: tzinfo = UTC,
        *,
        master_key: MasterKey | None = None,
        personal_data_vault: bool = True,
    ) -> None:
        self.tz = tz
        # Orders as this process's last command left them. An order is taken
        # out while a command works on it, so two threads never share one; it
        # goes back only after its events were saved.
        self._cached: BoundedCache[UUID, Order] = BoundedCache(AGGREGATE_CACHE)
        super().__init__(dict(env))
        # Personal data sealed in the vault (store/vault.py); without it (a
        # benchmark's baseline only) it stays in the events as given.
        self.vault: Vault | None = None
        if personal_data_vault:
            recorder: Any = self.recorder
            self.vault = Vault(recorder.datastore.engine, master_key)
            self.vault.ensure()
            mapper = cast(ChainingMapper, self.mapper)
            mapper.sealer = Sealer(self.vault, self._first_state)

    def _first_state(self, order_uuid: UUID) -> Any:
        """An order's Created event as stored (sealed), decoded."""
        stored = self.recorder.select_events(order_uuid, lte=1)
        return json.loads(stored[0].state) if stored else None

    # ---- commands --------------------------------------------------------

    def create(
        self, draft: OrderDraft, *, actor: str, source: Source, reason: str = ""
    ) -> dict[str, Any]:
        """Append a new order, or return the existing one on an identical retry."""
        if draft.order_no is None:
            return self._create_numbered(draft, actor, source, reason)
        with self._storage():
            order = self._new(draft, draft.order_no, actor, source, reason)
            view = self._view(order)  # everything that can fail, before the write
            requests.attach_reply({**view, "created": True})
            try:
                self.save(order)
            except IntegrityError:
                # The number exists: an identical retry returns that order.
                existing = self._existing_for_retry(draft.order_no, draft)
                if existing is None:
                    raise
                return {**existing, "created": False}
        self._cached.put(order.id, order)
        return {**view, "created": True}

    def append_created(
        self,
        orders: Sequence[tuple[bytes, bytes]],
        records: Sequence[RecordRow] = (),
        subjects: Sequence[SubjectRow] = (),
    ) -> None:
        """Store new orders' `Created` events in one transaction, all or none:
        (the order id's 16 bytes, the stored bytes of first_events.created_state)
        each, with the vault records of their personal
        data and the customers new to the vault."""
        # the lean recorder (orderledger/store/recorder.py)
        recorder: Any = self.recorder
        with self._storage():
            try:
                recorder.insert_first_events(
                    [(key, CREATED_TOPIC, state) for key, state in orders],
                    records,
                    subjects,
                )
            except IntegrityError:
                raise ConcurrencyConflict(
                    "some of these orders were created meanwhile; nothing of this "
                    "batch was recorded: run the import again (it skips what is in)"
                ) from None

    def recorder_is_postgres(self) -> bool:
        """Whether the log is on PostgreSQL (several writers at once) rather
        than SQLite (one)."""
        recorder: Any = self.recorder
        return bool(recorder.datastore.engine.dialect.name == "postgresql")

    def created_contents(
        self, ids: Sequence[UUID | bytes]
    ) -> dict[bytes, dict[str, Any]]:
        """For the orders among `ids` that exist, by the 16 bytes of their id:
        what their creation recorded, in the shape of `OrderDraft.content()`."""
        # the lean recorder (orderledger/store/recorder.py)
        recorder: Any = self.recorder
        with self._storage():
            stored = recorder.select_first_events(ids)
            out: dict[bytes, dict[str, Any]] = {}
            for event in stored:
                created: Any = self.mapper.to_domain_event(event)
                out[UUID(str(event.originator_id)).bytes] = {
                    "customer": created.customer,
                    "lines": created.lines,
                    "payment_method": created.payment_method,
                    "address": created.address,
                    "shipping_fee": created.shipping_fee,
                }
        return out

    def modify(
        self,
        order_no: str,
        *,
        lines: tuple[OrderLine, ...] | None = None,
        address: Mapping[str, str] | None = None,
        contact: str | None = None,
        phone: str | None = None,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._decide(
            order_no,
            lambda o: o.modify(
                lines=lines,
                address=address,
                contact=contact,
                phone=phone,
                actor=actor,
                source=source,
                reason=reason,
            ),
            reply_key="changed",
        )[1]

    def confirm(
        self,
        order_no: str,
        *,
        actor: str,
        source: Source,
        reason: str = "",
        stock: StockLevels | None = None,
        override_stock: str = "",
    ) -> dict[str, Any]:
        """Confirm (审核); with `stock`, only an order WDT can fill, unless
        `override_stock` says why to confirm anyway (recorded)."""

        def act(order: Order) -> None:
            order.check_confirmable()  # a refusal first, before asking WDT
            short, known = _stock_check(order, stock, override_stock)
            order.confirm(
                actor=actor,
                source=source,
                reason=reason,
                short=short,
                stock_known=known,
                override_stock=override_stock,
            )

        return self._act(order_no, act)

    def confirm_payment(
        self,
        order_no: str,
        amount: Decimal,
        *,
        reference: str = "",
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.confirm_payment(
                amount, reference=reference, actor=actor, source=source, reason=reason
            ),
        )

    def ship(
        self,
        order_no: str,
        delivery: Delivery,
        *,
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.ship(delivery, actor=actor, source=source, reason=reason),
        )

    def confirm_receipt(
        self, order_no: str, *, actor: str, source: Source, reason: str = ""
    ) -> dict[str, Any]:
        return self._act(
            order_no,
            lambda o: o.confirm_receipt(actor=actor, source=source, reason=reason),
        )

    def refuse(
        self,
        order_no: str,
        *,
        accept: list[dict[str, Any]] | None = None,
        actor: str,
        source: Source,
        reason: str,
    ) -> dict[str, Any]:
        """The parcel refused at the door, or accepted in part (Order.refuse)."""
        return self._act(
            order_no,
            lambda o: o.refuse(
                accept=accept, actor=actor, source=source, reason=reason
            ),
        )

    def record_reveal(
        self,
        order_no: str,
        *,
        fields: Sequence[str],
        actor: str,
        source: Source,
        reason: str = "",
    ) -> dict[str, Any]:
        """Record that personal data of the order was shown unmasked."""
        return self._act(
            order_no,
            lambda o: o.record_reveal(
                fields=fields, actor=actor, source=source, reason=reason
            ),
        )

    def erase_personal_data(
        self, order_no: str, *, actor: str, reason: str, force: bool = False
    ) -> bool:
        """Record the erasure of the order's personal data (Order.erase_
        personal_data); False when it was erased already. The vault's key is
        destroyed afterwards, by the caller, once every order has its event."""
        erased, _ = self._decide(
            order_no,
            lambda o: o.erase_personal_data(
                actor=actor, source=Source.OPS, reason=reason, force=force
            ),
        )
        return bool(erased)

    def in_progress(self, order_no: str) -> bool:
        """Whether the order is still being fulfilled or serviced."""
        with self._storage():
            return self._load(order_no).in_progress

    def auto_receive(self, order_no: str, *, after: timedelta, now: datetime) -> bool:
        """Confirm the receipt of a prepaid order shipped `after` ago or more
        (Order.auto_receive); False when it is not due. Safe to repeat."""

        def receive(order: Order) -> bool:
            legacy = order.shipped_at is None and order.delivery is not None
            shipped_at = self._shipment_time(order_no) if legacy else None
            return order.auto_receive(now=now, after=after, shipped_at=shipped_at)

        due, _ = self._decide(order_no, receive)
        return bool(due)

    def _shipment_time(self, order_no: str) -> datetime | None:
        """When a shipment recorded before `Shipped` carried its time was
        stored: its event's own timestamp."""
        events: list[Any] = list(self.events.get(order_id(order_no)))
        times = [e.timestamp for e in events if type(e).__name__ == "Shipped"]
        return times[-1] if times else None

    def cancel(
        self, order_no: str, *, reason: str, actor: str, source: Source
    ) -> dict[str, Any]:
        return self._act(
            order_no, lambda o: o.cancel(actor=actor, source=source, reason=reason)
        )

    # ---- queries ---------------------------------------------------------

    def get(self, order_no: str, *, reveal: bool = False) -> dict[str, Any]:
        with self._storage():
            return self._view(self._load(order_no), reveal=reveal)

    def require(self, order_no: str) -> None:
        """OrderNotFound unless the order exists (its first event is stored)."""
        with self._storage():
            if not self.recorder.select_events(order_id(order_no), lte=1):
                raise OrderNotFound(f"order {order_no} not found")

    def history(self, order_no: str, *, reveal: bool = False) -> list[dict[str, Any]]:
        with self._storage():
            self._load(order_no)
            return [
                event_to_data(e, self.tz, reveal=reveal)
                for e in self.events.get(order_id(order_no))
            ]

    # ---- load → act → save -------------------------------------------------

    def _act(self, order_no: str, action: Callable[[Order], Any]) -> dict[str, Any]:
        """Load, act, save; the order's view."""
        return self._decide(order_no, action)[1]

    def _decide(
        self,
        order_no: str,
        action: Callable[[Order], Any],
        *,
        reply_key: str | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Load (or take from the command cache), act, save: what the action
        returned, and the reply: the order's view (with the action's result
        under `reply_key`, if given), built before the write and handed to an
        HTTP request in flight, whose row goes in with the events
        (store/requests.py).

        A cached order may be outdated when another process wrote since: the
        save then fails on the version constraint (and a refusal may rest on
        old facts), so the command is tried once more on the order freshly
        read. Only a conflict on fresh data is reported.
        """
        key = order_id(order_no)
        with self._storage():
            cached = self._cached.take(key)
            while True:
                order = cached if cached is not None else self._load(order_no)
                try:
                    check_version(order_no, order.version)  # HTTP If-Match
                    result = action(order)
                    # Everything that can fail about the command happens
                    # before the write: a command that fails appended nothing.
                    view = self._view(order)
                    if reply_key is not None:
                        view = {**view, reply_key: result}
                    requests.attach_reply(view)
                    self.save(order)
                except IntegrityError:
                    if cached is None:
                        raise ConcurrencyConflict(
                            f"order {order_no} was changed by someone else at the "
                            "same moment; nothing was recorded: show the order "
                            "and try again"
                        ) from None
                except OrderLedgerError:
                    if cached is None:
                        raise
                else:
                    self._cached.put(key, order)
                    return result, view
                cached = None  # try once more on fresh data

    def _load(self, order_no: str) -> Order:
        try:
            order: Order = self.repository.get(order_id(order_no))
        except AggregateNotFoundError:
            raise OrderNotFound(f"order {order_no} not found") from None
        except (
            MapperDeserialisationError,
            PersistenceError,
            TopicError,
            OrderLedgerError,
        ):
            raise  # reported by _storage
        except Exception as error:
            # The events decode but no longer fold (a version missing, a field
            # dropped): the log was altered. Never a traceback: the auditor's
            # tool says what changed.
            raise StorageError(
                f"the stored events of order {order_no} no longer fold into an "
                f"order ({type(error).__name__}: {first_line(error)}); run "
                f"`orderledger audit verify {order_no}` to see what was altered"
            ) from None
        return order

    def _view(self, order: Order, *, reveal: bool = False) -> dict[str, Any]:
        try:
            return order_to_data(order, self.tz, reveal=reveal)
        except (ArithmeticError, ValueError) as error:
            # Only an order stored before today's bounds can get here.
            raise StorageError(
                f"order {order.order_no} holds a value outside today's bounds and "
                f"cannot be shown ({type(error).__name__}: {first_line(error)}); "
                f"`orderledger order history {order.order_no}` lists its events"
            ) from None

    def _new(
        self, draft: OrderDraft, order_no: str, actor: str, source: Source, reason: str
    ) -> Order:
        return new_order(
            order_no=order_no,
            ordered_at=draft.ordered_at or datetime.now(UTC),
            customer=draft.customer,
            lines=draft.lines,
            payment_method=draft.payment_method,
            address=draft.address,
            shipping_fee=draft.shipping_fee,
            actor=actor,
            source=source,
            reason=reason,
        )

    def _existing_for_retry(
        self, order_no: str, draft: OrderDraft
    ) -> dict[str, Any] | None:
        """The existing order if this create repeats it exactly, None if new."""
        created: Any = next(iter(self.events.get(order_id(order_no), lte=1)), None)
        if created is None:
            return None
        same = {k: getattr(created, k) for k in draft.content()} == draft.content()
        if same and draft.ordered_at is not None:
            same = created.ordered_at == draft.ordered_at
        if not same:
            raise DuplicateOrder(
                f"order {order_no} already exists with different content; "
                "use a new order number, or modify the existing order"
            )
        return self._view(self._load(order_no))

    def _create_numbered(
        self, draft: OrderDraft, actor: str, source: Source, reason: str
    ) -> dict[str, Any]:
        with self._storage():
            today = datetime.now(self.tz).strftime("%Y%m%d")
            n = (self.recorder.max_notification_id() or 0) + 1
            for attempt in range(_GENERATE_ATTEMPTS):
                order_no = f"SO{today}-{n + attempt:06d}"
                order = self._new(draft, order_no, actor, source, reason)
                view = self._view(order)
                requests.attach_reply({**view, "created": True})
                try:
                    self.save(order)
                except IntegrityError:
                    continue
                return {**view, "created": True}
        raise ConcurrencyConflict(
            "could not find a free order number after "
            f"{_GENERATE_ATTEMPTS} tries; try again or pass --order-no"
        )


def _stock_check(
    order: Order, stock: StockLevels | None, override: str
) -> tuple[list[Shortage], bool]:
    """The lines WDT cannot fill, and whether WDT could be asked at all (an
    override confirms without an answer; no override, no confirmation)."""
    if stock is None:
        return [], True
    lines = order.lines
    try:
        available = stock.available([spec_no(li.sku, li.spec) for li in lines])
    except RemoteUnavailable as error:
        if override.strip():
            return [], False
        raise RemoteUnavailable(
            f"cannot check WDT's stock for order {order.order_no} ({error}): try "
            "again, or confirm with --override-stock REASON (recorded)"
        ) from None
    return shortages(lines, available), True
