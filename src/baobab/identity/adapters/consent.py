"""The identity block's consent port answered by the Consent block in the same process."""

from __future__ import annotations

from baobab.consent import (
    CheckNotPermitted,
    ConsentService,
    InvalidIndividualToken,
    UnknownAgreement,
)


class InProcessConsent:
    """Asks :meth:`ConsentService.check` as a trusted in-process caller; reads committed state,
    so a withdrawal refuses the very next eKYC request. An agreement the partner does not hold
    or a token that is not one counts as no consent."""

    def __init__(self, consent: ConsentService) -> None:
        self._consent = consent

    def permits(self, *, individual: str, recipient: str, agreement_id: str, purpose: str) -> bool:
        try:
            decision = self._consent.check(
                individual=individual,
                agreement_id=agreement_id,
                purpose=purpose,
                recipient=recipient,
            )
        except (UnknownAgreement, InvalidIndividualToken, CheckNotPermitted):
            return False
        return decision.allowed
