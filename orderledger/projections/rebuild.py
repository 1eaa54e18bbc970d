"""Rebuild a view without downtime.

A new generation is built beside the live one (which keeps serving and
following), compared with it row by row, and then made live by one update of
the registry row. An interrupted rebuild resumes from its own tracking
position. The previous generation is kept until the next switch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, select, update
from sqlalchemy.engine import Connection

from orderledger.projections.store import Progress, ProjectionStore, now_iso
from orderledger.projections.workers import StoreFactory, build_in_parts

MAX_REPORTED = 50


@dataclass(frozen=True)
class RowDifference:
    table: str
    order_key: str
    key: str
    kind: str  # "only_in_live", "only_in_new", "changed"
    columns: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class RebuildOutcome:
    name: str
    live_generation: int
    new_generation: int
    position: int
    compared_rows: int = 0
    differences: list[RowDifference] = field(default_factory=list)
    difference_count: int = 0
    switched: bool = False


def start_or_resume(store: ProjectionStore, name: str, *, restart: bool = False) -> int:
    """The generation being built for `name`: the unfinished one, or a new one."""
    store.ensure()
    row = store.registry_row(name)
    assert row is not None
    building = row["building_generation"]
    if building is not None and not restart:
        return int(building)
    if building is not None:
        store.drop_generation(name, int(building))
    generation = int(row["live_generation"]) + 1
    store.drop_generation(name, generation)  # leftovers of an abandoned attempt
    with store.engine.begin() as conn:
        conn.execute(
            update(store.registry)
            .where(store.registry.c.name == name)
            .values(
                building_generation=generation,
                building_version=store.projections[name].version,
            )
        )
    store.ensure_generation(name, generation)
    return generation


def rebuild(
    store: ProjectionStore,
    name: str,
    *,
    restart: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> RebuildOutcome:
    """Build the next generation (or finish one begun, by `build_first` or
    an interrupted run), compare it with the live one, switch."""
    generation = start_or_resume(store, name, restart=restart)
    # What workers left (events since, a partition no worker finished) is
    # applied here, and a split generation is tracked whole again.
    store.catch_up(
        name,
        generation,
        progress=progress,
        built_version=store.projections[name].version,
    )
    position = store.position(name, generation)
    live = store.live_generation(name)
    outcome = RebuildOutcome(name, live, generation, position)
    _bring_live_to(store, name, live, position)
    compare(store, name, live, generation, position, outcome)
    if outcome.difference_count == 0 or force:
        outcome.switched = switch(store, name, generation)
    return outcome


def build_first(
    store: ProjectionStore,
    names: list[str],
    *,
    restart: bool,
    workers: int,
    make_store: StoreFactory,
    progress: Progress | None = None,
) -> None:
    """The bulk of a rebuild of `names` on `workers` processes, each owning a
    partition of the orders (partitions.py); `rebuild` then finishes each.
    A build split before resumes its partitions, whatever `workers` says."""
    targets = [(name, start_or_resume(store, name, restart=restart)) for name in names]
    if workers > 1 or any(store.parts(name, gen) for name, gen in targets):
        build_in_parts(make_store, store, targets, workers, progress)


def _bring_live_to(store: ProjectionStore, name: str, live: int, position: int) -> None:
    """Catch the live view up to the same position, if its code still can."""
    row = store.registry_row(name) or {}
    if row.get("live_version") == store.projections[name].version:
        store.catch_up(name, live, stop=position)


def switch(store: ProjectionStore, name: str, generation: int) -> bool:
    """Make `generation` live in one transaction; drop the one before the old live."""
    registry = store.registry
    with store.engine.begin() as conn:
        old = conn.execute(
            select(registry.c.live_generation, registry.c.building_version).where(
                registry.c.name == name, registry.c.building_generation == generation
            )
        ).first()
        if old is None:
            return False  # someone else switched it already
        conn.execute(
            update(registry)
            .where(registry.c.name == name)
            .values(
                live_generation=generation,
                live_version=old[1],
                building_generation=None,
                building_version=None,
                switched_at=now_iso(),
            )
        )
    for stale in range(1, int(old[0])):
        store.drop_generation(name, stale)
    return True


def _reflect(conn: Connection, table: Table) -> Table | None:
    if not conn.dialect.has_table(conn, table.name):
        return None
    return Table(table.name, MetaData(), autoload_with=conn)


def compare(
    store: ProjectionStore,
    name: str,
    live: int,
    new: int,
    position: int,
    outcome: RebuildOutcome,
) -> None:
    """Compare two generations row by row, streaming both in key order.

    Orders that a follower moved past `position` in either generation are in
    flux and skipped: both views fold the same events, so they will agree.
    """
    live_tables, new_tables = store.tables(name, live), store.tables(name, new)
    with store.engine.connect() as conn:
        in_flux: set[str] = set()
        for t in (live_tables.main, new_tables.main):
            reflected = _reflect(conn, t)
            if reflected is not None:
                in_flux |= {
                    r[0]
                    for r in conn.execute(
                        select(reflected.c.order_key).where(
                            reflected.c.position > position
                        )
                    )
                }
        pairs = [(live_tables.main, new_tables.main)]
        if live_tables.child is not None and new_tables.child is not None:
            pairs.append((live_tables.child, new_tables.child))
        for old_table, new_table in pairs:
            _compare_tables(conn, old_table, new_table, in_flux, outcome)


def _compare_tables(
    conn: Connection,
    old_table: Table,
    new_table: Table,
    in_flux: set[str],
    outcome: RebuildOutcome,
) -> None:
    old, new = _reflect(conn, old_table), _reflect(conn, new_table)
    assert new is not None
    old_rows = _rows(conn, old) if old is not None else iter(())
    new_rows = _rows(conn, new)
    common = [c.name for c in new.c if old is not None and c.name in old.c]
    label = old_table.name.rsplit("_g", 1)[0]
    a, b = next(old_rows, None), next(new_rows, None)
    while a is not None or b is not None:
        if b is None or (a is not None and _pk(a) < _pk(b)):
            assert a is not None
            _record(
                outcome,
                in_flux,
                RowDifference(label, a["order_key"], _key(a), "only_in_live"),
            )
            a = next(old_rows, None)
        elif a is None or _pk(b) < _pk(a):
            _record(
                outcome,
                in_flux,
                RowDifference(label, b["order_key"], _key(b), "only_in_new"),
            )
            b = next(new_rows, None)
        else:
            changed = {c: (a[c], b[c]) for c in common if a[c] != b[c]}
            if changed:
                _record(
                    outcome,
                    in_flux,
                    RowDifference(label, a["order_key"], _key(a), "changed", changed),
                )
            outcome.compared_rows += 1
            a, b = next(old_rows, None), next(new_rows, None)


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    keys = [c for c in table.primary_key.columns]
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(
        select(table).order_by(*keys)
    )
    for row in result:
        yield dict(row._mapping)


def _pk(row: dict[str, Any]) -> tuple[str, ...]:
    if "line_no" in row:
        return (row["order_key"], f"{row['line_no']:06d}")
    return (row["order_key"],)


def _key(row: dict[str, Any]) -> str:
    """How a differing row is named: the order number where the row has it."""
    if "order_no" in row:
        return f"{row['order_no']} ({row['order_key']})"
    return "/".join(_pk(row))


def _record(outcome: RebuildOutcome, in_flux: set[str], diff: RowDifference) -> None:
    if diff.order_key in in_flux:
        return
    outcome.difference_count += 1
    if len(outcome.differences) < MAX_REPORTED:
        outcome.differences.append(diff)
