"""The register in SQL: identities with their sealed attributes, and every past version (the
history); the whole register is what the deduplication gallery loads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select, update

from baobab.identity.adapters.rows import StorePart, identity_row, seal, unseal
from baobab.identity.adapters.tables import history, identities
from baobab.identity.domain import Identity, IdentityVersion
from baobab.infra.database import insert_new


class RegisterStore(StorePart):
    """Identities and their history."""

    def get_identity(self, uin: str, *, for_update: bool = False) -> Identity | None:
        query = select(identities).where(identities.c.uin == uin)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return identity_row(self._cipher, row) if row else None

    def add_identity(self, identity: Identity) -> bool:
        sealed = seal(self._cipher, identity.attributes, f"identity:{identity.uin}")
        values = {
            "uin": identity.uin,
            "status": identity.status.value,
            "version": identity.version,
            "profile": identity.profile,
            "packet_id": identity.packet_id,
            "attributes": sealed,
            "created_at": identity.created_at,
            "updated_at": identity.updated_at,
            "locked_factors": ",".join(sorted(identity.locked_factors)),
        }
        if not insert_new(self._c, identities, values):
            return False
        self._add_history(identity)
        return True

    def save_identity(self, identity: Identity) -> None:
        current = self._c.execute(
            select(identities.c.version).where(identities.c.uin == identity.uin)
        ).scalar()
        values: dict[str, Any] = {
            "status": identity.status.value,
            "updated_at": identity.updated_at,
            "locked_factors": ",".join(sorted(identity.locked_factors)),
        }
        if current != identity.version:
            values.update(
                version=identity.version,
                profile=identity.profile,
                packet_id=identity.packet_id,
                attributes=seal(self._cipher, identity.attributes, f"identity:{identity.uin}"),
            )
            self._add_history(identity)
        self._c.execute(update(identities).where(identities.c.uin == identity.uin).values(**values))

    def _add_history(self, identity: Identity) -> None:
        context = f"history:{identity.uin}:{identity.version}"
        self._c.execute(
            history.insert().values(
                uin=identity.uin,
                version=identity.version,
                packet_id=identity.packet_id,
                attributes=seal(self._cipher, identity.attributes, context),
                at=identity.updated_at,
            )
        )

    def history(self, uin: str) -> Sequence[IdentityVersion]:
        rows = self._c.execute(
            select(history).where(history.c.uin == uin).order_by(history.c.version)
        )
        return [
            IdentityVersion(
                r.uin,
                r.version,
                unseal(self._cipher, r.attributes, f"history:{r.uin}:{r.version}"),
                r.packet_id,
                r.at,
            )
            for r in rows
        ]

    def identities(self) -> Iterator[Identity]:
        for row in self._c.execute(select(identities).order_by(identities.c.uin)).yield_per(2000):
            yield identity_row(self._cipher, row)
