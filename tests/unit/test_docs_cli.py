"""docs/cli.md and the commands that exist agree: every command is
documented, every documented command and option exists, and every option of
a command is named in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import click

from orderledger.cli import cli
from orderledger.cli.lazy import subcommands

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(
    encoding="utf-8"
)


def commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    """Every command by its path ("order create"), groups included."""
    found: dict[str, click.Command] = {}
    for name, command in subcommands(group).items():
        path = f"{prefix}{name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(commands(command, path + " "))
    return found


def options(command: click.Command) -> set[str]:
    return {
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    }


def documented_paths() -> set[str]:
    """Command paths as the docs write them in code spans and blocks:
    `order create …`, `orderledger sim wdt …`, `sim wdt|u8`."""
    tops = set(subcommands(cli))
    found: set[str] = set()
    for span in re.findall(r"`([^`\n]+)`", DOCS) + re.findall(
        r"orderledger ([^\n]+)", DOCS
    ):
        words = span.replace("orderledger ", "").split()
        if not words or words[0] not in tops:
            continue
        found.update(_paths(subcommands(cli)[words[0]], words[0], words[1:]))
    return found


def _paths(command: click.Command, path: str, words: list[str]) -> set[str]:
    """`path` and the subcommands the next words name, at any depth
    (`product brand|category|type add|rename`)."""
    found = {path}
    if not isinstance(command, click.Group) or not words:
        return found
    for sub in words[0].split("|"):
        inside = subcommands(command)
        if re.fullmatch(r"[a-z][a-z0-9-]*", sub) and sub in inside:
            found |= _paths(inside[sub], f"{path} {sub}", words[1:])
        elif re.fullmatch(r"[a-z][a-z0-9-]*", sub):
            found.add(f"{path} {sub}")  # documented, but no such command
    return found


def test_every_command_is_documented_and_every_documented_one_exists() -> None:
    existing = set(commands())
    documented = documented_paths()

    assert existing - documented == set(), "commands missing from docs/cli.md"
    assert documented - existing == set(), (
        "docs/cli.md names commands that do not exist"
    )


def test_every_option_is_documented_and_every_documented_one_exists() -> None:
    per_command = {path: options(c) for path, c in commands().items()}
    existing = options(cli).union(*per_command.values()) | {"--help", "--version"}
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", DOCS))

    undocumented = {
        f"{path} {opt}"
        for path, opts in per_command.items()
        for opt in opts
        if opt not in documented
    }
    assert undocumented == set(), "options missing from docs/cli.md"
    assert documented - existing == set(), "docs/cli.md names options that do not exist"
