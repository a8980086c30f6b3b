"""What the store and the hot-path reader share: sealing personal attributes bound to their
row, reading an identity row, a partner's policy, and the base of each part of the store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, select

from baobab.identity.adapters.crypto import FieldCipher
from baobab.identity.adapters.tables import policies
from baobab.identity.domain import Identity, IdentityStatus


class StorePart:
    """One open transaction and the cipher of personal attributes: each part of
    :class:`~baobab.identity.adapters.sql.SqlIdentityStore` builds on it."""

    def __init__(self, connection: Connection, cipher: FieldCipher) -> None:
        self._c = connection
        self._cipher = cipher


def seal(cipher: FieldCipher, value: Mapping[str, Any], context: str) -> bytes:
    """``value`` as JSON sealed with AES-GCM, bound to ``context`` (which row it belongs to)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return cipher.seal(text.encode(), context=context.encode())


def unseal(cipher: FieldCipher, sealed: bytes, context: str) -> dict[str, Any]:
    """The value :func:`seal` sealed for ``context``."""
    value: dict[str, Any] = json.loads(cipher.open(bytes(sealed), context=context.encode()))
    return value


def identity_row(cipher: FieldCipher, row: Row[Any]) -> Identity:
    """The identity an ``identity_identities`` row holds."""
    return Identity(
        uin=row.uin,
        attributes=unseal(cipher, row.attributes, f"identity:{row.uin}"),
        profile=row.profile,
        status=IdentityStatus(row.status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        packet_id=row.packet_id,
        locked_factors=factors(row.locked_factors),
    )


def factors(text: str | None) -> frozenset[str]:
    """The locked factors stored comma-separated."""
    return frozenset(f for f in (text or "").split(",") if f)


def policy(connection: Connection, partner: str) -> frozenset[str] | None:
    """The attributes a partner may receive, or None if it has no policy."""
    text = connection.execute(
        select(policies.c.attributes).where(policies.c.partner == partner)
    ).scalar()
    if text is None:
        return None
    return frozenset(a for a in text.split(",") if a)
