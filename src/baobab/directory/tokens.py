"""OAuth 2.0 access tokens for subsystems.

Issuance: the client-credentials grant (RFC 6749, section 4.4) with ``private_key_jwt`` client
authentication (RFC 7523; OpenID Connect Core, section 9): the client signs a short-lived
assertion with a key registered in the directory; an expired, replayed, wrongly addressed or
wrongly signed assertion is refused, and every refusal is audited.

Tokens are JWT access tokens (RFC 9068, ``typ: at+jwt``) signed by the instance key, carrying
the subsystem id, its granted scopes and its member's roles. Verification needs no database: it
is on every request's hot path. A verified token is remembered until it expires, so a client
that reuses its token (as it should) pays for the signature check once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from baobab.directory.domain import (
    ClientAssertionBadSignature,
    ClientAssertionExpired,
    ClientAssertionReplayed,
    ClientId,
    InvalidAccessToken,
    InvalidClientAssertion,
    InvalidTokenRequest,
    OAuthError,
    ScopeNotGranted,
    UnknownClient,
    UnsupportedGrantType,
)
from baobab.directory.ports import UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.principal import Principal
from baobab.kernel.signing import (
    CompactJws,
    Signer,
    VerificationKey,
    import_public_jwk,
    parse_compact,
)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """The form fields of a token request (``application/x-www-form-urlencoded``)."""

    grant_type: str | None
    client_assertion_type: str | None
    client_assertion: str | None
    scope: str | None = None
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A successful token response (RFC 6749, section 5.1)."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - the token type name of RFC 6750


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """Where tokens come from and how long things live."""

    issuer: str
    token_endpoint: str
    audience: str
    ttl: timedelta
    max_assertion_lifetime: timedelta
    clock_skew: timedelta


class TokenService:
    """Issues access tokens to subsystems that prove possession of a registered key."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, signer: Signer, policy: TokenPolicy
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._signer = signer
        self._policy = policy

    def issue(self, request: TokenRequest) -> IssuedToken:
        """Check the grant and the client assertion; return a signed access token or raise."""
        try:
            return self._issue(request)
        except OAuthError as refusal:
            with self._uow() as uow:
                uow.audit.append(
                    AuditEvent(
                        "directory.token_refused",
                        _claimed_client(request.client_assertion),
                        "oauth2/token",
                        outcome="refused",
                        details={"code": refusal.code},
                    ),
                    at=self._clock.now(),
                )
            raise

    def _issue(self, request: TokenRequest) -> IssuedToken:
        if request.grant_type != "client_credentials":
            raise UnsupportedGrantType("only grant_type=client_credentials is supported")
        if request.client_assertion_type != JWT_BEARER or not request.client_assertion:
            raise InvalidTokenRequest(
                f"authenticate with client_assertion_type={JWT_BEARER} (RFC 7523)"
            )
        now = self._clock.now()
        jws, claims = _parse_assertion(request.client_assertion)
        client = self._check_claims(claims, request, now)
        expires = datetime.fromtimestamp(claims["exp"], now.tzinfo)
        requested = frozenset((request.scope or "").split())
        with self._uow() as uow:
            subsystem = uow.store.get_subsystem(client)
            if subsystem is None or not subsystem.enabled:
                raise UnknownClient(f"{client} is not a registered, enabled subsystem")
            keys = [k for k in uow.store.keys_of(client) if k.usable_at(now)]
            kid = jws.header.get("kid")
            if kid is not None:
                keys = [k for k in keys if k.kid == kid]
            if not any(jws.verified_by(import_public_jwk(k.jwk)) for k in keys):
                raise ClientAssertionBadSignature(
                    "the assertion is not signed by an active key of the client"
                    + (f" (kid {kid!r})" if kid else "")
                )
            granted = frozenset(
                r.service.code for r in uow.store.rights_of(client) if r.service.provider is None
            )
            if not requested <= granted:
                missing = " ".join(sorted(requested - granted))
                raise ScopeNotGranted(f"scopes not granted to {client}: {missing}")
            if not uow.store.use_assertion(client, str(claims["jti"]), expires):
                raise ClientAssertionReplayed("this client assertion (jti) was already used")
            member = uow.store.get_member(client.member)
            roles = sorted(member.roles) if member else []
            scopes = sorted(requested or granted)
            token_id = new_id()
            uow.audit.append(
                AuditEvent(
                    "directory.token_issued",
                    str(client),
                    token_id,
                    details={"scope": " ".join(scopes)},
                ),
                at=now,
            )
        ttl = int(self._policy.ttl.total_seconds())
        access_token = self._signer.encode(
            {
                "iss": self._policy.issuer,
                "sub": str(client),
                "aud": self._policy.audience,
                "client_id": str(client),
                "iat": int(now.timestamp()),
                "exp": int(now.timestamp()) + ttl,
                "jti": token_id,
                "scope": " ".join(scopes),
                "roles": roles,
            },
            typ=ACCESS_TOKEN_TYPE,
        )
        return IssuedToken(access_token, ttl, " ".join(scopes))

    def _check_claims(
        self, claims: dict[str, Any], request: TokenRequest, now: datetime
    ) -> ClientId:
        policy = self._policy
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(sub, str) or iss != sub:
            raise InvalidClientAssertion("iss and sub must both be the client's subsystem id")
        if request.client_id is not None and request.client_id != sub:
            raise InvalidClientAssertion("client_id does not match the assertion's subject")
        try:
            client = ClientId.parse(sub)
        except InvalidInput as exc:
            raise UnknownClient(f"{sub!r} is not a subsystem id") from exc
        aud = claims.get("aud")
        audiences = {aud} if isinstance(aud, str) else set(aud) if isinstance(aud, list) else set()
        if not audiences & {policy.token_endpoint, policy.issuer}:
            raise InvalidClientAssertion(
                f"aud must name this token endpoint ({policy.token_endpoint})"
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= 200:
            raise InvalidClientAssertion("jti must be a string of 1 to 200 characters")
        exp = claims.get("exp")
        if not _is_number(exp):
            raise InvalidClientAssertion("exp is required and must be a NumericDate")
        now_s = now.timestamp()
        skew = policy.clock_skew.total_seconds()
        if exp + skew <= now_s:
            raise ClientAssertionExpired("the client assertion has expired")
        if exp - now_s > policy.max_assertion_lifetime.total_seconds() + skew:
            raise InvalidClientAssertion(
                f"the assertion lives too long; exp may be at most "
                f"{int(policy.max_assertion_lifetime.total_seconds())} s ahead"
            )
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not _is_number(value) or value - skew > now_s):
                raise InvalidClientAssertion(f"{name} lies in the future")
        return client


