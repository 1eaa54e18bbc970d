"""Verify the hash chains, compute and compare ledger digests.

What each finding means:
- content_edited: the event's stored content no longer hashes to its hash;
- reordered: the event hashes correctly only at another version (moved);
- event_deleted: versions are missing in the middle of the order;
- event_inserted: an event that does not belong to the order's chain (forged,
  or copied from another order) was added;
- chain_broken: a well-formed event does not link to the one before it;
- undecodable: the stored bytes are not a JSON object any more (damaged or
  overwritten): nothing in them can be checked;
- unchained: the event carries no hash (recorded before hashing began);
- order_truncated / order_removed / head_changed: against a saved digest, the
  order lost its last events, disappeared, or its head was rewritten.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table

from orderledger.audit.chainscan import (
    UNDECODABLE,
    Progress,
    StoredOrderEvent,
    orders,
)
from orderledger.domain.chain import GENESIS, head_leaf, link, merkle_root
from orderledger.domain.errors import InvalidInput
from orderledger.projections.log import safe_head
from orderledger.store.canonical import fast_canonical

DIGEST_FORMAT = "orderledger-digest-1"


@dataclass(frozen=True)
class Finding:
    order_key: str
    order_no: str
    version: int | None
    kind: str
    detail: str


@dataclass
class VerifyReport:
    orders: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_data(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "orders": self.orders,
            "events": self.events,
            "findings": [asdict(f) for f in self.findings],
        }


def _order_no(events: list[StoredOrderEvent]) -> str:
    """The order number (or, in the catalog's log, the SKU or the list)."""
    for e in events:
        if e.version == 1:
            c = e.content
            return str(c.get("order_no") or c.get("sku") or c.get("kind") or "")
    return ""


def _hash_at(order_key: str, e: StoredOrderEvent, version: int) -> str:
    prev = str(e.content.get("chain_prev", ""))
    return link(prev, fast_canonical(order_key, version, e.topic, e.content))


def check_order(order_key: str, events: list[StoredOrderEvent]) -> list[Finding]:
    """Every problem in one order's chain, named and placed."""
    found: list[Finding] = []
    order_no = _order_no(events)

    def report(version: int | None, kind: str, detail: str) -> None:
        found.append(Finding(order_key, order_no, version, kind, detail))

    prev_hash, expected = GENESIS, 1
    seen: set[str] = {GENESIS}
    after_problem = False  # the event before was flagged: don't blame the next for it
    for e in events:
        stored = e.content.get("chain_hash")
        before = len(found)
        gap = e.version > expected
        if gap:
            missing = ", ".join(str(v) for v in range(expected, e.version))
            detail = f"version(s) {missing} missing before {e.version}"
            report(e.version, "event_deleted", detail)
        if e.content.get(UNDECODABLE):
            report(e.version, "undecodable", "the stored event is not JSON any more")
            prev_hash, expected, after_problem = "", e.version + 1, True
            continue
        if stored is None:
            report(e.version, "unchained", "no hash: recorded before hashing began")
            prev_hash, expected, after_problem = "", e.version + 1, True
            continue
        link_to = e.content.get("chain_prev")
        if _hash_at(order_key, e, e.version) != stored:
            moved = [
                v
                for v in (e.version - 1, e.version + 1)
                if v > 0 and _hash_at(order_key, e, v) == stored
            ]
            if moved:
                detail = f"the event recorded as version {moved[0]} sits at {e.version}"
                report(e.version, "reordered", detail)
            elif link_to not in seen and not gap:
                detail = "an event that does not belong to this order's chain was added"
                report(e.version, "event_inserted", detail)
            else:
                detail = "the stored content does not match its hash"
                report(e.version, "content_edited", detail)
        elif (
            link_to != prev_hash and not gap and not (after_problem and link_to in seen)
        ):
            report(e.version, "chain_broken", "does not link to the event before it")
        after_problem = len(found) > before
        seen.add(str(stored))
        prev_hash, expected = str(stored), e.version + 1
    return found


def verify(
    engine: Engine,
    events: Table,
    *,
    only: str | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    report = VerifyReport()
    for order_key, order_events in orders(engine, events, only=only, progress=progress):
        report.orders += 1
        report.events += len(order_events)
        report.findings += check_order(order_key, order_events)
    return report


def heads(
    engine: Engine, events: Table, position: int, progress: Progress | None = None
) -> dict[str, list[Any]]:
    """Each order's [version, chain hash, order number] as of `position`."""
    found: dict[str, list[Any]] = {}
    for order_key, order_events in orders(
        engine, events, up_to=position, progress=progress
    ):
        last = order_events[-1]
        found[order_key] = [
            last.version,
            str(last.content.get("chain_hash", "")),
            _order_no(order_events),
        ]
    return found


def digest(
    engine: Engine, events: Table, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Every order's chain head up to the log's head, and their Merkle root."""
    with engine.connect() as conn:
        position = safe_head(conn, events)
    found = heads(engine, events, position, progress)
    return {
        "format": DIGEST_FORMAT,
        "position": position,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "orders": len(found),
        "root": _root(found),
        "heads": found,
    }


def _root(found: dict[str, list[Any]]) -> str:
    return merkle_root(
        [head_leaf(k, int(v[0]), str(v[1])) for k, v in sorted(found.items())]
    )


def _well_formed(data: dict[str, Any]) -> bool:
    heads = data.get("heads")
    return (
        type(data.get("position")) is int
        and isinstance(data.get("root"), str)
        and isinstance(heads, dict)
        and all(
            isinstance(v, list)
            and len(v) == 3
            and type(v[0]) is int
            and all(isinstance(x, str) for x in v[1:])
            for v in heads.values()
        )
    )


def load_digest(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput("the digest file is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != DIGEST_FORMAT:
        raise InvalidInput(f"the digest file is not an {DIGEST_FORMAT} file")
    if not _well_formed(data):
        raise InvalidInput(
            "the digest file is malformed: it needs a whole `position`, a text "
            "`root` and `heads` of [version, hash, order number]"
        )
    if _root(data["heads"]) != data["root"]:
        raise InvalidInput(
            "the digest file is inconsistent: its heads do not give its root"
        )
    return data


def compare_with_digest(
    engine: Engine, events: Table, saved: dict[str, Any], report: VerifyReport
) -> None:
    """What changed since the digest: truncated, removed or rewritten orders."""
    current = heads(engine, events, int(saved["position"]))
    flagged = {f.order_key for f in report.findings}
    for key, (version, head_hash, order_no) in saved["heads"].items():
        if key not in current:
            detail = "the order has no events any more"
            report.findings.append(
                Finding(key, order_no, None, "order_removed", detail)
            )
            continue
        now_version, now_hash, _ = current[key]
        if now_version < version:
            detail = f"had {version} events at the digest, now {now_version}"
            report.findings.append(
                Finding(key, order_no, now_version, "order_truncated", detail)
            )
        elif now_hash != head_hash and key not in flagged:
            detail = "the chain head differs from the digest"
            report.findings.append(
                Finding(key, order_no, version, "head_changed", detail)
            )
