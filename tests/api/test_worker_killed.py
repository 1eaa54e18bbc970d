"""A server worker killed (SIGKILL) in the middle of the load: clients retry
with their idempotency keys, and every write ends up in the log exactly once.
Bounded: 4 clients x 6 orders x 5 commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.api.conftest import new_token, start_server
from tests.api.test_roles import flat_order
from tests.cli.test_cli import run

CLIENTS, ORDERS = 4, 6
FLOW = ["Created", "Confirmed", "PaymentConfirmed", "Shipped", "ReceiptConfirmed"]


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            cmdline = (entry / "cmdline").read_bytes()
            if int(fields[1]) == pid and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
    return found


def post_until_answered(
    client: httpx.Client,
    path: str,
    body: dict[str, object],
    key: str,
    retries: list[str],
) -> httpx.Response:
    """What a careful client does: the same request, the same key, until an
    answer comes (a worker killed mid-request drops the connection)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            answer = client.post(path, json=body, headers={"Idempotency-Key": key})
            if answer.status_code < 500:
                return answer
        except httpx.TransportError:
            retries.append(key)
        assert time.monotonic() < deadline, f"{path} never answered"
        time.sleep(0.05)


def test_no_write_is_applied_twice_when_a_worker_dies(db_url: str) -> None:
    web = new_token(db_url, "website", "shop-web")
    office = new_token(db_url, "back_office", "amy")
    url, server = start_server(db_url, workers=2)
    answers: list[int] = []
    retries: list[str] = []
    done = threading.Semaphore(0)

    def client(c: int) -> None:
        with (
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {web}"})
            as as_web,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {office}"})
            as as_office,
        ):  # fmt: skip
            for i in range(ORDERS):
                no = f"K{c}-{i}"
                steps = [
                    (as_web, "/orders", flat_order(no)),
                    (as_office, f"/orders/{no}/confirm", {}),
                    (as_office, f"/orders/{no}/pay", {"amount": "100.00"}),
                    (
                        as_office,
                        f"/orders/{no}/ship",
                        {"carrier": "SF", "tracking": no},
                    ),
                    (as_office, f"/orders/{no}/receive", {}),
                ]
                for n, (http, path, body) in enumerate(steps):
                    answer = post_until_answered(http, path, body, f"{no}-{n}", retries)
                    answers.append(answer.status_code)
                    done.release()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for _ in range(25):  # a fifth of the load, then a worker dies
            assert done.acquire(timeout=60)
        # Every worker in turn, so that every client's connection breaks: each
        # client must retry (uvicorn starts a new worker for a dead one).
        workers = workers_of(server.pid)
        assert len(workers) == 2, workers
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
            for _ in range(10):
                assert done.acquire(timeout=60)
        for t in threads:
            t.join(120)
    finally:
        server.terminate()
        server.wait(15)

    assert retries, "no request was cut off: the test did not test anything"
    assert sorted(set(answers)) == [200, 201] and len(answers) == CLIENTS * ORDERS * 5
    for c in range(CLIENTS):
        for i in range(ORDERS):
            history = run(db_url, "--json", "order", "history", f"K{c}-{i}")
            types = [e["type"] for e in json.loads(history.stdout)]
            assert types == FLOW, (f"K{c}-{i}", types)  # each write exactly once
