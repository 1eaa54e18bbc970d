"""The composition root: builds the ledger, the projections, the delivery
store, the relays, the ERP poller and the reconciler from settings.

The CLI, the demo, the benchmarks and the tests build through here (tests
with their own settings and policies); below it, nothing imports it (the
import contract in pyproject.toml).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from orderledger.application import OrderLedger
from orderledger.application.catalog import Catalog
from orderledger.config import (
    CrmSettings,
    ReconcileSettings,
    Settings,
    U8Settings,
    WdtSettings,
    redact_url,
)
from orderledger.domain.errors import InvalidInput, StorageError, first_line
from orderledger.domain.stock import StockLevels
from orderledger.erp.poll import ErpPoller
from orderledger.erp.reconciler import Reconciler
from orderledger.erp.stock import WdtStock
from orderledger.outbox.clients import CrmClient, U8Client, WdtClient
from orderledger.outbox.destinations import CATALOG_LOG, delivery_store, route
from orderledger.outbox.messages import U8, WDT
from orderledger.outbox.relay import Relay, RelayPolicy
from orderledger.outbox.senders import CrmSender, Sender, U8Sender, WdtSender
from orderledger.outbox.sources import CatalogMessages
from orderledger.outbox.store import DeliveryStore
from orderledger.projections.store import ProjectionStore
from orderledger.store.master_key import configured_master_key
from orderledger.store.requests import RequestLog
from orderledger.store.sessions import SessionStore
from orderledger.store.tokens import TokenStore


def persistence_env(settings: Settings) -> dict[str, str]:
    # The recorders come from OrderLedger.construct_factory (the lean
    # recorder, orderledger/store/recorder.py), not from a topic string here.
    return {
        "SQLALCHEMY_URL": settings.db_url,
        "CREATE_TABLE": "y",
    }


def build_ledger(settings: Settings) -> OrderLedger:
    """The application on the configured database; tables are made on first use."""
    master = configured_master_key(
        settings, announce=lambda message: print(message, file=sys.stderr)
    )
    with _opening(settings):
        ledger = OrderLedger(
            persistence_env(settings), tz=settings.tz, master_key=master
        )
        # The first transaction switches a new SQLite file to WAL, which needs
        # the file to itself: do it now, before threads (relays) share it.
        ledger.log_head()
        return ledger


def build_catalog(settings: Settings) -> Catalog:
    """The product catalog, in its own event table of the same database."""
    with _opening(settings):
        return Catalog(persistence_env(settings))


@contextmanager
def _opening(settings: Settings) -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, PersistenceError, OSError) as error:
        raise StorageError(
            f"cannot open the database {redact_url(settings.db_url)}: "
            f"{first_line(error)}"
        ) from None


def build_projections(ledger: OrderLedger, settings: Settings) -> ProjectionStore:
    """The projections on the event store's own engine and events table."""
    recorder: Any = ledger.recorder
    return ProjectionStore(
        recorder.datastore.engine,
        recorder.events_record_cls.__table__,
        settings.tz,
        channel=recorder.channel_name,
        vault=ledger.vault,
    )


def projection_store(settings: Settings) -> ProjectionStore:
    """A worker process's own views (projections/workers.py): module-level,
    so that `functools.partial(projection_store, settings)` pickles."""
    return build_projections(build_ledger(settings), settings)


def _engine(ledger: OrderLedger) -> Any:
    recorder: Any = ledger.recorder
    return recorder.datastore.engine


def build_token_store(ledger: OrderLedger) -> TokenStore:
    """The HTTP API's tokens, in the ledger's database."""
    return TokenStore(_engine(ledger))


def build_request_log(ledger: OrderLedger) -> RequestLog:
    """The HTTP API's idempotency keys, beside the events they caused."""
    return RequestLog(_engine(ledger))


def build_session_store(ledger: OrderLedger) -> SessionStore:
    """The console's login sessions."""
    return SessionStore(_engine(ledger))


def build_delivery_store(ledger: OrderLedger) -> DeliveryStore:
    return delivery_store(_engine(ledger))


POLICY_ENV = {
    "backoff_base": "ORDERLEDGER_OUTBOX_BACKOFF_BASE",
    "backoff_cap": "ORDERLEDGER_OUTBOX_BACKOFF_CAP",
    "rate_limit_pause": "ORDERLEDGER_OUTBOX_RATE_LIMIT_PAUSE",
    "poll_seconds": "ORDERLEDGER_OUTBOX_POLL",
    "parallel": "ORDERLEDGER_OUTBOX_PARALLEL",
}


def relay_policy(environ: Mapping[str, str] | None = None) -> RelayPolicy:
    """Retry timing (seconds) and batches in flight, from the environment."""
    env = os.environ if environ is None else environ
    policy = RelayPolicy()
    for attribute, name in POLICY_ENV.items():
        if env.get(name):
            kind = type(getattr(policy, attribute))
            try:
                value = kind(env[name])
            except ValueError:
                raise InvalidInput(
                    f"{name} must be a number ({kind.__name__})"
                ) from None
            if not 0 < value < 1e9:  # NaN and infinity fail this too
                raise InvalidInput(f"{name} must be a positive, finite number")
            setattr(policy, attribute, value)
    return policy


def build_relay(
    ledger: OrderLedger,
    destination: str,
    *,
    wdt: WdtSettings | None,
    u8: U8Settings | None,
    crm: CrmSettings | None = None,
    catalog: Catalog | None = None,
    policy: RelayPolicy | None = None,
) -> Relay:
    """The relay for one destination (outbox/destinations.py), with the
    client its settings describe, following the orders' log or, for the
    catalog's destinations, `catalog`'s."""
    way = route(destination)
    sender: Sender
    if way.remote == WDT:
        sender = WdtSender(WdtClient(_configured(wdt, "WDT")))
    elif way.remote == U8:
        sender = U8Sender(U8Client(_configured(u8, "U8")))
    else:
        sender = CrmSender(CrmClient(_configured(crm, "CRM")))
    source = None
    if way.log == CATALOG_LOG:
        source = CatalogMessages(catalog or Catalog(dict(ledger.env)), destination)
    store = build_delivery_store(ledger)
    return Relay(
        ledger, store, destination, sender, policy or relay_policy(), source=source
    )


S = TypeVar("S")


def _configured(settings: S | None, what: str) -> S:
    if settings is None:
        raise InvalidInput(
            f"{what} is not configured: set ORDERLEDGER_{what}_URL and friends"
        )
    return settings


def build_stock_levels(
    settings: Settings, wdt: WdtSettings | None
) -> StockLevels | None:
    """What `order confirm` asks for stock: WDT, where it is configured and
    the check is not turned off."""
    if wdt is None or settings.stock_check == "off":
        return None
    return WdtStock(WdtClient(wdt))


def build_poller(
    ledger: OrderLedger,
    wdt: WdtSettings | None,
    settings: ReconcileSettings,
    **overrides: Any,
) -> ErpPoller:
    """`erp poll`: WDT read back into the ledger, following the ERP-first
    steps the settings make automatic (`overrides`: the poller's timing)."""
    if wdt is None:
        raise InvalidInput("WDT is not configured: set ORDERLEDGER_WDT_URL and friends")
    recorder: Any = ledger.recorder
    return ErpPoller(
        ledger,
        WdtClient(wdt),
        recorder.datastore.engine,
        follow=settings.followed_steps(),
        **overrides,
    )


def build_reconciler(
    ledger: OrderLedger, projections: ProjectionStore, settings: ReconcileSettings
) -> Reconciler:
    return Reconciler(ledger, projections, build_delivery_store(ledger), settings)
