"""The WDT client's pacing (outbox/pacing.py) and its setting."""

from __future__ import annotations

import pytest

from orderledger.config import load_erp_settings
from orderledger.domain.errors import InvalidInput
from orderledger.outbox.pacing import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_calls_are_spaced_at_ninety_percent_of_the_limit() -> None:
    time = FakeTime()
    pacer = Pacer(60, clock=lambda: time.now, sleep=time.sleep)
    for _ in range(4):
        pacer.wait_turn()

    gap = round(60 / (60 * 0.9), 6)
    assert time.slept == [gap, gap, gap]  # the first call goes at once
    assert 60 / gap < 60  # so any minute holds fewer calls than the limit


def test_a_pause_between_calls_is_not_paid_again() -> None:
    time = FakeTime()
    pacer = Pacer(60, clock=lambda: time.now, sleep=time.sleep)
    pacer.wait_turn()
    time.now += 5.0  # longer than the spacing
    pacer.wait_turn()

    assert time.slept == []


def test_no_limit_no_waiting() -> None:
    time = FakeTime()
    pacer = Pacer(None, clock=lambda: time.now, sleep=time.sleep)
    for _ in range(100):
        pacer.wait_turn()

    assert time.slept == []


def test_the_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "URL": "http://127.0.0.1:1",
        "SID": "s",
        "APPKEY": "k",
        "APPSECRET": "x",
        "CALLS_PER_MINUTE": "600",
    }.items():
        monkeypatch.setenv(f"ORDERLEDGER_WDT_{key}", value)
    wdt, _ = load_erp_settings(None)
    assert wdt is not None and wdt.calls_per_minute == 600

    for bad in ("0", "-5", "many", "1.5"):
        monkeypatch.setenv("ORDERLEDGER_WDT_CALLS_PER_MINUTE", bad)
        with pytest.raises(InvalidInput, match="CALLS_PER_MINUTE"):
            load_erp_settings(None)
