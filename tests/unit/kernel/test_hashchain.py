"""The SHA-256 hash chain: a whole chain verifies, and any change names the first broken link."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from baobab.kernel.hashchain import (
    GENESIS,
    ChainBreak,
    Link,
    canonical_json,
    link_hash,
    verify_chain,
)


def build_chain(payloads: Sequence[Mapping[str, Any]], *, start: int = 1) -> list[Link]:
    links: list[Link] = []
    previous = GENESIS
    for offset, payload in enumerate(payloads):
        digest = link_hash(previous, payload)
        links.append(Link(start + offset, previous, payload, digest))
        previous = digest
    return links


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
payloads = st.dictionaries(st.text(max_size=6), json_scalars, max_size=4)
chains = st.lists(payloads, min_size=1, max_size=8).map(build_chain)


def test_genesis_is_32_zero_bytes() -> None:
    assert bytes.fromhex(GENESIS) == bytes(32)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": "é", "a": 1, "c": [1, {"z": 0, "y": None}]}) == (
        '{"a":1,"b":"é","c":[1,{"y":null,"z":0}]}'.encode()
    )


def test_link_hash_is_sha256_of_previous_bytes_and_canonical_json() -> None:
    expected = "f1375beace8cde0d4a163f3938c0ace579778d3adc9bd6a99ea9d06702b066b1"
    assert link_hash(GENESIS, {"b": "é", "a": 1}) == expected
    assert expected == hashlib.sha256(bytes(32) + '{"a":1,"b":"é"}'.encode()).hexdigest()


def test_link_hash_depends_on_the_previous_hash() -> None:
    assert link_hash(GENESIS, {"a": 1}) != link_hash("11" * 32, {"a": 1})


def test_an_empty_chain_is_whole() -> None:
    assert verify_chain([]) is None


def test_a_built_chain_verifies() -> None:
    links = build_chain([{"n": 1}, {"n": 2}, {"n": 3}])
    assert [link.sequence for link in links] == [1, 2, 3]
    assert links[1].previous_hash == links[0].hash
    assert verify_chain(links) is None
    assert verify_chain(iter(links)) is None


def test_start_sequence_sets_the_first_expected_number() -> None:
    links = build_chain([{"n": 1}, {"n": 2}], start=0)
    assert verify_chain(links, start_sequence=0) is None
    assert verify_chain(links) == ChainBreak(1, "entry 1 is missing or reordered")


@given(st.dictionaries(st.text(max_size=6), json_scalars, max_size=6))
def test_canonical_json_does_not_depend_on_key_order(payload: dict[str, Any]) -> None:
    reordered = dict(reversed(list(payload.items())))
    assert canonical_json(reordered) == canonical_json(payload)
    assert link_hash(GENESIS, reordered) == link_hash(GENESIS, payload)


@given(chains)
def test_any_built_chain_verifies(links: list[Link]) -> None:
    assert verify_chain(links) is None


@given(chains, st.data())
def test_a_changed_payload_is_detected_at_its_link(links: list[Link], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(links) - 1))
    new_payload = data.draw(payloads)
    assume(canonical_json(new_payload) != canonical_json(links[i].payload))
    links[i] = replace(links[i], payload=new_payload)
    assert verify_chain(links) == ChainBreak(i + 1, "content does not match its hash")


@given(chains, st.data())
def test_an_edited_hash_is_detected_at_its_link(links: list[Link], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(links) - 1))
    new_hash = data.draw(st.binary(min_size=32, max_size=32)).hex()
    assume(new_hash != links[i].hash)
    links[i] = replace(links[i], hash=new_hash)
    assert verify_chain(links) == ChainBreak(i + 1, "content does not match its hash")


@given(chains, st.data())
def test_an_edited_previous_hash_is_detected_at_its_link(
    links: list[Link], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(links) - 1))
    new_previous = data.draw(st.binary(min_size=32, max_size=32)).hex()
    assume(new_previous != links[i].previous_hash)
    links[i] = replace(links[i], previous_hash=new_previous)
    assert verify_chain(links) == ChainBreak(i + 1, "does not follow the entry before it")


@given(st.lists(payloads, min_size=2, max_size=8).map(build_chain), st.data())
def test_a_removed_link_is_detected(links: list[Link], data: st.DataObject) -> None:
    # The last link is not eligible: dropping the tail leaves a shorter chain that is whole,
    # which verify_chain alone cannot tell from a chain that was never longer.
    i = data.draw(st.integers(0, len(links) - 2))
    del links[i]
    assert verify_chain(links) == ChainBreak(i + 1, f"entry {i + 1} is missing or reordered")


@given(st.lists(payloads, min_size=2, max_size=8).map(build_chain), st.data())
def test_swapped_links_are_detected(links: list[Link], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(links) - 2))
    j = data.draw(st.integers(i + 1, len(links) - 1))
    links[i], links[j] = links[j], links[i]
    assert verify_chain(links) == ChainBreak(i + 1, f"entry {i + 1} is missing or reordered")


@given(st.lists(payloads, min_size=2, max_size=8), st.data())
def test_renumbered_links_after_a_removal_are_detected(
    contents: list[Mapping[str, Any]], data: st.DataObject
) -> None:
    # A forger who removes a link and renumbers the rest still breaks the predecessor hash.
    links = build_chain(contents)
    i = data.draw(st.integers(0, len(links) - 2))
    del links[i]
    renumbered = [replace(link, sequence=n) for n, link in enumerate(links, start=1)]
    assert verify_chain(renumbered) == ChainBreak(i + 1, "does not follow the entry before it")
