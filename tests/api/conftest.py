"""A real `orderledger serve` process on a free loopback port, and tokens."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.cli.test_cli import run

ROLES = ("website", "back_office", "warehouse", "ops", "auditor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Api:
    url: str
    db: str
    tokens: dict[str, str]  # role -> token
    process: subprocess.Popen[bytes]

    def client(self, role: str | None = None) -> httpx.Client:
        headers = (
            {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        )
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)


def start_server(
    db: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """`extra_env`: settings of this server only (WDT's, say)."""
    port = free_port()
    # The test settings of every process (tests/conftest.py), nothing else
    # of the environment's ORDERLEDGER_*.
    kept = (
        "ORDERLEDGER_MASTER_KEY",
        "ORDERLEDGER_UNKNOWN_SKUS",
        "ORDERLEDGER_STOCK_CHECK",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORDERLEDGER_") or k in kept
    }
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "orderledger.cli", "--db", db, "serve",
         "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return url, process
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
    process.kill()
    raise RuntimeError("the server did not answer /healthz within 30 s")


def new_token(db: str, role: str, name: str) -> str:
    result = run(db, "--json", "token", "create", "--role", role, "--name", name)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["token"])


@contextmanager
def serving(
    db: str, roles: tuple[str, ...] = ROLES, extra_env: dict[str, str] | None = None
) -> Iterator[Api]:
    """A server with a token per role, stopped afterwards."""
    tokens = {role: new_token(db, role, f"{role}-1") for role in roles}
    url, process = start_server(db, extra_env=extra_env)
    try:
        yield Api(url, db, tokens, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with serving(db_url) as running:
        yield running
