"""The auditor's console in a real headless browser: Debian's chromium driven
by Playwright (no browser is ever downloaded), against `orderledger serve` on
SQLite and PostgreSQL. A screenshot of each page is written under the test's
temporary folder (and, with ORDERLEDGER_SCREENSHOTS=DIR, into DIR: that is
how docs/console/ is made)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import update

from orderledger.application import OrderLedger
from orderledger.domain.values import Delivery
from orderledger.projections.store import ProjectionStore
from tests.api.conftest import new_token, start_server
from tests.audit.test_audit import rows_of, sql
from tests.e2e.helpers import WHO
from tests.factories import ORDER_TOTAL, draft

PHONE, MASKED = "13800138000", "138****8000"


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is missing: apt-get install -y chromium (.ci/run)"
    return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def server(db_url: str) -> Iterator[str]:
    url, process = start_server(db_url)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    docs = os.environ.get("ORDERLEDGER_SCREENSHOTS")
    if docs:
        page.screenshot(path=str(Path(docs) / f"{name}.png"), full_page=True)


def a_story(ledger: OrderLedger, no: str) -> None:
    ledger.create(draft("online", order_no=no), **WHO)
    ledger.confirm(no, **WHO)
    ledger.confirm_payment(no, ORDER_TOTAL, **WHO)  # type: ignore[arg-type]
    ledger.ship(no, Delivery("SF", f"SF-{no}"), **WHO)


def log_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/console")
    assert page.url.endswith("/console/login")  # no session: the login page
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/console$"))


def test_an_auditor_finds_an_order_and_reads_its_story_as_of_a_moment(
    ledger: OrderLedger,
    store: ProjectionStore,
    db_url: str,
    server: str,
    browser: Browser,
    tmp_path: Path,
) -> None:
    a_story(ledger, "AUD-1")
    a_story(ledger, "AUD-2")
    token = new_token(db_url, "auditor", "alice")
    page = browser.new_page(viewport={"width": 1360, "height": 900})

    log_in(page, server, token)
    shot(page, tmp_path, "login-then-search")
    assert PHONE not in page.content() and token not in page.content()
    # The console's session opens no write: the API wants its Bearer token.
    write = page.request.post(f"{server}/orders/AUD-1/confirm")
    assert write.status == 401
    page.get_by_label("Order number").fill("AUD-1")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="AUD-1").click()
    page.wait_for_url(re.compile(r".*/console/orders/AUD-1$"))
    shot(page, tmp_path, "timeline")
    assert page.inner_text("#status") == "已发货"
    assert page.inner_text("#proof") == "hash chain verifies"
    assert page.locator("#timeline tbody tr").count() == 4
    assert MASKED in page.content() and PHONE not in page.content()
    assert token not in page.content()

    # As of the confirmation (v2): the payment and the shipment are not known.
    page.locator("#v2 a").first.click()
    page.wait_for_url(re.compile(r".*as_of=.*"))
    shot(page, tmp_path, "as-of")
    assert page.inner_text("#status") == "已确认"
    assert page.locator("#timeline tbody tr").count() == 2
    assert "2 of 4 event(s)" in page.inner_text("#shown")

    # Revealing the phone is itself recorded, and shows in the history.
    page.goto(f"{server}/console/orders/AUD-1")
    page.get_by_role("button", name=re.compile("unmasked")).click()
    assert page.inner_text("#phone") == PHONE
    page.goto(f"{server}/console/orders/AUD-1")
    last = page.locator("#timeline tbody tr").last.inner_text()
    assert "PersonalDataRevealed" in last and "alice" in last and "phone" in last
    assert PHONE not in page.content()  # masked again on the next page

    # A stored event edited behind the ledger's back: the page names it.
    row_id, _, state = rows_of(store, "AUD-2")[2]  # v3, the payment
    forged = bytes(state).replace(b'"amount":"128.00"', b'"amount":"1.28"')
    assert forged != bytes(state)
    sql(
        store,
        update(store.events).where(store.events.c.id == row_id).values(state=forged),
    )
    page.goto(f"{server}/console/orders/AUD-2")
    shot(page, tmp_path, "tampered")
    assert page.inner_text("#proof") == "hash chain broken"
    assert "v3 content_edited" in page.inner_text("#findings")


def test_ops_sees_operations_and_the_website_has_no_console(
    ledger: OrderLedger,
    db_url: str,
    server: str,
    browser: Browser,
    tmp_path: Path,
) -> None:
    a_story(ledger, "OPS-1")
    website = new_token(db_url, "website", "shop-web")
    ops = new_token(db_url, "ops", "oscar")
    page = browser.new_page(viewport={"width": 1360, "height": 900})

    page.goto(f"{server}/console/login")
    page.get_by_label("API token").fill(website)
    page.get_by_role("button", name="Log in").click()
    assert "has no console" in page.inner_text("[role=alert]")
    assert page.context.cookies() == []

    log_in(page, server, ops)
    page.get_by_role("link", name="Operations").click()
    shot(page, tmp_path, "operations")
    assert "order_status" in page.inner_text("#views")
    assert "no open task" in page.inner_text("#tasks")
    page.goto(f"{server}/console/orders/OPS-1")
    forms = page.locator("form").evaluate_all("fs => fs.map(f => f.action)")
    # ops may not reveal; no page has a form that writes order data
    assert all(re.search(r"/console(/logout|/orders/OPS-1)?$", a) for a in forms), forms
    cookie = page.context.cookies()[0]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (
        True,
        True,
        "Strict",
    )


def test_an_auditor_checks_a_saved_digest_and_exports_with_chain_hashes(
    ledger: OrderLedger,
    store: ProjectionStore,
    db_url: str,
    server: str,
    browser: Browser,
    tmp_path: Path,
) -> None:
    a_story(ledger, "DIG-1")
    a_story(ledger, "DIG-2")
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    log_in(page, server, new_token(db_url, "auditor", "alice"))

    page.get_by_role("link", name="Ledger").click()
    assert "2 order(s)" in page.inner_text("#digest")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this digest").click()
    saved = tmp_path / "digest.json"
    download.value.save_as(saved)
    page.get_by_label(re.compile("Digest file")).set_input_files(str(saved))
    page.get_by_role("button", name="Check").click()
    assert "still matches" in page.inner_text("#check")

    row_id, _, state = rows_of(store, "DIG-2")[3]  # v4, the shipment
    forged = bytes(state).replace(b"SF-DIG-2", b"SF-XXX-2")
    assert forged != bytes(state)
    sql(
        store,
        update(store.events).where(store.events.c.id == row_id).values(state=forged),
    )
    page.get_by_label(re.compile("Digest file")).set_input_files(str(saved))
    page.get_by_role("button", name="Check").click()
    shot(page, tmp_path, "ledger")
    assert "no longer matches" in page.inner_text("#check")
    assert "DIG-2 v4 content_edited" in page.inner_text("#check-findings")

    exported = page.request.get(
        f"{server}/console/ledger/export", params={"order_no": "DIG-1", "format": "csv"}
    )
    lines = exported.text().splitlines()
    assert exported.status == 200 and len(lines) == 5  # a header and 4 events
    assert "chain_hash" in lines[0]
