"""Exit codes (documented in docs/cli.md) and the one-line error report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from orderledger.domain.errors import (
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    OrderLedgerError,
    RemoteUnavailable,
    RuleViolation,
    StorageError,
    first_line,
)

DEBUG_ENV = "ORDERLEDGER_DEBUG"

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_STORAGE = 6
EXIT_RECORDED_BUT = 7  # the write is in the log; a step after it failed
EXIT_BROKEN = 8  # audit verify: a chain or the digest does not match
EXIT_REMOTE_UNAVAILABLE = 9  # a one-shot call to the ERP found it unreachable
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

_EXIT_CODES: list[tuple[type[OrderLedgerError], int]] = [
    (InvalidInput, EXIT_USAGE),
    (RuleViolation, EXIT_REFUSED),
    (NotFound, EXIT_NOT_FOUND),
    (ConcurrencyConflict, EXIT_CONFLICT),
    (StorageError, EXIT_STORAGE),
    (RemoteUnavailable, EXIT_REMOTE_UNAVAILABLE),
]


def exit_code_for(error: OrderLedgerError) -> int:
    for cls, code in _EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_INTERNAL


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the project's errors into one line on stderr and an exit code."""
    try:
        yield
    except OrderLedgerError as error:
        fail(str(error), exit_code_for(error))


class LedgerGroup(click.Group):
    """A group whose subcommands report errors as one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            with reported_errors():
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            # click would print "Aborted!" and exit 1, which reads as a bug.
            fail(
                "interrupted; what was recorded before stays recorded", EXIT_INTERRUPTED
            )
        except Exception as error:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(
                f"internal error ({type(error).__name__}: {first_line(error)}); "
                f"set {DEBUG_ENV}=1 for the traceback and report it",
                EXIT_INTERNAL,
            )
