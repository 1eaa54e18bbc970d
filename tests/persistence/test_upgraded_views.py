"""A view built by the release before an upgrade that changed it is read only
after a rebuild: `order show` says so and replays the log, and the rebuild
brings the view back (order_status version 3 added the refused lines)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.cli.test_cli import CREATE, run, run_json


def as_built_by_the_release_before(db: str) -> None:
    """order_status as version 2 left it: no refused_json column."""
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            generation = conn.execute(
                text("SELECT live_generation FROM olp_registry WHERE name = :n"),
                {"n": "order_status"},
            ).scalar_one()
            conn.execute(
                text("UPDATE olp_registry SET live_version = '2' WHERE name = :n"),
                {"n": "order_status"},
            )
            conn.execute(
                text(f"ALTER TABLE olp_order_status_g{generation} DROP COLUMN "
                     "refused_json")
            )  # fmt: skip
    finally:
        engine.dispose()


def test_a_stale_order_status_view_is_not_read_until_rebuilt(db_url: str) -> None:
    run(db_url, *CREATE, "--order-no", "UP-1")
    as_built_by_the_release_before(db_url)

    stale = run(db_url, "--json", "order", "show", "UP-1")
    rebuilt = run(db_url, "projections", "rebuild", "order_status")
    fresh = run_json(db_url, "order", "show", "UP-1")

    assert stale.exit_code == 0, stale.output
    assert "projections rebuild order_status" in stale.stderr
    assert '"source": "log"' in stale.stdout
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (fresh["source"], fresh["refused"]) == ("view", [])
