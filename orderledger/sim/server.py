"""A threaded HTTP server with a control API and fault injection.

Every simulator answers its own API plus:
  GET  /_sim/state            what it holds, as JSON, for assertions
       /_sim/state?part=NAME  one part of it (WDT: goods, stock)
  POST /_sim/fault {"mode": …} switch faults (see FAULT_MODES)
  POST /_sim/advance {…}      move the remote system's own side
  POST /_sim/reset            forget everything (a wiped remote)
  GET|POST /_sim/limit {"calls_per_minute": N|null}
                              a real account's per-minute call limit: the
                              excess gets the rate-limit answer; GET says
                              the limit and how many calls it refused
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_MODES = (
    "ok",  # answer normally; clears every fault
    "down",  # drop every API connection without an answer
    "error500",  # answer 500 Internal Server Error
    "slow",  # answer after `seconds` (default 30): longer than a client's timeout
    "ratelimit",  # answer the rate-limit error
    "malformed",  # answer a body that is not JSON
    "reject",  # permanently reject the trade/document with key `key`
)


class SimError(Exception):
    """A control request that cannot be done; answered with 409."""


@dataclass
class Faults:
    mode: str = "ok"
    seconds: float = 30.0
    remaining: int | None = None  # apply to this many API requests, then "ok"
    rejected: set[str] = field(default_factory=set)

    def set(self, body: dict[str, Any]) -> None:
        mode = body.get("mode")
        if mode not in FAULT_MODES:
            raise SimError(f"mode must be one of {', '.join(FAULT_MODES)}")
        if mode == "ok":
            self.mode, self.remaining = "ok", None
            self.rejected.clear()
        elif mode == "reject":
            self.rejected.add(str(body["key"]))
        else:
            self.mode = mode
            self.seconds = float(body.get("seconds", 30.0))
            count = body.get("count")
            self.remaining = None if count is None else int(count)

    def take(self) -> str:
        """The fault for this API request (counting down a limited fault)."""
        mode = self.mode
        if mode != "ok" and self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.mode, self.remaining = "ok", None
        return mode


class CallLimit:
    """At most `per_minute` API calls in any 60 seconds (None: no limit), as
    WDT counts an account's calls; the excess is refused, and counted."""

    def __init__(self, per_minute: int | None = None) -> None:
        self.per_minute = per_minute
        self.refused = 0
        self._calls: deque[float] = deque()

    def set(self, body: dict[str, Any]) -> dict[str, Any]:
        value = body.get("calls_per_minute")
        if value is not None and (not isinstance(value, int) or value < 1):
            raise SimError("calls_per_minute must be a whole number above 0, or null")
        self.per_minute, self.refused = value, 0
        self._calls.clear()
        return self.state()

    def state(self) -> dict[str, Any]:
        return {"calls_per_minute": self.per_minute, "refused": self.refused}

    def allow(self, now: float) -> bool:
        if self.per_minute is None:
            return True
        while self._calls and self._calls[0] <= now - 60.0:
            self._calls.popleft()
        if len(self._calls) >= self.per_minute:
            self.refused += 1
            return False
        self._calls.append(now)
        return True


class Simulator(ABC):
    """Base of the WDT and U8 simulators: the API, its state and its controls."""

    name = "sim"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.limit = CallLimit()
        self.requests = 0

    # The HTTP status of the rate-limit answer: WDT and U8 say it in a 200's
    # body, a webhook subscriber with 429.
    rate_limit_status = 200

    @abstractmethod
    def api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Answer one request of the remote's own API: (HTTP status, JSON)."""

    @abstractmethod
    def state(self) -> Any:
        """Everything it holds, as JSON, for GET /_sim/state."""

    @abstractmethod
    def advance(self, body: dict[str, Any]) -> Any:
        """Move the remote's own side (POST /_sim/advance)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything, as a remote that lost its data."""

    @abstractmethod
    def rate_limited(self) -> Any:
        """The body the remote answers when it rate-limits a caller."""

    def part(self, name: str) -> Any:
        """One part of what it holds (GET /_sim/state?part=NAME)."""
        raise SimError(f"{self.name} has no part {name!r}")

    def control(
        self, method: str, path: str, body: bytes, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        with self.lock:
            try:
                if method == "GET" and path == "/_sim/state":
                    part = (query or {}).get("part")
                    return 200, self.state() if part is None else self.part(part)
                if method == "GET" and path == "/_sim/limit":
                    return 200, self.limit.state()
                data = json.loads(body or b"{}")
                if path == "/_sim/limit":
                    return 200, self.limit.set(data)
                if path == "/_sim/fault":
                    self.faults.set(data)
                    return 200, {
                        "mode": self.faults.mode,
                        "rejected": sorted(self.faults.rejected),
                    }
                if path == "/_sim/advance":
                    return 200, self.advance(data)
                if path == "/_sim/reset":
                    self.reset()
                    return 200, {"reset": True}
            except (SimError, KeyError, ValueError) as error:
                return 409, {"error": str(error)}
        return 404, {"error": f"no control endpoint {path}"}


def _handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes; with Nagle on, the body of
        # a kept-alive connection waits for the client's delayed ACK (40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: requests carry signatures and tokens

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
            data = (
                raw
                if raw is not None
                else json.dumps(payload, ensure_ascii=False).encode()
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self._body()
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            if parts.path.startswith("/_sim/"):
                self._send(*sim.control(method, parts.path, body, query))
                return
            with sim.lock:
                sim.requests += 1
                fault = sim.faults.take()
                seconds = sim.faults.seconds
                if fault == "ok" and not sim.limit.allow(time.monotonic()):
                    fault = "ratelimit"
            if fault == "down":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault == "slow":
                time.sleep(seconds)
            if fault == "error500":
                self._send(500, None, b"<html>500 Internal Server Error</html>")
                return
            if fault == "malformed":
                self._send(200, None, b'{"code": 0, "trades": [')
                return
            if fault == "ratelimit":
                self._send(sim.rate_limit_status, sim.rate_limited())
                return
            with sim.lock:
                status, payload = sim.api(
                    method, parts.path, query, body, dict(self.headers.items())
                )
            self._send(status, payload)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


class SimServer:
    """Runs a simulator on host:port (port 0 picks a free one) in a thread."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), _handler(sim))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
