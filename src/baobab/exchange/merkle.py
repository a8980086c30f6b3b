"""Merkle trees over log entry hashes, as Certificate Transparency builds them (RFC 9162, 2.1).

A leaf is ``SHA-256(0x00 || entry_hash)``, an inner node ``SHA-256(0x01 || left || right)``; a
tree of ``n`` leaves splits at the largest power of two below ``n``. An inclusion proof is the
list of sibling hashes from the leaf up; :func:`root_from_proof` rebuilds the root from it, so a
third party can check that one entry is under a signed root without seeing the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(entry_hash: str) -> bytes:
    """The Merkle leaf of a log entry, given the entry's hex hash."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def merkle_root(entry_hashes: Sequence[str]) -> str:
    """The hex root over entries' hashes, in order. At least one entry."""
    if not entry_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    return _root([leaf_hash(h) for h in entry_hashes]).hex()


def _path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


def inclusion_proof(index: int, entry_hashes: Sequence[str]) -> list[str]:
    """Sibling hashes (hex, leaf upwards) proving entry ``index`` (0-based) is in the tree."""
    if not 0 <= index < len(entry_hashes):
        raise ValueError("leaf index outside the tree")
    return [h.hex() for h in _path(index, [leaf_hash(h) for h in entry_hashes])]


def root_from_proof(index: int, size: int, entry_hash: str, proof: Sequence[str]) -> str | None:
    """The root that ``proof`` leads to from entry ``index`` of a tree of ``size`` leaves, or
    ``None`` if the proof has the wrong shape (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < size:
        return None
    try:
        siblings = [bytes.fromhex(p) for p in proof]
    except ValueError:
        return None
    fn, sn = index, size - 1
    node = leaf_hash(entry_hash)
    for sibling in siblings:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return node.hex() if sn == 0 else None
