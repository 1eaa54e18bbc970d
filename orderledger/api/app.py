"""The FastAPI application: the routes, the error replies, health and
readiness, and the read-only reports (statistics, history as of a time,
reconciliation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from orderledger.api import console, errors, orders
from orderledger.api.orders import caller, service
from orderledger.api.service import Service, Who
from orderledger.audit.history import history as history_as_of
from orderledger.audit.verify import verify
from orderledger.bootstrap import (
    build_catalog,
    build_delivery_store,
    build_ledger,
    build_projections,
    build_request_log,
    build_session_store,
    build_token_store,
)
from orderledger.config import Settings
from orderledger.domain.draft import parse_time, parse_time_range
from orderledger.domain.errors import OrderNotFound
from orderledger.domain.order import order_id
from orderledger.outbox.destinations import (
    ALL_DESTINATIONS,
    CATALOG_LOG,
    ORDERS_LOG,
    route,
)
from orderledger.projections.statistics import catalog_statistics
from orderledger.projections.view_status import projection_status


def build_service(settings: Settings) -> Service:
    ledger = build_ledger(settings)
    return Service(
        settings,
        ledger,
        build_projections(ledger, settings),
        build_token_store(ledger),
        build_request_log(ledger),
        build_session_store(ledger),
        build_catalog(settings),
    )


def build_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="orderledger",
        version="1",
        description="The order ledger over HTTP: docs/api.md.",
    )
    app.state.service = build_service(settings)
    errors.install(app)
    app.include_router(orders.router)
    app.include_router(console.router)
    console.install(app)
    _reports(app)
    return app


def _reports(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """The database answers; how far the views and the outbox lag."""
        svc = service(request)
        try:
            head = svc.ledger.log_head()
            views = {
                row["name"]: row["lag_events"]
                for row in projection_status(svc.projections)
            }
            deliveries = build_delivery_store(svc.ledger)
            heads = {ORDERS_LOG: head, CATALOG_LOG: svc.catalog.log_head()}
            outbox = {
                d: heads[route(d).log] - deliveries.position(d)
                for d in ALL_DESTINATIONS
            }
        except Exception as error:  # not ready: say so, without details
            return JSONResponse(
                {"status": "unavailable", "reason": type(error).__name__},
                status_code=503,
            )
        return JSONResponse(
            {
                "status": "ready",
                "log_head": head,
                "projections_lag_events": views,
                "outbox_lag_events": outbox,
            }
        )

    @app.get("/stats", tags=["reports"])
    def stats(
        request: Request,
        _: Annotated[Who, Depends(caller("stats.read"))],
        by: str = Query("status", pattern="^(status|day|product|category|brand|type)$"),
        since: str | None = None,
        until: str | None = None,
        brand: str | None = None,
        category: str | None = None,
        type: str | None = None,
    ) -> list[dict[str, Any]]:
        """订单统计, as `stats --json` prints it (`since` inclusive, `until`
        exclusive; a bare date includes its day; `brand`, `category`, `type`:
        only the matching lines count)."""
        svc = service(request)
        start, end = parse_time_range(since, until, svc.settings.tz)
        svc.projections.catch_up_all()
        filters = {"brand": brand, "category": category, "type": type}
        return catalog_statistics(svc.projections, svc.catalog, by, start, end, filters)

    @app.get("/audit/orders/{order_no}", tags=["reports"])
    def audit_history(
        order_no: str,
        request: Request,
        _: Annotated[Who, Depends(caller("audit.history"))],
        as_of: str | None = None,
    ) -> dict[str, Any]:
        """The order replayed as of a time (`audit history --json`); masked."""
        svc = service(request)
        moment = parse_time(as_of, "as_of", svc.settings.tz) if as_of else None
        return history_as_of(svc.ledger, order_no, moment)

    @app.get("/audit/verify/{order_no}", tags=["reports"])
    def audit_verify(
        order_no: str,
        request: Request,
        _: Annotated[Who, Depends(caller("audit.verify"))],
    ) -> dict[str, Any]:
        """Recompute the order's hash chain (`audit verify NO --json`)."""
        svc = service(request)
        report = verify(
            svc.projections.engine,
            svc.projections.events,
            only=order_id(order_no).hex,
        )
        if report.orders == 0:
            raise OrderNotFound(f"order {order_no} not found")
        data: dict[str, Any] = report.as_data()
        return data

    @app.get("/ops/status", tags=["reports"])
    def ops_status(
        request: Request, _: Annotated[Who, Depends(caller("ops.status"))]
    ) -> dict[str, Any]:
        """The views (`projections status`) and the outbox (`outbox status`)."""
        svc = service(request)
        deliveries = build_delivery_store(svc.ledger)
        return {
            "projections": projection_status(svc.projections),
            "outbox": {d: deliveries.counts(d) for d in ALL_DESTINATIONS},
        }

    @app.get("/reconcile", tags=["reports"])
    def reconcile(
        request: Request, _: Annotated[Who, Depends(caller("reconcile.report"))]
    ) -> dict[str, Any]:
        """The reconciliation report, read-only (never --apply over HTTP)."""
        return service(request).reconciliation()
