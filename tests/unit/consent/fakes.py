"""Hand-written in-memory fakes of the consent block's ports, with real rollback on error."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

from baobab.consent import AgreementRevision, ConsentRecord, Individual
from baobab.consent.domain import RecordState, StoredState
from baobab.consent.ports import BatchCheckState, CheckState
from baobab.kernel.audit import AuditEvent


@dataclass
class _State:
    individuals: dict[str, Individual] = field(default_factory=dict)
    agreements: dict[str, list[AgreementRevision]] = field(default_factory=dict)
    current: dict[tuple[str, str], ConsentRecord] = field(default_factory=dict)
    revisions: dict[str, list[ConsentRecord]] = field(default_factory=dict)
    audit: list[tuple[AuditEvent, datetime]] = field(default_factory=list)


class FakeStore:
    def __init__(self, state: _State) -> None:
        self.s = state

    def add_individual(self, individual: Individual) -> bool:
        if individual.token in self.s.individuals:
            return False
        self.s.individuals[individual.token] = individual
        return True

    def get_individual(self, token: str) -> Individual | None:
        return self.s.individuals.get(token)

    def add_agreement(self, first: AgreementRevision) -> None:
        assert first.agreement_id not in self.s.agreements
        self.s.agreements[first.agreement_id] = [first]

    def lock_agreement(self, agreement_id: str) -> AgreementRevision | None:
        return self.get_agreement(agreement_id)

    def append_agreement_revision(self, revision: AgreementRevision) -> None:
        history = self.s.agreements[revision.agreement_id]
        assert history[-1].revision == revision.revision - 1
        history.append(revision)

    def get_agreement(self, agreement_id: str) -> AgreementRevision | None:
        history = self.s.agreements.get(agreement_id)
        return history[-1] if history else None

    def agreement_revision(self, agreement_id: str, revision: int) -> AgreementRevision | None:
        history = self.s.agreements.get(agreement_id, [])
        return next((r for r in history if r.revision == revision), None)

    def agreement_history(self, agreement_id: str) -> Sequence[AgreementRevision]:
        return list(self.s.agreements.get(agreement_id, []))

    def list_agreements(self, organisation: str) -> Sequence[AgreementRevision]:
        current = [h[-1] for h in self.s.agreements.values()]
        return sorted(
            (a for a in current if a.organisation == organisation), key=lambda a: a.agreement_id
        )

    def lock_record(self, agreement_id: str, individual: str) -> ConsentRecord | None:
        return self.s.current.get((agreement_id, individual))

    def append_record(self, record: ConsentRecord) -> bool:
        key = (record.agreement_id, record.individual)
        previous = self.s.current.get(key)
        if record.sequence == 1 and previous is not None:
            return False
        if record.sequence > 1 and (previous is None or previous.sequence != record.sequence - 1):
            return False
        self.s.current[key] = record
        self.s.revisions.setdefault(record.record_id, []).append(record)
        return True

    def get_record(self, record_id: str) -> ConsentRecord | None:
        return next((r for r in self.s.current.values() if r.record_id == record_id), None)

    def current_state(self, record_id: str) -> StoredState | None:
        record = self.get_record(record_id)
        return StoredState.of(record) if record else None

    def records_of(self, organisation: str, individual: str) -> Sequence[ConsentRecord]:
        return sorted(
            (
                r
                for r in self.s.current.values()
                if r.organisation == organisation and r.individual == individual
            ),
            key=lambda r: r.record_id,
        )

    def list_records(
        self,
        organisation: str,
        *,
        agreement_id: str | None,
        opt_in: bool | None,
        after: str | None,
        limit: int,
    ) -> Sequence[ConsentRecord]:
        chosen = sorted(
            (
                r
                for r in self.s.current.values()
                if r.organisation == organisation
                and (agreement_id is None or r.agreement_id == agreement_id)
                and (opt_in is None or r.opt_in == opt_in)
                and (after is None or r.record_id > after)
            ),
            key=lambda r: r.record_id,
        )
        return chosen[:limit]

    def record_history(self, record_id: str) -> Sequence[ConsentRecord]:
        return list(self.s.revisions.get(record_id, []))

    def record_ids(self, *, after: str | None, limit: int) -> Sequence[str]:
        ids = sorted(r.record_id for r in self.s.current.values())
        return [i for i in ids if after is None or i > after][:limit]


class FakeAudit:
    def __init__(self, state: _State) -> None:
        self.s = state

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.s.audit.append((event, at))


class FakeUnitOfWork:
    """Works on a copy of the committed state; the copy becomes the state only on success."""

    def __init__(self, world: FakeConsent) -> None:
        self._world = world

    def __enter__(self) -> FakeUnitOfWork:
        self._draft = copy.deepcopy(self._world.state)
        self.store = FakeStore(self._draft)
        self.audit = FakeAudit(self._draft)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._world.state = self._draft


class FakeReader:
    """Reads the committed state each time, as the SQL reader does."""

    def __init__(self, world: FakeConsent) -> None:
        self._world = world
        self.reads = 0

    def check_state(self, agreement_id: str, individual: str) -> CheckState | None:
        batch = self.check_states(agreement_id, [individual])
        if batch is None:
            return None
        return CheckState(batch.organisation, batch.current_revision, batch.records.get(individual))

    def check_states(self, agreement_id: str, individuals: Sequence[str]) -> BatchCheckState | None:
        self.reads += 1
        history = self._world.state.agreements.get(agreement_id)
        if not history:
            return None
        found = {}
        for individual in individuals:
            record = self._world.state.current.get((agreement_id, individual))
            if record is not None:
                found[individual] = RecordState(
                    record.record_id,
                    record.sequence,
                    record.opt_in,
                    record.agreement_revision,
                    record.expires_at,
                )
        return BatchCheckState(history[-1].organisation, history[-1].revision, found)


class FakeConsent:
    """The committed state, a unit-of-work factory over it and a check reader."""

    def __init__(self) -> None:
        self.state = _State()
        self.reader = FakeReader(self)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def actions(self) -> list[str]:
        return [event.action for event, _ in self.state.audit]
