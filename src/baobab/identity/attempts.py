"""The audit of authentication attempts: partner, factors, outcome and error code, never an
attribute value. Entries go through the group-committing :class:`AuthenticationJournal`."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from baobab.identity.factors import TRANSACTION, Partner
from baobab.identity.ports import AuthenticationJournal
from baobab.kernel.audit import AuditEvent


class AttemptLog:
    """Writes one audit entry per authentication, OTP request or eKYC attempt."""

    def __init__(self, journal: AuthenticationJournal) -> None:
        self._journal = journal

    def pending(
        self,
        partner: Partner,
        transaction_id: str,
        factors: Sequence[str],
        outcome: str,
        now: datetime,
        *,
        error: str | None = None,
        ekyc: bool = False,
        released: int | None = None,
    ) -> Future[None]:
        """Queue the entry; the future completes when it is durable."""
        details = {"factors": ",".join(factors), "result": outcome}
        if error:
            details["error"] = error
        if released is not None:
            details["attributes_released"] = str(released)
        action = "identity.ekyc" if ekyc else "identity.authentication"
        event = AuditEvent(
            action,
            partner.client_id,
            transaction_id if TRANSACTION.fullmatch(transaction_id or "") else "invalid",
            "success" if outcome in ("yes", "sent") else "refused",
            details,
        )
        return self._journal.record(event, at=now)

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
        self.pending(partner, transaction_id, factors, outcome, now, **more).result()
