"""Blocking keys and the inverted index."""

from __future__ import annotations

from dataclasses import replace

from baobab.identity.matching import PersonRecord
from baobab.identity.matching.blocking import BlockIndex, blocking_keys
from baobab.identity.matching.records import prepare
from tests.unit.identity.matching.records import AMINA


def shares_a_key(left: PersonRecord, right: PersonRecord) -> bool:
    filed = set(blocking_keys(prepare(left))[0])
    return bool(filed & set(blocking_keys(prepare(right))[1]))


def test_common_errors_still_share_a_key() -> None:
    variants = [
        replace(AMINA, given_name=AMINA.family_name, family_name=AMINA.given_name, phone=None),
        replace(AMINA, birth_date="1990-07-03", phone=None, location=None),
        replace(AMINA, family_name="Odiambo", phone=None, location=None),
        replace(AMINA, birth_date="1990", phone=None, family_name="Otieno"),
        replace(AMINA, birth_date=None, phone=None, family_name="Odhiambu"),
        replace(AMINA, given_name="Aminah", family_name="Otieno", birth_date=None),
    ]
    for variant in variants:
        assert shares_a_key(AMINA, variant), variant


def test_a_nickname_files_with_its_full_name() -> None:
    william = PersonRecord("w", "William", "Ruto", birth_date="1966-12-21")
    bill = PersonRecord("b", "Bill", "Rutto", birth_date="1966-12-21")
    assert shares_a_key(william, bill)


def test_strangers_share_no_key() -> None:
    stranger = PersonRecord("x", "Brian", "Kamau", birth_date="1971-11-30", phone="0700000001")
    assert not shares_a_key(AMINA, stranger)


def test_the_index_skips_oversized_blocks_and_forgets_removed_slots() -> None:
    index = BlockIndex(max_block=2)
    index.add(1, ["common", "rare"])
    index.add(2, ["common"])
    index.add(3, ["common"])
    assert sorted(index.candidates(["common", "rare"])) == [1]
    index.remove(3, ["common"])
    assert sorted(index.candidates(["common"])) == [1, 2]
    index.remove(1, ["common", "rare"])
    index.remove(1, ["rare"])  # removing twice is harmless
    assert list(index.candidates(["rare"])) == []
    assert len(index) == 1
