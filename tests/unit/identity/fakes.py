"""Hand-written fakes of the identity block's ports: an in-memory store and unit of work, a
duplicate finder with rules a test can read, the directory's keys, consent that says yes or no,
a messenger and a journal that keep what they get."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from baobab.directory import ClientId, PublicKey
from baobab.identity import DuplicateCandidate, MatchOutcome
from baobab.identity.domain import Identity, IdentityVersion, ReviewCase, Vid
from baobab.identity.otp import OtpChallenge
from baobab.identity.packets import BiometricRef, Enrolment, PacketState
from baobab.kernel.audit import AuditEvent


@dataclass
class Tables:
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    packets: dict[str, dict[str, Any]] = field(default_factory=dict)
    purged: dict[str, datetime] = field(default_factory=dict)
    biometrics: dict[str, tuple[BiometricRef, ...]] = field(default_factory=dict)
    identities: dict[str, Identity] = field(default_factory=dict)
    history: list[IdentityVersion] = field(default_factory=list)
    cases: dict[str, ReviewCase] = field(default_factory=dict)
    vids: dict[str, Vid] = field(default_factory=dict)
    challenges: dict[str, OtpChallenge] = field(default_factory=dict)
    policies: dict[str, frozenset[str]] = field(default_factory=dict)


class FakeStore:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def get_enrolment(self, packet_id: str) -> Enrolment | None:
        return self.t.enrolments.get(packet_id)

    def add_enrolment(
        self,
        enrolment: Enrolment,
        demographics: Mapping[str, Any],
        *,
        biometrics: Sequence[BiometricRef] = (),
    ) -> bool:
        if enrolment.packet_id in self.t.enrolments:
            return False
        self.t.enrolments[enrolment.packet_id] = enrolment
        self.t.packets[enrolment.packet_id] = copy.deepcopy(dict(demographics))
        self.t.biometrics[enrolment.packet_id] = tuple(biometrics)
        return True

    def packet_biometrics(self, packet_id: str) -> tuple[BiometricRef, ...]:
        return self.t.biometrics.get(packet_id, ())

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self.t.enrolments[enrolment.packet_id] = enrolment

    def packet_demographics(self, packet_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.t.packets.get(packet_id))

    def packets_to_purge(
        self,
        *,
        states: Sequence[PacketState],
        received_before: datetime,
        after: str | None,
        limit: int,
    ) -> Sequence[Enrolment]:
        found = [
            e
            for packet_id, e in sorted(self.t.enrolments.items())
            if e.state in states
            and e.transitions[0].at < received_before
            and packet_id not in self.t.purged
            and (after is None or packet_id > after)
        ]
        return found[:limit]

    def purge_packet(self, packet_id: str, *, at: datetime) -> None:
        self.t.packets.pop(packet_id)
        self.t.biometrics.pop(packet_id, None)
        self.t.purged[packet_id] = at

    def get_identity(self, uin: str, *, for_update: bool = False) -> Identity | None:
        return self.t.identities.get(uin)

    def add_identity(self, identity: Identity) -> bool:
        if identity.uin in self.t.identities:
            return False
        self.t.identities[identity.uin] = identity
        self._version(identity)
        return True

    def save_identity(self, identity: Identity) -> None:
        if self.t.identities[identity.uin].version != identity.version:
            self._version(identity)
        self.t.identities[identity.uin] = identity

    def _version(self, identity: Identity) -> None:
        self.t.history.append(
            IdentityVersion(
                identity.uin,
                identity.version,
                copy.deepcopy(identity.attributes),
                identity.packet_id,
                identity.updated_at,
            )
        )

    def history(self, uin: str) -> Sequence[IdentityVersion]:
        return [v for v in self.t.history if v.uin == uin]

    def identities(self) -> Iterator[Identity]:
        return iter(list(self.t.identities.values()))

    def add_case(self, case: ReviewCase) -> None:
        self.t.cases[case.case_id] = case

    def get_case(self, case_id: str, *, for_update: bool = False) -> ReviewCase | None:
        return self.t.cases.get(case_id)

    def save_case(self, case: ReviewCase) -> None:
        self.t.cases[case.case_id] = case

    def list_cases(self, *, open_only: bool, limit: int) -> Sequence[ReviewCase]:
        found = [c for c in self.t.cases.values() if c.open or not open_only]
        return sorted(found, key=lambda c: (c.opened_at, c.case_id))[:limit]

    def add_vid(self, vid: Vid) -> bool:
        if vid.vid in self.t.vids:
            return False
        self.t.vids[vid.vid] = vid
        return True

    def get_vid(self, vid: str, *, for_update: bool = False) -> Vid | None:
        return self.t.vids.get(vid)

    def save_vid(self, vid: Vid) -> None:
        self.t.vids[vid.vid] = vid

    def vids_of(self, uin: str) -> Sequence[Vid]:
        return [v for v in self.t.vids.values() if v.uin == uin]

    def add_challenge(self, challenge: OtpChallenge) -> None:
        self.t.challenges[challenge.transaction_id] = challenge

    def get_challenge(self, transaction_id: str) -> OtpChallenge | None:
        return self.t.challenges.get(transaction_id)

    def save_challenge(self, challenge: OtpChallenge) -> None:
        self.t.challenges[challenge.transaction_id] = challenge

    def count_challenges(
        self, *, since: datetime, uin: str | None = None, partner: str | None = None
    ) -> int:
        return sum(
            1
            for c in self.t.challenges.values()
            if c.created_at > since
            and (uin is None or c.uin == uin)
            and (partner is None or c.partner == partner)
        )

    def failures_since(self, uin: str, since: datetime) -> int:
        return sum(
            c.failures for c in self.t.challenges.values() if c.uin == uin and c.created_at > since
        )

    def set_policy(self, partner: str, attributes: frozenset[str]) -> None:
        self.t.policies[partner] = attributes

    def get_policy(self, partner: str) -> frozenset[str] | None:
        return self.t.policies.get(partner)


class FakeAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent, *, at: datetime) -> None:
        self.events.append(event)


class FakeUnitOfWork:
    """Works on a copy of the tables; the copy replaces them only when the block succeeds, so a
    failed use case leaves nothing behind, as a rolled-back transaction would."""

    def __init__(self, owner: FakeDatabase) -> None:
        self._owner = owner

    def __enter__(self) -> FakeUnitOfWork:
        self._tables = copy.deepcopy(self._owner.tables)
        self.store = FakeStore(self._tables)
        self.audit = FakeAudit()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and (self._tables != self._owner.tables or self.audit.events):
            self._owner.tables = self._tables
            self._owner.audit.extend(self.audit.events)
            self._owner.commits += 1  # counts units of work that changed something


class FakeDatabase:
    def __init__(self) -> None:
        self.tables = Tables()
        self.audit: list[AuditEvent] = []
        self.commits = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def reader(self) -> FakeReader:
        return FakeReader(self)


class FakeReader:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def identity(self, uin: str) -> Identity | None:
        return self._db.tables.identities.get(uin)

    def vid(self, vid: str) -> Vid | None:
        return self._db.tables.vids.get(vid)

    def policy(self, partner: str) -> frozenset[str] | None:
        return self._db.tables.policies.get(partner)


class RuleFinder:
    """Matches by rules a reader can check: same given name, family name and birth date is a
    match; the same family name and birth date (another given name) needs review."""

    def __init__(self) -> None:
        self.gallery: dict[str, dict[str, str]] = {}

    def add(self, uin: str, person: Mapping[str, str]) -> None:
        self.gallery[uin] = dict(person)

    def remove(self, uin: str) -> None:
        self.gallery.pop(uin, None)

    def find(self, person: Mapping[str, str], *, limit: int = 10) -> Sequence[DuplicateCandidate]:
        found = []
        for uin, other in self.gallery.items():
            same = [
                k
                for k in ("given_name", "family_name", "birth_date")
                if other.get(k) == person.get(k)
            ]
            if len(same) == 3:
                found.append(
                    DuplicateCandidate(uin, 20.0, MatchOutcome.MATCH, {"given_name": "exact"})
                )
            elif set(same) == {"family_name", "birth_date"}:
                found.append(
                    DuplicateCandidate(uin, 5.0, MatchOutcome.REVIEW, {"given_name": "differs"})
                )
        return sorted(found, key=lambda c: -c.score)[:limit]


class Keys:
    """The directory's registered keys, as the enrolment service sees them."""

    def __init__(self) -> None:
        self.by_client: dict[ClientId, list[PublicKey]] = {}

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]:
        return self.by_client.get(client_id, [])


class Consent:
    """Says what it is told to, and remembers every question."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[dict[str, str]] = []

    def permits(self, *, individual: str, recipient: str, agreement_id: str, purpose: str) -> bool:
        self.asked.append(
            {
                "individual": individual,
                "recipient": recipient,
                "agreement_id": agreement_id,
                "purpose": purpose,
            }
        )
        return self.answer


@dataclass
class Sent:
    channel: str
    address: str
    text: str


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None:
        self.sent.append(Sent(channel, address, text))

    def last_code(self) -> str:
        return next(w.rstrip(".") for w in self.sent[-1].text.split() if w.rstrip(".").isdigit())


class Journal:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent, *, at: datetime) -> Future[None]:
        self.events.append(event)
        done: Future[None] = Future()
        done.set_result(None)
        return done

    async def written(self, event: AuditEvent, *, at: datetime) -> None:
        self.events.append(event)
