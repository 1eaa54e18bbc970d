"""The relay: follow the log for one destination and deliver its messages.

Two steps, each crash-safe on its own:
1. enqueue: the next page of events becomes delivery rows, written in the
   transaction that moves the destination's position;
2. deliver: the oldest undelivered message of each order, up to a batch,
   is marked sent, sent, and its outcome recorded. A later message of an
   order never goes before an earlier one is acknowledged; a rejected one
   parks its order while every other order keeps flowing.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from orderledger.application import OrderLedger
from orderledger.domain.errors import StorageError, first_line
from orderledger.outbox.clients import Outcome, RateLimited, TransientError
from orderledger.outbox.senders import Sender
from orderledger.outbox.sources import MessageSource, OrderMessages
from orderledger.outbox.store import DEAD, PARKED, PENDING, Delivery, DeliveryStore
from orderledger.store.sealing import sealed_reads

# Its message carries the order's whole current state: it supersedes the
# order's undelivered earlier messages of the same kind.
RESYNC_EVENT = "ErpResyncRequested"
# The kind of a delivery row standing for messages that could not be built
# from a stored event: it parks its order and is never sent.
UNBUILDABLE = "unbuildable"


# Parked, never sent with [erased] in place of a name or an address: a person
# settles the order with WDT or U8 (docs/privacy.md).
ERASED_REASON = (
    "the customer's personal data was erased: not sent; settle this order in "
    "the ERP by hand"
)


@dataclass
class RelayPolicy:
    page_size: int = 500
    backoff_base: float = 0.5  # seconds; doubles per attempt, with jitter
    backoff_cap: float = 60.0
    rate_limit_pause: float = 120.0  # WDT's rate limit is per minute: wait minutes
    # A message the remote keeps failing on its own (while answering others)
    # this often is dead, and its order waits for a person.
    max_attempts: int = 50
    poll_seconds: float = 0.5
    # Batches in flight at once. Each holds distinct orders, and an order is
    # never in two batches, so order per order holds; meanwhile the remote
    # and the relay work at the same time.
    parallel: int = 4


@dataclass
class RoundReport:
    consumed: int = 0  # events turned into delivery rows
    acknowledged: int = 0
    parked: int = 0
    failed: int = 0  # transient failures, retried later


class Relay:
    def __init__(
        self,
        ledger: OrderLedger,
        store: DeliveryStore,
        destination: str,
        sender: Sender,
        policy: RelayPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        source: MessageSource | None = None,
    ) -> None:
        """`source`: the log followed and its messages (default: the orders'
        log, built into `destination`'s messages)."""
        self.ledger = ledger
        self.source = source or OrderMessages(ledger, destination)
        self.store = store
        self.destination = destination
        self.sender = sender
        self.policy = policy or RelayPolicy()
        self.clock = clock
        self.jitter = jitter
        self.paused_until = 0.0
        self.last_error = ""
        self._stage = ThreadPoolExecutor(1, thread_name_prefix=f"enqueue-{destination}")
        self._pool = ThreadPoolExecutor(
            max_workers=self.policy.parallel, thread_name_prefix=f"relay-{destination}"
        )

    # ---- 1. enqueue ------------------------------------------------------------

    def enqueue(self) -> int:
        """Turn the next page of events into delivery rows; how many events."""
        start = self.store.position(self.destination)
        notifications = self.source.recorder.select_notifications(
            start, self.policy.page_size, inclusive_of_start=False
        )
        if not notifications:
            head = self.source.log_head()
            if start > head:
                raise StorageError(
                    f"the {self.destination} outbox is at position {start}, past the "
                    f"head of the log ({head}): was the event store replaced? Nothing "
                    "is sent until the outbox tables match the log"
                )
            return 0
        rows: list[dict[str, Any]] = []
        now = self.clock()
        # Orders read with their personal data sealed: the messages keep the
        # references, opened only when sent (store/sealing.py).
        with sealed_reads():
            for n in notifications:
                self._enqueue_one(n, now, rows)
        resyncs = [
            (r["order_key"], r["kind"], r["position"])
            for r in rows
            if r["event_type"] == RESYNC_EVENT and r["state"] == PENDING
        ]
        if not self.store.enqueue(
            self.destination, start, notifications[-1].id, rows, supersede=resyncs
        ):
            self.source.forget()  # someone else moved the position: start afresh
            return 0
        return len(notifications)

    def _enqueue_one(self, n: Any, now: float, rows: list[dict[str, Any]]) -> None:
        """The delivery rows of one stored event, or a parked row in their place."""
        order_id = UUID(str(n.originator_id))
        base = {
            "destination": self.destination,
            "order_key": order_id.hex,
            "position": n.id,
            "version": n.originator_version,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": 0.0,
            "last_error": None,
        }
        try:
            rows += self.source.rows_for(n, base)
        except Exception as error:  # one order's event must not stop the relay
            order_no = self.source.subject_no(n)
            rows.append(self._unbuildable(n, {**base, "order_no": order_no}, error))

    def _unbuildable(
        self, n: Any, base: dict[str, Any], error: Exception
    ) -> dict[str, Any]:
        """A parked row in place of the messages an event could not give: the
        order waits for a person (later messages of it queue behind), every
        other order goes on."""
        topic = str(n.topic)
        return {
            **base,
            "seq": 0,
            "event_type": topic.rpartition(":")[2].split(".")[0][:32],
            "event_time": "",
            "kind": UNBUILDABLE,
            "remote_key": "",
            "payload": "{}",
            "state": PARKED,
            "open": 0,
            "last_error": (
                f"the message cannot be built from the stored event "
                f"({type(error).__name__}: {first_line(error)})"
            )[:500],
        }

    # ---- 2. deliver ------------------------------------------------------------

    def _backoff(self, attempts: int) -> float:
        p = self.policy
        delay = min(p.backoff_cap, p.backoff_base * 2.0 ** max(attempts - 1, 0))
        return float(delay * (0.5 + self.jitter() / 2))  # jitter: spread retries out

    def deliver(self, report: RoundReport) -> int:
        """Send one batch; how many messages were attempted."""
        now = self.clock()
        if now < self.paused_until:
            return 0
        size = self.sender.batch_size
        batch = self.store.next_batch(
            self.destination, size * self.policy.parallel, now
        )
        if not batch:
            return 0
        # Released by `outbox retry`, a row with no message is parked again.
        unbuildable = [d for d in batch if d.kind == UNBUILDABLE]
        if unbuildable:
            self.store.record(
                parked=[(d.id, "the message cannot be built") for d in unbuildable],
                now=now,
            )
            report.parked += len(unbuildable)
            batch = [d for d in batch if d.kind != UNBUILDABLE]
            if not batch:
                return len(unbuildable)
        batch, erased = self._opened(batch)
        if erased:
            self.store.record(parked=[(d.id, ERASED_REASON) for d in erased], now=now)
            report.parked += len(erased)
            if not batch:
                return len(erased)
        self.store.mark_sent([d.id for d in batch], now)
        chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
        acknowledged: list[tuple[int, str]] = []
        parked: list[tuple[int, str]] = []
        retries: list[tuple[int, str, str, float]] = []
        for chunk, result in zip(
            chunks, self._pool.map(self._send, chunks), strict=True
        ):
            if isinstance(result, RateLimited):
                # Counted from the answer: a slow reply must not shorten the pause.
                self.paused_until = self.clock() + self.policy.rate_limit_pause
                retries += [
                    (d.id, PENDING, str(result), self.paused_until) for d in chunk
                ]
                continue
            if isinstance(result, TransientError):
                # The remote is down, not this message's fault: never dies of it.
                retries += [self._retry(d, str(result), may_die=False) for d in chunk]
                continue
            outcomes = {o.key: o for o in result}
            for d in chunk:
                outcome = outcomes.get(d.remote_key)
                if outcome is None:  # not tried: the chunk stopped before it
                    retries.append(
                        self._retry(d, "not sent in this round", may_die=False)
                    )
                elif outcome.transient:
                    retries.append(self._retry(d, outcome.error, may_die=True))
                elif outcome.ok:
                    acknowledged.append((d.id, outcome.remote_id))
                else:
                    parked.append((d.id, outcome.error))
                    self.last_error = outcome.error
        self.store.record(
            acknowledged=acknowledged, parked=parked, retries=retries, now=self.clock()
        )
        report.acknowledged += len(acknowledged)
        report.parked += len(parked)
        report.failed += len(retries)
        return len(batch)

    def _opened(self, batch: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
        """The messages with their personal data opened from the vault, and
        those of a customer erased meanwhile (never sent as [erased])."""
        vault = self.source.vault
        if vault is None:
            return batch, []
        ready, erased = [], []
        payloads = [json.loads(d.payload) for d in batch]
        complete = vault.open_messages(payloads)
        for d, payload, whole in zip(batch, payloads, complete, strict=True):
            if whole:
                ready.append(
                    replace(d, payload=json.dumps(payload, ensure_ascii=False))
                )
            else:
                erased.append(d)
        return ready, erased

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._stage.shutdown(wait=True)

    def _send(self, chunk: list[Delivery]) -> list[Outcome] | TransientError:
        try:
            return self.sender.send(chunk)
        except TransientError as error:  # RateLimited included
            return error

    def _retry(
        self, d: Delivery, error: str, *, may_die: bool
    ) -> tuple[int, str, str, float]:
        """When and in what state a failed message goes again. Only a message
        that keeps failing on its own (the call itself succeeding) ever dies:
        an ERP outage, however long, is waited out."""
        attempts = d.attempts + 1
        dead = may_die and attempts >= self.policy.max_attempts
        state = DEAD if dead else PENDING
        self.last_error = error
        return (d.id, state, error, self.clock() + self._backoff(attempts))

    # ---- the loop ------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        once: bool = False,
        on_round: Callable[[RoundReport], None] | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> RoundReport:
        """Enqueue and deliver until `stop` (or, with `once`, until caught up
        and nothing can be sent right now). Returns the totals."""
        total = RoundReport()
        while not stop.is_set():
            # Turning events into messages and sending earlier ones overlap:
            # they touch different rows, and each waits on I/O half the time.
            enqueued = self._stage.submit(self.enqueue)
            report = RoundReport()
            attempted = self.deliver(report)
            report.consumed = enqueued.result()
            for name in ("consumed", "acknowledged", "parked", "failed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if on_round is not None:
                on_round(report)
            if report.consumed or (attempted and not report.failed):
                continue  # more may be waiting right now
            if once:
                return total
            pause = self._idle_seconds()
            (wait or stop.wait)(pause)
        return total

    def _idle_seconds(self) -> float:
        now = self.clock()
        pause = self.policy.poll_seconds
        due = self.store.next_due(self.destination)
        if due is not None and due > now:
            pause = min(pause, due - now)
        if self.paused_until > now:
            pause = max(pause, min(self.paused_until - now, 5.0))
        return max(pause, 0.01)
