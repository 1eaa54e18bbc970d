"""The auditor's console: read-only HTML pages under /console (docs/console.md).

A login with an API token of a console role opens a session kept in a
secure, HTTP-only cookie; every page checks it (or a Bearer token, for
scripts). Nothing here writes order data: the one form that posts, "show
unmasked", records who saw what in the order's history.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from orderledger.api.errors import ApiError
from orderledger.api.orders import service
from orderledger.api.service import Who
from orderledger.application.access import Role, allowed
from orderledger.audit.export import render, rows
from orderledger.audit.timeline import order_timeline
from orderledger.audit.verify import compare_with_digest, digest, load_digest, verify
from orderledger.bootstrap import build_delivery_store
from orderledger.domain.draft import parse_time, parse_time_range
from orderledger.domain.errors import InvalidInput
from orderledger.domain.order import REVEALABLE, order_id
from orderledger.domain.status import WebsiteStatus
from orderledger.outbox.messages import DESTINATIONS
from orderledger.projections.search import OrderFilter, list_orders
from orderledger.projections.view_status import projection_status

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "ol_console"
PAGE = 50
MAX_DIGEST = 64 * 1024 * 1024  # a digest holds one line per order
_templates = Environment(
    loader=PackageLoader("orderledger.api", "templates"),
    autoescape=select_autoescape(["html"]),
)


class NeedLogin(Exception):
    """No live session: the browser goes to the login page."""


def install(app: FastAPI) -> None:
    @app.exception_handler(NeedLogin)
    async def to_login(_: Request, __: NeedLogin) -> Response:
        return RedirectResponse("/console/login", status_code=303)


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _who(request: Request, action: str) -> Who:
    """The session's caller (or a Bearer token's), allowed to take `action`."""
    svc = service(request)
    session = request.cookies.get(COOKIE)
    if session:
        token_id = svc.sessions.token_id(session)
        caller = None if token_id is None else svc.tokens.caller_by_id(token_id)
        if caller is None:
            raise NeedLogin()
        who = Who(caller, Role(caller.role))
    elif request.headers.get("authorization"):
        who = svc.authenticate(request.headers["authorization"])
    else:
        raise NeedLogin()
    svc.authorize(who, action)
    return who


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 16 * 1024:
        raise ApiError(413, "body_too_large", "the form is too large")
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


# ---- login ----------------------------------------------------------------------


@router.get("/login")
def login_page() -> HTMLResponse:
    return _page("login.html", who=None)


@router.post("/login")
async def login(request: Request) -> Response:
    token = (await _form(request)).get("token", "").strip()
    svc = service(request)
    caller = await run_in_threadpool(svc.tokens.caller, token) if token else None
    if caller is None:
        return _page("login.html", 401, who=None, error="unknown or revoked token")
    if not allowed(Role(caller.role), "console.read"):
        return _page(
            "login.html",
            403,
            who=None,
            error=f"the {caller.role} role has no console (auditor, ops, back office)",
        )
    session = await run_in_threadpool(svc.sessions.open, caller.token_id)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE, session, httponly=True, secure=True, samesite="strict", path="/console"
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    session = request.cookies.get(COOKIE)
    if session:
        service(request).sessions.close(session)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


# ---- pages ----------------------------------------------------------------------


@router.get("")
def search(request: Request) -> HTMLResponse:
    """Find an order: number, customer phone, product, status, dates, ERP
    mismatch, open task, after-sales; 50 a page."""
    who = _who(request, "console.read")
    svc = service(request)
    q = request.query_params
    page = int(q["page"]) if q.get("page", "").isdigit() and int(q["page"]) > 0 else 1
    filters = OrderFilter.parse(
        svc.settings.tz,
        status=q.get("status"),
        customer_phone=q.get("customer_phone"),
        since=q.get("since"),
        until=q.get("until"),
        product=q.get("product") or None,
        order_no=q.get("order_no") or None,
        mismatch=bool(q.get("mismatch")),
        open_task=bool(q.get("open_task")),
        after_sales=q.get("after_sales") or None,
        limit=PAGE + 1,
        offset=(page - 1) * PAGE,
    )
    svc.projections.catch_up_all()
    found = list_orders(svc.projections, filters, svc.settings.tz)
    rest = {k: v for k, v in q.items() if k != "page"}
    return _page(
        "search.html",
        who=who,
        orders=found[:PAGE],
        f=filters,
        q=q,
        statuses=list(WebsiteStatus),
        page=page,
        has_next=len(found) > PAGE,
        prev_url="/console?" + urlencode({**rest, "page": page - 1}),
        next_url="/console?" + urlencode({**rest, "page": page + 1}),
    )


def _order_page(
    request: Request, who: Who, order_no: str, as_of_text: str, *, reveal: bool
) -> HTMLResponse:
    svc = service(request)
    as_of = parse_time(as_of_text, "as_of", svc.settings.tz) if as_of_text else None
    timeline = order_timeline(
        svc.ledger,
        build_delivery_store(svc.ledger),
        order_no,
        as_of=as_of,
        reveal=reveal,
    )
    proof = verify(
        svc.projections.engine, svc.projections.events, only=order_id(order_no).hex
    ).as_data()
    return _page(
        "order.html",
        who=who,
        t=timeline,
        proof=proof,
        revealed=reveal,
        can_reveal=allowed(who.role, "console.reveal"),
    )


@router.get("/orders/{order_no}")
def order_page(request: Request, order_no: str, as_of: str = "") -> HTMLResponse:
    """The order's timeline, as known now or at `as_of`; personal data masked."""
    who = _who(request, "console.read")
    return _order_page(request, who, order_no, as_of, reveal=False)


