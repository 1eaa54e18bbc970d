"""The CLI loads a command only when it runs (orderledger/cli/lazy.py): the
listing `--help` prints from the table is each command's own short help,
and `orderledger --help` imports neither SQLAlchemy nor eventsourcing."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from orderledger.cli import cli
from orderledger.cli.lazy import COMMANDS, load

HEAVY = ("sqlalchemy", "eventsourcing", "fastapi", "cryptography")


def test_the_listing_is_each_commands_own_short_help() -> None:
    # click's listing: its text width (78) less the indent and the
    # longest name
    limit = 78 - 6 - max(len(name) for name in COMMANDS)
    for name, (_module, _attribute, short) in COMMANDS.items():
        assert load(name).get_short_help_str(limit) == short, name


def test_the_order_groups_listing_is_the_same_before_and_after_import_loads() -> None:
    probe = (
        "from click.testing import CliRunner\n"
        "import sys\n"
        "from orderledger.cli import cli\n"
        "before = CliRunner().invoke(cli, ['order', '--help']).stdout\n"
        "assert 'orderledger.cli.order_import' not in sys.modules\n"
        "from orderledger.cli import order_import\n"
        "after = CliRunner().invoke(cli, ['order', '--help']).stdout\n"
        "print(before == after, '  import ' in before)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True"]


def test_help_lists_every_command_and_each_runs_from_the_table() -> None:
    listed = CliRunner().invoke(cli, ["--help"])

    assert listed.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in listed.stdout
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from orderledger.cli import main\n"
        "sys.argv = ['orderledger', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
