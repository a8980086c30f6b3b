"""Enrolment packets in SQL: their state, sealed demographics and biometric references,
and their purge once retention ends."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from baobab.identity.adapters.rows import StorePart, seal, unseal
from baobab.identity.adapters.tables import packets
from baobab.identity.packets import BiometricRef, Enrolment, PacketKind, PacketState, Transition
from baobab.infra.database import insert_new


def _enrolment(row: Row[Any]) -> Enrolment:
    return Enrolment(
        packet_id=row.packet_id,
        kind=PacketKind(row.kind),
        digest=row.digest,
        enrolled_by=row.enrolled_by,
        state=PacketState(row.state),
        transitions=tuple(
            Transition(PacketState(s), datetime.fromisoformat(at))
            for s, at in json.loads(row.transitions)
        ),
        uin=row.uin,
        duplicate_of=row.duplicate_of,
        case_id=row.case_id,
        reason=row.reason,
    )


def _enrolment_values(e: Enrolment) -> dict[str, Any]:
    return {
        "state": e.state.value,
        "transitions": json.dumps([[t.state.value, t.at.isoformat()] for t in e.transitions]),
        "uin": e.uin,
        "duplicate_of": e.duplicate_of,
        "case_id": e.case_id,
        "reason": e.reason,
    }


class PacketStore(StorePart):
    """Enrolment packets."""

    def get_enrolment(self, packet_id: str) -> Enrolment | None:
        row = self._c.execute(select(packets).where(packets.c.packet_id == packet_id)).first()
        return _enrolment(row) if row else None

    def add_enrolment(
        self,
        enrolment: Enrolment,
        demographics: Mapping[str, Any],
        *,
        biometrics: Sequence[BiometricRef] = (),
    ) -> bool:
        values = {
            "biometrics": json.dumps([[b.modality, b.reference] for b in biometrics]),
            "packet_id": enrolment.packet_id,
            "kind": enrolment.kind.value,
            "digest": enrolment.digest,
            "enrolled_by": enrolment.enrolled_by,
            "demographics": seal(self._cipher, demographics, f"packet:{enrolment.packet_id}"),
            "received_at": enrolment.transitions[0].at,
            **_enrolment_values(enrolment),
        }
        return insert_new(self._c, packets, values)

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self._c.execute(
            update(packets)
            .where(packets.c.packet_id == enrolment.packet_id)
            .values(**_enrolment_values(enrolment))
        )

    def packet_demographics(self, packet_id: str) -> dict[str, Any] | None:
        sealed = self._c.execute(
            select(packets.c.demographics).where(packets.c.packet_id == packet_id)
        ).scalar()
        return unseal(self._cipher, sealed, f"packet:{packet_id}") if sealed else None

    def packets_to_purge(
        self,
        *,
        states: Sequence[PacketState],
        received_before: datetime,
        after: str | None,
        limit: int,
    ) -> Sequence[Enrolment]:
        query = (
            select(packets)
            .where(
                packets.c.state.in_([s.value for s in states]),
                packets.c.received_at < received_before,
                packets.c.purged_at.is_(None),
            )
            .order_by(packets.c.packet_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(packets.c.packet_id > after)
        return [_enrolment(r) for r in self._c.execute(query)]

    def purge_packet(self, packet_id: str, *, at: datetime) -> None:
        self._c.execute(
            update(packets)
            .where(packets.c.packet_id == packet_id)
            .values(demographics=b"", biometrics="[]", purged_at=at)
        )

    def packet_biometrics(self, packet_id: str) -> tuple[BiometricRef, ...]:
        text = self._c.execute(
            select(packets.c.biometrics).where(packets.c.packet_id == packet_id)
        ).scalar()
        return tuple(BiometricRef(m, r) for m, r in json.loads(text or "[]"))
