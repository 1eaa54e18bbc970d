"""WDT (旺店通) open API wire format: signing and request parameters.

Pure functions, shared by the client and the simulator (VOCABULARY.md §3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# Error codes of the WDT API that the relay treats specially.
CODE_OK = 0
CODE_TIMESTAMP = 7
CODE_RATE_LIMIT = 100
MAX_TRADES_PER_PUSH = 50
MAX_QUERY_PAGE = 40
MAX_STOCK_QUERY = 200  # spec numbers per stock_query call
TIMESTAMP_SKEW_SECONDS = 300


def wdt_sign(params: Mapping[str, str], appsecret: str) -> str:
    """The WDT signature of a request's parameters (everything except `sign`).

    Sort by key; write each as 2-digit key length, '-', key, ':', 4-digit value
    length, '-', value; join with ';'; append the secret; lower-case hex MD5
    of the UTF-8 bytes. Lengths count characters, not bytes: 张三 has length 2.
    """
    pieces = [
        f"{len(key):02d}-{key}:{len(value):04d}-{value}"
        for key, value in sorted(params.items())
        if key != "sign"
    ]
    return hashlib.md5((";".join(pieces) + appsecret).encode("utf-8")).hexdigest()


def signed(
    params: Mapping[str, str], *, sid: str, appkey: str, appsecret: str, timestamp: int
) -> dict[str, str]:
    """The parameters with sid, appkey, timestamp and sign added."""
    full = {**params, "sid": sid, "appkey": appkey, "timestamp": str(timestamp)}
    full["sign"] = wdt_sign(full, appsecret)
    return full
