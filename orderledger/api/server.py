"""Running the API under uvicorn: one process, or N workers that each build
the application from the environment (ORDERLEDGER_DB, ORDERLEDGER_TZ)."""

from __future__ import annotations

import os

import uvicorn

from orderledger.api.app import build_app
from orderledger.api.errors import Shield
from orderledger.config import DB_ENV, TZ_ENV, Settings
from orderledger.store.pooled import quiet_pool_resets


def create_app() -> Shield:
    """uvicorn's factory (`orderledger.api.server:create_app`)."""
    quiet_pool_resets()
    return Shield(build_app(Settings.load()))


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    # The workers are new processes: they read the settings from here.
    os.environ[DB_ENV] = settings.db_url
    os.environ[TZ_ENV] = settings.timezone
    uvicorn.run(
        "orderledger.api.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # request lines may carry customer data in queries
        server_header=False,
    )
