from __future__ import annotations

import json
from datetime import timedelta

import pytest

from baobab.identity import (
    VID_POLICY,
    AttributeNotAllowed,
    AuthenticationFailed,
    ConsentMissing,
    IdentityLocked,
    NoFactor,
    OtpAttemptsExhausted,
    OtpExpired,
    OtpFactor,
    OtpLockedOut,
    OtpUsed,
    RateLimited,
    UnknownIdentity,
    UnknownVid,
    VidExpired,
    VidKind,
    VidRevoked,
    VidUsed,
    partner_token,
)
from baobab.identity.errors import InvalidIndividualId, NoOtpChannel, UnknownOtp
from baobab.kernel.errors import InvalidInput
from baobab.kernel.signing import parse_compact
from tests.unit.identity.world import BANK, OTHER_BANK, SECRET, World, person

PHONE = "+2348012345678"


@pytest.fixture
def uin(world: World) -> str:
    return world.enrol("pkt-00000001", person(phone=PHONE, email="amina@example.org"))


def test_demographic_yes_and_no(world: World, uin: str) -> None:
    yes = world.auth.authenticate(
        partner=BANK,
        individual_id=uin,
        transaction_id="t1",
        demographics={"given_name": "AMINA", "family_name": "diallo", "birth_date": "1990"},
    )
    assert yes.authenticated
    assert yes.token == partner_token(SECRET, partner="DEV/COM/BANKA", uin=uin)
    no = world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t2", demographics={"given_name": "Musa"}
    )
    assert not no.authenticated
    assert no.token is None
    assert [(e.action, e.outcome, e.details["result"]) for e in world.journal.events] == [
        ("identity.authentication", "success", "yes"),
        ("identity.authentication", "refused", "no"),
    ]
    event = world.journal.events[0]
    assert (event.actor, event.subject, event.details["factors"]) == (BANK.client_id, "t1", "demo")
    assert "Amina" not in str(world.journal.events)
    assert uin not in str(world.journal.events)


def test_diacritics_case_and_partial_dates(world: World, uin: str) -> None:
    def answer(**demographics: object) -> bool:
        return world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", demographics=demographics
        ).authenticated

    assert answer(given_name="Amína", address={"region": "north"})
    assert answer(birth_date="1990-04")
    assert not answer(birth_date="1990-05")
    assert not answer(address={"region": "South"})


def test_a_claim_more_precise_than_the_register_is_not_confirmed(world: World) -> None:
    uin = world.enrol("pkt-00000002", person(given="Musa", family="Bello", birth_date="1961"))
    result = world.auth.authenticate(
        partner=BANK,
        individual_id=uin,
        transaction_id="t",
        demographics={"birth_date": "1961-03-01"},
    )
    assert not result.authenticated


def test_tokens_differ_per_partner(world: World, uin: str) -> None:
    demo = {"given_name": "Amina"}
    a = world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t", demographics=demo
    )
    b = world.auth.authenticate(
        partner=OTHER_BANK, individual_id=uin, transaction_id="t", demographics=demo
    )
    assert a.token != b.token


def test_bad_requests_get_specific_errors_and_are_audited(world: World, uin: str) -> None:
    with pytest.raises(NoFactor):
        world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t")
    with pytest.raises(InvalidInput):
        world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", demographics={"shoe": "42"}
        )
    with pytest.raises(InvalidIndividualId):
        world.auth.authenticate(
            partner=BANK, individual_id="1234", transaction_id="t", demographics={"given_name": "A"}
        )
    other = world.profiles.active.uin_policy.generate()
    with pytest.raises(UnknownIdentity):
        world.auth.authenticate(
            partner=BANK, individual_id=other, transaction_id="t", demographics={"given_name": "A"}
        )
    assert [e.details.get("error") for e in world.journal.events] == [
        "baobab.invalid_input",
        "identity.invalid_individual_id",
        "identity.unknown_identity",
    ]


def _otp(world: World, uin: str, channel: str = "sms") -> OtpFactor:
    sent = world.auth.request_otp(partner=BANK, individual_id=uin, channel=channel)
    return OtpFactor(sent.otp_id, world.outbox.last_code())


def test_otp_is_sent_masked_and_works_once(world: World, uin: str) -> None:
    sent = world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    assert sent.masked_address == "+23*********78"
    assert world.outbox.sent[-1].address == PHONE
    otp = OtpFactor(sent.otp_id, world.outbox.last_code())
    result = world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t", otp=otp)
    assert result.authenticated
    assert result.factors == ("otp",)
    with pytest.raises(OtpUsed):
        world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t", otp=otp)
    stored = world.db.tables.challenges[sent.otp_id]
    assert otp.code not in stored.code_hash


