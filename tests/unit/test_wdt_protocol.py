"""WDT signing, checked against a hand-computed example."""

from __future__ import annotations

import hashlib

from orderledger.outbox.wdt_protocol import signed, wdt_sign


def test_the_signature_follows_the_vendor_recipe() -> None:
    params = {"sid": "s1", "appkey": "k", "timestamp": "1700000000", "b": "张三"}

    sign = wdt_sign(params, "secret")

    text = "06-appkey:0001-k;01-b:0002-张三;03-sid:0002-s1;09-timestamp:0010-1700000000"
    assert sign == hashlib.md5((text + "secret").encode()).hexdigest()


def test_lengths_count_characters_not_bytes() -> None:
    chinese = wdt_sign({"name": "张三"}, "x")
    same_bytes_length = wdt_sign({"name": "ab"}, "x")

    assert chinese == hashlib.md5("04-name:0002-张三x".encode()).hexdigest()
    assert chinese != same_bytes_length


def test_signed_adds_credentials_and_ignores_an_old_sign() -> None:
    params = signed(
        {"a": "1", "sign": "stale"}, sid="s", appkey="k", appsecret="z", timestamp=5
    )

    assert {k: params[k] for k in ("sid", "appkey", "timestamp")} == {
        "sid": "s",
        "appkey": "k",
        "timestamp": "5",
    }
    assert params["sign"] == wdt_sign(
        {k: v for k, v in params.items() if k != "sign"}, "z"
    )
