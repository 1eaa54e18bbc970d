"""The order routes: every write the CLI has, and the reads (one order, its
history, the search). Each names its action (application/access.py), parses
the body and calls OrderLedger; the replies are the CLI's `--json` objects."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations
# at registration, and those made in a loop name their action from a closure.

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from orderledger.api.errors import ApiError
from orderledger.api.http import fields, order_reply, read_body
from orderledger.api.service import Service, Who
from orderledger.audit.order_view import order_from_log, with_push_outcome
from orderledger.bootstrap import build_delivery_store
from orderledger.domain.aftersales import CaseKind
from orderledger.domain.catalog import order_lines
from orderledger.domain.draft import OrderDraft, nest_flat
from orderledger.domain.errors import InvalidInput, OrderNotFound
from orderledger.domain.order import REVEALABLE
from orderledger.domain.values import Delivery, parse_money, parse_phone
from orderledger.projections.search import OrderFilter, list_orders

router = APIRouter()
Command = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def caller(action: str) -> Callable[..., Who]:
    """A dependency: the authenticated caller, allowed to take `action`."""

    def dependency(request: Request, authorization: str | None = Header(None)) -> Who:
        svc = service(request)
        who = svc.authenticate(authorization)
        svc.authorize(who, action)
        return who

    dependency.__name__ = f"may_{action.replace('.', '_')}"
    return dependency


def body_doc(example: dict[str, Any]) -> dict[str, Any]:
    """The request body in the OpenAPI document (bodies are read raw: the
    idempotency key covers their exact bytes)."""
    return {
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": example}
            }
        },
        "parameters": [
            {"name": "Idempotency-Key", "in": "header", "required": False,
             "schema": {"type": "string"}},
            {"name": "If-Match", "in": "header", "required": False,
             "schema": {"type": "string"}},
        ],
    }  # fmt: skip


async def write(
    request: Request, who: Who, command: Command, *, created: bool = False
) -> Response:
    body, data = await read_body(request)
    svc = service(request)
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text")
    meta = {**who.meta(data.get("on_behalf_of")), "reason": reason}
    status, reply = await run_in_threadpool(
        lambda: svc.write(
            who,
            method_path=f"{request.method} {request.url.path}",
            body=body,
            key=request.headers.get("idempotency-key"),
            if_match=request.headers.get("if-match"),
            command=lambda: command(data, meta),
            created=created,
        )
    )
    return order_reply(status, reply)


# ---- writes -------------------------------------------------------------------

CREATE_EXAMPLE = {
    "order_no": "W-1001",
    "customer": "张三",
    "phone": "13800138000",
    "address": "科技园南路 88 号",
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "payment": "online",
    "shipping_fee": "10.00",
    "lines": [
        {"sku": "TEA-001", "name": "西湖龙井", "quantity": 2, "unit_price": "50.00"}
    ],
}


@router.post(
    "/orders", status_code=201, openapi_extra=body_doc(CREATE_EXAMPLE), tags=["orders"]
)
async def create_order(
    request: Request, who: Annotated[Who, Depends(caller("order.create"))]
) -> Response:
    """Create an order (flat as in the example, or the document `order create
    --file` takes). An identical retry returns the order (200)."""

    def command(data: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        doc = {k: v for k, v in data.items() if k not in ("reason", "on_behalf_of")}
        if not isinstance(doc.get("customer"), dict):
            doc = nest_flat(doc)
        svc = service(request)
        draft = OrderDraft.from_data(doc, svc.settings.tz, svc.products())
        return service(request).ledger.create(draft, **meta)

    return await write(request, who, command, created=True)


Make = Callable[[Service, str, dict[str, Any], dict[str, Any]], Any]


def _simple(action: str, path: str, example: dict[str, Any]) -> Callable[[Make], Make]:
    """Register `make` as POST `path`: an order command allowed to `action`."""

    def register(make: Make) -> Make:
        async def route(
            order_no: str,
            request: Request,
            who: Annotated[Who, Depends(caller(action))],
        ) -> Response:
            return await write(
                request,
                who,
                lambda data, meta: make(service(request), order_no, data, meta),
            )

        route.__doc__ = make.__doc__
        route.__name__ = make.__name__
        router.post(path, openapi_extra=body_doc(example), tags=["orders"])(route)
        return make

    return register


@_simple("order.confirm", "/orders/{order_no}/confirm", {})
def confirm(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Confirm (审核) an unconfirmed order. Where WDT is configured it is
    asked for stock first: an order it cannot fill is 409 `stock_short`
    (with `short_lines`) unless `override_stock` says why (recorded)."""
    d = fields(data, optional=["override_stock"])
    override = d.get("override_stock") or ""
    if not isinstance(override, str):
        raise InvalidInput("override_stock must be text: why to confirm anyway")
    return svc.ledger.confirm(
        no, stock=svc.stock_levels(), override_stock=override, **meta
    )