def test_otp_by_email(world: World, uin: str) -> None:
    otp = _otp(world, uin, "email")
    assert world.outbox.sent[-1].address == "amina@example.org"
    assert world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t", otp=otp
    ).authenticated


def test_an_expired_otp_is_refused(world: World, uin: str) -> None:
    otp = _otp(world, uin)
    world.clock.advance(timedelta(minutes=3))
    with pytest.raises(OtpExpired):
        world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t", otp=otp)


def test_wrong_codes_burn_the_otp_after_three_tries(world: World, uin: str) -> None:
    otp = _otp(world, uin)
    wrong = OtpFactor(otp.otp_id, "000000" if otp.code != "000000" else "111111")
    for _ in range(3):
        assert not world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", otp=wrong
        ).authenticated
    with pytest.raises(OtpAttemptsExhausted):
        world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t", otp=otp)


def test_too_many_failures_lock_the_otp_factor_out_for_a_while(world: World, uin: str) -> None:
    for _ in range(2):
        otp = _otp(world, uin)
        wrong = OtpFactor(otp.otp_id, "000000" if otp.code != "000000" else "111111")
        for _ in range(3):
            world.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t", otp=wrong)
    with pytest.raises(OtpLockedOut):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    world.clock.advance(timedelta(minutes=31))
    assert _otp(world, uin).code


def test_otp_requests_are_rate_limited_per_identity(world: World, uin: str) -> None:
    for _ in range(5):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    with pytest.raises(RateLimited):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    assert len(world.outbox.sent) == 5


def test_an_otp_is_bound_to_its_person_and_partner(world: World, uin: str) -> None:
    otp = _otp(world, uin)
    with pytest.raises(UnknownOtp):
        world.auth.authenticate(partner=OTHER_BANK, individual_id=uin, transaction_id="t", otp=otp)
    other = world.enrol("pkt-00000002", person(given="Musa", family="Bello", phone=PHONE))
    with pytest.raises(UnknownOtp):
        world.auth.authenticate(partner=BANK, individual_id=other, transaction_id="t", otp=otp)


def test_no_phone_means_no_sms_otp(world: World) -> None:
    uin = world.enrol("pkt-00000002", person(given="Musa", family="Bello"))
    with pytest.raises(NoOtpChannel):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    assert world.outbox.sent == []


def test_yes_no_requests_are_rate_limited_per_partner(world: World, uin: str) -> None:
    world.auth._gate._per_partner.limit = 3
    for _ in range(3):
        world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", demographics={"given_name": "A"}
        )
    with pytest.raises(RateLimited):
        world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", demographics={"given_name": "A"}
        )
    world.clock.advance(timedelta(minutes=1))
    world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t", demographics={"given_name": "A"}
    )


def test_a_locked_identity_does_not_authenticate_until_unlocked(world: World, uin: str) -> None:
    world.identities.set_locked(actor="person", uin=uin, locked=True, reason="lost my card")
    demo = {"given_name": "Amina"}
    with pytest.raises(IdentityLocked):
        world.auth.authenticate(
            partner=BANK, individual_id=uin, transaction_id="t", demographics=demo
        )
    with pytest.raises(IdentityLocked):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    world.identities.set_locked(actor="operator", uin=uin, locked=False, reason="card found")
    assert world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t", demographics=demo
    ).authenticated
    assert [e.action for e in world.db.audit[-2:]] == ["identity.locked", "identity.unlocked"]


def test_vids_stand_for_the_person_until_revoked_expired_or_used(world: World, uin: str) -> None:
    demo = {"given_name": "Amina"}

    def auth(vid: str) -> bool:
        return world.auth.authenticate(
            partner=BANK, individual_id=vid, transaction_id="t", demographics=demo
        ).authenticated

    perpetual = world.identities.issue_vid(actor="p", uin=uin, kind=VidKind.PERPETUAL)
    temporary = world.identities.issue_vid(
        actor="p", uin=uin, kind=VidKind.TEMPORARY, ttl=timedelta(hours=1)
    )
    once = world.identities.issue_vid(actor="p", uin=uin, kind=VidKind.ONE_TIME)
    assert auth(perpetual.vid)
    assert auth(temporary.vid)
    assert auth(once.vid)
    with pytest.raises(VidUsed):
        auth(once.vid)
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(VidExpired):
        auth(temporary.vid)
    world.identities.revoke_vid(actor="p", vid=perpetual.vid)
    with pytest.raises(VidRevoked):
        auth(perpetual.vid)
    with pytest.raises(UnknownVid):
        auth(VID_POLICY.generate())
    with pytest.raises(InvalidIndividualId):
        auth(perpetual.vid[:-1] + str((int(perpetual.vid[-1]) + 1) % 10))


