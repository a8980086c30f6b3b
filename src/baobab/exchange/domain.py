"""The exchange's model: registered services, the signed request and response of one message,
the record the message log keeps of it, and every reason a message is refused.

Identifiers follow X-Road: a service is ``INSTANCE/CLASS/MEMBER/SUBSYSTEM/CODE`` (the provider
subsystem and a service code); a message has a gateway-assigned ``message_id`` (a UUIDv7, sent as
``X-Road-Request-Id``) and, optionally, the consumer's own ``X-Road-Id``.

The signed content of a request and of a response is a small JSON object of digests (never the
path, body or user id in clear); see ``docs/exchange.md`` for the exact fields.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baobab.directory import ClientId, ServiceRef
from baobab.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from baobab.kernel.hashchain import canonical_json
from baobab.kernel.signing import (
    MalformedJws,
    Signer,
    VerificationKey,
    b64url,
    b64url_decode,
    parse_compact,
)

REQUEST_TYPE = "baobab-xroad-request/1"
RESPONSE_TYPE = "baobab-xroad-response/1"
REQUEST_JWS_TYPE = "xroad-request+jws"
RESPONSE_JWS_TYPE = "xroad-response+jws"
CHECKPOINT_JWS_TYPE = "xroad-checkpoint+jws"
EVIDENCE_JWS_TYPE = "xroad-evidence+jws"

# request headers covered by the request signature (lower case), in the consumer's words
SIGNED_REQUEST_HEADERS = (
    "content-type",
    "x-road-client",
    "x-road-id",
    "x-road-userid",
    "x-road-issue",
)
SIGNED_RESPONSE_HEADERS = ("content-type",)


# --- errors ---------------------------------------------------------------------------------


class UnknownService(NotFound):
    code = "exchange.unknown_service"
    title = "Unknown service"


class DuplicateService(Conflict):
    code = "exchange.duplicate_service"
    title = "Service already registered"


class InvalidService(InvalidInput):
    code = "exchange.invalid_service"
    title = "Invalid service description"


class MissingClientHeader(InvalidInput):
    code = "exchange.missing_client"
    title = "X-Road-Client header required"


class ClientMismatch(Unauthenticated):
    code = "exchange.client_mismatch"
    title = "X-Road-Client does not match the access token"


class ServiceDisabled(Forbidden):
    code = "exchange.service_disabled"
    title = "Service disabled"


class ConsentRequired(Forbidden):
    code = "exchange.consent_required"
    title = "Consent subject and purpose required"


class ConsentRefused(Forbidden):
    code = "exchange.consent_refused"
    title = "No consent for this exchange"


class BodyTooLarge(InvalidInput):
    code = "exchange.body_too_large"
    title = "Message body too large"


class ProviderTimeout(Unavailable):
    code = "exchange.provider_timeout"
    title = "Provider did not answer in time"


class ProviderUnreachable(Unavailable):
    code = "exchange.provider_unreachable"
    title = "Provider unreachable"


class ResponseTooLarge(Unavailable):
    code = "exchange.response_too_large"
    title = "Provider response too large"


class BadResponseSignature(Unavailable):
    code = "exchange.bad_response_signature"
    title = "Provider response signature does not verify"


class RequestHashMismatch(Unavailable):
    code = "exchange.request_hash_mismatch"
    title = "Response is not bound to this request"


class MessageLogUnavailable(Unavailable):
    code = "exchange.message_log_unavailable"
    title = "Message log cannot be written; message refused"


class UnknownMessage(NotFound):
    code = "exchange.unknown_message"
    title = "Unknown message"


class InvalidEvidence(InvalidInput):
    code = "exchange.invalid_evidence"
    title = "Evidence bundle does not verify"


# --- digests --------------------------------------------------------------------------------


def digest(data: bytes) -> str:
    """``SHA-256`` of ``data`` as unpadded base64url: the form every signed field uses."""
    return b64url(hashlib.sha256(data).digest())


def content_hash(content: Mapping[str, Any]) -> str:
    """The hash of a signed content object (its canonical JSON); a request's is the
    ``X-Road-Request-Hash`` that binds the response to it."""
    return digest(canonical_json(content))


def headers_digest(headers: Mapping[str, str], names: tuple[str, ...]) -> str:
    """Digest of the selected headers present in ``headers`` (names lower case)."""
    chosen = {name: headers[name] for name in names if name in headers}
    return digest(canonical_json(chosen))


def request_content(
    *,
    message_id: str,
    client: str,
    service: str,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body_digest: str,
) -> dict[str, Any]:
    """What the gateway signs for a request: ``target`` is the service-relative path and query.
    The signing time travels in the JWS protected header (``iat``)."""
    return {
        "typ": REQUEST_TYPE,
        "id": message_id,
        "client": client,
        "service": service,
        "method": method.upper(),
        "target": digest(target.encode()),
        "headers": headers_digest(headers, SIGNED_REQUEST_HEADERS),
        "body": body_digest,
    }


def response_content(
    *,
    message_id: str,
    request_hash: str,
    status: int,
    headers: Mapping[str, str],
    body_digest: str,
) -> dict[str, Any]:
    """What the provider (optionally) and the gateway (always) sign for a response."""
    return {
        "typ": RESPONSE_TYPE,
        "id": message_id,
        "request_hash": request_hash,
        "status": status,
        "headers": headers_digest(headers, SIGNED_RESPONSE_HEADERS),
        "body": body_digest,
    }


def sign_detached(
    signer: Signer, content: Mapping[str, Any], *, typ: str, iat: int, encoded: bytes | None = None
) -> str:
    """A detached compact JWS (RFC 7515, appendix F) over ``canonical_json(content)``:
    ``header..signature``; the receiver rebuilds the payload from the message it got.
    ``encoded``, if given, is that canonical JSON already made (the hot path makes it once)."""
    protected = _protected(signer.alg, signer.kid, typ, iat)
    payload = canonical_json(content) if encoded is None else encoded
    signing_input = f"{protected}.{b64url(payload)}".encode("ascii")
    return f"{protected}..{b64url(signer.sign(signing_input))}"


@functools.lru_cache(maxsize=64)
def _protected(alg: str, kid: str, typ: str, iat: int) -> str:
    # the same header serves every message of the same second
    return b64url(canonical_json({"alg": alg, "kid": kid, "typ": typ, "iat": iat}))


def _strict_b64(part: str) -> bytes:
    """Decode base64url and refuse any second spelling of the same bytes (unused low bits)."""
    raw = b64url_decode(part)
    if b64url(raw) != part:
        raise MalformedJws("not the canonical base64url encoding")
    return raw


def detached_header(jws: str) -> dict[str, Any]:
    """The protected header of a detached JWS; raises ``MalformedJws`` if it is not one."""
    parts = jws.split(".") if isinstance(jws, str) else []
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise MalformedJws("a detached JWS has the form header..signature")
    _strict_b64(parts[0])
    _strict_b64(parts[2])
    parsed = parse_compact(f"{parts[0]}.{b64url(b'{}')}.{parts[2]}")
    return parsed.header


def verify_detached(
    jws: str, content: Mapping[str, Any], keys: Sequence[VerificationKey], *, typ: str
) -> VerificationKey | None:
    """The key among ``keys`` whose signature ``jws`` is over ``content``, or ``None``."""
    try:
        header = detached_header(jws)
    except MalformedJws:
        return None
    if header.get("typ") != typ or not isinstance(header.get("iat"), int):
        return None
    protected, _, signature = jws.split(".")
    signing_input = f"{protected}.{b64url(canonical_json(content))}".encode("ascii")
    raw = b64url_decode(signature)
    for key in keys:
        if key.kid == header.get("kid") and header.get("alg") in key.algorithms:
            return key if key.verify(signing_input, raw) else None
    return None


def strict_compact(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Parse an attached compact JWS whose every part is canonical base64url; return header,
    claims, signing input and signature."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise MalformedJws("a compact JWS has three parts")
    for part in parts:
        _strict_b64(part)
    parsed = parse_compact(token)
    return parsed.header, parsed.claims(), parsed.signing_input, parsed.signature


# --- services -------------------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Service:
    """A service a provider subsystem offers through the gateway (deny by default: calling it
    needs a right in the directory). ``personal_data`` services need consent under
    ``agreement_id`` for one of ``purposes`` before the gateway forwards."""

    provider: ClientId
    code: str
    version: str
    base_url: str
    created_at: datetime
    description: str = ""
    openapi: Mapping[str, Any] | None = None
    personal_data: bool = False
    agreement_id: str | None = None
    purposes: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise InvalidService(f"invalid service code {self.code!r}")
        if not 1 <= len(self.version) <= 40:
            raise InvalidService("a service version is 1 to 40 characters")
        if not _URL.fullmatch(self.base_url):
            raise InvalidService("base_url must be an absolute http(s) URL without query")
        if len(self.description) > 500:
            raise InvalidService("a description is at most 500 characters")
        if self.personal_data:
            if not self.agreement_id:
                raise InvalidService("a service carrying personal data names its agreement_id")
            if not self.purposes:
                raise InvalidService("a service carrying personal data names its purposes")
        for purpose in self.purposes:
            if not _PURPOSE.fullmatch(purpose):
                raise InvalidService(f"invalid purpose {purpose!r}")

    @property
    def ref(self) -> ServiceRef:
        """The directory's name for this service, which access rights are granted on."""
        return ServiceRef(self.provider, self.code)

    @property
    def name(self) -> str:
        """``INSTANCE/CLASS/MEMBER/SUBSYSTEM/CODE``."""
        return f"{self.provider}/{self.code}"


