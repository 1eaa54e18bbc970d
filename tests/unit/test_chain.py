"""The canonical form and the hashes a third party would recompute."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orderledger.domain.chain import GENESIS, canonical, head_leaf, link, merkle_root
from orderledger.store.canonical import fast_canonical

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(content=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_the_fast_canonical_form_is_byte_for_byte_the_documented_one(
    content: dict[str, Any],
) -> None:
    assert fast_canonical("ab" * 16, 3, "t:T.v1", content) == canonical(
        "ab" * 16, 3, "t:T.v1", content
    )


def test_a_third_party_can_recompute_a_hash_with_plain_json_and_sha256() -> None:
    content = {"amount": "1.00", "actor": "张三", "chain_prev": "x", "chain_hash": "y"}

    mine = link(GENESIS, canonical("00" * 16, 1, "t:Created.v1", content))

    document = {"content": {"actor": "张三", "amount": "1.00"}, "order": "00" * 16,
                "topic": "t:Created.v1", "version": 1}  # fmt: skip
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    theirs = hashlib.sha256(("0" * 64 + "\n").encode() + text.encode()).hexdigest()
    assert mine == theirs


def test_the_merkle_root_depends_on_every_head() -> None:
    leaves = [head_leaf(f"{i:032x}", i + 1, "ab" * 32) for i in range(5)]

    root = merkle_root(leaves)

    assert root != merkle_root(leaves[:4]) and root != merkle_root(
        [*leaves[:4], leaves[3]]
    )
    assert merkle_root([]) == GENESIS and merkle_root(leaves[:1]) == leaves[0]
