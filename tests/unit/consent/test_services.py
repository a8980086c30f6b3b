"""Consent use cases against in-memory fakes: agreements are versioned, consent is chained and
signed, the check follows every change at once, and bad input changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from baobab.consent import (
    AgreementInactive,
    Channel,
    CheckNotPermitted,
    ConsentNotApplicable,
    ConsentService,
    ForeignIndividual,
    InvalidAgreement,
    InvalidIndividualToken,
    LawfulBasis,
    OptOutNotAllowed,
    UnknownAgreement,
    UnknownRecord,
)
from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import BaobabError, InvalidInput
from baobab.kernel.principal import Principal
from baobab.kernel.signing import Signer
from tests.support import START
from tests.unit.consent.examples import ALICE, BANK, BOB, OTHER_BANK, terms
from tests.unit.consent.fakes import FakeConsent

WEB = Channel.WEB


@pytest.fixture
def world() -> FakeConsent:
    return FakeConsent()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def service(world: FakeConsent, clock: ManualClock, signer: Signer) -> ConsentService:
    return ConsentService(uow=world.uow, reader=world.reader, clock=clock, signer=signer)


def unchanged(world: FakeConsent, action: Any, error: type[BaobabError]) -> BaobabError:
    """Run ``action``, expect ``error``, and check that the committed state did not move."""
    before = repr(world.state)
    with pytest.raises(error) as caught:
        action()
    assert repr(world.state) == before
    return caught.value


def ekyc(service: ConsentService, **changes: Any) -> str:
    return service.agreements.create(
        actor="bank-admin", organisation=BANK, terms=terms(**changes)
    ).agreement_id


def check(service: ConsentService, agreement_id: str, *, individual: str = ALICE, **kw: str) -> Any:
    return service.check(
        individual=individual,
        agreement_id=agreement_id,
        purpose=kw.get("purpose", "ekyc"),
        recipient=kw.get("recipient", BANK),
    )


def test_withdrawal_takes_effect_for_the_very_next_check(
    service: ConsentService, world: FakeConsent
) -> None:
    agreement = ekyc(service)
    assert check(service, agreement).reason == "no_consent"
    given = service.give(
        actor="portal", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    decision = check(service, agreement)
    assert (decision.allowed, decision.reason) == (True, "consent_given")
    assert (decision.record_id, decision.record_sequence) == (given.record_id, 1)
    withdrawn = service.withdraw(
        actor="portal", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert (withdrawn.record_id, withdrawn.sequence, withdrawn.state) == (
        given.record_id,
        2,
        "withdrawn",
    )
    decision = check(service, agreement)
    assert (decision.allowed, decision.reason) == (False, "withdrawn")
    assert world.reader.reads == 3  # every check read the store: nothing was cached
    assert world.actions() == [
        "consent.agreement_created",
        "consent.individual_registered",
        "consent.given",
        "consent.withdrawn",
    ]
    assert service.verify_record(given.record_id) is None


def test_records_are_chained_and_signed_revisions(
    service: ConsentService, world: FakeConsent, signer: Signer, clock: ManualClock
) -> None:
    agreement = ekyc(service)
    for opt_in in (True, False, True):
        clock.advance(timedelta(minutes=1))
        service.choose(
            actor="portal",
            organisation=BANK,
            agreement_id=agreement,
            individual=ALICE,
            opt_in=opt_in,
            channel=Channel.USSD,
        )
    record = service.record_for(BANK, ALICE, agreement)
    history = service.history(BANK, record.record_id)
    assert [r.sequence for r in history] == [1, 2, 3]
    assert [r.state for r in history] == ["given", "withdrawn", "given"]
    assert history[1].previous_hash == history[0].hash
    assert history[2].previous_hash == history[1].hash
    assert history[1].withdrawn_at == START + timedelta(minutes=2)
    assert history[2].given_at == START + timedelta(minutes=3)
    assert history[-1] == record
    assert all(r.signature.count(".") == 2 for r in history)
    assert service.verify_record(record.record_id) is None
    other_instance = ConsentService(
        uow=world.uow, reader=world.reader, clock=clock, signer=Signer.generate()
    )
    broken = other_instance.verify_record(record.record_id)
    assert broken is not None
    assert broken.reason == "the signature does not sign this revision"
    rotated = ConsentService(
        uow=world.uow,
        reader=world.reader,
        clock=clock,
        signer=Signer.generate(),
        verification_keys=[signer.verification_key],  # the instance's previous key
    )
    assert rotated.verify_record(record.record_id) is None


def test_saying_the_same_again_appends_nothing(service: ConsentService, world: FakeConsent) -> None:
    agreement = ekyc(service)
    first = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    again = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert again == first
    assert len(service.history(BANK, first.record_id)) == 1
    assert world.actions().count("consent.given") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opt_in", False),
        ("agreement_revision", 7),
        ("individual", BOB),
        ("at", START + timedelta(seconds=1)),
        ("channel", Channel.PAPER),
        ("expires_at", START + timedelta(days=1)),
    ],
)
def test_a_changed_revision_is_detected(
    service: ConsentService, world: FakeConsent, field: str, value: Any
) -> None:
    agreement = ekyc(service)
    for opt_in in (True, False):
        service.choose(
            actor="p",
            organisation=BANK,
            agreement_id=agreement,
            individual=ALICE,
            opt_in=opt_in,
            channel=WEB,
        )
    record = service.record_for(BANK, ALICE, agreement)
    revisions = world.state.revisions[record.record_id]
    changes: dict[str, Any] = {field: value}
    revisions[0] = replace(revisions[0], **changes)
    broken = service.verify_record(record.record_id)
    assert broken is not None
    assert (broken.sequence, broken.reason) == (1, "content does not match its hash")


def test_a_removed_revision_and_a_changed_current_state_are_detected(
    service: ConsentService, world: FakeConsent
) -> None:
    agreement = ekyc(service)
    for opt_in in (True, False, True):
        service.choose(
            actor="p",
            organisation=BANK,
            agreement_id=agreement,
            individual=ALICE,
            opt_in=opt_in,
            channel=WEB,
        )
    record = service.record_for(BANK, ALICE, agreement)
    # the check reads the current state: flipping it must not go unnoticed
    world.state.current[(agreement, ALICE)] = replace(record, opt_in=False)
    broken = service.verify_record(record.record_id)
    assert broken is not None
    assert broken.reason == "the current state is not the newest revision"
    world.state.current[(agreement, ALICE)] = record
    del world.state.revisions[record.record_id][1]
    broken = service.verify_record(record.record_id)
    assert broken is not None
    assert broken.sequence == 2
    count, failures = service.verify_all()
    assert count == 1
    assert [f.record_id for f in failures] == [record.record_id]


def test_agreement_revisions_are_appended_never_rewritten(
    service: ConsentService, world: FakeConsent, clock: ManualClock
) -> None:
    first = service.agreements.create(actor="admin", organisation=BANK, terms=terms())
    clock.advance(timedelta(days=1))
    second = service.agreements.revise(
        actor="admin",
        organisation=BANK,
        agreement_id=first.agreement_id,
        terms=terms(retention_days=30),
    )
    history = service.agreements.history(BANK, first.agreement_id)
    assert history == [first, second]
    assert second.previous_hash == first.hash
    assert service.agreements.get(BANK, first.agreement_id) == second
    assert service.agreements.verify(BANK, first.agreement_id) is None
    world.state.agreements[first.agreement_id][0] = replace(first, terms=terms(retention_days=9))
    broken = service.agreements.verify(BANK, first.agreement_id)
    assert broken is not None
    assert broken.sequence == 1


def test_old_consent_does_not_authorise_a_new_revision_unless_the_agreement_says_so(
    service: ConsentService,
) -> None:
    agreement = ekyc(service)
    service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    service.agreements.revise(
        actor="admin", organisation=BANK, agreement_id=agreement, terms=terms(retention_days=30)
    )
    decision = check(service, agreement)
    assert (decision.allowed, decision.reason, decision.agreement_revision) == (
        False,
        "revision_not_covered",
        2,
    )
    service.agreements.revise(
        actor="admin",
        organisation=BANK,
        agreement_id=agreement,
        terms=terms(retention_days=20, compatible_from=1),
    )
    assert check(service, agreement).allowed
    renewed = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert (renewed.sequence, renewed.agreement_revision) == (2, 3)


def test_the_check_matches_purpose_and_recipient(service: ConsentService) -> None:
    agreement = ekyc(service, recipients=(BANK, "DEV/GOV/MOF/kyc"))
    service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert check(service, agreement, recipient=f"{BANK}/onboarding").allowed
    assert check(service, agreement, recipient="DEV/GOV/MOF/kyc").allowed
    assert check(service, agreement, recipient="DEV/GOV/MOF").reason == "recipient_not_named"
    assert check(service, agreement, recipient="DEV/COM/BANKAB").reason == "recipient_not_named"
    assert check(service, agreement, purpose="marketing").reason == "purpose_mismatch"
    assert check(service, agreement, individual=BOB).reason == "no_consent"


def test_consent_lapses_after_its_validity_and_can_be_renewed(
    service: ConsentService, clock: ManualClock
) -> None:
    agreement = ekyc(service, validity_days=30)
    given = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert given.expires_at == START + timedelta(days=30)
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert check(service, agreement).allowed
    clock.advance(timedelta(seconds=1))
    assert check(service, agreement).reason == "expired"
    renewed = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    assert renewed.sequence == 2
    assert check(service, agreement).allowed


def test_other_lawful_bases(service: ConsentService) -> None:
    interest = ekyc(service, lawful_basis=LawfulBasis.LEGITIMATE_INTEREST)
    assert check(service, interest).reason == "legitimate_interest"
    objection = service.withdraw(
        actor="p", organisation=BANK, agreement_id=interest, individual=ALICE, channel=WEB
    )
    assert objection.state == "refused"
    assert (check(service, interest).allowed, check(service, interest).reason) == (
        False,
        "objected",
    )
    duty = ekyc(service, lawful_basis=LawfulBasis.LEGAL_OBLIGATION)
    assert check(service, duty).allowed
    service.agreements.retire(actor="admin", organisation=BANK, agreement_id=duty)
    assert check(service, duty).reason == "agreement_inactive"


def test_bad_input_gets_a_specific_error_and_changes_nothing(
    service: ConsentService, world: FakeConsent
) -> None:
    agreement = ekyc(service)
    duty = ekyc(service, lawful_basis=LawfulBasis.LEGAL_OBLIGATION)
    service.register_individual(actor="other", organisation=OTHER_BANK, token=BOB)
    retired = ekyc(service)
    service.agreements.retire(actor="admin", organisation=BANK, agreement_id=retired)

    def give(agreement_id: str, individual: str = ALICE, org: str = BANK) -> Any:
        return lambda: service.give(
            actor="p",
            organisation=org,
            agreement_id=agreement_id,
            individual=individual,
            channel=WEB,
        )

    cases: list[tuple[Any, type[BaobabError], str]] = [
        (give("no-such-agreement"), UnknownAgreement, "consent.unknown_agreement"),
        (give(agreement, org=OTHER_BANK), UnknownAgreement, "consent.unknown_agreement"),
        (give(agreement, individual=BOB), ForeignIndividual, "consent.foreign_individual"),
        (
            give(agreement, individual="123"),
            InvalidIndividualToken,
            "consent.invalid_individual_token",
        ),
        (give(duty), ConsentNotApplicable, "consent.consent_not_applicable"),
        (give(retired), AgreementInactive, "consent.agreement_inactive"),
        (
            lambda: service.withdraw(
                actor="p", organisation=BANK, agreement_id=duty, individual=ALICE, channel=WEB
            ),
            OptOutNotAllowed,
            "consent.opt_out_not_allowed",
        ),
        (
            lambda: service.agreements.revise(
                actor="x", organisation=OTHER_BANK, agreement_id=agreement, terms=terms()
            ),
            UnknownAgreement,
            "consent.unknown_agreement",
        ),
        (
            lambda: service.agreements.revise(
                actor="x", organisation=BANK, agreement_id=agreement, terms=terms(compatible_from=5)
            ),
            InvalidAgreement,
            "consent.invalid_agreement",
        ),
        (
            lambda: service.agreements.create(
                actor="x", organisation=BANK, terms=terms(compatible_from=2)
            ),
            InvalidAgreement,
            "consent.invalid_agreement",
        ),
    ]
    for action, error, code in cases:
        assert unchanged(world, action, error).code == code


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"purpose": "Not A Code"}, "purpose must be a code"),
        ({"attributes": ()}, "at least one data attribute"),
        ({"recipients": ()}, "at least one data recipient"),
        ({"recipients": ("nobody",)}, "is not a member"),
        ({"recipients": (BANK, BANK)}, "recipients must be unique"),
        ({"retention_days": -1}, "retention_days"),
        ({"validity_days": 0}, "validity_days must be"),
        (
            {"validity_days": 5, "lawful_basis": LawfulBasis.PUBLIC_TASK},
            "applies only to agreements based on consent",
        ),
        ({"purpose_description": " "}, "purpose_description"),
    ],
)
def test_invalid_terms_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAgreement, match=message):
        terms(**changes)


def test_an_organisation_sees_only_its_own(service: ConsentService) -> None:
    agreement = ekyc(service)
    record = service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    with pytest.raises(UnknownAgreement):
        service.agreements.get(OTHER_BANK, agreement)
    with pytest.raises(UnknownRecord):
        service.get_record(OTHER_BANK, record.record_id)
    with pytest.raises(UnknownRecord):
        service.history(OTHER_BANK, record.record_id)
    with pytest.raises(UnknownRecord):
        service.export(OTHER_BANK, record.record_id)
    with pytest.raises(UnknownRecord):
        service.verify_record(record.record_id, organisation=OTHER_BANK)
    with pytest.raises(ForeignIndividual):
        service.records_of(OTHER_BANK, ALICE)
    assert service.list_records(OTHER_BANK) == []
    assert service.agreements.owned_by(OTHER_BANK) == []
    assert [r.record_id for r in service.list_records(BANK)] == [record.record_id]
    assert [r.record_id for r in service.records_of(BANK, ALICE)] == [record.record_id]
    assert service.records_of(BANK, BOB) == []
    with pytest.raises(UnknownRecord):
        service.change_record(
            actor="p",
            organisation=BANK,
            record_id=record.record_id,
            individual=BOB,
            opt_in=False,
            channel=WEB,
        )


def test_only_parties_to_an_agreement_may_check_it(service: ConsentService) -> None:
    agreement = ekyc(service, recipients=("DEV/GOV/MOF",))

    def asker(client_id: str, *roles: str) -> Principal:
        return Principal(client_id, frozenset({"consent:check"}), frozenset(roles), "t")

    def ask(who: Principal) -> Any:
        return service.check(
            individual=ALICE,
            agreement_id=agreement,
            purpose="ekyc",
            recipient="DEV/GOV/MOF",
            asker=who,
        )

    assert ask(asker(f"{BANK}/onboarding")).reason == "no_consent"  # the owner
    assert ask(asker("DEV/GOV/MOF/kyc")).reason == "no_consent"  # a named recipient
    assert ask(asker("DEV/GOV/OPS/gateway", "operator")).reason == "no_consent"
    with pytest.raises(CheckNotPermitted):
        ask(asker(f"{OTHER_BANK}/onboarding", "fsp"))
    with pytest.raises(UnknownAgreement):
        check(service, "no-such-agreement")
    with pytest.raises(InvalidIndividualToken):
        check(service, agreement, individual="x")


def test_record_listing_pages_and_filters(service: ConsentService) -> None:
    agreement = ekyc(service)
    tokens = [f"tok-person-{i:04d}" for i in range(5)]
    for token in tokens:
        service.give(
            actor="p", organisation=BANK, agreement_id=agreement, individual=token, channel=WEB
        )
    service.withdraw(
        actor="p", organisation=BANK, agreement_id=agreement, individual=tokens[0], channel=WEB
    )
    first = service.list_records(BANK, limit=3)
    rest = service.list_records(BANK, after=first[-1].record_id, limit=3)
    assert len(first) == 3
    assert len(rest) == 2
    assert len(service.list_records(BANK, opt_in=False)) == 1
    assert len(service.list_records(BANK, agreement_id=agreement, opt_in=True)) == 4
    with pytest.raises(UnknownAgreement):
        service.list_records(OTHER_BANK, agreement_id=agreement)


def test_export_is_iso_27560_shaped(service: ConsentService, clock: ManualClock) -> None:
    agreement = ekyc(service, validity_days=90)
    record = service.give(
        actor="portal", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    clock.advance(timedelta(hours=1))
    service.withdraw(
        actor="portal", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    exported = service.export(BANK, record.record_id)
    assert exported["recordHeader"]["recordId"] == record.record_id
    assert exported["recordHeader"]["piiPrincipalId"] == ALICE
    assert exported["recordHeader"]["recordState"] == "withdrawn"
    assert [e["eventState"] for e in exported["events"]] == ["consent given", "consent withdrawn"]
    assert exported["events"][0]["validityDuration"] == "P90D"
    assert exported["events"][1]["previousHash"] == exported["events"][0]["hash"]
    purpose = exported["piiProcessing"][0]["purposes"][0]
    assert purpose["lawfulBasis"] == "consent"
    assert purpose["recipientThirdParties"] == [BANK]
    assert [p["piiType"] for p in purpose["piiInformation"]] == ["full_name", "birth_date", "photo"]
    assert purpose["storage"] == {"retentionPeriod": "P365D"}
    assert exported["partyIdentification"][0] == {"partyId": BANK, "partyType": "piiController"}
    assert exported["integrity"]["headHash"] == exported["events"][-1]["hash"]


def test_a_batch_check_reads_once_and_answers_each_in_order(
    service: ConsentService, world: FakeConsent
) -> None:
    agreement = ekyc(service)
    service.give(
        actor="p", organisation=BANK, agreement_id=agreement, individual=ALICE, channel=WEB
    )
    service.give(actor="p", organisation=BANK, agreement_id=agreement, individual=BOB, channel=WEB)
    service.withdraw(
        actor="p", organisation=BANK, agreement_id=agreement, individual=BOB, channel=WEB
    )
    reads = world.reader.reads
    people = [BOB, "tok-nobody-0003", ALICE, ALICE]
    decisions = service.check_many(
        individuals=people, agreement_id=agreement, purpose="ekyc", recipient=BANK
    )
    assert world.reader.reads == reads + 1
    assert [d.reason for d in decisions] == [
        "withdrawn",
        "no_consent",
        "consent_given",
        "consent_given",
    ]
    single = [check(service, agreement, individual=p) for p in people]
    assert decisions == single
    with pytest.raises(InvalidInput):
        service.check_many(individuals=[], agreement_id=agreement, purpose="ekyc", recipient=BANK)
    with pytest.raises(InvalidIndividualToken):
        service.check_many(
            individuals=[ALICE, "x"], agreement_id=agreement, purpose="ekyc", recipient=BANK
        )
    with pytest.raises(UnknownAgreement):
        service.check_many(individuals=[ALICE], agreement_id="nope", purpose="ekyc", recipient=BANK)
