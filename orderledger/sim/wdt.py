"""A WDT (旺店通) simulator: the open API endpoints, the signature and clock
checks, and WDT's own system-status machine with its cancel rules.

System status (VOCABULARY.md §3): 10 待付款 (unpaid prepaid), 30 待客审,
55 已审核 (print, pick, scan and weigh are flags inside it), 95 已发货,
100 已签收, 110 已完成, 5 已取消. A pushed close (platform 80/90) cancels an
order at ≤ 35 or a frozen one; at 55 it is intercepted and waits for a
person; at ≥ 95 it is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from orderledger.domain.wdt_status import (
    REVIEWABLE,
    Wdt,
    cancellable_by_push,
    cancelled,
    shipped,
)
from orderledger.outbox.messages import CHINA
from orderledger.outbox.wdt_protocol import (
    CODE_RATE_LIMIT,
    CODE_TIMESTAMP,
    MAX_QUERY_PAGE,
    MAX_TRADES_PER_PUSH,
    TIMESTAMP_SKEW_SECONDS,
    wdt_sign,
)
from orderledger.sim.server import SimError, Simulator

CODE_SIGN = 3
CODE_PARAMS = 4
CODE_TRADE_REJECTED = 1201
PLATFORM_STATUSES = {10, 20, 30, 40, 50, 60, 70, 80, 90}
WAREHOUSE_STEPS = ("print", "pick", "scan", "weigh")


def _now() -> str:
    return datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Trade:
    tid: str
    system_status: int
    platform_status: int
    trade: dict[str, Any]
    pushes: int = 1
    platform_history: list[int] = field(default_factory=list)
    modified: str = field(default_factory=_now)
    modified_seq: int = 0
    frozen: bool = False
    intercepted: bool = False
    steps: list[str] = field(default_factory=list)
    logistics_no: str = ""
    logistics_name: str = ""
    shipped_outside: bool = False  # the platform shipped it, not WDT's warehouse

    def view(self) -> dict[str, Any]:
        data = asdict(self)
        data["receiver_name"] = self.trade.get("receiver_name", "")
        # what the platform last said about the money, as it said it
        data["pay_status"] = self.trade.get("pay_status")
        data["paid"] = self.trade.get("paid")
        del data["trade"]
        return data


class WdtSimulator(Simulator):
    name = "wdt"

    def __init__(self, *, sid: str, appkey: str, appsecret: str) -> None:
        super().__init__()
        self.sid, self.appkey, self._appsecret = sid, appkey, appsecret
        self.trades: dict[str, Trade] = {}
        self.shipments: dict[
            int, dict[str, Any]
        ] = {}  # rec_id -> shipment, until acked
        self._seq = 0
        self.refunds: dict[str, dict[str, Any]] = {}  # refund_no -> refund
        self.goods: dict[str, dict[str, Any]] = {}  # goods_no -> goods as pushed
        # spec_no -> available stock (可发库存), set by POST /_sim/advance
        # {"step": "stock", "spec_no": …, "available": n}
        self.stock: dict[str, int] = {}

    # ---- control -----------------------------------------------------------

    def state(self) -> Any:
        """The trades (a list, as before the catalog); the goods and the
        stock levels at GET /_sim/state?part=goods and ?part=stock."""
        return [
            {
                **t.view(),
                "refunds": [r for r in self.refunds.values() if r["tid"] == t.tid],
            }
            for t in self.trades.values()
        ]

    def part(self, name: str) -> Any:
        if name == "goods":
            return list(self.goods.values())
        if name == "stock":
            return dict(self.stock)
        raise SimError(f"WDT has no part {name!r}: goods or stock")

    def reset(self) -> None:
        self.trades.clear()
        self.shipments.clear()
        self.refunds.clear()
        self.goods.clear()
        self.stock.clear()

    def rate_limited(self) -> Any:
        return {"code": CODE_RATE_LIMIT, "message": "调用频率超限 (rate limit)"}

    def advance(self, body: dict[str, Any]) -> Any:
        if body.get("step") == "stock":
            return self._set_stock(body)
        trade = self.trades.get(str(body.get("tid")))
        if trade is None:
            raise SimError(f"unknown tid {body.get('tid')!r}")
        step = body.get("step")
        status = trade.system_status
        if step == "review":
            if status not in REVIEWABLE or trade.frozen:
                raise SimError(
                    f"only an unfrozen order at 30/35 can be reviewed, not {status}"
                )
            trade.system_status = Wdt.REVIEWED
        elif step in WAREHOUSE_STEPS:
            if status != Wdt.REVIEWED:
                raise SimError(f"{step} happens at 55 (已审核), not {status}")
            trade.steps.append(str(step))
        elif step == "ship":
            if status != Wdt.REVIEWED or trade.frozen:
                raise SimError(f"only an unfrozen reviewed order ships, not {status}")
            trade.system_status = Wdt.SHIPPED
            trade.logistics_name = str(body.get("carrier", "SF"))
            trade.logistics_no = str(body.get("tracking", f"SF{self._seq + 1:010d}"))
            rec_id = len(self.shipments) + 1 + self._seq
            self.shipments[rec_id] = {
                "rec_id": rec_id,
                "tid": trade.tid,
                "logistics_name": trade.logistics_name,
                "logistics_no": trade.logistics_no,
                "consign_time": _now(),
            }
        elif step == "sign":  # the carrier reports the customer signed for it
            if status != Wdt.SHIPPED:
                raise SimError(f"only a shipped trade is signed for, not {status}")
            trade.system_status = Wdt.SIGNED
        elif step == "freeze":
            trade.frozen = True
        elif step == "unfreeze":
            trade.frozen = False
        elif step == "cancel":
            if shipped(status):
                raise SimError("a shipped order cannot be cancelled in WDT")
            trade.system_status = Wdt.CANCELLED
        else:
            raise SimError(f"unknown step {step!r}")
        self._touch(trade)
        return trade.view()

    def _set_stock(self, body: dict[str, Any]) -> dict[str, int]:
        """The warehouse's available stock of a spec (WDT's own count)."""
        spec = str(body.get("spec_no", ""))
        available = body.get("available")
        if not spec or not isinstance(available, int) or available < 0:
            raise SimError("stock needs spec_no and available (a whole number ≥ 0)")
        self.stock[spec] = available
        return {spec: available}

    def _touch(self, trade: Trade) -> None:
        self._seq += 1
        trade.modified = _now()
        trade.modified_seq = self._seq

    # ---- the API -----------------------------------------------------------

    def api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        if method != "POST" or not path.startswith("/openapi2/"):
            return 404, {"code": 404, "message": f"no endpoint {path}"}
        params = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        problem = self._check_signature(params)
        if problem is not None:
            return 200, problem
        endpoint = path.rsplit("/", 1)[-1]
        handlers = {
            "trade_push.php": self._trade_push,
            "trade_query.php": self._trade_query,
            "logistics_sync_query.php": self._logistics_query,
            "logistics_sync_ack.php": self._logistics_ack,
            "sales_refund_push.php": self._refund_push,
            "goods_push.php": self._goods_push,
            "stock_query.php": self._stock_query,
        }
        handler = handlers.get(endpoint)
        if handler is None:
            return 404, {"code": 404, "message": f"no endpoint {endpoint}"}
        try:
            return 200, handler(params)
        except (KeyError, ValueError, TypeError) as error:
            return 200, {"code": CODE_PARAMS, "message": f"bad parameters: {error}"}

    def _check_signature(self, params: dict[str, str]) -> dict[str, Any] | None:
        if params.get("sid") != self.sid or params.get("appkey") != self.appkey:
            return {"code": CODE_SIGN, "message": "unknown sid or appkey"}
        if params.get("sign") != wdt_sign(params, self._appsecret):
            return {"code": CODE_SIGN, "message": "signature mismatch"}
        try:
            skew = abs(time.time() - int(params.get("timestamp", "0")))
        except ValueError:
            skew = float("inf")
        if skew > TIMESTAMP_SKEW_SECONDS:
            return {"code": CODE_TIMESTAMP, "message": "timestamp out of range"}
        return None

    def _trade_push(self, params: dict[str, str]) -> dict[str, Any]:
        trades = json.loads(params["trade_list"])
        if not isinstance(trades, list) or not trades:
            return {
                "code": CODE_PARAMS,
                "message": "trade_list must be a non-empty list",
            }
        if len(trades) > MAX_TRADES_PER_PUSH:
            return {
                "code": CODE_PARAMS,
                "message": f"at most {MAX_TRADES_PER_PUSH} trades",
            }
        results = [self._push_one(t) for t in trades]
        errors = sum(1 for r in results if r["code"] != 0)
        return {
            "code": 0,
            "message": "ok",
            "new_count": sum(1 for r in results if r.get("new")),
            "chg_count": sum(1 for r in results if r["code"] == 0 and not r.get("new")),
            "error_count": errors,
            "results": results,
        }

    def _push_one(self, data: Any) -> dict[str, Any]:
        tid = str(data.get("tid", "")) if isinstance(data, dict) else ""
        if not tid or tid in self.faults.rejected:
            return {
                "tid": tid,
                "code": CODE_TRADE_REJECTED,
                "message": "trade rejected",
            }
        status = data.get("trade_status")
        if status not in PLATFORM_STATUSES or not data.get("order_list"):
            return {
                "tid": tid,
                "code": CODE_PARAMS,
                "message": "bad trade_status or no lines",
            }
        trade = self.trades.get(tid)
        if trade is None:
            system = 10 if status in (10, 20) else (5 if status in (80, 90) else 30)
            trade = self.trades[tid] = Trade(tid, system, status, data, pushes=0)
            new = True
        else:
            new = False
        trade.pushes += 1
        outcome = self._apply_platform_status(trade, status, data)
        if outcome is not None:
            return {"tid": tid, "code": CODE_TRADE_REJECTED, "message": outcome}
        trade.trade = data
        trade.platform_status = status
        trade.platform_history.append(status)
        self._touch(trade)
        return {
            "tid": tid,
            "code": 0,
            "message": "ok",
            "new": new,
            "system_status": trade.system_status,
        }

    def _shipped_by_platform(self, trade: Trade, data: dict[str, Any]) -> str | None:
        """The platform shipped it itself: a trade WDT has not shipped is
        marked shipped outside the warehouse (95) and its picking stops; one
        already 95 (or later) is unchanged."""
        if cancelled(trade.system_status):
            return "the trade is cancelled in WDT"
        if not shipped(trade.system_status):
            trade.system_status = Wdt.SHIPPED
            trade.shipped_outside = True
            trade.logistics_name = str(data.get("logistics_name", ""))
            trade.logistics_no = str(data.get("logistics_no", ""))
        return None

    def _apply_platform_status(
        self, trade: Trade, status: int, data: dict[str, Any]
    ) -> str | None:
        """WDT's reaction to a platform status; a message when it refuses."""
        system = trade.system_status
        if status in (80, 90):  # closed on the platform: cancel if WDT still may
            if shipped(system):
                return "already shipped: refund after shipping instead"
            if cancelled(system) or cancellable_by_push(system, trade.frozen):
                trade.system_status = Wdt.CANCELLED
            else:
                trade.intercepted = True  # waits for a person to reject it
        elif status == 50:
            return self._shipped_by_platform(trade, data)
        elif status == 30 and system == Wdt.UNPAID:
            trade.system_status = Wdt.CUSTOMER_REVIEW  # paid: now waits for review
        elif status == 60 and system == Wdt.SHIPPED:
            trade.system_status = Wdt.SIGNED
        elif status == 70 and system in (Wdt.SHIPPED, Wdt.SIGNED):
            trade.system_status = Wdt.COMPLETED
        return None

    def _refund_push(self, params: dict[str, str]) -> dict[str, Any]:
        refunds = json.loads(params["refund_list"])
        if not isinstance(refunds, list) or not refunds:
            return {"code": CODE_PARAMS, "message": "refund_list must be a list"}
        results = [self._refund_one(r) for r in refunds]
        return {"code": 0, "message": "ok", "results": results}

    def _refund_one(self, data: Any) -> dict[str, Any]:
        """WDT's refund rules: after shipping only, lines of the trade, no more
        than the trade's money; the same refund_no again updates, never adds."""
        no = str(data.get("refund_no", "")) if isinstance(data, dict) else ""
        trade = self.trades.get(str(data.get("tid", ""))) if no else None

        def refused(message: str) -> dict[str, Any]:
            return {"refund_no": no, "code": CODE_TRADE_REJECTED, "message": message}

        if trade is None or no in self.faults.rejected:
            return refused("unknown trade or refund_no")
        if not shipped(trade.system_status):
            return refused("not shipped: close the trade instead of refunding")
        lines = {
            str(o["oid"]): int(o["num"]) for o in trade.trade.get("order_list", [])
        }
        for item in data.get("order_list") or []:
            if int(item.get("num", 0)) > lines.get(str(item.get("oid")), 0):
                return refused(f"line {item.get('oid')} was not sold that many")
        others = sum(
            Decimal(r["refund_amount"])
            for key, r in self.refunds.items()
            if r["tid"] == trade.tid and key != no
        )
        money = max(Decimal(trade.trade["paid"]), Decimal(trade.trade["cod_amount"]))
        if others + Decimal(str(data["refund_amount"])) > money:
            return refused("refunds would exceed what the trade was paid")
        self.refunds[no] = dict(data)
        self._touch(trade)
        return {"refund_no": no, "code": 0, "message": "ok"}

    def _goods_push(self, params: dict[str, str]) -> dict[str, Any]:
        """Goods with their specs: a known goods_no is updated, never doubled."""
        goods = json.loads(params["goods_list"])
        if not isinstance(goods, list) or not goods:
            return {"code": CODE_PARAMS, "message": "goods_list must be a list"}
        results = [self._goods_one(g) for g in goods]
        return {"code": 0, "message": "ok", "results": results}

    def _goods_one(self, data: Any) -> dict[str, Any]:
        no = str(data.get("goods_no", "")) if isinstance(data, dict) else ""
        specs = data.get("spec_list") if no else None
        if not no or no in self.faults.rejected:
            return {"goods_no": no, "code": CODE_TRADE_REJECTED, "message": "rejected"}
        if not data.get("goods_name") or not isinstance(specs, list) or not specs:
            return {
                "goods_no": no, "code": CODE_PARAMS,
                "message": "goods_name and a spec_list are required",
            }  # fmt: skip
        for spec in specs:
            if not spec.get("spec_no"):
                return {"goods_no": no, "code": CODE_PARAMS, "message": "spec_no"}
            Decimal(str(spec.get("retail_price", "0")))  # a bad price: code 4
        known = self.goods.get(no)
        pushes = 1 if known is None else known["pushes"] + 1
        self.goods[no] = {**data, "pushes": pushes}
        return {"goods_no": no, "code": 0, "message": "ok", "new": known is None}

    def _stock_query(self, params: dict[str, str]) -> dict[str, Any]:
        """Available stock by spec_no (one, or `spec_no_list`, at most 200)."""
        wanted = (
            json.loads(params["spec_no_list"])
            if "spec_no_list" in params
            else [params["spec_no"]]
        )
        if not isinstance(wanted, list) or not 0 < len(wanted) <= 200:
            return {"code": CODE_PARAMS, "message": "1 to 200 spec numbers"}
        stocks = [
            {
                "spec_no": str(spec),
                "warehouse_no": "WH1",
                "stock_num": self.stock[str(spec)],
                "avaliable_send_stock": self.stock[str(spec)],
            }
            for spec in wanted
            if str(spec) in self.stock
        ]
        return {"code": 0, "total_count": len(stocks), "stocks": stocks}

    def _trade_query(self, params: dict[str, str]) -> dict[str, Any]:
        start, end = params["start_time"], params["end_time"]
        page_no, page_size = (
            int(params.get("page_no", 0)),
            int(params.get("page_size", 40)),
        )
        if page_size > MAX_QUERY_PAGE or page_size < 1:
            return {"code": CODE_PARAMS, "message": f"page_size is 1..{MAX_QUERY_PAGE}"}
        wanted = int(params.get("status", 0))
        matches = sorted(
            (
                t
                for t in self.trades.values()
                if start <= t.modified < end and wanted in (0, t.system_status)
            ),
            key=lambda t: (t.modified, t.modified_seq),
        )
        page = matches[page_no * page_size : (page_no + 1) * page_size]
        return {
            "code": 0,
            "total_count": len(matches),
            "trades": [
                {
                    "src_tid": t.tid,
                    "trade_status": t.system_status,
                    "modified": t.modified,
                    "freeze_reason": 1 if t.frozen else 0,
                    "intercepted": t.intercepted,
                    "steps": t.steps,
                    "logistics_no": t.logistics_no,
                    "logistics_name": t.logistics_name,
                }
                for t in page
            ],
        }

    def _logistics_query(self, params: dict[str, str]) -> dict[str, Any]:
        limit = int(params.get("limit", 100))
        return {"code": 0, "trades": list(self.shipments.values())[:limit]}

    def _logistics_ack(self, params: dict[str, str]) -> dict[str, Any]:
        acked = [int(item["rec_id"]) for item in json.loads(params["logistics_list"])]
        for rec_id in acked:
            self.shipments.pop(rec_id, None)
        return {"code": 0, "message": "ok", "acked": acked}
