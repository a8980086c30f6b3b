"""Races only a real database can lose, on PostgreSQL: the same packet submitted at once by two
enrolment processes settles once; one OTP tried at once by many requests says yes once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from baobab.identity import (
    AuthResult,
    Enrolment,
    EnrolmentService,
    OtpFactor,
    OtpUsed,
    Partner,
)
from baobab.identity.adapters.matching import EngineDuplicateFinder
from baobab.identity.adapters.sql import SqlIdentityUnitOfWork
from tests.integration.identity.people import PHONE, Enroller, packet, person
from tests.integration.identity.stack import IdentityStack

pytestmark = pytest.mark.postgres
PEOPLE = [
    ("Amina", "Diallo", "1990-04-12"),
    ("Musa", "Bello", "1975"),
    ("Chidinma", "Okeke", "2001-11-30"),
    ("Yusuf", "Abubakar", "1958-06"),
    ("Ngozi", "Eze", "1983-02-17"),
]


def race(threads: int, action: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(threads)
    results: list[object] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results.append(action(index))
        except BaseException as exc:  # every outcome is counted below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results, errors


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_packet_sent_by_two_processes_at_once_settles_once(
    enroller: Enroller,
) -> None:
    stack = enroller.stack
    db, cipher = stack.platform.db, stack.cipher
    # two enrolment services with their own locks and galleries: two processes
    services = [
        EnrolmentService(
            uow=lambda: SqlIdentityUnitOfWork(db, cipher),
            clock=stack.platform.clock,
            profiles=stack.profiles,
            keys=stack.platform.directory,
            finder=EngineDuplicateFinder(),
        )
        for _ in range(2)
    ]
    caller = str(enroller.caller.client_id)
    for round_, (given, family, born) in enumerate(PEOPLE):
        demographics = person(given=given, family=family, birth_date=born)
        signed = enroller.caller.signer.encode(packet(f"pkt-race-{round_:04d}", demographics))

        def submit(i: int, s: str = signed) -> Enrolment:
            return services[i].submit(caller=caller, signed_packet=s)

        results, errors = race(2, submit)
        assert errors == []
        assert len(results) == 2
        assert results[0] == results[1]
    with db.transaction() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM identity_identities").scalar_one()
        packets = connection.exec_driver_sql("SELECT count(*) FROM identity_packets").scalar_one()
    assert (count, packets) == (5, 5)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_otp_tried_at_once_says_yes_once(enroller: Enroller) -> None:
    stack: IdentityStack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person(phone=PHONE))
    bank = Partner("DEV/COM/BANKA/kyc")
    for _ in range(3):
        sent = stack.auth.request_otp(partner=bank, individual_id=uin, channel="sms")
        text = stack.outbox.messages(address=PHONE, limit=1)[0].text
        code = next(w.rstrip(".") for w in text.split() if w.rstrip(".").isdigit())
        otp = OtpFactor(sent.otp_id, code)

        def authenticate(_: int, o: OtpFactor = otp) -> AuthResult:
            return stack.auth.authenticate(
                partner=bank, individual_id=uin, transaction_id="t-race", otp=o
            )

        results, errors = race(6, authenticate)
        assert [r.authenticated for r in results] == [True]  # type: ignore[attr-defined]
        assert len(errors) == 5
        assert all(isinstance(e, OtpUsed) for e in errors)
