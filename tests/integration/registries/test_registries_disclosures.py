"""The log of personal-data reads is a hash chain per registry: every read that shows personal
fields appends to it, the export carries each link so anyone can re-verify it, and a changed,
forged or removed entry is found by verification. A read, which on PostgreSQL runs without a
transaction around it, cannot append to the audit trail (it could not do so atomically)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from baobab.bootstrap import Platform
from baobab.kernel.audit import AuditEvent
from baobab.kernel.hashchain import GENESIS, link_hash, verify_chain
from baobab.registries import Caller, RegistryService, import_records
from baobab.registries.adapters.sql import SqlRegistriesUnitOfWork
from baobab.registries.bulk import iter_rows
from baobab.registries.disclosure_chain import disclosure_link, disclosure_payload
from baobab.registries.examples import households
from tests.integration.registries.conftest import OPERATOR
from tests.support import START

CODE, V = "social-registry", "1.0"
CLERK = Caller("DEV/GOV/MOSD/clerk")


def read_some(social: RegistryService) -> None:
    """Five reads of personal data by the operator (two of them one search), one by a clerk
    who may not see personal fields (not logged)."""
    import_records(social, OPERATOR, CODE, V, iter_rows(households(6)))
    social.grant(OPERATOR, code=CODE, client_id=CLERK.actor, operations=["read"])
    social.read(OPERATOR, CODE, V, {"household_id": "HH-00000001"})
    social.read_value(OPERATOR, CODE, V, "HH-00000002", "head_name")
    social.search(OPERATOR, CODE, V, filters={}, page_size=2)
    social.history(OPERATOR, CODE, "HH-00000003")
    social.read(CLERK, CODE, V, {"household_id": "HH-00000004"})


def test_personal_reads_form_a_chain_anyone_can_verify(social: RegistryService) -> None:
    read_some(social)
    log = social.disclosures(OPERATOR, CODE)
    assert [d.sequence for d in log] == [1, 2, 3, 4, 5]
    assert [d.operation for d in log] == ["read", "read-value", "search", "search", "history"]
    assert {d.actor for d in log} == {OPERATOR.actor}
    assert log[0].previous_hash == GENESIS
    # re-computed from the export alone, with the formula the documentation gives
    previous = GENESIS
    for entry in log:
        assert entry.previous_hash == previous
        assert entry.hash == link_hash(previous, disclosure_payload(entry, entry.sequence))
        previous = entry.hash
    assert verify_chain(disclosure_link(d) for d in log) is None
    verdict = social.verify(OPERATOR, CODE)
    assert verdict.intact
    assert verdict.disclosures == 5
    # paging by sequence, and one record's entries
    assert [d.sequence for d in social.disclosures(OPERATOR, CODE, after=3)] == [4, 5]
    assert [d.sequence for d in social.disclosures(OPERATOR, CODE, record_id="HH-00000002")] == [
        2,
        4,
    ]


@pytest.mark.parametrize(
    ("tampering", "broken_at", "reason"),
    [
        (
            "UPDATE registries_disclosures SET actor = 'nobody' WHERE sequence = 2",
            2,
            "content does not match its hash",
        ),
        (
            "UPDATE registries_disclosures SET fields = 'size' WHERE sequence = 4",
            4,
            "content does not match its hash",
        ),
        ("DELETE FROM registries_disclosures WHERE sequence = 3", 3, "missing or reordered"),
        ("DELETE FROM registries_disclosures WHERE sequence = 5", 5, "removed"),
        (
            "UPDATE registries_disclosures SET hash = previous_hash WHERE sequence = 1",
            1,
            "content does not match its hash",
        ),
    ],
)
def test_a_tampered_disclosure_is_detected(
    social: RegistryService, wired: Platform, tampering: str, broken_at: int, reason: str
) -> None:
    read_some(social)
    assert social.verify(OPERATOR, CODE).intact
    with wired.db.transaction() as c:
        c.execute(text(tampering))
    verdict = social.verify(OPERATOR, CODE)
    assert not verdict.intact
    assert verdict.first_broken_disclosure == broken_at
    assert verdict.first_broken is None  # the revisions are whole
    assert reason in (verdict.reason or "")


def test_a_forged_entry_with_a_recomputed_hash_breaks_the_next_link(
    social: RegistryService, wired: Platform
) -> None:
    read_some(social)
    second = social.disclosures(OPERATOR, CODE, after=1, limit=1)[0]
    forged = disclosure_payload(second, 2) | {"actor": "nobody"}
    with wired.db.transaction() as c:
        c.execute(
            text(
                "UPDATE registries_disclosures SET actor = 'nobody', hash = :h WHERE sequence = 2"
            ),
            {"h": link_hash(second.previous_hash, forged)},
        )
    verdict = social.verify(OPERATOR, CODE)
    assert not verdict.intact
    assert verdict.first_broken_disclosure == 3
    assert "does not follow" in (verdict.reason or "")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_without_a_transaction_refuses_to_audit(wired: Platform) -> None:
    with SqlRegistriesUnitOfWork(wired.db).reading() as uow, pytest.raises(RuntimeError):
        uow.audit.append(AuditEvent("registries.test", "someone", "x"), at=START)
