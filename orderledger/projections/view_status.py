"""Where each view stands: generation, position, lag, staleness, poisoned
orders (`projections status`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderledger.projections.log import count_after, first_time_after
from orderledger.projections.store import ProjectionStore


def projection_status(store: ProjectionStore) -> list[dict[str, Any]]:
    """Per projection: generation, tracked position, head, lag in events and seconds."""
    store.ensure()
    now = datetime.now(UTC)
    out = []
    with store.engine.connect() as conn:
        log_head = store.head()
        for name, projection in store.projections.items():
            reg = store.registry_row(name) or {}
            generation = int(reg["live_generation"])
            position = store.position(name, generation, conn)
            oldest = first_time_after(conn, store.events, position)
            lag_seconds = (
                0.0
                if oldest is None
                else (now - datetime.fromisoformat(oldest)).total_seconds()
            )
            building = reg.get("building_generation")
            out.append(
                {
                    "name": name,
                    "generation": generation,
                    "position": position,
                    "head": log_head,
                    "lag_events": count_after(conn, store.events, position),
                    "lag_seconds": round(max(lag_seconds, 0.0), 3),
                    "version": reg.get("live_version"),
                    "code_version": projection.version,
                    "stale": reg.get("live_version") != projection.version,
                    "rebuilding_generation": building,
                    "rebuilding_position": (
                        None
                        if building is None
                        else store.position(name, int(building), conn)
                    ),
                    "poisoned": store.poisoned_orders(name, generation),
                }
            )
    return out