class AccessTokenVerifier:
    """Turns an access token into a :class:`Principal`; raises :class:`InvalidAccessToken`."""

    def __init__(
        self,
        *,
        keys: Collection[VerificationKey],
        policy: TokenPolicy,
        clock: Clock,
        cache_size: int = 100_000,
    ) -> None:
        self._keys = {k.kid: k for k in keys}
        self._policy = policy
        self._clock = clock
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        now = self._clock.now().timestamp()
        cached = self._cache.get(token)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[token]
            raise InvalidAccessToken("the access token has expired")
        try:
            jws = parse_compact(token)
        except InvalidInput as exc:
            raise InvalidAccessToken("the access token is not a JWT") from exc
        key = self._keys.get(str(jws.header.get("kid")))
        if jws.header.get("typ") != ACCESS_TOKEN_TYPE or key is None or not jws.verified_by(key):
            raise InvalidAccessToken("the access token was not issued by this instance")
        claims = jws.claims()
        exp = claims.get("exp")
        if claims.get("iss") != self._policy.issuer or claims.get("aud") != self._policy.audience:
            raise InvalidAccessToken("the access token is for another issuer or audience")
        if not _is_number(exp) or exp <= now:
            raise InvalidAccessToken("the access token has expired")
        principal = Principal(
            client_id=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            roles=frozenset(claims.get("roles", ())),
            token_id=str(claims.get("jti")),
        )
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[token] = (principal, float(exp))
        return principal


def _parse_assertion(assertion: str) -> tuple[CompactJws, dict[str, Any]]:
    try:
        jws = parse_compact(assertion)
        return jws, jws.claims()
    except InvalidInput as exc:
        raise InvalidClientAssertion(
            f"the client assertion is not a signed JWT: {exc.detail}"
        ) from exc


def _claimed_client(assertion: str | None) -> str:
    """The subsystem an assertion claims to come from, if it names a well-formed one."""
    try:
        sub = parse_compact(assertion or "").claims().get("sub")
        return str(ClientId.parse(str(sub)))
    except InvalidInput:
        return "unidentified"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def client_assertion(
    signer: Signer,
    *,
    client_id: str,
    audience: str,
    now: datetime,
    lifetime: timedelta = timedelta(seconds=60),
) -> str:
    """The client's side of RFC 7523: a signed, single-use assertion for the token endpoint."""
    issued = int(now.timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": new_id(),
    }
    return signer.encode(claims, typ="JWT")
