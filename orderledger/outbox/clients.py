"""HTTP clients for WDT and U8, and how their failures are classified.

Transient: the call as a whole failed (refused, reset, timeout, 5xx, a body
that is not JSON, an error code about the call itself): retry with backoff.
Rate limited: back off for minutes. A per-trade or per-document error is a
permanent rejection of that message: the relay parks the order. Error texts
never carry URLs, parameters or secrets.

Each client keeps its connections open between calls (an httpx pool): a
relay pushing batch after batch no longer pays a TCP handshake per call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from orderledger.config import CrmSettings, U8Settings, WdtSettings
from orderledger.outbox.pacing import Pacer
from orderledger.outbox.wdt_protocol import (
    CODE_OK,
    CODE_RATE_LIMIT,
    MAX_STOCK_QUERY,
    signed,
)


class TransientError(Exception):
    """The call failed as a whole; the same messages may be sent again later."""


class RateLimited(TransientError):
    """The remote asked us to slow down: wait minutes, not seconds."""


@dataclass(frozen=True)
class Outcome:
    """What the remote said about one message."""

    key: str
    ok: bool
    remote_id: str = ""
    error: str = ""
    transient: bool = False  # failed this time, may go through later


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _pool(timeout: float) -> httpx.Client:
    """Keep-alive connections for one remote, shared by the relay's threads.
    TCP_NODELAY: a request's body must not wait behind its headers for the
    server's delayed ACK (40 ms a call on a kept-alive connection)."""
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    return httpx.Client(
        timeout=timeout,
        transport=httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=16), socket_options=nodelay
        ),
    )


def _send(
    http: httpx.Client, what: str, method: str, url: str, **request: Any
) -> httpx.Response:
    """One call; the call failing as a whole (refused, reset, timed out) is
    transient. The error names its kind, never the URL (U8's carries the
    app secret in its query)."""
    try:
        return http.request(method, url, **request)
    except httpx.HTTPError as error:
        text = str(error).replace(url, "<url>")
        query = urlsplit(url).query
        if query:
            text = text.replace(query, "<query>")
        raise TransientError(f"{what}: {type(error).__name__}: {text}") from None


def _call(http: httpx.Client, what: str, method: str, url: str, **request: Any) -> Any:
    """A call whose answer is JSON; any HTTP error status is transient."""
    response = _send(http, what, method, url, **request)
    if response.status_code >= 400:
        raise TransientError(f"{what}: HTTP {response.status_code}")
    try:
        return json.loads(response.content)
    except ValueError:
        raise TransientError(f"{what}: the answer is not JSON") from None


def _outcomes(
    answer: dict[str, Any], keys: list[str], key_field: str, what: str
) -> list[Outcome]:
    """One outcome per pushed item, from WDT's per-item results."""
    results = {str(r.get(key_field)): r for r in answer.get("results", [])}
    outcomes = []
    for key in keys:
        result = results.get(key)
        if result is None:
            outcomes.append(
                Outcome(key, False, error=f"no result for this {what}", transient=True)
            )
        elif result.get("code") == CODE_OK:
            outcomes.append(Outcome(key, True, remote_id=key))
        else:
            code, message = result.get("code"), result.get("message")
            outcomes.append(Outcome(key, False, error=f"WDT: code {code}: {message}"))
    return outcomes


