"""Moving the plaintext of a log written before the vault into it
(`orderledger migrate personal-data`; the procedure: docs/audit.md).

The only rewrite of stored events there is. For each order with personal
values in plain text, every such value is sealed as the mapper seals it
today, and the order's hash chain is computed again from its first event
(each hash covers the one before). Nothing else in any event changes, which
an auditor checks by comparing an export taken before with one taken after.
The statement written beside records the ledger digest before and after,
each changed order's old and new head, and is signed (Ed25519), so that it
cannot be edited afterwards without the signature failing.

Copies that cannot be sealed are cut instead: the personal fields of the
messages already sent to WDT and U8 (the delivery ledger) and of stored HTTP
replies read `[not kept]`. Snapshots of the changed orders are deleted (they
are taken again); the views are rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, Table, delete, inspect, select, text, update

from orderledger.application import OrderLedger
from orderledger.audit.chainscan import StoredOrderEvent, orders
from orderledger.audit.verify import digest
from orderledger.domain.chain import CHAIN_FIELDS, GENESIS
from orderledger.domain.errors import InvalidInput, RuleViolation
from orderledger.domain.personal import NOT_KEPT, plain_values
from orderledger.outbox.messages import PERSONAL_MESSAGE_FIELDS
from orderledger.outbox.store import DeliveryStore
from orderledger.projections.definitions import PROJECTIONS
from orderledger.projections.rebuild import rebuild
from orderledger.projections.store import ProjectionStore
from orderledger.store.canonical import with_chain
from orderledger.store.requests import RequestLog, kept_reply
from orderledger.store.scrub import compact
from orderledger.store.sealing_keys import RecordRow, SealingKeys, SubjectRow

STATEMENT_FORMAT = "orderledger-migration-1"


def _has_plaintext(content: dict[str, Any]) -> bool:
    return bool(plain_values(content))


@dataclass
class OrderRewrite:
    order_key: str
    old_head: tuple[int, str]
    new_head: tuple[int, str] = (0, GENESIS)
    sealed_versions: list[int] = field(default_factory=list)
    states: dict[int, bytes] = field(default_factory=dict)  # event id -> state
    records: list[RecordRow] = field(default_factory=list)
    subjects: list[SubjectRow] = field(default_factory=list)  # new to the vault


def rewrite(
    keys: SealingKeys,
    order_key: str,
    events: list[StoredOrderEvent],
) -> OrderRewrite:
    """The order's events with their personal data sealed and chained again."""
    last = events[-1]
    plan = OrderRewrite(order_key, (last.version, str(last.content.get("chain_hash"))))
    created = events[0].content
    if events[0].version != 1 or not isinstance(created.get("customer"), dict):
        raise InvalidInput(f"order {order_key} has no Created event to migrate from")
    subject = keys.new_subject(str(created["customer"]["phone"]))
    assert subject.row is not None
    plan.subjects.append(subject.row)
    prev = GENESIS
    for event in events:
        content = {k: v for k, v in event.content.items() if k not in CHAIN_FIELDS}
        if _has_plaintext(content):
            record = keys.seal(subject, content)
            if record is not None:
                plan.records.append(record)
            plan.sealed_versions.append(event.version)
        plan.states[event.position], prev = with_chain(
            orjson.dumps(content), order_key, event.version, event.topic, content, prev
        )
    plan.new_head = (last.version, prev)
    return plan


