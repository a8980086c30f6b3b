"""Token issuance and verification against in-memory fakes: each refusal has its own code,
is audited, and changes nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from baobab.directory import (
    JWT_BEARER,
    AccessTokenVerifier,
    ClientId,
    DirectoryService,
    InvalidAccessToken,
    MemberId,
    OAuthError,
    ServiceRef,
    TokenPolicy,
    TokenRequest,
    TokenService,
    client_assertion,
)
from baobab.kernel.clock import ManualClock
from baobab.kernel.signing import Signer, b64url, parse_compact
from tests.support import START
from tests.unit.directory.fakes import FakeDirectory

CLIENT = ClientId(MemberId("DEV", "GOV", "MOF"), "treasury")
POLICY = TokenPolicy(
    issuer="https://baobab.test/directory",
    token_endpoint="https://baobab.test/directory/oauth2/token",
    audience="https://baobab.test",
    ttl=timedelta(minutes=5),
    max_assertion_lifetime=timedelta(minutes=5),
    clock_skew=timedelta(seconds=30),
)


class World:
    def __init__(self) -> None:
        self.fake = FakeDirectory()
        self.clock = ManualClock(START)
        self.instance = Signer.generate("P-256")
        self.directory = DirectoryService(
            uow=self.fake.uow, clock=self.clock, scopes={"directory:read", "ledger:write"}
        )
        self.tokens = TokenService(
            uow=self.fake.uow, clock=self.clock, signer=self.instance, policy=POLICY
        )
        self.verifier = AccessTokenVerifier(
            keys=[self.instance.verification_key], policy=POLICY, clock=self.clock
        )
        self.client = Signer.generate()
        self.directory.add_member(
            actor="op", member_id=CLIENT.member, name="Ministry", roles=["ministry"]
        )
        self.directory.add_subsystem(actor="op", client_id=CLIENT)
        self.directory.add_key(actor="op", client_id=CLIENT, jwk=self.client.public_jwk())
        self.directory.grant(
            actor="op", client_id=CLIENT, service=ServiceRef(None, "directory:read")
        )

    def assertion(self, signer: Signer | None = None, **claims: Any) -> str:
        now = int(self.clock.now().timestamp())
        base = {
            "iss": str(CLIENT),
            "sub": str(CLIENT),
            "aud": POLICY.token_endpoint,
            "exp": now + 60,
            "jti": f"j{now}-{len(claims)}",
        }
        base.update(claims)
        payload = {k: v for k, v in base.items() if v is not None}
        return (signer or self.client).encode(payload, typ="JWT")

    def request(self, assertion: str, scope: str | None = None, **fields: Any) -> TokenRequest:
        values: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
            "scope": scope,
        }
        values.update(fields)
        return TokenRequest(**values)


@pytest.fixture
def world() -> World:
    return World()


def refused(world: World, request: TokenRequest) -> OAuthError:
    """Expect a refusal that adds exactly one audit entry (the refusal) and changes nothing else."""
    before = world.fake.state
    with pytest.raises(OAuthError) as caught:
        world.tokens.issue(request)
    after = world.fake.state
    assert after.assertions == before.assertions
    assert len(after.audit) == len(before.audit) + 1
    event = after.audit[-1][0]
    assert (event.action, event.outcome, event.details) == (
        "directory.token_refused",
        "refused",
        {"code": caught.value.code},
    )
    return caught.value


def test_a_valid_assertion_gets_a_token_that_verifies(world: World) -> None:
    issued = world.tokens.issue(
        world.request(
            client_assertion(
                world.client, client_id=str(CLIENT), audience=POLICY.token_endpoint, now=START
            )
        )
    )
    assert (issued.token_type, issued.expires_in, issued.scope) == ("Bearer", 300, "directory:read")
    principal = world.verifier.verify(issued.access_token)
    assert principal.client_id == str(CLIENT)
    assert principal.scopes == {"directory:read"}
    assert principal.roles == {"ministry"}
    header = parse_compact(issued.access_token).header
    assert (header["typ"], header["alg"], header["kid"]) == ("at+jwt", "ES256", world.instance.kid)
    assert world.fake.actions()[-1] == "directory.token_issued"


def test_the_issuer_url_is_accepted_as_audience(world: World) -> None:
    assert (
        world.tokens.issue(world.request(world.assertion(aud=[POLICY.issuer, "other"]))).scope
        == "directory:read"
    )


@pytest.mark.parametrize(
    ("claims", "code", "oauth_error"),
    [
        (
            {"aud": "https://elsewhere/token"},
            "directory.invalid_client_assertion",
            "invalid_client",
        ),
        ({"iss": "DEV/GOV/MOF/other"}, "directory.invalid_client_assertion", "invalid_client"),
        ({"exp": None}, "directory.invalid_client_assertion", "invalid_client"),
        ({"exp": "soon"}, "directory.invalid_client_assertion", "invalid_client"),
        ({"jti": None}, "directory.invalid_client_assertion", "invalid_client"),
        ({"jti": ""}, "directory.invalid_client_assertion", "invalid_client"),
        (
            {"exp": int(START.timestamp()) - 31},
            "directory.client_assertion_expired",
            "invalid_client",
        ),
        (
            {"exp": int(START.timestamp()) + 3600},
            "directory.invalid_client_assertion",
            "invalid_client",
        ),
        (
            {"nbf": int(START.timestamp()) + 600},
            "directory.invalid_client_assertion",
            "invalid_client",
        ),
        (
            {"iat": int(START.timestamp()) + 600},
            "directory.invalid_client_assertion",
            "invalid_client",
        ),
        (
            {"iss": "not a client", "sub": "not a client"},
            "directory.unknown_client",
            "invalid_client",
        ),
        (
            {"iss": "DEV/GOV/MOF/ghost", "sub": "DEV/GOV/MOF/ghost"},
            "directory.unknown_client",
            "invalid_client",
        ),
    ],
)
def test_bad_claims_are_refused_with_their_own_code(
    world: World, claims: dict[str, Any], code: str, oauth_error: str
) -> None:
    error = refused(world, world.request(world.assertion(**claims)))
    assert (error.code, error.oauth_error) == (code, oauth_error)


def test_wrong_grant_and_assertion_types_are_refused(world: World) -> None:
    good = world.assertion()
    assert (
        refused(world, world.request(good, grant_type="password")).oauth_error
        == "unsupported_grant_type"
    )
    error = refused(world, world.request(good, client_assertion_type="urn:other"))
    assert (error.code, error.oauth_error, error.status) == (
        "directory.invalid_token_request",
        "invalid_request",
        400,
    )
    assert refused(world, world.request("", None)).code == "directory.invalid_token_request"
    assert refused(world, world.request("not.a-jwt")).code == "directory.invalid_client_assertion"
    assert (
        refused(world, world.request(good, client_id="DEV/GOV/MOF/other")).code
        == "directory.invalid_client_assertion"
    )


def test_a_replayed_assertion_is_refused(world: World) -> None:
    assertion = world.assertion()
    world.tokens.issue(world.request(assertion))
    error = refused(world, world.request(assertion))
    assert (error.code, error.status) == ("directory.client_assertion_replayed", 401)


def test_a_signature_by_another_key_is_refused(world: World) -> None:
    error = refused(world, world.request(world.assertion(signer=Signer.generate())))
    assert error.code == "directory.client_assertion_bad_signature"
    tampered = world.assertion().rsplit(".", 1)[0] + "." + b64url(b"\x00" * 64)
    assert (
        refused(world, world.request(tampered)).code == "directory.client_assertion_bad_signature"
    )


def test_revoked_and_retired_keys_stop_working(world: World) -> None:
    world.directory.revoke_key(actor="op", client_id=CLIENT, kid=world.client.kid)
    assert (
        refused(world, world.request(world.assertion())).code
        == "directory.client_assertion_bad_signature"
    )
    new = Signer.generate("P-256")
    world.directory.rotate_key(
        actor="op", client_id=CLIENT, jwk=new.public_jwk(), grace=timedelta(minutes=1)
    )
    newer = Signer.generate()
    world.directory.rotate_key(
        actor="op", client_id=CLIENT, jwk=newer.public_jwk(), grace=timedelta(minutes=1)
    )
    world.tokens.issue(world.request(world.assertion(signer=new, jti="during-grace")))
    world.clock.advance(timedelta(minutes=1))
    assert (
        refused(world, world.request(world.assertion(signer=new, jti="after-grace"))).code
        == "directory.client_assertion_bad_signature"
    )
    world.tokens.issue(world.request(world.assertion(signer=newer, jti="newest")))


def test_a_disabled_subsystem_gets_no_token(world: World) -> None:
    world.directory.set_enabled(actor="op", client_id=CLIENT, enabled=False)
    assert refused(world, world.request(world.assertion())).code == "directory.unknown_client"


def test_scopes_are_limited_to_the_granted_ones(world: World) -> None:
    error = refused(world, world.request(world.assertion(), scope="directory:read ledger:write"))
    assert (error.code, error.oauth_error, error.status) == (
        "directory.scope_not_granted",
        "invalid_scope",
        400,
    )
    issued = world.tokens.issue(world.request(world.assertion(jti="two"), scope="directory:read"))
    assert issued.scope == "directory:read"


def test_the_verifier_refuses_expired_foreign_and_malformed_tokens(world: World) -> None:
    token = world.tokens.issue(world.request(world.assertion())).access_token
    world.verifier.verify(token)
    for bad in (
        "",
        "abc",
        token[:-4] + "AAAA",
        Signer.generate("P-256").encode({"sub": "x"}, typ="at+jwt"),
    ):
        with pytest.raises(InvalidAccessToken):
            world.verifier.verify(bad)
    fresh = AccessTokenVerifier(
        keys=[world.instance.verification_key], policy=POLICY, clock=world.clock
    )
    world.clock.advance(timedelta(minutes=5))
    with pytest.raises(InvalidAccessToken):
        world.verifier.verify(token)  # remembered, but expired
    with pytest.raises(InvalidAccessToken):
        fresh.verify(token)  # never seen, expired


def test_the_verifier_checks_issuer_audience_and_type(world: World) -> None:
    now = int(START.timestamp())
    claims = {
        "iss": POLICY.issuer,
        "aud": POLICY.audience,
        "sub": str(CLIENT),
        "exp": now + 60,
        "scope": "x",
    }
    assert world.verifier.verify(world.instance.encode(claims, typ="at+jwt")).scopes == {"x"}
    for changed in ({"iss": "https://other"}, {"aud": "https://other"}):
        with pytest.raises(InvalidAccessToken):
            world.verifier.verify(world.instance.encode({**claims, **changed}, typ="at+jwt"))
    with pytest.raises(InvalidAccessToken):
        world.verifier.verify(world.instance.encode(claims, typ="JWT"))


def test_the_verifier_cache_is_bounded(world: World) -> None:
    verifier = AccessTokenVerifier(
        keys=[world.instance.verification_key], policy=POLICY, clock=world.clock, cache_size=3
    )
    now = int(START.timestamp())
    tokens = [
        world.instance.encode(
            {"iss": POLICY.issuer, "aud": POLICY.audience, "sub": f"s{i}", "exp": now + 60},
            typ="at+jwt",
        )
        for i in range(5)
    ]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._cache) == 3
