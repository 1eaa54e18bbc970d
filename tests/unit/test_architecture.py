"""Imports point inward (docs/architecture.md): checked here, not by memory."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_package_root_holds_only_the_wiring_and_folders() -> None:
    loose = {p.name for p in PACKAGE.glob("*.py")}

    assert loose == {"__init__.py", "config.py", "bootstrap.py"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the contracts of pyproject.toml, on the package in
    `root` (a copy, for the test that breaks a rule)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        (
            "domain/bounds.py",
            "import sqlite3",
            "domain is not allowed to import sqlite3",
        ),
        ("domain/values.py", "import orderledger.outbox", "import orderledger.outbox"),
        ("store/ddl.py", "import orderledger.erp", "import orderledger.erp"),
    ],
)
def test_the_import_contract_fails_when_a_rule_is_broken(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    shutil.copytree(PACKAGE, tmp_path / "orderledger")
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    target = tmp_path / "orderledger" / module
    target.write_text(line + "\n" + target.read_text(encoding="utf-8"))

    result = lint_imports(tmp_path)

    assert result.returncode != 0 and broken in result.stdout, result.stdout[-2000:]
