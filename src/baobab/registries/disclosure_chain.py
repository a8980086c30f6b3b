"""The chain of a registry's disclosures (reads of personal data): each entry commits with
SHA-256 to the one before it (:mod:`baobab.kernel.hashchain`), so a changed, removed or
reordered entry is detected, like a changed revision.

An entry's hash is ``SHA-256(previous_hash_bytes || canonical_json(payload))`` where the payload
is ``{"registry", "sequence", "id", "record_id", "actor", "at", "operation", "fields"}``, ``at``
being the ISO 8601 text of the time in UTC and ``fields`` the list of field names read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC
from typing import Any

from baobab.kernel.hashchain import Link, link_hash
from baobab.registries.domain import Disclosure


def disclosure_payload(entry: Disclosure, sequence: int) -> dict[str, Any]:
    """What a disclosure's hash commits to."""
    return {
        "registry": entry.registry,
        "sequence": sequence,
        "id": entry.id,
        "record_id": entry.record_id,
        "actor": entry.actor,
        "at": entry.at.astimezone(UTC).isoformat(),
        "operation": entry.operation,
        "fields": list(entry.fields),
    }


def chain_disclosures(head: tuple[int, str], entries: Sequence[Disclosure]) -> list[Disclosure]:
    """``entries`` appended after the chain head ``(sequence, hash)``, in order."""
    sequence, previous = head
    chained = []
    for entry in entries:
        sequence += 1
        digest = link_hash(previous, disclosure_payload(entry, sequence))
        chained.append(replace(entry, sequence=sequence, previous_hash=previous, hash=digest))
        previous = digest
    return chained


def disclosure_link(entry: Disclosure) -> Link:
    """A stored disclosure as a link of its chain, for verification."""
    return Link(
        entry.sequence, entry.previous_hash, disclosure_payload(entry, entry.sequence), entry.hash
    )
