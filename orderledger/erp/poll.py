"""Poll WDT for what it did on its own, and record it as ERP observations.

WDT reports nothing by itself: `trade_query.php` lists trades by last-modified
window, `logistics_sync_query.php` lists shipments until acknowledged.
- Windows overlap (a trade modified exactly at a window's end, or while the
  clocks disagree, is read again next time); observations of an unchanged
  state record nothing, so reading twice is harmless.
- Pages of a window can shift while we page (a trade modified meanwhile
  moves to the end or leaves the window): when the total changes between
  pages, or a trade turns up twice, the window is read again from its first
  page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, insert, select, update

from orderledger.application import OrderLedger
from orderledger.domain.aftersales import replaced_case
from orderledger.domain.errors import (
    InvalidInput,
    OrderNotFound,
    RuleViolation,
    first_line,
)
from orderledger.outbox.clients import TransientError, WdtClient
from orderledger.outbox.messages import CHINA
from orderledger.outbox.wdt_protocol import MAX_QUERY_PAGE
from orderledger.store.ddl import create_tables

FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_WDT_CODE = 1000  # WDT's trade statuses are small numbers (5 … 110)
BEGINNING = "2000-01-01 00:00:00"


@dataclass
class PollReport:
    window: tuple[str, str] = ("", "")
    trades: int = 0
    recorded: int = 0
    unknown: list[str] = field(default_factory=list)
    shipments_acked: int = 0
    rereads: int = 0
    # Trades whose data could not be recorded as it came ("tid: why"): each
    # is read again in the next window that includes it.
    unreadable: list[str] = field(default_factory=list)
    followed: dict[str, list[str]] = field(default_factory=dict)  # order -> steps


class ErpPoller:
    def __init__(
        self,
        ledger: OrderLedger,
        client: WdtClient,
        engine: Engine,
        *,
        overlap_seconds: int = 60,
        settle_seconds: int = 1,
        page_size: int = MAX_QUERY_PAGE,
        now: Callable[[], datetime] = lambda: datetime.now(CHINA),
        follow: Collection[str] = (),
    ) -> None:
        self.ledger, self.client, self.engine = ledger, client, engine
        # The ERP-first website steps taken as soon as they are seen.
        self.follow = tuple(follow)
        self.overlap = timedelta(seconds=overlap_seconds)
        self.settle = timedelta(seconds=settle_seconds)
        self.page_size = page_size
        self.now = now
        md = MetaData()
        self.cursor = Table(
            "erp_poll_cursor",
            md,
            Column("name", String(16), primary_key=True),
            Column("polled_to", String(19), nullable=False),
        )
        create_tables(engine, [self.cursor])

    def _polled_to(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(self.cursor.c.polled_to).where(self.cursor.c.name == "wdt")
            ).scalar()

    def _save(self, end: str) -> None:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(self.cursor)
                .where(self.cursor.c.name == "wdt")
                .values(polled_to=end)
            ).rowcount
            if not moved:
                conn.execute(insert(self.cursor).values(name="wdt", polled_to=end))

    def window(self, start: str, end: str, report: PollReport) -> list[dict[str, Any]]:
        """Every trade modified in [start, end), read page by page, again from
        the first page whenever the total moved while paging."""
        base = {"start_time": start, "end_time": end, "status": "0"}
        items: list[dict[str, Any]] = []
        for _attempt in range(5):
            first = self.client.query(
                "trade_query.php",
                {**base, "page_no": "0", "page_size": str(self.page_size)},
            )
            total, items = int(first["total_count"]), list(first["trades"])
            stable = True
            for page in range(1, math.ceil(total / self.page_size)):
                answer = self.client.query(
                    "trade_query.php",
                    {**base, "page_no": str(page), "page_size": str(self.page_size)},
                )
                if int(answer["total_count"]) != total:
                    stable = False
                    break
                items += answer["trades"]
            # A trade read twice moved from a page already read to a later one
            # while we paged: everything after it shifted, one may be missed.
            tids = [t["src_tid"] for t in items]
            if stable and len(set(tids)) == len(tids):
                break
            report.rereads += 1
        return list({(t["src_tid"], t["modified"]): t for t in items}.values())

    def poll_once(self, actor: str = "erp-poll") -> PollReport:
        """One window and the shipments; an answer not in the documented shape
        is a transient fault of the remote (GarbledAnswer), never a crash."""
        try:
            return self._poll(actor)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise GarbledAnswer(
                f"WDT's answer was not understood ({type(error).__name__}: "
                f"{first_line(error)[:80]})"
            ) from None

    def _poll(self, actor: str) -> PollReport:
        report = PollReport()
        polled_to = self._polled_to()
        if polled_to is None:
            start = BEGINNING
        else:
            start = (datetime.strptime(polled_to, FORMAT) - self.overlap).strftime(
                FORMAT
            )
        end = (self.now() - self.settle).strftime(FORMAT)
        report.window = (start, end)
        for trade in sorted(
            self.window(start, end, report), key=lambda t: t["modified"]
        ):
            report.trades += 1
            self._observe(trade, actor, report)
        self._sync_shipments(actor, report)
        self._save(end)
        return report

    def _observe(self, trade: dict[str, Any], actor: str, report: PollReport) -> None:
        code = int(trade["trade_status"])
        try:
            if not 0 <= code <= MAX_WDT_CODE:
                raise InvalidInput(f"status {code} is not a WDT trade status")
            changed, followed = self.ledger.observe_erp(
                str(trade["src_tid"]),
                wdt_code=code,
                steps=tuple(trade.get("steps") or ()),
                frozen=bool(trade.get("freeze_reason")),
                intercepted=bool(trade.get("intercepted")),
                logistics_no=str(trade.get("logistics_no") or ""),
                logistics_name=str(trade.get("logistics_name") or ""),
                reported_at=str(trade["modified"]),
                actor=actor,
                follow=self.follow,
            )
        except OrderNotFound:
            # An exchange's replacement trade is not an order: its shipment
            # is what counts, and it comes with the logistics sync.
            if replaced_case(str(trade["src_tid"])) is None:
                report.unknown.append(str(trade["src_tid"]))
            return
        except InvalidInput as error:
            report.unreadable.append(f"{str(trade['src_tid'])[:40]}: {error}")
            return
        report.recorded += int(changed)
        if followed:
            report.followed[str(trade["src_tid"])] = followed

    def _sync_shipments(self, actor: str, report: PollReport) -> None:
        """Record each shipment (carrier and tracking number), follow it, then
        acknowledge it; one the ledger does not know is acknowledged too, one
        it cannot record is read again next time."""
        shipments = self.client.query("logistics_sync_query.php", {"limit": "100"})[
            "trades"
        ]
        done = []
        for s in shipments:
            tid = str(s["tid"])
            try:
                changed, followed = self._record_shipment(tid, s, actor)
            except OrderNotFound:
                report.unknown.append(tid)
            except (InvalidInput, RuleViolation) as error:
                report.unreadable.append(f"{tid[:40]}: {error}")
                continue
            else:
                report.recorded += int(changed)
                if followed:
                    report.followed[tid] = followed
            done.append({"rec_id": s["rec_id"], "status": 0})
        if done:
            self.client.query(
                "logistics_sync_ack.php", {"logistics_list": json.dumps(done)}
            )
            report.shipments_acked = len(done)

    def _record_shipment(
        self, tid: str, s: dict[str, Any], actor: str
    ) -> tuple[bool, list[str]]:
        """An order's shipment, or an exchange's replacement (tid `NO-EX1`)."""
        shipment = {
            "logistics_no": str(s["logistics_no"]),
            "logistics_name": str(s.get("logistics_name") or ""),
        }
        try:
            return self.ledger.observe_shipment(
                tid,
                **shipment,
                reported_at=str(s.get("consign_time") or self.now().strftime(FORMAT)),
                actor=actor,
                follow=self.follow,
            )
        except OrderNotFound:
            replaced = replaced_case(tid)
            if replaced is None:
                raise
        order_no, case_id = replaced
        shipped = self.ledger.observe_replacement_shipment(
            order_no, case_id, **shipment, actor=actor
        )
        return shipped, ["ship exchange"] if shipped else []


def follow(
    poller: ErpPoller, stop: Any, interval: float, on_poll: Callable[[PollReport], None]
) -> None:
    """Poll every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        on_poll(poller.poll_once())
        stop.wait(interval)


class GarbledAnswer(TransientError):
    """WDT answered, but not in the shape its API documents."""
