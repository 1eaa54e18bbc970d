"""`--reveal` shows personal data unmasked only on purpose: it needs a reason,
and who revealed what, when and why is recorded in the order first."""

from __future__ import annotations

import json

import pytest

from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_USAGE
from tests.cli.test_cli import CREATE, events_in, run, run_json

PHONE, MASKED = "13800138000", "138****8000"


@pytest.mark.parametrize(
    "command",
    [["--json", "order", "show", "RV-1"], ["--json", "order", "history", "RV-1"],
     ["--json", "audit", "history", "RV-1"]],
)  # fmt: skip
def test_a_reveal_is_recorded_before_the_data_is_shown(
    db_url: str, command: list[str]
) -> None:
    run(db_url, *CREATE, "--order-no", "RV-1")
    masked = run(db_url, *command)
    before = events_in(db_url)

    shown = run(db_url, *command, "--reveal", "--by", "auditor-wang",
                "--reason", "customer complaint #88")  # fmt: skip

    assert masked.exit_code == 0 and PHONE not in masked.stdout
    assert MASKED in masked.stdout
    assert shown.exit_code == 0, shown.output
    assert PHONE in shown.stdout
    assert events_in(db_url) == before + 1
    last = run_json(db_url, "order", "history", "RV-1")[-1]
    assert (last["type"], last["actor"], last["reason"]) == (
        "PersonalDataRevealed",
        "auditor-wang",
        "customer complaint #88",
    )
    assert last["details"]["fields"] == ["phone"]


def test_a_reveal_without_a_reason_or_of_no_order_is_refused(db_url: str) -> None:
    run(db_url, *CREATE, "--order-no", "RV-2")
    before = events_in(db_url)

    no_reason = run(db_url, "order", "show", "RV-2", "--reveal")
    unknown = run(db_url, "order", "show", "NOPE", "--reveal", "--reason", "x")

    assert no_reason.exit_code == EXIT_USAGE and "--reason" in no_reason.stderr
    assert PHONE not in no_reason.stdout
    assert unknown.exit_code == EXIT_NOT_FOUND
    assert events_in(db_url) == before
    assert (
        json.loads(run(db_url, "--json", "order", "show", "RV-2").stdout)["customer"][
            "phone"
        ]
        == MASKED
    )
