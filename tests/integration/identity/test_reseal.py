"""Key rotation on SQLite and PostgreSQL: after ``reseal`` every stored personal value opens
with the new key alone and no longer with the old one; a stopped run carries on."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from baobab.identity.adapters.crypto import FieldCipher, SealBroken, add_key, load_keystore
from baobab.identity.adapters.reseal import reseal
from baobab.identity.adapters.sql import SqlIdentityUnitOfWork
from baobab.identity.adapters.tables import identities, packets
from baobab.infra.audit import audit_log
from tests.integration.identity.people import Enroller, packet, person


def _people(enroller: Enroller) -> list[str]:
    uins = [
        enroller.enrol("pkt-00000001", person()),
        enroller.enrol("pkt-00000002", person(given="Musa", family="Bello", sex="male")),
    ]
    enroller.submit(
        {**packet("pkt-00000003", {"given_name": "Aminata"}), "kind": "update", "uin": uins[0]}
    )
    return uins


def _only(keystore: Path, kid: str) -> FieldCipher:
    """A cipher that holds only the key ``kid`` of ``keystore``."""
    document = json.loads(keystore.read_text())
    return FieldCipher(
        {kid: base64.b64decode(document["keys"][kid])},
        active=kid,
        secret=base64.b64decode(document["secret"]),
    )


def _read_all(enroller: Enroller, cipher: FieldCipher, uins: list[str]) -> None:
    with SqlIdentityUnitOfWork(enroller.stack.platform.db, cipher) as uow:
        for uin in uins:
            assert uow.store.get_identity(uin) is not None
            assert uow.store.history(uin)
        for packet_id in ("pkt-00000001", "pkt-00000002", "pkt-00000003"):
            assert uow.store.packet_demographics(packet_id) is not None


def test_after_reseal_only_the_new_key_opens_the_register(
    enroller: Enroller, tmp_path: Path
) -> None:
    stack = enroller.stack
    uins = _people(enroller)
    path = tmp_path / "var" / "keys" / "identity-keystore.development.json"
    new = add_key(path)
    rotated = load_keystore(None, data_dir=tmp_path / "var", production=False)
    assert (rotated.active, new) == ("k2", "k2")
    old_only, new_only = _only(path, "k1"), _only(path, "k2")
    _read_all(enroller, old_only, uins)  # before: everything is under k1
    with pytest.raises(SealBroken):
        _read_all(enroller, new_only, uins)

    report = reseal(stack.platform.db, rotated, clock=stack.platform.clock, actor="operator")
    assert report.resealed == {
        "identity_identities": 2,
        "identity_history": 3,
        "identity_packets": 3,
    }
    _read_all(enroller, new_only, uins)
    with SqlIdentityUnitOfWork(stack.platform.db, old_only) as uow:
        for uin in uins:
            with pytest.raises(SealBroken):
                uow.store.get_identity(uin)
            with pytest.raises(SealBroken):
                uow.store.history(uin)
        with pytest.raises(SealBroken):
            uow.store.packet_demographics("pkt-00000001")
    with stack.platform.db.transaction() as connection:
        stored = connection.execute(select(identities.c.attributes)).scalars().all()
        entry = connection.execute(
            select(audit_log).where(audit_log.c.action == "identity.resealed")
        ).one()
    assert {FieldCipher.key_id(bytes(v)) for v in stored} == {"k2"}
    assert json.loads(entry.details)["resealed_identity_packets"] == "3"
    again = reseal(stack.platform.db, rotated, clock=stack.platform.clock, actor="operator")
    assert again.total_resealed == 0


def test_a_stopped_run_carries_on_where_it_stopped(enroller: Enroller, tmp_path: Path) -> None:
    stack = enroller.stack
    _people(enroller)
    add_key(tmp_path / "var" / "keys" / "identity-keystore.development.json")
    rotated = load_keystore(None, data_dir=tmp_path / "var", production=False)
    db, clock = stack.platform.db, stack.platform.clock
    first = reseal(db, rotated, clock=clock, actor="operator", batch=1, max_rows=3)
    assert first.total_resealed == 3
    rest = reseal(db, rotated, clock=clock, actor="operator", batch=2)
    assert rest.total_resealed == 8 - 3
    with db.transaction() as connection:
        sealed = connection.execute(select(packets.c.demographics)).scalars().all()
    assert {FieldCipher.key_id(bytes(v)) for v in sealed} == {"k2"}


def test_a_value_under_a_key_missing_from_the_keystore_stops_the_run(
    enroller: Enroller, tmp_path: Path
) -> None:
    _people(enroller)
    stranger = FieldCipher.generate()  # knows only a k1 of its own
    with pytest.raises(SealBroken):
        reseal(
            enroller.stack.platform.db,
            FieldCipher({"k9": b"9" * 32, "k1": b"1" * 32}, active="k9", secret=stranger.secret),
            clock=enroller.stack.platform.clock,
            actor="operator",
        )
