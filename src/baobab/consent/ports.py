"""What the consent block needs from outside: its store inside a unit of work with the audit
trail, and a fast reader for the consent check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from baobab.consent.domain import (
    AgreementRevision,
    ConsentRecord,
    Individual,
    RecordState,
    StoredState,
)
from baobab.kernel.audit import AuditTrail


class ConsentStore(Protocol):
    """Agreements and their revisions, individuals, consent records and their revisions.

    Revisions are append-only: nothing here rewrites or deletes one.
    """

    def add_individual(self, individual: Individual) -> bool:
        """Record a new token; False if the token is already known (also under concurrency)."""
        ...

    def get_individual(self, token: str) -> Individual | None: ...

    def add_agreement(self, first: AgreementRevision) -> None:
        """A new agreement with its first revision."""
        ...

    def lock_agreement(self, agreement_id: str) -> AgreementRevision | None:
        """The current revision, locked until the unit of work ends (writers line up)."""
        ...

    def append_agreement_revision(self, revision: AgreementRevision) -> None:
        """Append the revision after the locked current one and make it current."""
        ...

    def get_agreement(self, agreement_id: str) -> AgreementRevision | None:
        """The current revision, or None if there is no such agreement."""
        ...

    def agreement_revision(self, agreement_id: str, revision: int) -> AgreementRevision | None: ...

    def agreement_history(self, agreement_id: str) -> Sequence[AgreementRevision]:
        """Every revision, oldest first."""
        ...

    def list_agreements(self, organisation: str) -> Sequence[AgreementRevision]:
        """The current revision of each of ``organisation``'s agreements."""
        ...

    def lock_record(self, agreement_id: str, individual: str) -> ConsentRecord | None:
        """The record's newest revision, locked until the unit of work ends."""
        ...

    def append_record(self, record: ConsentRecord) -> bool:
        """Append a revision and make it the record's current state.

        For sequence 1, False if another writer created the record for the same individual and
        agreement first (the caller retries); nothing was written then.
        """
        ...

    def get_record(self, record_id: str) -> ConsentRecord | None:
        """The record's newest revision."""
        ...

    def current_state(self, record_id: str) -> StoredState | None:
        """The record's current-state row as stored (what the check reads)."""
        ...

    def records_of(self, organisation: str, individual: str) -> Sequence[ConsentRecord]:
        """The newest revision of each of the individual's records with ``organisation``."""
        ...

    def list_records(
        self,
        organisation: str,
        *,
        agreement_id: str | None,
        opt_in: bool | None,
        after: str | None,
        limit: int,
    ) -> Sequence[ConsentRecord]:
        """Current records of ``organisation`` ordered by record id, after ``after``."""
        ...

    def record_history(self, record_id: str) -> Sequence[ConsentRecord]:
        """Every revision of a record, oldest first."""
        ...

    def record_ids(self, *, after: str | None, limit: int) -> Sequence[str]:
        """Every record id in order, a page at a time (for verifying them all)."""
        ...


class ConsentUnitOfWork(Protocol):
    """One transaction over the store and the audit trail: commits on exit unless it raised."""

    @property
    def store(self) -> ConsentStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> ConsentUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], ConsentUnitOfWork]


@dataclass(frozen=True, slots=True)
class CheckState:
    """What one read returns for a check: the agreement's owner and current revision number,
    and the individual's record for it, if any."""

    organisation: str
    current_revision: int
    record: RecordState | None


@dataclass(frozen=True, slots=True)
class BatchCheckState:
    """What one read returns for a batch of checks under one agreement: the records found, by
    individual token."""

    organisation: str
    current_revision: int
    records: dict[str, RecordState]


class ConsentReader(Protocol):
    """The check's read path: one query on committed data, no transaction to hold, no cache."""

    def check_state(self, agreement_id: str, individual: str) -> CheckState | None:
        """None if there is no such agreement."""
        ...

    def check_states(self, agreement_id: str, individuals: Sequence[str]) -> BatchCheckState | None:
        """The records of many individuals under one agreement; None if there is no such
        agreement."""
        ...
