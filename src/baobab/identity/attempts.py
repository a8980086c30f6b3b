"""The audit of authentication attempts: partner, factors, outcome and error code, never an
attribute value. Entries go through the group-committing :class:`AuthenticationJournal`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from baobab.identity.factors import TRANSACTION, Partner
from baobab.identity.ports import AuthenticationJournal
from baobab.kernel.audit import AuditEvent


class AttemptLog:
    """Writes one audit entry per authentication, OTP request or eKYC attempt."""

    def __init__(self, journal: AuthenticationJournal) -> None:
        self._journal = journal

    @staticmethod
    def entry(
        partner: Partner,
        transaction_id: str,
        factors: Sequence[str],
        outcome: str,
        *,
        error: str | None = None,
        ekyc: bool = False,
        released: int | None = None,
    ) -> AuditEvent:
        """The audit entry of one attempt."""
        details = {"factors": ",".join(factors), "result": outcome}
        if error:
            details["error"] = error
        if released is not None:
            details["attributes_released"] = str(released)
        action = "identity.ekyc" if ekyc else "identity.authentication"
        return AuditEvent(
            action,
            partner.client_id,
            transaction_id if TRANSACTION.fullmatch(transaction_id or "") else "invalid",
            "success" if outcome in ("yes", "sent") else "refused",
            details,
        )

    def record(
        self,
        partner: Partner,
        transaction_id: str,
        factors: Sequence[str],
        outcome: str,
        now: datetime,
        **more: Any,
    ) -> None:
        """Write the entry and wait until it is durable."""
        self.wait(self.entry(partner, transaction_id, factors, outcome, **more), now)

    def wait(self, event: AuditEvent, now: datetime) -> None:
        """Write ``event`` and block this thread until it is durable."""
        self._journal.record(event, at=now).result()

    async def written(self, event: AuditEvent, now: datetime) -> None:
        """Write ``event`` and return once it is durable, holding no thread."""
        await self._journal.written(event, at=now)
