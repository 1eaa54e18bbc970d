"""The views opened without the application (projections/opening.py) read
the event table as eventsourcing-sqlalchemy wrote it, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from orderledger.application import OrderLedger
from orderledger.config import Settings
from orderledger.domain.order import order_id
from orderledger.projections.one_order import log_version, order_from_view
from orderledger.projections.opening import open_views
from orderledger.projections.store import ProjectionStore
from tests.projections.helpers import full_lifecycle


def _rows(store: ProjectionStore) -> list[tuple[object, ...]]:
    e = store.events
    with store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    e.c.id, e.c.originator_id, e.c.originator_version, e.c.topic
                ).order_by(e.c.id)
            )
        ]


def test_the_core_table_reads_what_the_recorder_wrote(
    ledger: OrderLedger, store: ProjectionStore, settings: Settings
) -> None:
    full_lifecycle(ledger, "ET-1", "online")
    full_lifecycle(ledger, "ET-2", "cod")
    store.catch_up_all()
    light = open_views(settings)

    assert light is not None
    assert _rows(light) == _rows(store)  # ids, UUIDs, versions, topics alike
    assert log_version(light, "ET-2") == ledger.get("ET-2")["version"] > 1
    assert light.position("order_status", 1) == store.head()
    shown = order_from_view(light, "ET-1", settings.tz, reveal=True)
    assert (
        shown is not None
        and shown["customer"] == ledger.get("ET-1", reveal=True)["customer"]
    )  # the vault opened it
    e = light.events
    with light.engine.connect() as conn:  # a UUID binds as the recorder stores it
        found = conn.execute(
            select(e.c.originator_version).where(e.c.originator_id == order_id("ET-1"))
        ).scalars()
        assert max(found) == ledger.get("ET-1")["version"]


def test_a_database_without_a_log_is_left_to_the_full_path(settings: Settings) -> None:
    assert open_views(settings) is None
