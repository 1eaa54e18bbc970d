"""`orderledger serve` (the HTTP API) and `orderledger token …` (its callers)."""

from __future__ import annotations

from typing import Any

import click

from orderledger.application.access import PERMISSIONS, Role
from orderledger.bootstrap import build_token_store
from orderledger.cli.context import CliContext, json_option, pass_cli
from orderledger.domain.errors import InvalidInput
from orderledger.domain.values import parse_text


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True,
    help="Worker processes.",
)  # fmt: skip
@pass_cli
def serve(cli: CliContext, host: str, port: int, workers: int) -> None:
    """The HTTP API (docs/api.md): OpenAPI at /openapi.json, the interactive
    page at /docs. Callers need a token (`orderledger token create`)."""
    from orderledger.api.server import serve as run  # loads FastAPI only here

    cli.ledger()  # the database opens (and its tables exist) before workers start
    click.echo(f"orderledger API on http://{host}:{port} ({workers} worker(s))")
    run(cli.settings, host=host, port=port, workers=workers)


@click.group("token")
def token_group() -> None:
    """API tokens: one per caller, each of one role."""


@token_group.command("create")
@click.option(
    "--role",
    required=True,
    help="website | back_office | warehouse | ops | auditor",
)
@click.option("--name", required=True, help="Who holds it (recorded as the actor).")
@json_option
@pass_cli
def create(cli: CliContext, role: str, name: str) -> None:
    """Create a token; it is printed once, alone on the last line (only its
    hash is stored)."""
    parsed = Role.parse(role)
    holder = parse_text(name, "--name", max_len=40)
    token_id, token = build_token_store(cli.ledger()).create(holder, parsed.value)
    result = {"id": token_id, "name": holder, "role": parsed.value, "token": token}
    cli.emit(
        result,
        lambda r: (
            f"token {r['id']} for {r['name']} ({r['role']}); keep it, it is "
            f"shown only now:\n{r['token']}"
        ),
    )


@token_group.command("list")
@json_option
@pass_cli
def list_tokens(cli: CliContext) -> None:
    """Every token: id, name, role, created, revoked (never the token)."""
    rows = build_token_store(cli.ledger()).list()
    cli.emit(rows, _format_tokens)


def _format_tokens(rows: list[dict[str, Any]]) -> str:
    return (
        "\n".join(
            f"{r['id']:>4}  {r['name']:<24} {r['role']:<12} created {r['created_at']}"
            + (f"  REVOKED {r['revoked_at']}" if r["revoked_at"] else "")
            for r in rows
        )
        or "no tokens"
    )


@token_group.command("revoke")
@click.argument("token_id", type=int)
@json_option
@pass_cli
def revoke(cli: CliContext, token_id: int) -> None:
    """Revoke a token by its id (from `token list`): its calls get 401."""
    if not build_token_store(cli.ledger()).revoke(token_id):
        raise InvalidInput(f"no live token has id {token_id} (see `token list`)")
    cli.emit({"id": token_id, "revoked": True}, lambda r: f"token {r['id']} revoked")


@token_group.command("roles")
@json_option
@pass_cli
def roles(cli: CliContext) -> None:
    """What each role may do over HTTP (application/access.py)."""
    table = {
        r.value: sorted(a for a, who in PERMISSIONS.items() if r in who) for r in Role
    }
    cli.emit(
        table, lambda t: "\n".join(f"{k:<12} {', '.join(v)}" for k, v in t.items())
    )
