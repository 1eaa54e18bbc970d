"""`orderledger customer erase` and `orderledger keys`: the personal-data
vault's commands (docs/privacy.md)."""

from __future__ import annotations

import json
import os

import click

from orderledger.bootstrap import build_delivery_store, build_request_log
from orderledger.cli.context import CliContext, by_option, json_option, pass_cli
from orderledger.cli.inputs import write_output
from orderledger.domain.errors import InvalidInput
from orderledger.privacy.erasure import Erasure, erase_customer
from orderledger.privacy.migration import Migration
from orderledger.store.master_key import (
    MasterKey,
    new_key_text,
    parse_master_key,
    read_key_file,
    replace_key_file,
    sqlite_key_path,
)


@click.group("customer")
def customer_group() -> None:
    """A customer's personal data."""


@customer_group.command("erase")
@click.argument("phone")
@click.option("--reason", required=True, help="Why (recorded on each order). Required.")
@click.option(
    "--force",
    is_flag=True,
    help="Erase orders still in progress too (recorded on each of them).",
)
@by_option
@json_option
@pass_cli
def erase(cli: CliContext, phone: str, reason: str, force: bool, actor: str) -> None:
    """Erase the customer with this phone (PIPL): their name, phones and
    addresses become unreadable for good (their key is destroyed); each of
    their orders records who erased them and why, keeps its amounts, lines,
    statuses and ERP history, and its hash chain still verifies."""
    done = erase_customer(
        cli.ledger(), cli.projections(), phone, actor=actor, reason=reason, force=force
    )
    cli.emit(done.to_data(), lambda _: _erased_text(done))


def _erased_text(done: Erasure) -> str:
    text = f"erased the customer {done.phone}: {len(done.orders)} order(s)"
    if done.orders:
        text += f" ({', '.join(done.orders)})"
    if done.forced:
        text += f"; in progress, forced: {', '.join(done.forced)}"
    return text + (
        "\nWDT and U8 keep their own copies: erase the customer there too "
        "(docs/privacy.md)"
    )


@click.group("keys")
def keys_group() -> None:
    """The master key of the personal-data vault."""


@keys_group.command("new")
def new_key() -> None:
    """Print a new random master key (64 hex digits) for
    ORDERLEDGER_MASTER_KEY or a key file; it is not stored anywhere."""
    click.echo(new_key_text())


@keys_group.command("rotate")
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, exists=True),
    help="File holding the new master key [else env ORDERLEDGER_NEW_MASTER_KEY].",
)
@json_option
@pass_cli
def rotate(cli: CliContext, new_key_file: str | None) -> None:
    """Re-wrap every customer's key under a new master key, in one
    transaction; no event and no encrypted record is touched. Afterwards,
    configure the new key in place of the old one."""
    new = _new_master_key(new_key_file)
    vault = cli.ledger().vault
    if vault is None:
        raise InvalidInput("this ledger keeps no personal-data vault")
    old = vault.master
    count = vault.rotate(new)
    # The key file a SQLite database keeps beside it is the configuration:
    # it gets the new key (the old one is useless from now on).
    beside = old is not None and old.origin == sqlite_key_path(cli.settings.db_url)
    if beside and old is not None:
        replace_key_file(old.origin, new)
    cli.emit(
        {"rewrapped": count, "key_id": new.key_id, "key_file_replaced": beside},
        lambda d: (
            f"re-wrapped {d['rewrapped']} key(s) under the master key "
            f"{d['key_id']}: "
            + (
                "the key file beside the database now holds it"
                if beside
                else "configure it now in place of the old one"
            )
        ),
    )


def _new_master_key(new_key_file: str | None) -> MasterKey:
    if new_key_file:
        return read_key_file(new_key_file)
    text = os.environ.get("ORDERLEDGER_NEW_MASTER_KEY")
    if not text:
        raise InvalidInput(
            "give the new master key: --new-key-file FILE or "
            "ORDERLEDGER_NEW_MASTER_KEY (`orderledger keys new` prints one)"
        )
    return parse_master_key(text, "ORDERLEDGER_NEW_MASTER_KEY")


@click.group("migrate")
def migrate_group() -> None:
    """One-off upgrades of data written by an earlier version."""


@migrate_group.command("personal-data")
@click.option(
    "--statement",
    required=True,
    type=click.Path(dir_okay=False),
    help="File to write the signed statement of what changed to. Required.",
)
@json_option
@pass_cli
def migrate_personal_data(cli: CliContext, statement: str) -> None:
    """Move the personal data of a log written before the vault into it: the
    only rewrite of stored events there is, checked by the procedure in
    docs/audit.md (take `audit digest --save` and `audit export` before).
    Stop every relay, follower and server first."""
    ledger = cli.ledger()
    migration = Migration(
        ledger,
        cli.projections(),
        build_delivery_store(ledger),
        build_request_log(ledger),
        say=lambda message: click.echo(message, err=True),
    )
    signed = migration.run()
    write_output(statement, json.dumps(signed, ensure_ascii=False, indent=1) + "\n")
    cli.emit(
        {
            "orders": len(signed["orders"]),
            "before": signed["before"]["root"],
            "after": signed["after"]["root"],
            "statement": statement,
        },
        lambda d: (
            f"{d['orders']} order(s) migrated; ledger root {d['before']} -> "
            f"{d['after']}; statement in {d['statement']}"
        ),
    )
