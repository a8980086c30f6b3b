"""Data agreements: an organisation defines them, revises them (a new revision each time, never
rewriting an old one) and retires them. Each revision is chained to the one before by SHA-256.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from baobab.consent.domain import (
    AgreementRevision,
    AgreementTerms,
    InvalidAgreement,
    UnknownAgreement,
)
from baobab.consent.integrity import seal_agreement, verify_agreement_history
from baobab.consent.ports import ConsentUnitOfWork, UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.hashchain import GENESIS, ChainBreak
from baobab.kernel.ids import new_id


class DataAgreements:
    """Agreement use cases. ``actor`` is the client id (or console user) acting;
    ``organisation`` is the member that owns the agreement."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _audit(
        self, uow: ConsentUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())

    def create(self, *, actor: str, organisation: str, terms: AgreementTerms) -> AgreementRevision:
        """A new data agreement owned by ``organisation``; its first revision."""
        if terms.compatible_from not in (None, 1):
            raise _no_earlier_revision()
        first = self._agreement_revision(
            agreement_id=new_id(),
            organisation=organisation,
            revision=1,
            terms=terms,
            actor=actor,
            previous_hash=GENESIS,
        )
        with self._uow() as uow:
            uow.store.add_agreement(first)
            self._audit(
                uow,
                "consent.agreement_created",
                actor,
                first.agreement_id,
                revision="1",
                lawful_basis=terms.lawful_basis.value,
            )
        return first

    def revise(
        self, *, actor: str, organisation: str, agreement_id: str, terms: AgreementTerms
    ) -> AgreementRevision:
        """Append a revision with new terms; earlier revisions stay as they were."""
        with self._uow() as uow:
            current = own_agreement(uow.store.lock_agreement(agreement_id), organisation)
            if terms.compatible_from is not None and terms.compatible_from > current.revision + 1:
                raise _no_earlier_revision()
            revision = self._agreement_revision(
                agreement_id=agreement_id,
                organisation=organisation,
                revision=current.revision + 1,
                terms=terms,
                actor=actor,
                previous_hash=current.hash,
            )
            uow.store.append_agreement_revision(revision)
            action = "consent.agreement_revised" if terms.active else "consent.agreement_retired"
            self._audit(uow, action, actor, agreement_id, revision=str(revision.revision))
        return revision

    def retire(self, *, actor: str, organisation: str, agreement_id: str) -> AgreementRevision:
        """Append an inactive revision: from now on the agreement authorises nothing."""
        current = self.get(organisation, agreement_id)
        terms = replace(current.terms, active=False)
        return self.revise(
            actor=actor, organisation=organisation, agreement_id=agreement_id, terms=terms
        )

    def get(self, organisation: str, agreement_id: str) -> AgreementRevision:
        """The current revision of one of ``organisation``'s agreements."""
        with self._uow() as uow:
            return own_agreement(uow.store.get_agreement(agreement_id), organisation)

    def history(self, organisation: str, agreement_id: str) -> Sequence[AgreementRevision]:
        """Every revision of one of ``organisation``'s agreements, oldest first."""
        with self._uow() as uow:
            own_agreement(uow.store.get_agreement(agreement_id), organisation)
            return uow.store.agreement_history(agreement_id)

    def owned_by(self, organisation: str) -> Sequence[AgreementRevision]:
        with self._uow() as uow:
            return uow.store.list_agreements(organisation)

    def verify(self, organisation: str, agreement_id: str) -> ChainBreak | None:
        """Re-compute the agreement's revision chain; the first break, or None."""
        return verify_agreement_history(self.history(organisation, agreement_id))

    def _agreement_revision(
        self,
        *,
        agreement_id: str,
        organisation: str,
        revision: int,
        terms: AgreementTerms,
        actor: str,
        previous_hash: str,
    ) -> AgreementRevision:
        draft = AgreementRevision(
            agreement_id,
            organisation,
            revision,
            terms,
            self._clock.now(),
            actor,
            previous_hash,
            hash="",
        )
        return seal_agreement(draft)


def own_agreement(agreement: AgreementRevision | None, organisation: str) -> AgreementRevision:
    """``agreement`` if it exists and belongs to ``organisation``; else it is unknown to it."""
    if agreement is None or agreement.organisation != organisation:
        raise UnknownAgreement("no such data agreement of this organisation")
    return agreement


def _no_earlier_revision() -> InvalidAgreement:
    return InvalidAgreement("compatible_from must name an existing revision or this one")