# --- messages -------------------------------------------------------------------------------


class Outcome:
    """How a message ended, as the log records it."""

    OK = "ok"  # the provider answered and the answer went back signed
    REFUSED = "refused"  # the gateway refused before or instead of forwarding
    FAILED = "failed"  # the provider failed (timeout, unreachable, bad signature)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """What the message log keeps of one exchange: parties, digests, signatures, outcome. Never a
    body, a path or a user id in clear (their digests are inside the signed contents)."""

    message_id: str
    client: str
    service: str
    received_at: datetime
    finished_at: datetime
    outcome: str
    error: str | None = None
    http_status: int | None = None
    x_road_id: str | None = None
    request: Mapping[str, Any] | None = None
    request_signature: str | None = None
    request_hash: str | None = None
    response: Mapping[str, Any] | None = None
    response_signature: str | None = None
    provider_signature: str | None = None
    duration_ms: float = 0.0
    # the bodies, kept (encrypted, outside the chain) only where the log is set to store them
    request_body: bytes | None = field(default=None, repr=False)
    response_body: bytes | None = field(default=None, repr=False)

    def payload(self) -> dict[str, Any]:
        """The JSON object the hash chain commits to."""
        return {
            "message_id": self.message_id,
            "client": self.client,
            "service": self.service,
            "received_at": self.received_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "outcome": self.outcome,
            "error": self.error,
            "http_status": self.http_status,
            "x_road_id": self.x_road_id,
            "request": dict(self.request) if self.request is not None else None,
            "request_signature": self.request_signature,
            "request_hash": self.request_hash,
            "response": dict(self.response) if self.response is not None else None,
            "response_signature": self.response_signature,
            "provider_signature": self.provider_signature,
            "duration_ms": round(self.duration_ms, 3),
        }


@dataclass(frozen=True, slots=True)
class SealedBody:
    """A message body encrypted with AES-GCM under the key ``key_id``; its associated data is
    :func:`body_context`, so a ciphertext moved to another message or part does not open."""

    message_id: str
    part: str  # "request" or "response"
    key_id: str
    nonce: bytes
    ciphertext: bytes


def body_context(message_id: str, part: str, body_digest: str) -> bytes:
    """The associated data that binds an encrypted body to its message, part and digest (the
    digest is the one signed in the log entry)."""
    return f"baobab-exchange-body/1|{message_id}|{part}|{body_digest}".encode()


class NoStoredBody(NotFound):
    code = "exchange.no_stored_body"
    title = "No stored body"


class BodyUnreadable(Unavailable):
    code = "exchange.body_unreadable"
    title = "Stored message body cannot be decrypted"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One link of the message log chain. ``encoded`` is the payload's canonical JSON when the
    writer has made it already (the store keeps it as is rather than encoding it again)."""

    sequence: int
    message_id: str
    payload: Mapping[str, Any]
    previous_hash: str
    hash: str
    encoded: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed Merkle root over log entries ``first..last``; ``last_hash`` ties it to the
    chain. ``jws`` is a compact JWS by the instance key over :meth:`claims`."""

    first: int
    last: int
    root: str
    last_hash: str
    at: datetime
    jws: str

    def claims(self) -> dict[str, Any]:
        return checkpoint_claims(
            first=self.first, last=self.last, root=self.root, last_hash=self.last_hash, at=self.at
        )


def checkpoint_claims(
    *, first: int, last: int, root: str, last_hash: str, at: datetime
) -> dict[str, Any]:
    """The claims a checkpoint JWS signs."""
    return {
        "first": first,
        "last": last,
        "root": root,
        "last_hash": last_hash,
        "at": at.isoformat(),
    }


def checkpoint_digest(checkpoint: Checkpoint) -> bytes:
    """What an RFC 3161 time-stamp of a checkpoint covers: SHA-256 of its compact JWS (which
    signs the range, the Merkle root, the last hash and the sealing time)."""
    return hashlib.sha256(checkpoint.jws.encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class LogVerification:
    """The verdict of ``baobab exchange verify``: entries and checkpoints checked, the problems."""

    entries: int
    checkpoints: int
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems
