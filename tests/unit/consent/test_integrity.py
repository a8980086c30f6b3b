"""Property: whatever the history of a consent record, changing any field of any revision, or
dropping any revision, is detected by verification."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baobab.consent import Channel, ConsentRecord
from baobab.consent.domain import StoredState
from baobab.consent.integrity import seal_record, verify_record_history
from baobab.kernel.hashchain import GENESIS
from baobab.kernel.signing import Signer

SIGNER = Signer.generate()
KEYS = {SIGNER.kid: SIGNER.verification_key}
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
CHANGES: dict[str, Any] = {
    "opt_in": None,  # flipped
    "agreement_revision": 99,
    "agreement_revision_hash": "f" * 64,
    "individual": "tok-someone-else",
    "organisation": "DEV/COM/OTHER",
    "channel": Channel.PAPER,
    "at": START - timedelta(days=1),
    "actor": "intruder",
    "given_at": START - timedelta(days=2),
    "expires_at": START + timedelta(days=999),
}


def history(choices: list[bool]) -> list[ConsentRecord]:
    revisions: list[ConsentRecord] = []
    for n, opt_in in enumerate(choices, start=1):
        previous = revisions[-1] if revisions else None
        draft = ConsentRecord(
            record_id="01a21908-0000-7000-8000-000000000001",
            sequence=n,
            organisation="DEV/COM/BANKA",
            agreement_id="01a21908-0000-7000-8000-00000000000a",
            agreement_revision=1,
            agreement_revision_hash="a" * 64,
            individual="tok-alice-0001",
            opt_in=opt_in,
            given_at=START if opt_in else None,
            withdrawn_at=None if opt_in else START,
            expires_at=None,
            channel=Channel.WEB,
            at=START + timedelta(minutes=n),
            actor="portal",
            previous_hash=previous.hash if previous else GENESIS,
            hash="",
            signature="",
        )
        revisions.append(seal_record(draft, SIGNER))
    return revisions


@settings(max_examples=60, deadline=None)
@given(
    choices=st.lists(st.booleans(), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_change_or_removal_is_detected(choices: list[bool], data: st.DataObject) -> None:
    revisions = history(choices)
    assert verify_record_history(StoredState.of(revisions[-1]), revisions, KEYS) is None
    index = data.draw(st.integers(0, len(revisions) - 1))
    field = data.draw(st.sampled_from(sorted(CHANGES)))
    value: Any = CHANGES[field] if field != "opt_in" else not revisions[index].opt_in
    if getattr(revisions[index], field) == value:
        value = CHANGES[field] if field != "given_at" else START - timedelta(days=3)
    tampered = list(revisions)
    tampered[index] = replace(revisions[index], **{field: value})
    current = tampered[-1]
    assert verify_record_history(StoredState.of(current), tampered, KEYS) is not None
    if len(revisions) > 1:
        dropped = revisions[:index] + revisions[index + 1 :]
        assert verify_record_history(StoredState.of(revisions[-1]), dropped, KEYS) is not None


def test_a_signature_by_another_key_is_detected() -> None:
    revisions = history([True, False])
    forged = seal_record(replace(revisions[1], hash="", signature=""), Signer.generate())
    broken = verify_record_history(StoredState.of(forged), [revisions[0], forged], KEYS)
    assert broken is not None
    assert (broken.sequence, broken.reason) == (2, "the signature does not sign this revision")
