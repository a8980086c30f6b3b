"""Blocking: which gallery records are worth comparing with a new one.

Every record is filed under a few *blocking keys* in an in-memory inverted index; a query compares
only the records sharing at least one key, so its cost grows with the number of candidates, not
with the gallery. Keys are built from the prepared record: ``kg`` is the phonetic key of the given
name (for a nickname, also of its full names), ``kf`` the family name's, ``dob*`` the full date
with day and month in sorted order (a day/month swap files together), ``ig``/``if`` the initials:

====  ================================  ============================================
key   made of                           finds duplicates despite
====  ================================  ============================================
D     ``kg`` + dob*, ``kf`` + dob*      errors in either name, swapped names
M     ``kg`` and ``kf`` sorted + year   day or month errors, partial dates
T     dob* + location                   errors in both names
L     ``kg`` + ``if`` + location,       a date error with a misspelled name
      ``kf`` + ``ig`` + location
P     phone                             name and date errors
====  ================================  ============================================

Given and family names make the same keys (no key says which name it came from), so a record
with the two swapped files where the original does. The set was chosen by measuring, on the
synthetic population, the candidates each key brings against the duplicates only it finds: name
pairs without a date, or one name with a place and no initial, found a few more duplicates
(0.7 %) for almost seven times the candidates; the date with the place (``T``) found the pairs
with a typo in both names that FEBRL 3 and 4 hold (recall 0.987 -> 0.991) and changed the
synthetic population's precision by nothing. A key shared by more than ``max_block`` records says
little (a very common name, a phone shared by a clinic) and is skipped at query time; the other
keys still find the duplicates.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from baobab.identity.matching.records import NameForms, PreparedRecord

__all__ = ["BlockIndex", "blocking_keys"]


def _name_keys(name: NameForms | None, *, nicknames: bool) -> list[str]:
    """The phonetic keys of a name (every reading) and, for a given name that is a nickname, of
    its full forms."""
    if name is None or not name.key:
        return []
    keys = sorted(name.keys | name.canonical) if nicknames else sorted(name.keys)
    return [key for key in keys if key]


def blocking_keys(record: PreparedRecord) -> tuple[list[str], list[str]]:
    """The keys ``record`` is filed under and the keys it looks up, in that order.

    The two lists are equal today; they are kept apart so that a key can be looked up without
    being filed (or the reverse) when a country adds an asymmetric one.
    """
    givens = _name_keys(record.given, nicknames=True)
    families = _name_keys(record.family, nicknames=False)
    keys: list[str] = []
    birth = record.birth
    if birth is not None:
        for given in givens:
            for family in families:
                keys.append(f"M{':'.join(sorted((given, family)))}:{birth.year}")
        if birth.day:
            low, high = sorted((birth.month, birth.day))
            keys.extend(f"D{key}:{birth.year}:{low}:{high}" for key in givens + families)
            if record.location is not None:
                keys.append(f"T{birth.year}:{low}:{high}:{record.location}")
    if record.location is not None and record.given is not None and record.family is not None:
        given_initial, family_initial = record.given.text[0], record.family.text[0]
        keys.extend(f"L{key}:{family_initial}:{record.location}" for key in givens)
        keys.extend(f"L{key}:{given_initial}:{record.location}" for key in families)
    if record.phone is not None:
        keys.append("P" + record.phone)
    return keys, keys


class BlockIndex:
    """An inverted index from blocking keys to the slots of the records filed under them."""

    def __init__(self, *, max_block: int) -> None:
        self._max_block = max_block
        self._blocks: dict[str, list[int]] = {}

    def add(self, slot: int, filed: list[str]) -> None:
        """File ``slot`` under each of ``filed``."""
        blocks = self._blocks
        for key in filed:
            block = blocks.get(key)
            if block is None:
                blocks[key] = [slot]
            else:
                block.append(slot)

    def remove(self, slot: int, filed: list[str]) -> None:
        """Take ``slot`` out of each of ``filed``."""
        for key in filed:
            block = self._blocks.get(key)
            if block is not None and slot in block:
                block.remove(slot)
                if not block:
                    del self._blocks[key]

    def candidates(self, looked: list[str]) -> Iterator[int]:
        """Slots sharing a key with ``looked`` (repeats possible), skipping oversized blocks."""
        blocks = self._blocks
        limit = self._max_block
        for key in looked:
            block = blocks.get(key)
            if block is not None and len(block) <= limit:
                yield from block

    def candidates_before(self, looked: list[str], slot: int) -> Iterator[int]:
        """Slots below ``slot`` sharing a key with ``looked``, as :meth:`candidates` would have
        answered before ``slot`` was added, when slots were added in increasing order: a block
        counts as oversized only if it was so then."""
        blocks = self._blocks
        limit = self._max_block
        for key in looked:
            block = blocks.get(key)
            if block is not None:
                earlier = bisect_left(block, slot)
                if earlier <= limit:
                    yield from block[:earlier]

    def __len__(self) -> int:
        return len(self._blocks)