def _sign(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement with an Ed25519 signature over its canonical JSON (and
    the public key that checks it; the private key is thrown away)."""
    key = Ed25519PrivateKey.generate()
    body = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {**statement, "public_key": public.hex(), "signature": key.sign(body).hex()}


@dataclass
class Migration:
    ledger: OrderLedger
    store: ProjectionStore
    deliveries: DeliveryStore
    requests: RequestLog
    say: Callable[[str], None] = lambda _message: None

    def run(self) -> dict[str, Any]:
        vault = self.ledger.vault
        if vault is None:
            raise InvalidInput("this ledger keeps no personal-data vault")
        engine, events = self.store.engine, self.store.events
        pending = self._undelivered()
        if pending:
            raise RuleViolation(
                f"{pending} message(s) to WDT or U8 are still to be sent: deliver "
                "them first (`outbox run --once`), with every relay stopped"
            )
        before = digest(engine, events)
        keys = vault.sealing_keys()
        plans = [
            rewrite(keys, key, order_events)
            for key, order_events in orders(engine, events)
            if any(_has_plaintext(e.content) for e in order_events)
        ]
        for plan in plans:
            self._write(engine, events, plan)
        self.say(f"sealed the personal data of {len(plans)} order(s)")
        cut = self._cut_copies()
        for name in PROJECTIONS:
            rebuild(self.store, name, force=True)
        # The old bytes of the rewritten rows must not stay in the files.
        tables = (events, self._snapshots(), self.deliveries.deliveries)
        compact(
            engine,
            [t.name for t in (*tables, self.requests.table)],
            whole_file=True,
        )
        after = digest(engine, events)
        return _sign(
            {
                "format": STATEMENT_FORMAT,
                "kind": "personal-data",
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "before": {"position": before["position"], "root": before["root"]},
                "after": {"position": after["position"], "root": after["root"]},
                "orders": {
                    p.order_key: {
                        "old_head": list(p.old_head),
                        "new_head": list(p.new_head),
                        "sealed_versions": p.sealed_versions,
                    }
                    for p in plans
                },
                "copies_cut": cut,
            }
        )

    def _undelivered(self) -> int:
        d = self.deliveries.deliveries
        with self.deliveries.engine.connect() as conn:
            return int(
                conn.execute(
                    text(f"SELECT count(*) FROM {d.name} WHERE state = 'pending'")
                ).scalar_one()
            )

    def _write(self, engine: Engine, events: Table, plan: OrderRewrite) -> None:
        """One order in one transaction: its events, its vault records, and
        its snapshots dropped (they hold the old state)."""
        vault = self.ledger.vault
        assert vault is not None
        vault.insert(plan.subjects, plan.records)
        with engine.begin() as conn:
            for position, state in plan.states.items():
                conn.execute(
                    update(events).where(events.c.id == position).values(state=state)
                )
            snapshots = self._snapshots()
            conn.execute(
                delete(snapshots).where(
                    snapshots.c.originator_id == UUID(hex=plan.order_key)
                )
            )

    def _snapshots(self) -> Table:
        """The ledger's snapshots table (eventsourcing's, beside the log)."""
        store: Any = self.ledger.snapshots
        return cast(Table, store.recorder.events_record_cls.__table__)

    def _cut_copies(self) -> dict[str, int]:
        """Personal fields of stored messages and HTTP replies: [not kept]."""
        cut = {"messages": 0, "replies": 0}
        d = self.deliveries.deliveries
        engine = self.deliveries.engine
        with engine.begin() as conn:
            for row_id, payload in conn.execute(select(d.c.id, d.c.payload)).all():
                data = json.loads(payload)
                if _cut(data):
                    kept = json.dumps(data, ensure_ascii=False, sort_keys=True)
                    conn.execute(update(d).where(d.c.id == row_id).values(payload=kept))
                    cut["messages"] += 1
            r = self.requests.table
            if not inspect(conn).has_table(r.name):
                return cut  # the HTTP API never ran here
            for caller, key, reply in conn.execute(
                select(r.c.caller_id, r.c.request_key, r.c.reply)
            ).all():
                kept = kept_reply(json.loads(reply))
                if kept != reply:
                    conn.execute(
                        update(r)
                        .where(r.c.caller_id == caller, r.c.request_key == key)
                        .values(reply=kept)
                    )
                    cut["replies"] += 1
        return cut


def _cut(data: Any) -> bool:
    """Replace the personal fields of a stored message, at any depth."""
    changed = False
    if isinstance(data, dict):
        for key, value in data.items():
            if key in PERSONAL_MESSAGE_FIELDS and isinstance(value, str):
                data[key], changed = NOT_KEPT, True
            else:
                changed = _cut(value) or changed
    elif isinstance(data, list):
        for item in data:
            changed = _cut(item) or changed
    return changed
