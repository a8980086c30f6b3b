"""Consent use cases: individuals give and withdraw consent as chained, signed record revisions;
organisations read, verify and export their records; the check asks whether data may move.
Data agreements are :mod:`baobab.consent.agreements` (``ConsentService.agreements``), the check
itself :mod:`baobab.consent.checks`.

Every change is audited in the same unit of work as the change itself. Organisations see only
their own agreements, individuals and records: anything of another organisation is reported as
unknown, except an individual token, whose owner is named so that a mix-up is caught early.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from baobab.consent.agreements import DataAgreements, own_agreement
from baobab.consent.checks import ConsentChecks
from baobab.consent.domain import (
    AgreementInactive,
    AgreementRevision,
    Channel,
    ConsentNotApplicable,
    ConsentRecord,
    Decision,
    ForeignIndividual,
    Individual,
    OptOutNotAllowed,
    UnknownRecord,
    check_token,
)
from baobab.consent.export import to_iso27560
from baobab.consent.integrity import seal_record, verify_record_history
from baobab.consent.ports import ConsentReader, ConsentStore, ConsentUnitOfWork, UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Conflict
from baobab.kernel.hashchain import GENESIS, ChainBreak
from baobab.kernel.ids import new_id
from baobab.kernel.principal import Principal
from baobab.kernel.signing import Signer, VerificationKey

CONSENT_SCOPES: dict[str, str] = {
    "consent:admin": "Define, revise and retire the organisation's data agreements",
    "consent:read": "Read, verify and export the organisation's consent records",
    "consent:individual": "Give, withdraw and view consent on behalf of an individual",
    "consent:check": "Ask whether personal data may move under an agreement now",
}


class ConcurrentChange(Conflict):
    code = "consent.concurrent_change"
    title = "The record changed concurrently; retry"


@dataclass(frozen=True, slots=True)
class RecordVerification:
    """A record that does not verify, and its first break."""

    record_id: str
    broken: ChainBreak


class ConsentService:
    """Use cases of the consent block. ``actor`` is the client id (or console user) acting;
    ``organisation`` is the member on whose behalf it acts."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        reader: ConsentReader,
        clock: Clock,
        signer: Signer,
        verification_keys: Iterable[VerificationKey] = (),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._signer = signer
        self._keys = {k.kid: k for k in (signer.verification_key, *verification_keys)}
        self._checks = ConsentChecks(uow=uow, reader=reader, clock=clock)
        self.agreements = DataAgreements(uow=uow, clock=clock)
        """Define, revise, retire and read data agreements."""

    def _audit(
        self, uow: ConsentUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())

    # --- individuals --------------------------------------------------------------------------

    def register_individual(self, *, actor: str, organisation: str, token: str) -> Individual:
        """Make a token known as ``organisation``'s; idempotent for the same organisation."""
        check_token(token)
        with self._uow() as uow:
            individual, added = self._own_individual(uow.store, organisation, token)
            if added:
                self._audit(uow, "consent.individual_registered", actor, organisation)
        return individual

    def _own_individual(
        self, store: ConsentStore, organisation: str, token: str
    ) -> tuple[Individual, bool]:
        individual = store.get_individual(token)
        added = False
        if individual is None:
            added = store.add_individual(Individual(token, organisation, self._clock.now()))
            individual = store.get_individual(token)
            assert individual is not None  # inserted now or by a concurrent writer
        if individual.organisation != organisation:
            raise ForeignIndividual("this individual token was issued to another organisation")
        return individual, added

    def _known_individual(self, store: ConsentStore, organisation: str, token: str) -> bool:
        check_token(token)
        individual = store.get_individual(token)
        if individual is not None and individual.organisation != organisation:
            raise ForeignIndividual("this individual token was issued to another organisation")
        return individual is not None

    # --- consent records ----------------------------------------------------------------------

    def give(
        self,
        *,
        actor: str,
        organisation: str,
        agreement_id: str,
        individual: str,
        channel: Channel,
    ) -> ConsentRecord:
        """The individual opts in to the agreement's current revision."""
        return self.choose(
            actor=actor,
            organisation=organisation,
            agreement_id=agreement_id,
            individual=individual,
            opt_in=True,
            channel=channel,
        )

    def withdraw(
        self,
        *,
        actor: str,
        organisation: str,
        agreement_id: str,
        individual: str,
        channel: Channel,
    ) -> ConsentRecord:
        """The individual withdraws consent (or objects); the very next check says no."""
        return self.choose(
            actor=actor,
            organisation=organisation,
            agreement_id=agreement_id,
            individual=individual,
            opt_in=False,
            channel=channel,
        )

    def choose(
        self,
        *,
        actor: str,
        organisation: str,
        agreement_id: str,
        individual: str,
        opt_in: bool,
        channel: Channel,
    ) -> ConsentRecord:
        """Record the individual's choice about an agreement as a new, chained, signed revision.

        Saying again what the record already says appends nothing and returns the record.
        """
        check_token(individual)
        channel = Channel(channel)
        for _ in range(3):
            with self._uow() as uow:
                store = uow.store
                agreement = own_agreement(store.get_agreement(agreement_id), organisation)
                basis = agreement.terms.lawful_basis
                if not opt_in and not basis.allows_opt_out:
                    raise OptOutNotAllowed(
                        f"an agreement based on {basis.value} cannot be opted out of"
                    )
                if opt_in and not basis.rests_on_consent:
                    raise ConsentNotApplicable(
                        f"an agreement based on {basis.value} does not ask for consent"
                    )
                if opt_in and not agreement.terms.active:
                    raise AgreementInactive(f"agreement {agreement_id} is retired")
                _, registered = self._own_individual(store, organisation, individual)
                if registered:
                    self._audit(uow, "consent.individual_registered", actor, organisation)
                current = store.lock_record(agreement_id, individual)
                now = self._clock.now()
                if current is not None and _says_already(current, opt_in, agreement, now):
                    return current
                record = self._next_revision(
                    current,
                    actor=actor,
                    agreement=agreement,
                    individual=individual,
                    opt_in=opt_in,
                    channel=channel,
                )
                if not store.append_record(record):
                    continue  # a concurrent first choice won; read it and go again
                self._audit(
                    uow,
                    f"consent.{record.state}",
                    actor,
                    record.record_id,
                    agreement_id=agreement_id,
                    agreement_revision=str(record.agreement_revision),
                    sequence=str(record.sequence),
                    channel=channel.value,
                )
                return record
        raise ConcurrentChange("the record kept changing under concurrent writers")

    def change_record(
        self,
        *,
        actor: str,
        organisation: str,
        record_id: str,
        individual: str,
        opt_in: bool,
        channel: Channel,
    ) -> ConsentRecord:
        """Give or withdraw through the record's id (GovStack's ``PUT consentrecord``)."""
        record = self._record(organisation, record_id, individual=individual)
        return self.choose(
            actor=actor,
            organisation=organisation,
            agreement_id=record.agreement_id,
            individual=individual,
            opt_in=opt_in,
            channel=channel,
        )

    def _next_revision(
        self,
        current: ConsentRecord | None,
        *,
        actor: str,
        agreement: AgreementRevision,
        individual: str,
        opt_in: bool,
        channel: Channel,
    ) -> ConsentRecord:
        now = self._clock.now()
        validity = agreement.terms.validity_days
        given_at = now if opt_in else (current.given_at if current else None)
        withdrawn_at = current.withdrawn_at if current else None
        if not opt_in and current is not None and current.opt_in:
            withdrawn_at = now
        draft = ConsentRecord(
            record_id=current.record_id if current else new_id(),
            sequence=current.sequence + 1 if current else 1,
            organisation=agreement.organisation,
            agreement_id=agreement.agreement_id,
            agreement_revision=agreement.revision,
            agreement_revision_hash=agreement.hash,
            individual=individual,
            opt_in=opt_in,
            given_at=given_at,
            withdrawn_at=withdrawn_at,
            expires_at=now + timedelta(days=validity) if opt_in and validity else None,
            channel=channel,
            at=now,
            actor=actor,
            previous_hash=current.hash if current else GENESIS,
            hash="",
            signature="",
        )
        return seal_record(draft, self._signer)

    def record_for(self, organisation: str, individual: str, agreement_id: str) -> ConsentRecord:
        """The individual's current record for one agreement."""
        with self._uow() as uow:
            own_agreement(uow.store.get_agreement(agreement_id), organisation)
            found = None
            if self._known_individual(uow.store, organisation, individual):
                found = next(
                    (
                        r
                        for r in uow.store.records_of(organisation, individual)
                        if r.agreement_id == agreement_id
                    ),
                    None,
                )
        if found is None:
            raise UnknownRecord(f"the individual has no record for agreement {agreement_id}")
        return found

    def records_of(self, organisation: str, individual: str) -> Sequence[ConsentRecord]:
        """The individual's view: every agreement of ``organisation`` they have a record for."""
        with self._uow() as uow:
            if not self._known_individual(uow.store, organisation, individual):
                return []
            return uow.store.records_of(organisation, individual)

    def list_records(
        self,
        organisation: str,
        *,
        agreement_id: str | None = None,
        opt_in: bool | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[ConsentRecord]:
        """``organisation``'s current records, in record id order, a page at a time."""
        with self._uow() as uow:
            if agreement_id is not None:
                own_agreement(uow.store.get_agreement(agreement_id), organisation)
            return uow.store.list_records(
                organisation, agreement_id=agreement_id, opt_in=opt_in, after=after, limit=limit
            )

    def history(self, organisation: str, record_id: str) -> Sequence[ConsentRecord]:
        """Every revision of one of ``organisation``'s records, oldest first."""
        self._record(organisation, record_id)
        with self._uow() as uow:
            return uow.store.record_history(record_id)

    def get_record(self, organisation: str, record_id: str) -> ConsentRecord:
        return self._record(organisation, record_id)

    def _record(
        self, organisation: str, record_id: str, *, individual: str | None = None
    ) -> ConsentRecord:
        with self._uow() as uow:
            record = uow.store.get_record(record_id)
        if (
            record is None
            or record.organisation != organisation
            or (individual is not None and record.individual != individual)
        ):
            raise UnknownRecord(f"no consent record {record_id}")
        return record

    def export(self, organisation: str, record_id: str) -> dict[str, Any]:
        """The record's whole history as ISO/IEC TS 27560-shaped JSON."""
        history = self.history(organisation, record_id)
        with self._uow() as uow:
            revisions = {
                r.revision: r for r in uow.store.agreement_history(history[-1].agreement_id)
            }
        return to_iso27560(history, revisions, recorder=f"baobab:{self._signer.kid}")

    # --- verification -------------------------------------------------------------------------

    def verify_record(
        self, record_id: str, *, organisation: str | None = None
    ) -> ChainBreak | None:
        """Re-compute a record's chain and check every signature and the current state.

        Detects a changed, removed or reordered revision, a signature that is not the
        instance's over that revision's hash, and a current state that is not the newest
        revision (the state the check reads).
        """
        with self._uow() as uow:
            state = uow.store.current_state(record_id)
            if state is None or (organisation is not None and state.organisation != organisation):
                raise UnknownRecord(f"no consent record {record_id}")
            # lock the record so that no writer appends between reading it and its history
            uow.store.lock_record(state.agreement_id, state.individual)
            state = uow.store.current_state(record_id) or state
            history = uow.store.record_history(record_id)
        return verify_record_history(state, history, self._keys)

    def verify_all(self, *, page: int = 1000) -> tuple[int, list[RecordVerification]]:
        """Verify every record; the number verified and the broken ones."""
        count = 0
        broken: list[RecordVerification] = []
        after: str | None = None
        while True:
            with self._uow() as uow:
                ids = uow.store.record_ids(after=after, limit=page)
            if not ids:
                return count, broken
            for record_id in ids:
                count += 1
                result = self.verify_record(record_id)
                if result is not None:
                    broken.append(RecordVerification(record_id, result))
            after = ids[-1]

    # --- the check ----------------------------------------------------------------------------

    def check(
        self,
        *,
        individual: str,
        agreement_id: str,
        purpose: str,
        recipient: str,
        asker: Principal | None = None,
    ) -> Decision:
        """May data about ``individual`` move under the agreement, for ``purpose``, to
        ``recipient``, now? Reads committed state each time: a withdrawal counts at once.
        See :class:`~baobab.consent.checks.ConsentChecks`."""
        return self._checks.check(
            individual=individual,
            agreement_id=agreement_id,
            purpose=purpose,
            recipient=recipient,
            asker=asker,
        )

    def check_many(
        self,
        *,
        individuals: Sequence[str],
        agreement_id: str,
        purpose: str,
        recipient: str,
        asker: Principal | None = None,
    ) -> list[Decision]:
        """:meth:`check` for up to 1000 individuals under one agreement in one read, in order:
        for the gateway's batched exchanges (a payment list, a registry extract)."""
        return self._checks.check_many(
            individuals=individuals,
            agreement_id=agreement_id,
            purpose=purpose,
            recipient=recipient,
            asker=asker,
        )


def _says_already(
    record: ConsentRecord, opt_in: bool, agreement: AgreementRevision, now: datetime
) -> bool:
    if record.opt_in != opt_in:
        return False
    if not opt_in:
        return True
    fresh = record.expires_at is None or now < record.expires_at
    return record.agreement_revision == agreement.revision and fresh
