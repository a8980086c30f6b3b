"""What the identity block needs from outside: its store, the enrolling subsystems' keys, a
duplicate finder, a consent check, a messenger, and a durable journal for authentications."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from baobab.directory import ClientId, PublicKey
from baobab.identity.biometrics import BiometricCandidate
from baobab.identity.domain import DuplicateCandidate, Identity, IdentityVersion, ReviewCase, Vid
from baobab.identity.otp import OtpChallenge
from baobab.identity.packets import BiometricRef, Enrolment, PacketState
from baobab.kernel.audit import AuditEvent, AuditTrail


class IdentityStore(Protocol):
    """Packets, identities and their history, review cases, VIDs, OTP challenges and partner
    policies. Personal attributes are encrypted by the store before they reach the disk."""

    # enrolments
    def get_enrolment(self, packet_id: str) -> Enrolment | None: ...

    def add_enrolment(
        self,
        enrolment: Enrolment,
        demographics: Mapping[str, Any],
        *,
        biometrics: Sequence[BiometricRef] = (),
    ) -> bool:
        """Record a new packet (and its biometric references); False if its id exists (also
        under concurrency)."""
        ...

    def packet_biometrics(self, packet_id: str) -> tuple[BiometricRef, ...]:
        """The biometric references the packet carried; empty once purged."""
        ...

    def save_enrolment(self, enrolment: Enrolment) -> None: ...

    def packet_demographics(self, packet_id: str) -> dict[str, Any] | None:
        """The packet's sealed demographics opened; None if unknown or purged."""
        ...

    def packets_to_purge(
        self,
        *,
        states: Sequence[PacketState],
        received_before: datetime,
        after: str | None,
        limit: int,
    ) -> Sequence[Enrolment]:
        """Packets in ``states``, received before the time, not purged yet, in packet-id order
        after ``after``."""
        ...

    def purge_packet(self, packet_id: str, *, at: datetime) -> None:
        """Delete the packet's personal data; its id, digest, states and outcome stay."""
        ...

    # identities
    def get_identity(self, uin: str, *, for_update: bool = False) -> Identity | None: ...

    def add_identity(self, identity: Identity) -> bool:
        """Record a new identity (version 1); False if the UIN is taken."""
        ...

    def save_identity(self, identity: Identity) -> None:
        """Store the identity's status, or a new version of its attributes (kept in history)."""
        ...

    def history(self, uin: str) -> Sequence[IdentityVersion]: ...

    def identities(self) -> Iterator[Identity]:
        """Every identity, for building the matcher's gallery at start."""
        ...

    # review
    def add_case(self, case: ReviewCase) -> None: ...

    def get_case(self, case_id: str, *, for_update: bool = False) -> ReviewCase | None: ...

    def save_case(self, case: ReviewCase) -> None: ...

    def list_cases(self, *, open_only: bool, limit: int) -> Sequence[ReviewCase]: ...

    # virtual IDs
    def add_vid(self, vid: Vid) -> bool: ...

    def get_vid(self, vid: str, *, for_update: bool = False) -> Vid | None: ...

    def save_vid(self, vid: Vid) -> None: ...

    def vids_of(self, uin: str) -> Sequence[Vid]: ...

    # OTP
    def add_challenge(self, challenge: OtpChallenge) -> None: ...

    def get_challenge(self, transaction_id: str) -> OtpChallenge | None:
        """The challenge, locked until the transaction ends (concurrent tries line up)."""
        ...

    def save_challenge(self, challenge: OtpChallenge) -> None: ...

    def count_challenges(
        self, *, since: datetime, uin: str | None = None, partner: str | None = None
    ) -> int: ...

    def failures_since(self, uin: str, since: datetime) -> int: ...

    # partner policies
    def set_policy(self, partner: str, attributes: frozenset[str]) -> None: ...

    def get_policy(self, partner: str) -> frozenset[str] | None: ...


class IdentityUnitOfWork(Protocol):
    """One transaction over the store and the audit trail: commits on exit unless it raised."""

    @property
    def store(self) -> IdentityStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> IdentityUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], IdentityUnitOfWork]


class IdentityReader(Protocol):
    """Reads for the authentication hot path, outside any write transaction."""

    def identity(self, uin: str) -> Identity | None: ...

    def vid(self, vid: str) -> Vid | None: ...

    def policy(self, partner: str) -> frozenset[str] | None: ...


class KeyDirectory(Protocol):
    """The directory's registered public keys of a subsystem (``DirectoryService.keys_of``)."""

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]: ...


@runtime_checkable
class CachedKeys(Protocol):
    """A :class:`KeyDirectory` that remembers answers; ``refresh`` looks again now."""

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]: ...

    def refresh(self, client_id: ClientId) -> Sequence[PublicKey]: ...


class DuplicateFinder(Protocol):
    """The demographic matcher over the gallery of registered identities.

    ``person`` holds the profile's matching fields under the matcher's names (``given_name``,
    ``family_name``, ``other_names``, ``birth_date``, ``sex``, ``location``, ``phone``).
    """

    def add(self, uin: str, person: Mapping[str, str]) -> None: ...

    def remove(self, uin: str) -> None: ...

    def find(self, person: Mapping[str, str], *, limit: int = 10) -> Sequence[DuplicateCandidate]:
        """Candidates best first; DISTINCT ones may be left out."""
        ...


class BiometricMatcher(Protocol):
    """The ABIS: an external biometric matcher holding the templates packets refer to.

    ``identify`` asks who in its gallery has the biometrics ``references`` name (candidates
    that are not DISTINCT); ``insert`` adds a newly issued person's biometrics under their UIN.
    ``request_id`` makes a retried request recognisable. Either raises ``AbisUnavailable``.
    """

    def identify(
        self, *, request_id: str, references: Sequence[BiometricRef]
    ) -> Sequence[BiometricCandidate]: ...

    def insert(self, *, request_id: str, uin: str, references: Sequence[BiometricRef]) -> None: ...


class ConsentCheck(Protocol):
    """Asks the Consent block whether data about a person may move to a partner now.

    The arguments mirror ``ConsentService.check``: ``individual`` is the person's token at the
    partner's organisation (never the UIN); ``recipient`` the partner subsystem's client id;
    ``agreement_id`` the data agreement the partner holds the consent under; ``purpose`` what
    the data is for. An unknown agreement or any refusal is ``False``.
    """

    def permits(
        self, *, individual: str, recipient: str, agreement_id: str, purpose: str
    ) -> bool: ...


class Messenger(Protocol):
    """Sends a short message to a person on ``channel`` (``sms`` or ``email``)."""

    def send(self, *, channel: str, address: str, subject: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message the development outbox kept instead of sending."""

    message_id: str
    channel: str
    address: str
    subject: str
    text: str
    created_at: datetime


class OutboxReader(Protocol):
    """Development only: reads the messages that would have been sent, newest first."""

    def messages(
        self, *, address: str | None = None, limit: int = 20
    ) -> Sequence[OutboxMessage]: ...


class AuthenticationJournal(Protocol):
    """Appends authentication events to the audit trail."""

    def record(self, event: AuditEvent, *, at: datetime) -> Future[None]:
        """Queue ``event``; the future completes when it is durable (or fails if it is not)."""
        ...

    async def written(self, event: AuditEvent, *, at: datetime) -> None:
        """Queue ``event`` and return once it is durable (or raise if it is not), holding no
        thread while it waits: the way an event loop waits for an entry."""
        ...
