"""The directory's model: member institutions, their subsystems and roles, public keys and
access rights. Identifiers follow X-Road: ``INSTANCE/CLASS/MEMBER`` names a member and
``INSTANCE/CLASS/MEMBER/SUBSYSTEM`` a subsystem (a client)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


# --- errors ---------------------------------------------------------------------------------


class InvalidIdentifier(InvalidInput):
    code = "directory.invalid_identifier"
    title = "Invalid identifier"


class InvalidRole(InvalidInput):
    code = "directory.invalid_role"
    title = "Unknown role"


class DuplicateMember(Conflict):
    code = "directory.duplicate_member"
    title = "Member already registered"


class DuplicateSubsystem(Conflict):
    code = "directory.duplicate_subsystem"
    title = "Subsystem already registered"


class DuplicateKey(Conflict):
    code = "directory.duplicate_key"
    title = "Key already registered"


class UnknownMember(NotFound):
    code = "directory.unknown_member"
    title = "Unknown member"


class UnknownSubsystem(NotFound):
    code = "directory.unknown_subsystem"
    title = "Unknown subsystem"


class UnknownKey(NotFound):
    code = "directory.unknown_key"
    title = "Unknown key"


class KeyRevoked(Conflict):
    code = "directory.key_revoked"
    title = "Key already revoked"


class UnknownScope(InvalidInput):
    code = "directory.unknown_scope"
    title = "Unknown scope"


class UnknownRight(NotFound):
    code = "directory.unknown_right"
    title = "No such access right"


class OAuthError(Unauthenticated):
    """A refused token request. ``oauth_error`` is the RFC 6749 section 5.2 error code."""

    code = "directory.token_refused"
    title = "Token request refused"
    oauth_error = "invalid_request"
    status = 400


class InvalidTokenRequest(OAuthError):
    code = "directory.invalid_token_request"
    title = "Malformed token request"


class UnsupportedGrantType(OAuthError):
    code = "directory.unsupported_grant_type"
    title = "Unsupported grant type"
    oauth_error = "unsupported_grant_type"


class InvalidClientAssertion(OAuthError):
    code = "directory.invalid_client_assertion"
    title = "Client assertion refused"
    oauth_error = "invalid_client"
    status = 401


class ClientAssertionExpired(InvalidClientAssertion):
    code = "directory.client_assertion_expired"
    title = "Client assertion expired"


class ClientAssertionReplayed(InvalidClientAssertion):
    code = "directory.client_assertion_replayed"
    title = "Client assertion already used"


class ClientAssertionBadSignature(InvalidClientAssertion):
    code = "directory.client_assertion_bad_signature"
    title = "Client assertion signature does not verify"


class UnknownClient(InvalidClientAssertion):
    code = "directory.unknown_client"
    title = "Unknown or disabled client"


class ScopeNotGranted(OAuthError):
    code = "directory.scope_not_granted"
    title = "Scope not granted to this client"
    oauth_error = "invalid_scope"


class InvalidAccessToken(Unauthenticated):
    code = "directory.invalid_access_token"
    title = "Access token refused"


class AccessDenied(Forbidden):
    code = "directory.access_denied"
    title = "No access right"


# --- identifiers ----------------------------------------------------------------------------


def _check_part(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _PART.fullmatch(value):
        raise InvalidIdentifier(
            f"{kind} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


@dataclass(frozen=True, slots=True, order=True)
class MemberId:
    """``INSTANCE/CLASS/CODE``: a member institution, e.g. ``DEV/GOV/MOF``."""

    instance: str
    member_class: str
    member_code: str

    def __post_init__(self) -> None:
        _check_part("instance", self.instance)
        _check_part("member class", self.member_class)
        _check_part("member code", self.member_code)

    @classmethod
    def parse(cls, text: str) -> MemberId:
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) != 3:
            raise InvalidIdentifier(f"a member id has the form INSTANCE/CLASS/CODE, got {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.instance}/{self.member_class}/{self.member_code}"


@dataclass(frozen=True, slots=True, order=True)
class ClientId:
    """``INSTANCE/CLASS/MEMBER/SUBSYSTEM``: a subsystem, the unit that holds keys and calls APIs."""

    member: MemberId
    subsystem_code: str

    def __post_init__(self) -> None:
        _check_part("subsystem code", self.subsystem_code)

    @classmethod
    def parse(cls, text: str) -> ClientId:
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) != 4:
            raise InvalidIdentifier(
                f"a subsystem id has the form INSTANCE/CLASS/MEMBER/SUBSYSTEM, got {text!r}"
            )
        return cls(MemberId(*parts[:3]), parts[3])

    def __str__(self) -> str:
        return f"{self.member}/{self.subsystem_code}"


class Role(StrEnum):
    """What a member institution is, which some blocks require of their callers."""

    OPERATOR = "operator"  # runs this Baobab instance
    MINISTRY = "ministry"
    FSP = "fsp"  # bank or mobile-money provider connected to the switch
    REGISTRY_OWNER = "registry_owner"
    RELYING_PARTY = "relying_party"  # authenticates people against the identity block
    ENROLMENT_AGENCY = "enrolment_agency"

    @classmethod
    def parse_all(cls, values: list[str] | tuple[str, ...]) -> frozenset[Role]:
        try:
            return frozenset(cls(v) for v in values)
        except ValueError as exc:
            allowed = ", ".join(r.value for r in cls)
            raise InvalidRole(f"roles must be among: {allowed}") from exc


# --- entities -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """A member institution: a ministry, a bank, an agency."""

    id: MemberId
    name: str
    roles: frozenset[Role]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subsystem:
    """A system of a member that calls or provides services; it holds keys and gets tokens."""

    id: ClientId
    enabled: bool
    created_at: datetime


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRING = "retiring"  # superseded; still accepted until ``not_after``
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A subsystem's public signing key, known by its RFC 7638 thumbprint ``kid``."""

    kid: str
    client_id: ClientId
    jwk: dict[str, str]
    alg: str
    status: KeyStatus
    created_at: datetime
    not_after: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """True while signatures made with this key are still to be accepted."""
        if self.status is KeyStatus.REVOKED:
            return False
        return self.not_after is None or now < self.not_after

    def retire(self, *, not_after: datetime) -> PublicKey:
        return replace(self, status=KeyStatus.RETIRING, not_after=not_after)

    def revoke(self, *, at: datetime) -> PublicKey:
        if self.status is KeyStatus.REVOKED:
            raise KeyRevoked(f"key {self.kid} was already revoked")
        return replace(self, status=KeyStatus.REVOKED, revoked_at=at)

    def published(self) -> dict[str, Any]:
        """The JWK as published in a JWKS: public members, ``kid``, ``alg`` and ``use``."""
        return {**self.jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


PLATFORM = "platform"  # the provider name of Baobab's own services (its scopes)


@dataclass(frozen=True, slots=True, order=True)
class ServiceRef:
    """A service: ``provider`` subsystem and ``code``; provider ``None`` is Baobab itself, whose
    service codes are the scopes of access tokens (``ledger:write``)."""

    provider: ClientId | None
    code: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not re.fullmatch(
            r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}", self.code
        ):
            raise InvalidIdentifier(f"invalid service code {self.code!r}")

    def __str__(self) -> str:
        return f"{self.provider or PLATFORM}/{self.code}"


@dataclass(frozen=True, slots=True)
class AccessRight:
    """``client`` may call ``service``. Anything not granted is denied."""

    client: ClientId
    service: ServiceRef
    granted_at: datetime
