"""HTTP clients for WDT and U8, and how their failures are classified.

Transient: the call as a whole failed (refused, reset, timeout, 5xx, a body
that is not JSON, an error code about the call itself): retry with backoff.
Rate limited: back off for minutes. A per-trade or per-document error is a
permanent rejection of that message: the relay parks the order. Error texts
never carry URLs, parameters or secrets.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from orderledger.config import U8Settings, WdtSettings
from orderledger.outbox.wdt_protocol import CODE_OK, CODE_RATE_LIMIT, signed


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


def _call(request: urllib.request.Request, timeout: float, what: str) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise TransientError(f"{what}: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TransientError(f"{what}: {type(reason).__name__}: {reason}") from None
    try:
        return json.loads(raw)
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

    def _post(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        s = self.settings
        form = signed(
            params,
            sid=s.sid,
            appkey=s.appkey,
            appsecret=s.appsecret.reveal(),
            timestamp=int(self.clock()),
        )
        request = urllib.request.Request(
            f"{s.url}/openapi2/{endpoint}",
            data=urlencode(form).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"
            },
            method="POST",
        )
        answer = _call(request, s.timeout, f"WDT {endpoint}")
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

    def query(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        return self._post(endpoint, params)


ERR_TOKEN = "40001"
U8_RATE_LIMIT = "100"


class U8Client:
    def __init__(self, settings: U8Settings) -> None:
        self.settings = settings
        self._token: str | None = None

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
        answer = _call(
            urllib.request.Request(f"{s.url}/system/token?{query}"),
            s.timeout,
            "U8 token",
        )
        if str(answer.get("errcode")) != "0":
            message = _scrub(str(answer.get("errmsg", "")), self._secret())
            raise TransientError(
                f"U8 token: errcode {answer.get('errcode')}: {message}"
            )
        return str(answer["token"]["id"])

    def add(self, resource: str, biz_id: str, body: dict[str, Any]) -> Outcome:
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
            request = urllib.request.Request(
                f"{s.url}/api/{resource}/add?{query}",
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
                method="POST",
            )
            answer = _call(request, s.timeout, f"U8 {resource}/add")
            code = str(answer.get("errcode"))
            if code == ERR_TOKEN:
                self._token = None  # expired: fetch a new one and try once more
                continue
            if code == "0":
                return Outcome(biz_id, True, remote_id=str(answer.get("id", "")))
            if code == U8_RATE_LIMIT:
                raise RateLimited(f"U8 {resource}/add: rate limited")
            message = _scrub(str(answer.get("errmsg", "")), self._secret())
            return Outcome(
                biz_id, False, error=f"U8 rejected it: errcode {code}: {message}"
            )
        raise TransientError(f"U8 {resource}/add: the token keeps being refused")