@_simple("order.pay", "/orders/{order_no}/pay", {"amount": "128.00"})
def pay(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Record money that arrived (any positive amount, any state)."""
    d = fields(data, required=["amount"], optional=["reference"])
    return svc.ledger.confirm_payment(
        no,
        parse_money(d["amount"], "amount"),
        reference=str(d.get("reference") or ""),
        **meta,
    )


@_simple("order.ship", "/orders/{order_no}/ship", {"carrier": "SF", "tracking": "SF1"})
def ship(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Ship a confirmed (and, if prepaid, paid) order."""
    d = fields(data, required=["carrier", "tracking"], optional=["eta"])
    delivery = Delivery.from_data(
        {
            "carrier": d["carrier"],
            "tracking_no": d["tracking"],
            "estimated_arrival": d.get("eta") or "",
        }
    )
    return svc.ledger.ship(no, delivery, **meta)


@_simple("order.receive", "/orders/{order_no}/receive", {})
def receive(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Confirm receipt (by the customer through the website, or the back office)."""
    fields(data)
    return svc.ledger.confirm_receipt(no, **meta)


@_simple("order.cancel", "/orders/{order_no}/cancel", {"reason": "customer asked"})
def cancel(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Void an order before it ships (a refund due if it was paid)."""
    fields(data, required=["reason"])
    return svc.ledger.cancel(no, **meta)


@_simple(
    "order.refuse",
    "/orders/{order_no}/refuse",
    {"reason": "拒收", "accept": [{"sku": "TEA-001", "quantity": 1}]},
)
def refuse(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """拒收: the parcel refused at the door, or accepted in part (`accept`)."""
    d = fields(data, required=["reason"], optional=["accept"])
    return svc.ledger.refuse(no, accept=d.get("accept") or None, **meta)


@_simple(
    "order.modify",
    "/orders/{order_no}/modify",
    {"address": {"detail": "科技园南路 88 号 3 栋"}, "phone": "13912345678"},
)
def modify(svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]) -> Any:
    """Change lines, address fields or contact of an unconfirmed order."""
    d = fields(data, optional=["lines", "address", "contact", "phone"])
    return svc.ledger.modify(
        no,
        lines=order_lines(d["lines"], svc.products()) if "lines" in d else None,
        address=d.get("address"),
        contact=d.get("contact"),
        phone=d.get("phone"),
        **meta,
    )


@_simple(
    "return.apply",
    "/orders/{order_no}/returns",
    {"kind": "return", "lines": [{"sku": "TEA-001", "quantity": 1}], "reason": "碎了"},
)
def apply_return(
    svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """Apply for a return or an exchange (the reply adds `case_id`)."""
    d = fields(data, required=["lines", "reason"], optional=["kind"])
    return svc.ledger.apply_after_sales(
        no,
        kind=CaseKind.parse(d.get("kind") or "return"),
        items=d["lines"],
        **meta,
    )


@_simple("return.refund", "/orders/{order_no}/refunds", {"amount": "128.00"})
def refund_order(
    svc: Service, no: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """Pay back what the order owes (a cancellation after payment, an excess)."""
    d = fields(data, required=["amount"], optional=["reference"])
    return svc.ledger.refund(
        no,
        parse_money(d["amount"], "amount"),
        reference=str(d.get("reference") or ""),
        **meta,
    )


def _case_route(action: str, verb: str, example: dict[str, Any]) -> Callable[..., Any]:
    def register(make: Callable[..., Any]) -> Callable[..., Any]:
        async def route(
            order_no: str,
            case_id: str,
            request: Request,
            who: Annotated[Who, Depends(caller(action))],
        ) -> Response:
            return await write(
                request,
                who,
                lambda data, meta: make(
                    service(request), order_no, case_id, data, meta
                ),
            )

        route.__doc__ = make.__doc__
        route.__name__ = make.__name__
        router.post(
            f"/orders/{{order_no}}/returns/{{case_id}}/{verb}",
            openapi_extra=body_doc(example),
            tags=["returns"],
        )(route)
        return make

    return register


@_case_route("return.review", "review", {"approve": True})
def review(
    svc: Service, no: str, case: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """Approve or reject (with a reason) an application."""
    d = fields(data, required=["approve"])
    if not isinstance(d["approve"], bool):
        raise ApiError(422, "invalid_input", "approve must be true or false")
    return svc.ledger.review_after_sales(no, case, approve=d["approve"], **meta)


@_case_route(
    "return.receive", "receive", {"accepted": [{"sku": "TEA-001", "quantity": 1}]}
)
def receive_return(
    svc: Service, no: str, case: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """The warehouse received and inspected the goods."""
    d = fields(data, optional=["accepted", "rejected"])
    return svc.ledger.receive_after_sales(
        no,
        case,
        accepted=d.get("accepted") or [],
        rejected=d.get("rejected") or [],
        **meta,
    )


@_case_route("return.refund", "refund", {"amount": "50.00"})
def refund_case(
    svc: Service, no: str, case: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """Refund a received return (more than it owes only with override and a
    reason)."""
    d = fields(data, required=["amount"], optional=["reference", "override"])
    return svc.ledger.refund(
        no,
        parse_money(d["amount"], "amount"),
        case_id=case,
        reference=str(d.get("reference") or ""),
        override=d.get("override") is True,
        **meta,
    )


@_case_route("return.ship", "ship", {"carrier": "SF", "tracking": "SF-EX1"})
def ship_exchange(
    svc: Service, no: str, case: str, data: dict[str, Any], meta: dict[str, Any]
) -> Any:
    """An exchange's replacement leaves the warehouse."""
    d = fields(data, required=["carrier", "tracking"])
    delivery = Delivery(carrier=str(d["carrier"]), tracking_no=str(d["tracking"]))
    return svc.ledger.ship_exchange(no, case, delivery, **meta)


# ---- reads --------------------------------------------------------------------


@router.get("/orders/{order_no}", tags=["orders"])
def show_order(
    order_no: str,
    request: Request,
    who: Annotated[Who, Depends(caller("order.read"))],
    customer_phone: str | None = Query(None),
) -> Response:
    """The order as `order show --json --from-log` prints it, personal data
    masked (the website: only if it belongs to `customer_phone`)."""
    svc = service(request)
    _in_scope(svc, who, "order.read", order_no, customer_phone)
    return order_reply(200, _shown(svc, order_no, reveal=False))


def _in_scope(
    svc: Service, who: Who, action: str, order_no: str, phone: str | None
) -> None:
    """The website sees an order only if it is the named customer's."""
    scope = svc.scoped_phone(who, action, phone)
    if scope is not None:
        mine = svc.ledger.get(order_no, reveal=True)["customer"]["phone"]
        if mine != parse_phone(scope, "customer_phone"):
            raise OrderNotFound(f"order {order_no} not found")  # not whose it is


def _shown(svc: Service, order_no: str, *, reveal: bool) -> dict[str, Any]:
    order = order_from_log(svc.ledger, svc.projections, order_no, reveal=reveal)
    return with_push_outcome(
        {**order, "view_lag_events": 0},
        build_delivery_store(svc.ledger),
        wdt_configured=svc.wdt_configured,
    )


@router.post(
    "/orders/{order_no}/reveal",
    tags=["orders"],
    openapi_extra=body_doc({"reason": "customer asked for a delivery change"}),
)
async def reveal_order(
    order_no: str,
    request: Request,
    who: Annotated[Who, Depends(caller("order.reveal"))],
) -> Response:
    """The order with its personal data unmasked, once a PersonalDataRevealed
    event (who, which fields, why) is recorded in it. Body: `reason`
    (required), the website's `customer_phone` (its own customer only)."""
    _, data = await read_body(request)
    d = fields(data, required=["reason"], optional=["customer_phone"])
    if not isinstance(d["reason"], str):
        raise InvalidInput("reason must be text")
    svc = service(request)

    def recorded_then_shown() -> dict[str, Any]:
        _in_scope(svc, who, "order.reveal", order_no, d.get("customer_phone"))
        svc.ledger.record_reveal(
            order_no,
            fields=sorted(REVEALABLE),
            reason=d["reason"],
            **who.meta(d.get("on_behalf_of")),
        )
        return _shown(svc, order_no, reveal=True)

    return order_reply(200, await run_in_threadpool(recorded_then_shown))


@router.get("/orders/{order_no}/history", tags=["orders"])
def order_history(
    order_no: str,
    request: Request,
    who: Annotated[Who, Depends(caller("order.history"))],
) -> list[dict[str, Any]]:
    """Every event of the order, oldest first (`order history --json`),
    personal data masked."""
    return service(request).ledger.history(order_no)


@router.get("/orders", tags=["orders"])
def search_orders(
    request: Request,
    who: Annotated[Who, Depends(caller("order.list"))],
    status: str | None = None,
    product: str | None = None,
    customer: str | None = None,
    phone: str | None = None,
    order_no: str | None = None,
    customer_phone: str | None = None,
    payment: str | None = Query(None, pattern="^(paid|unpaid|part_paid)$"),
    mismatch: bool = False,
    after_sales: str | None = Query(None, pattern="^(open|closed|any)$"),
    since: str | None = None,
    until: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """订单查询 from the search view, newest first, with `order list`'s
    filters (`order list --json`); the website must name the customer
    (`customer_phone`) and sees only theirs."""
    svc = service(request)
    svc.scoped_phone(who, "order.list", customer_phone)  # the website names one
    filters = OrderFilter.parse(
        svc.settings.tz,
        status=status,
        customer_phone=customer_phone,
        since=since,
        until=until,
        product=product,
        customer=customer,
        phone=phone,
        order_no=order_no,
        payment=payment,
        mismatch=mismatch,
        after_sales=after_sales,
        limit=limit,
    )
    svc.projections.catch_up_all()
    return list_orders(svc.projections, filters, svc.settings.tz)
