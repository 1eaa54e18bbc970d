"""Tamper evidence and as-of replay, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select, update

from orderledger.application import OrderLedger
from orderledger.audit.history import history
from orderledger.audit.verify import compare_with_digest, digest, verify
from orderledger.cli import cli
from orderledger.domain.order import order_id
from orderledger.domain.values import Delivery
from orderledger.projections.store import ProjectionStore
from tests.e2e.helpers import WHO, full_lifecycle
from tests.factories import draft
from tests.projections.helpers import order_histories, step


def kinds(
    store: ProjectionStore, saved: dict[str, Any] | None = None
) -> list[tuple[str, Any, str]]:
    report = verify(store.engine, store.events)
    if saved is not None:
        compare_with_digest(store.engine, store.events, saved, report)
    return [(f.order_no, f.version, f.kind) for f in report.findings]


def rows_of(store: ProjectionStore, order_no: str) -> list[Any]:
    e = store.events
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(e.c.id, e.c.originator_version, e.c.state)
                .where(e.c.originator_id == order_id(order_no))
                .order_by(e.c.originator_version)
            )
        )


def sql(store: ProjectionStore, statement: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(statement)


def test_an_untouched_ledger_verifies(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    full_lifecycle(ledger, "A-1", "online")
    full_lifecycle(ledger, "A-2", "cod")

    report = verify(store.engine, store.events)

    assert report.ok and (report.orders, report.events) == (2, 10)


def test_one_changed_byte_is_named_as_an_edited_event(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    full_lifecycle(ledger, "B-1", "online")
    row_id, _, state = rows_of(store, "B-1")[2]  # the payment
    forged = bytes(state).replace(b'"amount":"128.00"', b'"amount":"128.01"')
    assert forged != bytes(state)

    sql(
        store,
        update(store.events).where(store.events.c.id == row_id).values(state=forged),
    )

    assert kinds(store) == [("B-1", 3, "content_edited")]


def test_a_deleted_event_is_named(ledger: OrderLedger, store: ProjectionStore) -> None:
    full_lifecycle(ledger, "C-1", "cod")
    row_id = rows_of(store, "C-1")[1][0]

    sql(store, store.events.delete().where(store.events.c.id == row_id))

    assert kinds(store) == [("C-1", 3, "event_deleted")]


def test_two_swapped_events_are_named_as_reordered(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    full_lifecycle(ledger, "D-1", "online")
    (id2, _, _), (id3, _, _) = rows_of(store, "D-1")[1:3]
    e = store.events

    sql(store, update(e).where(e.c.id == id2).values(originator_version=-1))
    sql(store, update(e).where(e.c.id == id3).values(originator_version=2))
    sql(store, update(e).where(e.c.id == id2).values(originator_version=3))

    assert kinds(store) == [("D-1", 2, "reordered"), ("D-1", 3, "reordered")]


def test_an_inserted_event_is_named(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    ledger.create(draft(order_no="I-1"), **WHO)
    ledger.confirm("I-1", **WHO)
    ledger.create(draft(order_no="I-2"), **WHO)
    ledger.confirm("I-2", **WHO)
    ledger.cancel("I-2", reason="x", **WHO)
    _, _, foreign = rows_of(store, "I-2")[2]  # a well-formed event of another order
    e = store.events

    forged = e.insert().values(
        originator_id=order_id("I-1"),
        originator_version=3,
        topic="orderledger.order:Cancelled.v1",
        state=foreign,
    )

    sql(store, forged)

    assert kinds(store) == [("I-1", 3, "event_inserted")]


def test_truncated_and_removed_orders_are_named_against_a_digest(
    ledger: OrderLedger, store: ProjectionStore
) -> None:
    full_lifecycle(ledger, "T-1", "online")
    full_lifecycle(ledger, "T-2", "cod")
    ledger.create(draft(order_no="T-3"), **WHO)
    saved = digest(store.engine, store.events)
    last_of_t1 = rows_of(store, "T-1")[-1][0]
    e = store.events

    sql(store, e.delete().where(e.c.id == last_of_t1))
    sql(store, e.delete().where(e.c.originator_id == order_id("T-2")))

    assert kinds(store) == []  # on their own, the remaining chains are intact…
    assert sorted(kinds(store, saved)) == [  # …but the digest knows what was there
        ("T-1", 4, "order_truncated"),
        ("T-2", None, "order_removed"),
    ]


def test_the_cli_exits_non_zero_and_names_the_break(
    ledger: OrderLedger, store: ProjectionStore, db_url: str, tmp_path: Path
) -> None:
    full_lifecycle(ledger, "K-1", "online")
    runner = CliRunner()
    digest_file = tmp_path / "digest.json"
    saved = runner.invoke(
        cli, ["--db", db_url, "audit", "digest", "--save", str(digest_file)]
    )
    clean = runner.invoke(
        cli, ["--db", db_url, "audit", "verify", "--against", str(digest_file)]
    )
    sql(
        store,
        store.events.delete().where(store.events.c.id == rows_of(store, "K-1")[-1][0]),
    )

    broken = runner.invoke(cli, ["--db", db_url, "--json", "audit", "verify", "--all",
                                 "--against", str(digest_file)])  # fmt: skip
    one = runner.invoke(cli, ["--db", db_url, "audit", "verify", "K-1"])

    assert saved.exit_code == 0 and json.loads(digest_file.read_text())["orders"] == 1
    assert clean.exit_code == 0 and "everything verifies" in clean.stdout
    assert broken.exit_code == 8
    assert [f["kind"] for f in json.loads(broken.stdout)["findings"]] == [
        "order_truncated"
    ]
    # The chain itself is intact: only the digest shows the cut.
    assert one.exit_code == 0


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(histories=order_histories(4, 6))
def test_random_untouched_histories_verify_and_replay_as_of_any_moment(
    ledger: OrderLedger, store: ProjectionStore, histories: list[tuple[str, list[str]]]
) -> None:
    base = ledger.log_head()
    snapshots: list[tuple[str, datetime, dict[str, Any]]] = []
    for n, (payment, steps) in enumerate(histories):
        no = f"P{base}-{n}"
        ledger.create(draft(payment, order_no=no), **WHO)
        for i, action in enumerate(steps):
            step(ledger, no, action, i)
            time.sleep(0.002)
            snapshots.append((no, datetime.now(UTC), ledger.get(no)))

    report = verify(store.engine, store.events)

    assert report.ok, report.findings
    for no, moment, state in snapshots:
        assert history(ledger, no, moment)["state"] == state


def test_history_before_the_order_existed_and_its_timeline(ledger: OrderLedger) -> None:
    before = datetime.now(UTC)
    ledger.create(draft(order_no="H-1"), **WHO)
    ledger.confirm("H-1", **WHO)
    ledger.confirm_payment("H-1", Decimal("128.00"), **WHO)
    ledger.ship("H-1", Delivery("SF", "1"), **WHO)

    earlier = history(ledger, "H-1", before)
    now = history(ledger, "H-1")

    assert earlier["existed"] is False and earlier["timeline"] == []
    assert [e["type"] for e in now["timeline"]] == [
        "Created",
        "Confirmed",
        "PaymentConfirmed",
        "Shipped",
    ]
    assert now["state"]["status"] == "已发货"