@router.post("/orders/{order_no}/reveal")
async def reveal(request: Request, order_no: str) -> HTMLResponse:
    """Show the phone numbers unmasked, once recorded in the order's history."""
    who = await run_in_threadpool(_who, request, "console.reveal")
    as_of = (await _form(request)).get("as_of", "")
    svc = service(request)

    def recorded_then_shown() -> HTMLResponse:
        svc.ledger.record_reveal(order_no, fields=sorted(REVEALABLE), **who.meta())
        return _order_page(request, who, order_no, as_of, reveal=True)

    return await run_in_threadpool(recorded_then_shown)


@router.get("/ops")
def ops_page(request: Request) -> HTMLResponse:
    """Projections, outbox and the reconciliation report at a glance."""
    who = _who(request, "console.ops")
    svc = service(request)
    deliveries = build_delivery_store(svc.ledger)
    return _page(
        "ops.html",
        who=who,
        views=projection_status(svc.projections),
        outbox={d: deliveries.counts(d) for d in DESTINATIONS},
        parked=deliveries.blocked(),
        report=svc.reconciliation(),
    )


# ---- the ledger's proof ------------------------------------------------------------


@router.get("/ledger")
def ledger_page(request: Request) -> HTMLResponse:
    """The latest digest, a check of a saved one, exports with chain hashes."""
    who = _who(request, "console.ledger")
    return _page("ledger.html", who=who, digest=_digest(request), check=None)


def _digest(request: Request) -> dict[str, Any]:
    store = service(request).projections
    return digest(store.engine, store.events)


@router.get("/ledger/digest")
def digest_file(request: Request) -> Response:
    """The digest as `audit digest --save` writes it."""
    _who(request, "console.ledger")
    body = json.dumps(_digest(request), indent=1, ensure_ascii=False)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="digest.json"'},
    )


@router.post("/ledger/check")
async def check_digest(request: Request) -> HTMLResponse:
    """Whether the ledger still matches an uploaded digest, and if not, where."""
    who = await run_in_threadpool(_who, request, "console.ledger")
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("digest")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("choose a digest file")
    data = await upload.read(MAX_DIGEST + 1)
    if len(data) > MAX_DIGEST:
        raise ApiError(413, "body_too_large", "the digest file is too large")
    saved = load_digest(data.decode("utf-8", "replace"))
    store = service(request).projections

    def checked() -> dict[str, Any]:
        report = verify(store.engine, store.events)
        compare_with_digest(store.engine, store.events, saved, report)
        return report.as_data()

    check = await run_in_threadpool(checked)
    current = await run_in_threadpool(_digest, request)
    return _page("ledger.html", who=who, digest=current, check=check)


@router.get("/ledger/export")
def export(
    request: Request,
    order_no: str = "",
    since: str = "",
    until: str = "",
    format: str = "json",
) -> Response:
    """An order's events, or a time range's, with their chain hashes."""
    _who(request, "console.ledger")
    if format not in ("json", "csv"):
        raise InvalidInput("format is json or csv")
    if bool(order_no) == bool(since or until):
        raise InvalidInput("give an order number, or a date range")
    svc = service(request)
    start, end = parse_time_range(since or None, until or None, svc.settings.tz)
    found = rows(
        svc.projections.engine,
        svc.projections.events,
        order_no=order_no or None,
        since=start,
        until=end,
    )
    name = f"orderledger-export.{format}"
    return Response(
        render(list(found), format),
        media_type="text/csv" if format == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
