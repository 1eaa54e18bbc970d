"""`orderledger token …`: a token is shown once and stored only as a hash."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from orderledger.cli.errors import EXIT_USAGE
from tests.cli.test_cli import run


def test_a_token_is_printed_once_and_only_its_hash_is_stored(db_url: str) -> None:
    created = run(db_url, "token", "create", "--role", "warehouse", "--name", "wh-1")
    token = created.stdout.strip().splitlines()[-1]
    as_json = json.loads(
        run(db_url, "--json", "token", "create", "--role", "ops", "--name", "o").stdout
    )
    listed = json.loads(run(db_url, "--json", "token", "list").stdout)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT * FROM api_tokens")).mappings().all()
    finally:
        engine.dispose()

    assert created.exit_code == 0 and token.startswith("olt_") and len(token) > 40
    assert as_json["token"].startswith("olt_") and as_json["role"] == "ops"
    assert [(t["name"], t["role"]) for t in listed] == [
        ("wh-1", "warehouse"),
        ("o", "ops"),
    ]
    assert token not in json.dumps(listed)
    assert all(token not in str(dict(row)) for row in stored)


def test_bad_roles_and_unknown_ids_exit_2(db_url: str) -> None:
    bad_role = run(db_url, "token", "create", "--role", "customer", "--name", "x")
    unknown = run(db_url, "token", "revoke", "99")
    run(db_url, "token", "create", "--role", "auditor", "--name", "a")
    revoked = run(db_url, "token", "revoke", "1")
    again = run(db_url, "token", "revoke", "1")
    roles = json.loads(run(db_url, "--json", "token", "roles").stdout)

    assert bad_role.exit_code == EXIT_USAGE and "unknown role" in bad_role.stderr
    assert unknown.exit_code == EXIT_USAGE
    assert revoked.exit_code == 0 and again.exit_code == EXIT_USAGE
    assert "order.confirm" in roles["back_office"]
    assert "order.confirm" not in roles["website"]
