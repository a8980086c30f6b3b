"""What the exchange needs from outside: its store, the directory (rights and keys), the
providers' HTTP endpoints and the Consent block."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from baobab.directory import (
    AccessRight,
    ClientId,
    Member,
    MemberId,
    PublicKey,
    ServiceRef,
    Subsystem,
)
from baobab.exchange.domain import Checkpoint, LogEntry, MessageRecord, SealedBody, Service
from baobab.kernel.audit import AuditTrail

# --- the store ------------------------------------------------------------------------------


class ServiceStore(Protocol):
    """Registered services."""

    def get_service(self, provider: ClientId, code: str) -> Service | None: ...

    def add_service(self, service: Service) -> bool:
        """Record a new one; False if the provider already has this code."""
        ...

    def save_service(self, service: Service) -> None: ...

    def remove_service(self, provider: ClientId, code: str) -> bool: ...

    def list_services(self, provider: ClientId | None = None) -> Sequence[Service]: ...


class MessageLogStore(Protocol):
    """The message log chain, its head and its checkpoints."""

    def advance_head(self, count: int) -> tuple[int, str]:
        """Reserve ``count`` sequence numbers (taking the head's lock until the transaction
        ends); return the sequence and hash of the entry before the first reserved one."""
        ...

    def set_head_hash(self, sequence: int, hash_: str) -> None: ...

    def head(self) -> tuple[int, str]: ...

    def insert_entries(self, entries: Sequence[LogEntry]) -> None: ...

    def entries(self, first: int, last: int) -> Sequence[LogEntry]:
        """Entries ``first..last`` in order (as stored, possibly tampered with)."""
        ...

    def entry_hashes(self, first: int, last: int) -> Sequence[str]: ...

    def find_entry(self, message_id: str) -> LogEntry | None: ...

    def last_checkpoint(self) -> Checkpoint | None: ...

    def checkpoint_covering(self, sequence: int) -> Checkpoint | None: ...

    def add_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def checkpoints(self) -> Sequence[Checkpoint]: ...

    def insert_bodies(self, sealed: Sequence[SealedBody]) -> None: ...

    def bodies_of(self, message_id: str) -> Sequence[SealedBody]: ...

    def unstamped_checkpoints(self, limit: int) -> Sequence[Checkpoint]:
        """Checkpoints without an RFC 3161 time-stamp token, oldest first."""
        ...

    def add_stamp(self, last: int, token: str, stamped_at: datetime) -> None: ...

    def stamps(self) -> dict[int, str]:
        """Time-stamp tokens (base64 DER) by the ``last`` of their checkpoint."""
        ...

    def stamp_of(self, last: int) -> str | None:
        """The time-stamp token (base64 DER) of the checkpoint ending at ``last``, if any."""
        ...


class ExchangeUnitOfWork(Protocol):
    """One transaction over the exchange's store and the audit trail."""

    @property
    def services(self) -> ServiceStore: ...

    @property
    def log(self) -> MessageLogStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> ExchangeUnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], ExchangeUnitOfWork]


class MessageObserver(Protocol):
    """Told of every answered message (``OperationalMonitor`` is one); ``error`` is set when
    the answer became a refusal after the record was made (the log could not be written)."""

    def observe(self, record: MessageRecord, *, error: str | None = None) -> None: ...


class MessageLogWriter(Protocol):
    """Makes a message's record durable before its answer leaves (``MessageLog`` is one);
    raises ``MessageLogUnavailable`` when it cannot."""

    async def append(self, record: MessageRecord) -> LogEntry: ...


class BodyCipher(Protocol):
    """Encrypts stored message bodies (AES-GCM); ``key_id`` names the key new bodies use."""

    @property
    def key_id(self) -> str: ...

    def seal(self, plaintext: bytes, *, context: bytes) -> tuple[str, bytes, bytes]:
        """``(key_id, nonce, ciphertext)`` of ``plaintext`` bound to ``context``."""
        ...

    def open(self, key_id: str, nonce: bytes, ciphertext: bytes, *, context: bytes) -> bytes:
        """The plaintext; raises ``BodyUnreadable`` for an unknown key or a failed check."""
        ...


class TimeStamper(Protocol):
    """An RFC 3161 time-stamping authority: a token over a SHA-256 digest, and its check."""

    async def stamp(self, digest: bytes) -> bytes:
        """A time-stamp token (DER) whose message imprint is ``digest``; raises ``Unavailable``."""
        ...

    def check(self, token: bytes, digest: bytes) -> datetime:
        """The time the token attests for ``digest``; raises ``InvalidInput`` if it does not
        verify with the authority's certificate or names another digest."""
        ...

    def certificate(self) -> bytes:
        """The authority's pinned X.509 certificate (DER), carried in evidence bundles."""
        ...


class StampCheck(Protocol):
    """The offline check of a time-stamp token in an evidence bundle: the token verifies with
    the X.509 ``certificate`` (DER) carried beside it, that certificate is a time-stamping
    authority's, and the token's message imprint is ``digest``. Returns the attested time;
    raises ``InvalidInput`` otherwise. (``baobab.exchange.adapters.tsa.check_offline`` is one.)"""

    def __call__(self, token: bytes, digest: bytes, certificate: bytes) -> datetime: ...


# --- the directory --------------------------------------------------------------------------


class AccessRights(Protocol):
    """The directory's access decision (``DirectoryService`` is one): raises ``AccessDenied``
    unless ``client_id`` holds a right on ``service``. Deny by default."""

    def check_access(self, client_id: ClientId, service: ServiceRef) -> None: ...


class ClientDirectory(Protocol):
    """The directory's members, subsystems and rights (``DirectoryService`` is one)."""

    def list_members(self) -> Sequence[Member]: ...

    def get_member(self, member_id: MemberId) -> tuple[Member, Sequence[Subsystem]]: ...

    def rights_of(self, client_id: ClientId) -> Sequence[AccessRight]: ...


class KeyDirectory(Protocol):
    """The directory's public keys of a subsystem (``DirectoryService`` is one)."""

    def keys_of(self, client_id: ClientId) -> Sequence[PublicKey]: ...


# --- providers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """A signed request on its way to the provider's ``url``."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """What the provider answered; ``headers`` have lower-case names."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class ProviderClient(Protocol):
    """Sends a request to a provider. Raises ``ProviderTimeout`` after ``timeout`` seconds,
    ``ProviderUnreachable`` when no answer comes, ``ResponseTooLarge`` past ``max_body``."""

    async def send(
        self, request: ProviderRequest, *, timeout: float, max_body: int
    ) -> ProviderResponse: ...

    async def aclose(self) -> None:
        """Close pooled connections; they belong to the event loop that is ending."""
        ...


# --- consent --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentQuery:
    """May data about ``individual`` (the provider's token for the person) move under
    ``agreement_id`` for ``purpose`` to ``recipient`` (the consumer subsystem)?"""

    individual: str
    agreement_id: str
    purpose: str
    recipient: str


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    """The Consent block's answer; ``reason`` is its stable code."""

    allowed: bool
    reason: str
    record_id: str | None = None


class ConsentCheck(Protocol):
    """Asked before a service carrying personal data is called. Any error counts as a refusal."""

    def check(self, query: ConsentQuery) -> ConsentAnswer: ...