class WdtClient:
    def __init__(self, settings: WdtSettings, clock: Any = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._http = _pool(settings.timeout)
        self._pacer = Pacer(settings.calls_per_minute)

    def _post(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        s = self.settings
        self._pacer.wait_turn()  # before signing: the timestamp is the call's
        form = signed(
            params,
            sid=s.sid,
            appkey=s.appkey,
            appsecret=s.appsecret.reveal(),
            timestamp=int(self.clock()),
        )
        answer = _call(
            self._http,
            f"WDT {endpoint}",
            "POST",
            f"{s.url}/openapi2/{endpoint}",
            content=urlencode(form).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"
            },
        )
        if not isinstance(answer, dict):
            raise TransientError(f"WDT {endpoint}: the answer is not an object")
        code = answer.get("code")
        if code == CODE_RATE_LIMIT:
            raise RateLimited(f"WDT {endpoint}: rate limited (code {code})")
        if code != CODE_OK:
            message = _scrub(str(answer.get("message", "")), s.appsecret.reveal())
            raise TransientError(f"WDT {endpoint}: code {code}: {message}")
        return answer

    def push_trades(self, trades: Sequence[dict[str, Any]]) -> list[Outcome]:
        answer = self._post(
            "trade_push.php",
            {
                "shop_no": self.settings.shop_no,
                "switch": "0",
                # Raw UTF-8, not \\u escapes: the signature counts characters.
                "trade_list": json.dumps(list(trades), ensure_ascii=False),
            },
        )
        return _outcomes(answer, [str(t["tid"]) for t in trades], "tid", "trade")

    def push_refunds(self, refunds: Sequence[dict[str, Any]]) -> list[Outcome]:
        answer = self._post(
            "sales_refund_push.php",
            {
                "shop_no": self.settings.shop_no,
                "refund_list": json.dumps(list(refunds), ensure_ascii=False),
            },
        )
        keys = [str(r["refund_no"]) for r in refunds]
        return _outcomes(answer, keys, "refund_no", "refund")

    def push_goods(self, goods: Sequence[dict[str, Any]]) -> list[Outcome]:
        answer = self._post(
            "goods_push.php",
            {"goods_list": json.dumps(list(goods), ensure_ascii=False)},
        )
        keys = [str(g["goods_no"]) for g in goods]
        return _outcomes(answer, keys, "goods_no", "goods")

    def available_stock(self, spec_nos: Sequence[str]) -> dict[str, int]:
        """WDT's available stock (可发库存, every warehouse) of each spec
        number it knows; one it does not know is left out."""
        stock: dict[str, int] = {}
        for start in range(0, len(spec_nos), MAX_STOCK_QUERY):
            chunk = list(spec_nos[start : start + MAX_STOCK_QUERY])
            answer = self._post("stock_query.php", {"spec_no_list": json.dumps(chunk)})
            for row in answer.get("stocks", []):
                spec = str(row.get("spec_no"))
                stock[spec] = stock.get(spec, 0) + int(
                    row.get("avaliable_send_stock", 0)
                )
        return stock

    def query(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        return self._post(endpoint, params)


ERR_TOKEN = "40001"
U8_RATE_LIMIT = "100"


class U8Client:
    def __init__(self, settings: U8Settings) -> None:
        self.settings = settings
        self._token: str | None = None
        self._http = _pool(settings.timeout)

    def _secret(self) -> str:
        return self.settings.app_secret.reveal()

    def _fetch_token(self) -> str:
        s = self.settings
        query = urlencode(
            {
                "from_account": s.from_account,
                "app_key": s.app_key,
                "app_secret": self._secret(),
            }
        )
        answer = _call(self._http, "U8 token", "GET", f"{s.url}/system/token?{query}")
        if str(answer.get("errcode")) != "0":
            message = _scrub(str(answer.get("errmsg", "")), self._secret())
            raise TransientError(
                f"U8 token: errcode {answer.get('errcode')}: {message}"
            )
        return str(answer["token"]["id"])

    def add(self, kind: str, biz_id: str, body: dict[str, Any]) -> Outcome:
        """A document (`kind` the resource: `saleorder`, …) or a master
        record (`inventory` adds one, `inventory.edit` changes it)."""
        resource, _, action = kind.partition(".")
        action = action or "add"
        for _attempt in (1, 2):  # a second try after renewing an expired token
            if self._token is None:
                self._token = self._fetch_token()
            s = self.settings
            query = urlencode(
                {
                    "from_account": s.from_account,
                    "to_account": s.to_account,
                    "app_key": s.app_key,
                    "token": self._token,
                    "biz_id": biz_id,
                }
            )
            answer = _call(
                self._http,
                f"U8 {resource}/{action}",
                "POST",
                f"{s.url}/api/{resource}/{action}?{query}",
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            code = str(answer.get("errcode"))
            if code == ERR_TOKEN:
                self._token = None  # expired: fetch a new one and try once more
                continue
            if code == "0":
                return Outcome(biz_id, True, remote_id=str(answer.get("id", "")))
            if code == U8_RATE_LIMIT:
                raise RateLimited(f"U8 {resource}/{action}: rate limited")
            message = _scrub(str(answer.get("errmsg", "")), self._secret())
            return Outcome(
                biz_id, False, error=f"U8 rejected it: errcode {code}: {message}"
            )
        raise TransientError(f"U8 {resource}/{action}: the token keeps being refused")


SIGNATURE_HEADER = "X-OrderLedger-Signature"
TIMESTAMP_HEADER = "X-OrderLedger-Timestamp"
EVENT_HEADER = "X-OrderLedger-Event"


def crm_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" with the shared secret: the
    subscriber checks it (and the timestamp's age) before trusting a body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class CrmClient:
    """The CRM feed: one signed POST of JSON per event to the subscriber URL."""

    def __init__(self, settings: CrmSettings, clock: Any = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._http = _pool(settings.timeout)

    def deliver(self, event_id: str, payload: dict[str, Any]) -> Outcome:
        s = self.settings
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(self.clock()))
        status = _send(
            self._http,
            "CRM",
            "POST",
            s.url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                EVENT_HEADER: event_id,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: crm_signature(s.secret.reveal(), timestamp, body),
            },
        ).status_code
        if status == 429:
            raise RateLimited("CRM: HTTP 429 (slow down)")
        if 400 <= status < 500 and status != 408:
            # The subscriber refuses this event (its signature, its body):
            # sending it again would be refused again.
            return Outcome(event_id, False, error=f"CRM refused it: HTTP {status}")
        if status >= 300:
            raise TransientError(f"CRM: HTTP {status}")
        return Outcome(event_id, True, remote_id=event_id)
