"""The exchange's consent port answered by the Consent block in the same process."""

from __future__ import annotations

from baobab.consent import ConsentService
from baobab.exchange.ports import ConsentAnswer, ConsentQuery


class InProcessConsent:
    """Asks :meth:`ConsentService.check` as a trusted in-process caller; reads committed state,
    so a withdrawal stops the very next message."""

    def __init__(self, consent: ConsentService) -> None:
        self._consent = consent

    def check(self, query: ConsentQuery) -> ConsentAnswer:
        decision = self._consent.check(
            individual=query.individual,
            agreement_id=query.agreement_id,
            purpose=query.purpose,
            recipient=query.recipient,
        )
        return ConsentAnswer(decision.allowed, decision.reason, decision.record_id)
