"""Retention of packets that did not make an identity: a duplicate or a rejected packet keeps
its personal data for the appeal period, then loses it.

Purging deletes the packet's sealed demographics and keeps the facts an auditor needs: the
packet id, who enrolled it, the digest of what was signed, every state with its time, the
outcome (``duplicate_of``, the rejection reason) and the audit chain, to which each purge adds
an ``identity.packet_purged`` entry. The period runs from the packet's last transition (the
decision), not from its arrival, so a case decided late keeps its full appeal period. Issued
and pending packets are never purged: their demographics are the identity's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from baobab.identity.packets import PacketState
from baobab.identity.ports import UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput

PURGEABLE = (PacketState.DUPLICATE, PacketState.REJECTED)


@dataclass
class PurgeReport:
    """What a purge did (or, with ``dry_run``, would do)."""

    purged: list[str] = field(default_factory=list)  # packet ids
    dry_run: bool = False


class RetentionService:
    """Purges the personal data of duplicate and rejected packets older than ``period``."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, period: timedelta) -> None:
        if period < timedelta(days=1):
            raise InvalidInput("the retention period is at least one day")
        self._uow = uow
        self._clock = clock
        self.period = period

    def purge(self, *, actor: str, dry_run: bool = False, batch: int = 500) -> PurgeReport:
        """Purge every packet whose period has run out, ``batch`` per transaction."""
        if not 1 <= batch <= 10_000:
            raise InvalidInput("batch is 1 to 10000")
        now = self._clock.now()
        cutoff = now - self.period
        report = PurgeReport(dry_run=dry_run)
        after: str | None = None
        while True:
            with self._uow() as uow:
                found = uow.store.packets_to_purge(
                    states=PURGEABLE, received_before=cutoff, after=after, limit=batch
                )
                for enrolment in found:
                    if enrolment.transitions[-1].at >= cutoff:
                        continue  # decided within the period: its appeal time is not over
                    report.purged.append(enrolment.packet_id)
                    if dry_run:
                        continue
                    uow.store.purge_packet(enrolment.packet_id, at=now)
                    uow.audit.append(
                        AuditEvent(
                            "identity.packet_purged",
                            actor,
                            enrolment.packet_id,
                            details={"state": enrolment.state.value},
                        ),
                        at=now,
                    )
            if len(found) < batch:
                return report
            after = found[-1].packet_id
