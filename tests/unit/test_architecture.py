"""Imports point inward (docs/architecture.md): checked here, not by memory."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "orderledger"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(under: str = "") -> dict[str, set[str]]:
    root = PACKAGE / under if under else PACKAGE
    return {
        str(p.relative_to(PACKAGE.parent)): imports_of(p)
        for p in sorted(root.rglob("*.py"))
    }


def test_the_domain_imports_only_the_standard_library_and_eventsourcing_domain() -> (
    None
):
    allowed_third_party = {"eventsourcing.domain"}
    offenders = {
        module: sorted(
            name
            for name in names
            if name.split(".")[0] not in sys.stdlib_module_names
            and name not in allowed_third_party
            and not name.startswith("orderledger.domain")
        )
        for module, names in modules("domain").items()
    }

    assert {m: bad for m, bad in offenders.items() if bad} == {}


def test_nothing_imports_the_cli_or_the_composition_root_except_the_cli() -> None:
    offenders = {
        module: sorted(
            n
            for n in names
            if n.startswith(("orderledger.cli", "orderledger.bootstrap"))
        )
        for module, names in modules().items()
        if not module.startswith("orderledger/cli")
    }

    assert {m: bad for m, bad in offenders.items() if bad} == {}


def test_the_application_does_not_reach_outward() -> None:
    names = imports_of(PACKAGE / "application.py")

    assert not {n for n in names if n.startswith(("click", "orderledger.cli"))}
