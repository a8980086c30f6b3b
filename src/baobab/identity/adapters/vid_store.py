"""Virtual IDs and partner policies in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, update

from baobab.identity.adapters.rows import StorePart, policy
from baobab.identity.adapters.tables import policies, vids
from baobab.identity.domain import Vid, VidKind
from baobab.infra.database import insert_new


def _vid(row: Row[Any]) -> Vid:
    return Vid(
        row.vid,
        row.uin,
        VidKind(row.kind),
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.used_at,
    )


class VidStore(StorePart):
    """VIDs, and the attributes each partner may receive."""

    def add_vid(self, vid: Vid) -> bool:
        values = {
            "vid": vid.vid,
            "uin": vid.uin,
            "kind": vid.kind.value,
            "created_at": vid.created_at,
            "expires_at": vid.expires_at,
            "revoked_at": vid.revoked_at,
            "used_at": vid.used_at,
        }
        return insert_new(self._c, vids, values)

    def get_vid(self, vid: str, *, for_update: bool = False) -> Vid | None:
        query = select(vids).where(vids.c.vid == vid)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return _vid(row) if row else None

    def save_vid(self, vid: Vid) -> None:
        self._c.execute(
            update(vids)
            .where(vids.c.vid == vid.vid)
            .values(revoked_at=vid.revoked_at, used_at=vid.used_at)
        )

    def vids_of(self, uin: str) -> Sequence[Vid]:
        query = select(vids).where(vids.c.uin == uin).order_by(vids.c.created_at, vids.c.vid)
        return [_vid(r) for r in self._c.execute(query)]

    # partner policies

    def set_policy(self, partner: str, attributes: frozenset[str]) -> None:
        text = ",".join(sorted(attributes))
        if not insert_new(self._c, policies, {"partner": partner, "attributes": text}):
            self._c.execute(
                update(policies).where(policies.c.partner == partner).values(attributes=text)
            )

    def get_policy(self, partner: str) -> frozenset[str] | None:
        return policy(self._c, partner)
