from __future__ import annotations

import pytest

from baobab.identity import AuthenticationFailed, FactorLocked, OtpUsed, ResidentService
from baobab.identity.errors import UnknownOtp
from baobab.identity.factors import OtpFactor, Partner
from baobab.kernel.errors import InvalidInput
from tests.unit.identity.world import BANK, World, person

PHONE = "+2348012345678"
PORTAL = Partner("DEV/GOV/RESIDENT/portal")
CLAIM = {"given_name": "Amina", "birth_date": "1990"}


@pytest.fixture
def uin(world: World) -> str:
    return world.enrol("pkt-00000001", person(phone=PHONE))


@pytest.fixture
def resident(world: World) -> ResidentService:
    return ResidentService(authentication=world.auth, uow=world.db.uow, clock=world.clock)


def _person_otp(world: World, resident: ResidentService, uin: str) -> OtpFactor:
    sent = resident.request_otp(portal=PORTAL, individual_id=uin, channel="sms")
    return OtpFactor(sent.otp_id, world.outbox.last_code())


def _demo(world: World, uin: str) -> bool:
    return world.auth.authenticate(
        partner=BANK, individual_id=uin, transaction_id="t", demographics=CLAIM
    ).authenticated


def test_the_person_locks_demographic_authentication_and_unlocks_it(
    world: World, resident: ResidentService, uin: str
) -> None:
    otp = _person_otp(world, resident, uin)
    assert resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=otp, lock=["demo"]) == {
        "demo"
    }
    with pytest.raises(FactorLocked):
        _demo(world, uin)
    # the other factor still works for partners
    sent = world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    assert world.auth.authenticate(
        partner=BANK,
        individual_id=uin,
        transaction_id="t",
        otp=OtpFactor(sent.otp_id, world.outbox.last_code()),
    ).authenticated
    unlocked = resident.set_factor_locks(
        portal=PORTAL, individual_id=uin, otp=_person_otp(world, resident, uin), unlock=["demo"]
    )
    assert unlocked == frozenset()
    assert _demo(world, uin)
    changes = [e for e in world.db.audit if e.action == "identity.factors_locked"]
    assert [(e.actor, e.subject, e.details["locked"], e.details["unlocked"]) for e in changes] == [
        (PORTAL.client_id, "pkt-00000001", "demo", ""),
        (PORTAL.client_id, "pkt-00000001", "", "demo"),
    ]
    assert uin not in str(changes)


def test_a_locked_otp_factor_stops_partners_but_not_the_person(
    world: World, resident: ResidentService, uin: str
) -> None:
    otp = _person_otp(world, resident, uin)
    resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=otp, lock=["otp"])
    with pytest.raises(FactorLocked):
        world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    assert _demo(world, uin)
    again = _person_otp(world, resident, uin)  # the person can still prove themselves
    assert (
        resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=again, unlock=["otp"])
        == frozenset()
    )
    assert world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms").otp_id


def test_a_wrong_or_spent_or_foreign_otp_changes_nothing(
    world: World, resident: ResidentService, uin: str
) -> None:
    otp = _person_otp(world, resident, uin)
    wrong = OtpFactor(otp.otp_id, "000000" if otp.code != "000000" else "111111")
    with pytest.raises(AuthenticationFailed):
        resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=wrong, lock=["demo"])
    resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=otp, unlock=["otp"])
    with pytest.raises(OtpUsed):
        resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=otp, lock=["demo"])
    bank_sent = world.auth.request_otp(partner=BANK, individual_id=uin, channel="sms")
    bank_otp = OtpFactor(bank_sent.otp_id, world.outbox.last_code())
    with pytest.raises(UnknownOtp):  # an OTP sent for a bank does not serve the portal
        resident.set_factor_locks(portal=PORTAL, individual_id=uin, otp=bank_otp, lock=["demo"])
    assert world.db.tables.identities[uin].locked_factors == frozenset()
    assert _demo(world, uin)


@pytest.mark.parametrize(
    ("lock", "unlock"),
    [([], []), (["demo"], ["demo"]), (["bio"], []), ("demo", [])],
)
def test_bad_requests_are_refused_before_the_otp_is_spent(
    world: World, resident: ResidentService, uin: str, lock: list[str], unlock: list[str]
) -> None:
    otp = _person_otp(world, resident, uin)
    with pytest.raises(InvalidInput):
        resident.set_factor_locks(
            portal=PORTAL, individual_id=uin, otp=otp, lock=lock, unlock=unlock
        )
    assert world.db.tables.challenges[otp.otp_id].used_at is None
