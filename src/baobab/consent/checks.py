"""The consent check: may data about an individual move under an agreement, for a purpose, to
a recipient, now? The hot path of every personal-data exchange.

Each check reads committed state through :class:`ConsentReader` — there is no cache of consent,
so a withdrawal counts for the very next check. Agreement revisions are immutable, so their
content is cached by (agreement, revision number): a new revision has a new number, and the
cache can never answer for an old one.
"""

from __future__ import annotations

from collections.abc import Sequence

from baobab.consent.domain import (
    AgreementRevision,
    CheckNotPermitted,
    Decision,
    UnknownAgreement,
    check_token,
    decide,
    organisation_of,
)
from baobab.consent.ports import ConsentReader, UnitOfWorkFactory
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.principal import Principal

OPERATOR_ROLE = "operator"
MAX_BATCH = 1000
_REVISION_CACHE_LIMIT = 10_000


class ConsentChecks:
    """Answers checks from one read of the current state each."""

    def __init__(self, *, uow: UnitOfWorkFactory, reader: ConsentReader, clock: Clock) -> None:
        self._uow = uow
        self._reader = reader
        self._clock = clock
        self._revisions: dict[tuple[str, int], AgreementRevision] = {}

    def check(
        self,
        *,
        individual: str,
        agreement_id: str,
        purpose: str,
        recipient: str,
        asker: Principal | None = None,
    ) -> Decision:
        """The decision for one individual. ``asker`` is the HTTP caller: the agreement's owner,
        a named recipient or an operator member; ``None`` is a trusted in-process caller."""
        check_token(individual)
        state = self._reader.check_state(agreement_id, individual)
        if state is None:
            raise UnknownAgreement(f"no data agreement {agreement_id}")
        agreement = self._agreement(agreement_id, state.current_revision, asker)
        return decide(
            agreement, state.record, purpose=purpose, recipient=recipient, now=self._clock.now()
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
        """The decisions for many individuals under one agreement, from one read, in order."""
        if not 1 <= len(individuals) <= MAX_BATCH:
            raise InvalidInput(f"a batch checks 1 to {MAX_BATCH} individuals")
        for individual in individuals:
            check_token(individual)
        state = self._reader.check_states(agreement_id, individuals)
        if state is None:
            raise UnknownAgreement(f"no data agreement {agreement_id}")
        agreement = self._agreement(agreement_id, state.current_revision, asker)
        now = self._clock.now()
        return [
            decide(
                agreement,
                state.records.get(individual),
                purpose=purpose,
                recipient=recipient,
                now=now,
            )
            for individual in individuals
        ]

    def _agreement(
        self, agreement_id: str, revision: int, asker: Principal | None
    ) -> AgreementRevision:
        agreement = self._revision(agreement_id, revision)
        if asker is not None and not _may_check(asker, agreement):
            raise CheckNotPermitted(
                "only the agreement's owner, a named recipient or the operator may check it"
            )
        return agreement

    def _revision(self, agreement_id: str, revision: int) -> AgreementRevision:
        key = (agreement_id, revision)
        cached = self._revisions.get(key)
        if cached is not None:
            return cached
        with self._uow() as uow:
            loaded = uow.store.agreement_revision(agreement_id, revision)
        if loaded is None:
            raise UnknownAgreement(f"no data agreement {agreement_id}")
        if len(self._revisions) >= _REVISION_CACHE_LIMIT:
            self._revisions.clear()
        self._revisions[key] = loaded
        return loaded


def _may_check(asker: Principal, agreement: AgreementRevision) -> bool:
    return (
        organisation_of(asker.client_id) == agreement.organisation
        or agreement.terms.names_recipient(asker.client_id)
        or OPERATOR_ROLE in asker.roles
    )