def test_vid_rules(world: World, uin: str) -> None:
    world.identities.issue_vid(actor="p", uin=uin, kind=VidKind.PERPETUAL)
    with pytest.raises(InvalidInput):
        world.identities.issue_vid(actor="p", uin=uin, kind=VidKind.PERPETUAL)
    with pytest.raises(InvalidInput):
        world.identities.issue_vid(actor="p", uin=uin, kind=VidKind.TEMPORARY)
    with pytest.raises(InvalidInput):
        world.identities.issue_vid(
            actor="p", uin=uin, kind=VidKind.TEMPORARY, ttl=timedelta(days=400)
        )
    with pytest.raises(UnknownVid):
        world.identities.revoke_vid(actor="p", vid="1")


# --- eKYC ---------------------------------------------------------------------------------


def _ekyc_setup(world: World) -> None:
    world.identities.set_policy(
        actor="op", partner="DEV/COM/BANKA", attributes=["given_name", "family_name", "birth_date"]
    )


def test_ekyc_returns_allowed_attributes_signed_with_the_partner_token(
    world: World, uin: str
) -> None:
    _ekyc_setup(world)
    otp = _otp(world, uin)
    kyc = world.auth.ekyc(
        partner=BANK,
        individual_id=uin,
        transaction_id="kyc-1",
        attributes=["given_name", "birth_date"],
        agreement_id="agr-1",
        purpose="account-opening",
        otp=otp,
    )
    assert kyc.attributes == {"birth_date": "1990-04-12", "given_name": "Amina"}
    jws = parse_compact(kyc.jws)
    assert jws.verified_by(world.instance.verification_key)
    claims = jws.claims()
    assert claims["sub"] == kyc.token == partner_token(SECRET, partner="DEV/COM/BANKA", uin=uin)
    assert claims["aud"] == BANK.client_id
    assert claims["kyc"] == kyc.attributes
    assert uin not in json.dumps(claims)
    assert world.consent.asked == [
        {
            "individual": kyc.token,
            "recipient": "DEV/COM/BANKA/kyc",
            "agreement_id": "agr-1",
            "purpose": "account-opening",
        }
    ]
    assert world.journal.events[-1].details == {
        "factors": "otp",
        "result": "yes",
        "attributes_released": "2",
    }


def test_ekyc_without_attributes_named_releases_the_whole_policy(world: World, uin: str) -> None:
    _ekyc_setup(world)
    kyc = world.auth.ekyc(
        partner=BANK,
        individual_id=uin,
        transaction_id="kyc-1",
        attributes=[],
        agreement_id="agr-1",
        purpose="kyc",
        demographics={"given_name": "Amina"},
    )
    assert set(kyc.attributes) == {"given_name", "family_name", "birth_date"}


def test_ekyc_is_refused_without_consent_and_spends_no_otp(world: World, uin: str) -> None:
    _ekyc_setup(world)
    world.consent.answer = False
    otp = _otp(world, uin)
    with pytest.raises(ConsentMissing):
        world.auth.ekyc(
            partner=BANK,
            individual_id=uin,
            transaction_id="kyc-1",
            attributes=["given_name"],
            agreement_id="agr-1",
            purpose="kyc",
            otp=otp,
        )
    assert world.db.tables.challenges[otp.otp_id].attempts == 0
    assert world.journal.events[-1].details["error"] == "identity.consent_missing"


def test_ekyc_outside_the_policy_is_refused(world: World, uin: str) -> None:
    _ekyc_setup(world)
    with pytest.raises(AttributeNotAllowed) as caught:
        world.auth.ekyc(
            partner=BANK,
            individual_id=uin,
            transaction_id="kyc-1",
            attributes=["given_name", "phone"],
            agreement_id="agr-1",
            purpose="kyc",
            demographics={"given_name": "Amina"},
        )
    assert caught.value.extra == {"attributes": ["phone"]}
    assert world.consent.asked == []
    with pytest.raises(AttributeNotAllowed):  # a partner without a policy gets nothing
        world.auth.ekyc(
            partner=OTHER_BANK,
            individual_id=uin,
            transaction_id="kyc-1",
            attributes=["given_name"],
            agreement_id="agr-1",
            purpose="kyc",
            demographics={"given_name": "Amina"},
        )


def test_ekyc_with_a_failed_factor_releases_nothing(world: World, uin: str) -> None:
    _ekyc_setup(world)
    with pytest.raises(AuthenticationFailed):
        world.auth.ekyc(
            partner=BANK,
            individual_id=uin,
            transaction_id="kyc-1",
            attributes=["given_name"],
            agreement_id="agr-1",
            purpose="kyc",
            demographics={"given_name": "Musa"},
        )
    assert world.journal.events[-1].details["result"] == "no"


def test_a_policy_may_hold_only_kyc_shareable_attributes(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.identities.set_policy(actor="op", partner="DEV/COM/BANKA", attributes=["phone"])
    assert world.identities.policy("DEV/COM/BANKA") == frozenset()
