"""What the ledger's two applications share: the orders (OrderLedger) and
the catalog (Catalog) each keep their events in a table of their own, on the
same database, through the same lean recorder and hash-chaining mapper."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    Mapper,
    MapperDeserialisationError,
    PersistenceError,
)
from eventsourcing.utils import Environment, TopicError

from orderledger.domain.errors import ConcurrencyConflict, StorageError, first_line
from orderledger.store.chaining_mapper import ChainingMapper
from orderledger.store.recorder import LeanFactory


class ChainedApplication(Application[UUID]):
    """An eventsourcing application whose every event is linked into its
    aggregate's hash chain, stored by the lean recorder."""

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        """eventsourcing-sqlalchemy's recorders with the hot paths on the
        driver (orderledger/store/recorder.py), named in code rather than by
        a PERSISTENCE_MODULE string, so following imports finds the writes."""
        factory: Any = LeanFactory(env=env)  # eventsourcing-sqlalchemy is untyped
        return cast(InfrastructureFactory[Any], factory)

    def construct_env(
        self, name: str, env: Mapping[str, str] | None = None
    ) -> Environment:
        # eventsourcing would merge os.environ in, and a stray
        # ORDERLEDGER_SQLALCHEMY_URL there would silently win over --db.
        settings = dict(type(self).env)
        if self.snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        settings.update(env or {})
        return Environment(name, settings)

    def construct_mapper(self) -> Mapper[UUID]:
        """Every event is linked into its aggregate's hash chain on save."""
        return ChainingMapper(
            transcoder=self.construct_transcoder(), lookup=self._stored_hash
        )

    def _stored_hash(self, aggregate_id: UUID, version: int) -> str | None:
        stored = self.recorder.select_events(aggregate_id, gt=version - 1, lte=version)
        if not stored:
            return None
        value = json.loads(stored[0].state).get("chain_hash")
        return None if value is None else str(value)

    def log_head(self) -> int:
        """The highest notification id: unchanged means nothing was appended."""
        with self._storage():
            return self.recorder.max_notification_id() or 0

    @contextmanager
    def _storage(self) -> Iterator[None]:
        """Report storage failures as the project's errors, never a traceback."""
        try:
            yield
        except (MapperDeserialisationError, TopicError) as error:
            raise StorageError(
                f"a stored event can no longer be decoded ({first_line(error)}); "
                "run `orderledger audit verify --all` to see what was altered, "
                "and restore it from a backup"
            ) from None
        except IntegrityError as error:
            raise ConcurrencyConflict(
                f"the write conflicted: {first_line(error)}"
            ) from None
        except PersistenceError as error:
            raise StorageError(f"the event store failed: {first_line(error)}") from None
