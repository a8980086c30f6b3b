"""The identity block over SQL, on SQLite and PostgreSQL: what is stored, how, and that it
comes back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from baobab.identity import (
    OtpFactor,
    OtpUsed,
    PacketConflict,
    PacketState,
    Partner,
    VidKind,
    VidRevoked,
)
from baobab.identity.adapters.crypto import SealBroken
from baobab.identity.adapters.sql import SqlIdentityUnitOfWork
from baobab.identity.adapters.tables import identities, packets
from baobab.infra.audit import audit_log, verify_audit
from tests.integration.identity.people import PHONE, Enroller, packet, person

BANK = Partner("DEV/COM/BANKA/kyc")


def test_enrolment_through_sql_with_the_real_matcher(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person())
    again = enroller.submit(packet("pkt-00000001", person()))
    assert again.uin == uin
    with pytest.raises(PacketConflict):
        enroller.submit(packet("pkt-00000001", person(given="Fatima")))
    # a near-duplicate: typo in the family name, day and month swapped
    dup = enroller.submit(packet("pkt-00000002", person(family="Dialo", birth_date="1990-12-04")))
    assert dup.state is PacketState.DUPLICATE
    assert dup.duplicate_of == uin
    other = enroller.enrol("pkt-00000003", person(given="Musa", family="Bello", sex="male"))
    assert other != uin
    stored = stack.enrolment.enrolment("pkt-00000002")
    assert stored == dup
    assert [t.state for t in stored.transitions][-1] is PacketState.DUPLICATE


def test_personal_attributes_are_encrypted_at_rest_and_bound_to_their_row(
    enroller: Enroller,
) -> None:
    stack = enroller.stack
    first = enroller.enrol("pkt-00000001", person())
    second = enroller.enrol("pkt-00000002", person(given="Musa", family="Bello", sex="male"))
    with stack.platform.db.transaction() as connection:
        raw = list(connection.execute(select(identities.c.attributes)).scalars())
        raw += list(connection.execute(select(packets.c.demographics)).scalars())
        assert all(b"Amina" not in bytes(r) and b"Diallo" not in bytes(r) for r in raw)
        sealed = connection.execute(
            select(identities.c.attributes).where(identities.c.uin == first)
        ).scalar_one()
        connection.execute(
            update(identities).where(identities.c.uin == second).values(attributes=sealed)
        )
    with pytest.raises(SealBroken), SqlIdentityUnitOfWork(stack.platform.db, stack.cipher) as uow:
        uow.store.get_identity(second)


def test_updates_keep_history(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person())
    stack.platform.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    update_packet = {
        "packet_id": "pkt-00000002",
        "kind": "update",
        "uin": uin,
        "demographics": {"address": {"region": "South"}, "phone": PHONE},
        "officer": "o",
        "centre": "c",
    }
    assert enroller.submit(update_packet).state is PacketState.ISSUED
    identity, versions = stack.identities.identity(actor="op", uin=uin)
    assert identity.version == 2
    assert identity.attributes["phone"] == PHONE
    assert [(v.version, v.attributes["address"]["region"], v.packet_id) for v in versions] == [
        (1, "North", "pkt-00000001"),
        (2, "South", "pkt-00000002"),
    ]


def test_otp_vid_and_audit_through_sql(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person(phone=PHONE))
    vid = stack.identities.issue_vid(actor="op", uin=uin, kind=VidKind.PERPETUAL)
    sent = stack.auth.request_otp(partner=BANK, individual_id=vid.vid, channel="sms")
    [message] = stack.outbox.messages(address=PHONE)
    code = next(w.rstrip(".") for w in message.text.split() if w.rstrip(".").isdigit())
    otp = OtpFactor(sent.otp_id, code)
    result = stack.auth.authenticate(
        partner=BANK, individual_id=vid.vid, transaction_id="t-1", otp=otp
    )
    assert result.authenticated
    with pytest.raises(OtpUsed):
        stack.auth.authenticate(partner=BANK, individual_id=uin, transaction_id="t-2", otp=otp)
    stack.identities.revoke_vid(actor="op", vid=vid.vid)
    with pytest.raises(VidRevoked):
        stack.auth.authenticate(
            partner=BANK,
            individual_id=vid.vid,
            transaction_id="t-3",
            demographics={"sex": "female"},
        )
    count, broken = verify_audit(stack.platform.db)
    assert broken is None
    with stack.platform.db.transaction() as connection:
        rows = connection.execute(select(audit_log)).all()
    assert count == len(rows)
    actions = [r.action for r in rows]
    assert actions.count("identity.authentication") == 4  # otp sent, yes, used, revoked
    text = json.dumps([tuple(r) for r in rows], default=str)
    for secret in ("Amina", "Diallo", PHONE, uin, vid.vid, code):
        assert secret not in text


def test_partner_policy_round_trip(enroller: Enroller) -> None:
    stack = enroller.stack
    assert stack.identities.policy("DEV/COM/BANKA") == frozenset()
    stack.identities.set_policy(actor="op", partner="DEV/COM/BANKA", attributes=["given_name"])
    stack.identities.set_policy(
        actor="op", partner="DEV/COM/BANKA", attributes=["given_name", "birth_date"]
    )
    assert stack.identities.policy("DEV/COM/BANKA") == {"given_name", "birth_date"}
    assert stack.reader.policy("DEV/COM/BANKA") == frozenset({"given_name", "birth_date"})


def test_the_gallery_is_rebuilt_after_a_restart(enroller: Enroller) -> None:
    stack = enroller.stack
    uin = enroller.enrol("pkt-00000001", person())
    stack.finder.remove(uin)
    assert stack.enrolment.load_gallery() == 1
    again = enroller.submit(packet("pkt-00000002", person()))
    assert again.duplicate_of == uin
