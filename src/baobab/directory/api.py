"""HTTP routes of the directory, mounted under ``/directory``.

The token endpoint speaks OAuth 2.0 (form body in, RFC 6749 error shape out); every other route
needs a bearer token with ``directory:read`` or ``directory:admin`` and answers problem+json.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from baobab.directory.domain import (
    AccessRight,
    ClientId,
    Member,
    MemberId,
    OAuthError,
    PublicKey,
    ServiceRef,
    Subsystem,
)
from baobab.directory.services import DirectoryService
from baobab.directory.tokens import JWT_BEARER, TokenRequest, TokenService
from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal

Reader = Annotated[Principal, Depends(require_scope("directory:read"))]
Admin = Annotated[Principal, Depends(require_scope("directory:admin"))]


def _member_path(instance: str, member_class: str, member_code: str) -> MemberId:
    return MemberId(instance, member_class, member_code)


def _client_path(
    member_id: Annotated[MemberId, Depends(_member_path)], subsystem_code: str
) -> ClientId:
    return ClientId(member_id, subsystem_code)


def _service(provider: str | None, code: str) -> ServiceRef:
    return ServiceRef(ClientId.parse(provider) if provider else None, code)


PathMember = Annotated[MemberId, Depends(_member_path)]
PathClient = Annotated[ClientId, Depends(_client_path)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_Strict):
    member_class: str = Field(examples=["GOV"])
    member_code: str = Field(examples=["MOF"])
    name: str = Field(examples=["Ministry of Finance"])
    roles: list[str] = Field(default_factory=list, examples=[["ministry"]])


class SubsystemOut(BaseModel):
    client_id: str
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, s: Subsystem) -> SubsystemOut:
        return cls(client_id=str(s.id), enabled=s.enabled, created_at=s.created_at)


class MemberOut(BaseModel):
    member_id: str
    name: str
    roles: list[str]
    created_at: datetime
    subsystems: list[SubsystemOut] | None = None

    @classmethod
    def of(cls, m: Member, subsystems: list[Subsystem] | None = None) -> MemberOut:
        return cls(
            member_id=str(m.id),
            name=m.name,
            roles=sorted(m.roles),
            created_at=m.created_at,
            subsystems=[SubsystemOut.of(s) for s in subsystems] if subsystems is not None else None,
        )


class SubsystemIn(_Strict):
    subsystem_code: str = Field(examples=["treasury"])


class SubsystemPatch(_Strict):
    enabled: bool


class KeyIn(_Strict):
    jwk: dict[str, Any] = Field(description="Public JWK: Ed25519 (OKP) or P-256 (EC)")
    rotate: bool = Field(default=False, description="Retire the subsystem's active keys")
    grace_seconds: int = Field(default=3600, ge=0, le=30 * 86400)


class KeyOut(BaseModel):
    kid: str
    client_id: str
    jwk: dict[str, Any]
    status: str
    created_at: datetime
    not_after: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: PublicKey) -> KeyOut:
        return cls(
            kid=k.kid,
            client_id=str(k.client_id),
            jwk=k.published(),
            status=k.status.value,
            created_at=k.created_at,
            not_after=k.not_after,
            revoked_at=k.revoked_at,
        )


class RightIn(_Strict):
    service: str = Field(
        description="A platform scope, or a service code of `provider`", examples=["ledger:read"]
    )
    provider: str | None = Field(
        default=None, description="Providing subsystem; omit for a platform scope"
    )


class RightOut(BaseModel):
    client_id: str
    provider: str | None
    service: str
    granted_at: datetime

    @classmethod
    def of(cls, r: AccessRight) -> RightOut:
        provider = str(r.service.provider) if r.service.provider else None
        return cls(
            client_id=str(r.client),
            provider=provider,
            service=r.service.code,
            granted_at=r.granted_at,
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "client_assertion_type", "client_assertion"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_assertion_type": {"type": "string", "enum": [JWT_BEARER]},
                        "client_assertion": {
                            "type": "string",
                            "description": "JWT signed by the client",
                        },
                        "scope": {"type": "string", "description": "Space-separated scopes"},
                        "client_id": {"type": "string"},
                    },
                }
            }
        },
    }
}


def build_router(
    *, instance: str, directory: DirectoryService, tokens: TokenService, jwks: list[dict[str, str]]
) -> APIRouter:
    """The directory's routes over its services."""
    router = APIRouter(prefix="/directory", tags=["directory"])

    @router.post(
        "/oauth2/token",
        response_model=TokenOut,
        summary="Client-credentials grant with private_key_jwt (RFC 6749, RFC 7523)",
        openapi_extra=_TOKEN_FORM,
        responses={
            400: {"description": "OAuth 2.0 error"},
            401: {"description": "OAuth 2.0 error"},
        },
    )
    async def token(request: Request) -> Response:
        form = await request.form() if _is_form(request) else {}

        def field(name: str) -> str | None:
            value = form.get(name)
            return value if isinstance(value, str) else None

        token_request = TokenRequest(
            grant_type=field("grant_type"),
            client_assertion_type=field("client_assertion_type"),
            client_assertion=field("client_assertion"),
            scope=field("scope"),
            client_id=field("client_id"),
        )
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            issued = tokens.issue(token_request)
        except OAuthError as exc:
            body = {"error": exc.oauth_error, "error_description": exc.detail, "code": exc.code}
            return JSONResponse(body, status_code=exc.status, headers=headers)
        out = TokenOut(
            access_token=issued.access_token,
            token_type=issued.token_type,
            expires_in=issued.expires_in,
            scope=issued.scope,
        )
        return JSONResponse(out.model_dump(), headers=headers)

    @router.get("/jwks.json", summary="Public keys that sign this instance's access tokens")
    def instance_keys() -> dict[str, list[dict[str, str]]]:
        return {"keys": jwks}

    @router.get("/members", response_model=list[MemberOut], summary="List member institutions")
    def list_members(_: Reader) -> list[MemberOut]:
        return [MemberOut.of(m) for m in directory.list_members()]

    @router.post("/members", response_model=MemberOut, status_code=201, summary="Register a member")
    def add_member(body: MemberIn, principal: Admin) -> MemberOut:
        member_id = MemberId(instance, body.member_class, body.member_code)
        member = directory.add_member(
            actor=principal.client_id, member_id=member_id, name=body.name, roles=body.roles
        )
        return MemberOut.of(member, [])

    @router.get(
        "/members/{instance}/{member_class}/{member_code}",
        response_model=MemberOut,
        summary="A member and its subsystems",
    )
    def get_member(member_id: PathMember, _: Reader) -> MemberOut:
        member, subs = directory.get_member(member_id)
        return MemberOut.of(member, list(subs))

    @router.post(
        "/members/{instance}/{member_class}/{member_code}/subsystems",
        response_model=SubsystemOut,
        status_code=201,
        summary="Register a subsystem of a member",
    )
    def add_subsystem(member_id: PathMember, body: SubsystemIn, principal: Admin) -> SubsystemOut:
        client_id = ClientId(member_id, body.subsystem_code)
        return SubsystemOut.of(
            directory.add_subsystem(actor=principal.client_id, client_id=client_id)
        )

    prefix = "/subsystems/{instance}/{member_class}/{member_code}/{subsystem_code}"

    @router.patch(prefix, response_model=SubsystemOut, summary="Enable or disable a subsystem")
    def patch_subsystem(
        client_id: PathClient, body: SubsystemPatch, principal: Admin
    ) -> SubsystemOut:
        changed = directory.set_enabled(
            actor=principal.client_id, client_id=client_id, enabled=body.enabled
        )
        return SubsystemOut.of(changed)

    @router.get(prefix + "/keys", response_model=list[KeyOut], summary="A subsystem's public keys")
    def list_keys(client_id: PathClient, _: Reader) -> list[KeyOut]:
        return [KeyOut.of(k) for k in directory.keys_of(client_id)]

    @router.post(
        prefix + "/keys", response_model=KeyOut, status_code=201, summary="Add or rotate a key"
    )
    def add_key(client_id: PathClient, body: KeyIn, principal: Admin) -> KeyOut:
        actor = principal.client_id
        if body.rotate:
            grace = timedelta(seconds=body.grace_seconds)
            key = directory.rotate_key(actor=actor, client_id=client_id, jwk=body.jwk, grace=grace)
        else:
            key = directory.add_key(actor=actor, client_id=client_id, jwk=body.jwk)
        return KeyOut.of(key)

    @router.delete(prefix + "/keys/{kid}", response_model=KeyOut, summary="Revoke a key at once")
    def revoke_key(client_id: PathClient, kid: str, principal: Admin) -> KeyOut:
        return KeyOut.of(
            directory.revoke_key(actor=principal.client_id, client_id=client_id, kid=kid)
        )

    @router.get(
        prefix + "/rights", response_model=list[RightOut], summary="What a subsystem may call"
    )
    def list_rights(client_id: PathClient, _: Reader) -> list[RightOut]:
        return [RightOut.of(r) for r in directory.rights_of(client_id)]

    @router.post(
        prefix + "/rights",
        response_model=RightOut,
        status_code=201,
        summary="Grant an access right",
    )
    def grant(client_id: PathClient, body: RightIn, principal: Admin) -> RightOut:
        service = _service(body.provider, body.service)
        right = directory.grant(actor=principal.client_id, client_id=client_id, service=service)
        return RightOut.of(right)

    @router.delete(prefix + "/rights", status_code=204, summary="Revoke an access right")
    def revoke_right(
        client_id: PathClient,
        principal: Admin,
        service: Annotated[str, Query(description="Scope or service code")],
        provider: Annotated[str | None, Query(description="Providing subsystem")] = None,
    ) -> Response:
        ref = _service(provider, service)
        directory.revoke_right(actor=principal.client_id, client_id=client_id, service=ref)
        return Response(status_code=204)

    @router.get("/rights", response_model=list[RightOut], summary="Every access right")
    def all_rights(_: Reader) -> list[RightOut]:
        return [RightOut.of(r) for r in directory.list_rights()]

    return router


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
