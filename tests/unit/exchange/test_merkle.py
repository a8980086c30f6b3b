"""Merkle roots and inclusion proofs (RFC 9162): every leaf's proof leads to the root, and a
changed leaf, position or proof does not."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baobab.exchange.merkle import _node, inclusion_proof, leaf_hash, merkle_root, root_from_proof


def hashes(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_proof_leads_to_the_root(size: int, data: st.DataObject) -> None:
    leaves = hashes(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = merkle_root(leaves)
    proof = inclusion_proof(index, leaves)
    assert root_from_proof(index, size, leaves[index], proof) == root
    other = hashlib.sha256(b"other").hexdigest()
    assert root_from_proof(index, size, other, proof) != root
    if size > 1:
        assert root_from_proof((index + 1) % size, size, leaves[index], proof) != root
        assert root_from_proof(index, size, leaves[index], proof[:-1]) != root
        assert root_from_proof(index, size, leaves[index], [*proof, proof[0]]) != root


def test_known_shape_of_small_trees() -> None:
    a, b, c = hashes(3)
    assert merkle_root([a]) == leaf_hash(a).hex()
    assert merkle_root([a, b]) == _node(leaf_hash(a), leaf_hash(b)).hex()
    expected = _node(_node(leaf_hash(a), leaf_hash(b)), leaf_hash(c)).hex()
    assert merkle_root([a, b, c]) == expected


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        merkle_root([])
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(3, hashes(3))
    assert root_from_proof(5, 3, hashes(1)[0], []) is None
    assert root_from_proof(0, 2, hashes(1)[0], ["zz"]) is None
