"""Issuing an identity or its next version, shared by automatic enrolment and the review queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from baobab.identity.domain import Identity, IdentityStatus
from baobab.identity.packets import Packet, PacketKind
from baobab.identity.ports import IdentityUnitOfWork
from baobab.kernel.errors import InvalidInput


def identity_for(
    packet: Packet,
    attributes: dict[str, Any],
    *,
    now: datetime,
    profile_ref: str,
    new_uin: Callable[[], str],
) -> Identity:
    """The identity a packet makes: a new one with a fresh UIN (version 1), or for an update the
    person's next version (version 0 marks it, until :func:`store_identity` numbers it)."""
    if packet.kind is PacketKind.UPDATE:
        assert packet.uin is not None
        return Identity(
            packet.uin,
            attributes,
            profile_ref,
            IdentityStatus.ACTIVE,
            0,
            now,
            now,
            packet.packet_id,
        )
    return Identity(
        new_uin(),
        attributes,
        profile_ref,
        IdentityStatus.ACTIVE,
        1,
        now,
        now,
        packet.packet_id,
    )


def store_identity(
    uow: IdentityUnitOfWork, identity: Identity, *, new_uin: Callable[[], str]
) -> Identity:
    """Issue a new identity (drawing again if the UIN is taken) or add a version."""
    if identity.version == 0:  # an update: the next version of the existing identity
        current = uow.store.get_identity(identity.uin, for_update=True)
        assert current is not None
        updated = replace(
            current,
            attributes=identity.attributes,
            profile=identity.profile,
            version=current.version + 1,
            updated_at=identity.updated_at,
            packet_id=identity.packet_id,
        )
        uow.store.save_identity(updated)
        return updated
    for _ in range(100):
        if uow.store.add_identity(identity):
            return identity
        identity = replace(identity, uin=new_uin())
    raise InvalidInput("no free UIN found; the number space is nearly full")
