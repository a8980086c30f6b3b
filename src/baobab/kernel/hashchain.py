"""A SHA-256 hash chain: each link commits to its predecessor, so any change, removal or
reordering of a link breaks every hash after it.

``link_hash(previous, payload)`` is ``SHA-256(previous_hash_bytes || canonical_json(payload))``;
the first link's predecessor is :data:`GENESIS` (32 zero bytes, hex).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Deterministic JSON (sorted keys, no spaces, UTF-8) so a hash does not depend on key order."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(previous: str, payload: Mapping[str, Any], *, encoded: bytes | None = None) -> str:
    """The hash of a link holding ``payload`` that follows a link whose hash is ``previous``;
    ``encoded``, if given, is ``canonical_json(payload)`` already made (a writer that stores it
    makes it once)."""
    data = canonical_json(payload) if encoded is None else encoded
    return hashlib.sha256(bytes.fromhex(previous) + data).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    """One stored link: position, claimed predecessor hash, payload and its own hash."""

    sequence: int
    previous_hash: str
    payload: Mapping[str, Any]
    hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first link at which a chain stops being consistent, and why."""

    sequence: int
    reason: str


def verify_chain(links: Iterable[Link], *, start_sequence: int = 1) -> ChainBreak | None:
    """Walk ``links`` in order and return the first break, or ``None`` if the chain is whole.

    Detects a changed payload or hash (the hash no longer matches), a removed or reordered link
    (the sequence skips or the predecessor hash does not match).
    """
    expected_previous = GENESIS
    expected_sequence = start_sequence
    for link in links:
        if link.sequence != expected_sequence:
            return ChainBreak(
                expected_sequence, f"entry {expected_sequence} is missing or reordered"
            )
        if link.previous_hash != expected_previous:
            return ChainBreak(link.sequence, "does not follow the entry before it")
        if link_hash(link.previous_hash, link.payload) != link.hash:
            return ChainBreak(link.sequence, "content does not match its hash")
        expected_previous = link.hash
        expected_sequence += 1
    return None
