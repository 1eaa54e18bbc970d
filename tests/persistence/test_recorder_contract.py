"""The correctness gate for the lean recorder (orderledger/store/recorder.py):
eventsourcing's own recorder test suites, on SQLite and on PostgreSQL."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from orderledger.store.recorder import (
    LeanAggregateRecorder,
    LeanApplicationRecorder,
    LeanFactory,
)
from tests.conftest import require_postgres, reset_postgres

SUBSCRIBE_SECONDS = 60


class OnSqlite:
    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.url = f"sqlite:///{Path(self._dir.name) / 'contract.db'}"
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self._dir.cleanup()

    def factory(self) -> LeanFactory:
        env = Environment(
            "orderledger", {"SQLALCHEMY_URL": self.url, "CREATE_TABLE": "y"}
        )
        return LeanFactory(env)


class OnPostgres(OnSqlite):
    def setUp(self) -> None:
        self.url = require_postgres()
        reset_postgres(self.url)
        super(OnSqlite, self).setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super(OnSqlite, self).tearDown()  # type: ignore[misc]


def _made(recorder: Any) -> Any:
    recorder.create_table()
    return recorder


class AggregateContract(AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        recorder = _made(self.factory().aggregate_recorder("events"))  # type: ignore[attr-defined]
        assert isinstance(recorder, LeanAggregateRecorder)
        return recorder


class ApplicationContract(ApplicationRecorderTestCase[ApplicationRecorder]):
    def create_recorder(self) -> ApplicationRecorder:
        recorder = _made(self.factory().application_recorder())  # type: ignore[attr-defined]
        assert isinstance(recorder, LeanApplicationRecorder)
        return recorder

    @pytest.mark.skip(
        reason="eventsourcing's timing test asserts nothing; performance is "
        "measured against a raw baseline under bench/ (docs/benchmarks.md)"
    )
    def test_concurrent_throughput(self) -> None:
        raise AssertionError("skipped")


class TrackingContract(TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return _made(self.factory().tracking_recorder())  # type: ignore[attr-defined]


class ProcessContract(ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return _made(self.factory().process_recorder())  # type: ignore[attr-defined]


class TestAggregateSqlite(OnSqlite, AggregateContract):
    pass


class TestApplicationSqlite(OnSqlite, ApplicationContract):
    pass


class TestTrackingSqlite(OnSqlite, TrackingContract):
    pass


class TestProcessSqlite(OnSqlite, ProcessContract):
    pass


class TestAggregatePostgres(OnPostgres, AggregateContract):
    pass


class TestApplicationPostgres(OnPostgres, ApplicationContract):
    def test_insert_subscribe(self) -> None:
        """eventsourcing's own test races its LISTEN thread against the insert
        it then waits for: on a loaded machine the NOTIFY can come before the
        LISTEN, and the test waits for ever (CI once hung here). Bounded: a
        second try on fresh tables, then a failure, never a hang."""
        for attempt in (1, 2):
            done: list[BaseException | None] = []

            def run(done: list[BaseException | None] = done) -> None:
                try:
                    self.optional_test_insert_subscribe()
                except BaseException as error:  # handed to the test's thread
                    done.append(error)
                else:
                    done.append(None)

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            worker.join(SUBSCRIBE_SECONDS)
            if done:
                if done[0] is not None:
                    raise done[0]
                return
            if attempt == 1:
                self.tearDown()
                self.setUp()
        raise AssertionError(
            f"no notification within {SUBSCRIBE_SECONDS} s, twice: LISTEN/NOTIFY "
            "does not reach the subscription"
        )


class TestTrackingPostgres(OnPostgres, TrackingContract):
    pass


class TestProcessPostgres(OnPostgres, ProcessContract):
    pass


del AggregateContract, ApplicationContract, TrackingContract, ProcessContract
