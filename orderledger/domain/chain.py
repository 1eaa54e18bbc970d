"""The tamper-evident chain: each event's hash covers its content and the
hash of the event before it in the same order (the first links to GENESIS).

The canonical form, so a third party can verify with their own script:

    canonical = JSON of {"order": <order id, 32 lower-case hex>,
                         "version": <int>, "topic": <str>,
                         "content": <the stored event's JSON object without
                                     "chain_prev" and "chain_hash">}
                with keys sorted, separators "," and ":", non-ASCII kept
                (ensure_ascii=False), encoded as UTF-8
    chain_hash = lower-case hex SHA-256 of  (chain_prev + "\\n").encode() + canonical

Times and decimals inside `content` are exactly as stored (eventsourcing
writes {"_type_": …, "_data_": …} objects for them): the hash is over the
stored content, not over a re-rendering of it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
CHAIN_FIELDS = ("chain_prev", "chain_hash")


def canonical(
    order_key: str, version: int, topic: str, content: dict[str, Any]
) -> bytes:
    body = {k: v for k, v in content.items() if k not in CHAIN_FIELDS}
    document = {"order": order_key, "version": version, "topic": topic, "content": body}
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def link(prev: str, canonical_form: bytes) -> str:
    return hashlib.sha256(prev.encode("ascii") + b"\n" + canonical_form).hexdigest()


def merkle_root(leaves: list[str]) -> str:
    """Root over hex leaves (in the given order): pairs hashed up, an odd one
    carried; the root of nothing is GENESIS."""
    level = [bytes.fromhex(leaf) for leaf in leaves]
    if not level:
        return GENESIS
    while len(level) > 1:
        level = [
            hashlib.sha256(level[i] + level[i + 1]).digest()
            if i + 1 < len(level)
            else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0].hex()


def head_leaf(order_key: str, version: int, head_hash: str) -> str:
    return hashlib.sha256(f"{order_key}:{version}:{head_hash}".encode()).hexdigest()
