"""HTTP routes of access groups and endpoint rights under ``/exchange`` (added to the
exchange's router). Changing them needs ``exchange:admin``; reading them ``exchange:read``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from baobab.directory import ClientId, MemberId, ServiceRef
from baobab.exchange.rights import AccessGroup, AccessPolicy, EndpointRight
from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal

Reader = Annotated[Principal, Depends(require_scope("exchange:read"))]
Admin = Annotated[Principal, Depends(require_scope("exchange:admin"))]
MEMBER = "/groups/{code}/members/{instance}/{member_class}/{member_code}/{subsystem_code}"


async def _member(
    instance: str, member_class: str, member_code: str, subsystem_code: str
) -> ClientId:
    return ClientId(MemberId(instance, member_class, member_code), subsystem_code)


Member = Annotated[ClientId, Depends(_member)]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(examples=["social-protection"])
    description: str = ""


class GroupOut(BaseModel):
    code: str
    description: str
    members: list[str]
    created_at: datetime

    @classmethod
    def of(cls, group: AccessGroup) -> GroupOut:
        return cls(
            code=group.code,
            description=group.description,
            members=sorted(group.members),
            created_at=group.created_at,
        )


class RightIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        description="A subsystem id, or group:<code>", examples=["group:social-protection"]
    )
    provider: str = Field(examples=["DEV/GOV/CRVS/registry"])
    service_code: str = Field(examples=["births"])
    method: str = Field(default="*", examples=["GET"])
    path: str = Field(
        default="/**",
        description="Relative to the service: * matches one segment, a final ** the rest",
        examples=["/births/*"],
    )


class RightOut(BaseModel):
    right_id: str
    subject: str
    provider: str
    service_code: str
    method: str
    path: str
    created_at: datetime

    @classmethod
    def of(cls, right: EndpointRight) -> RightOut:
        return cls(
            right_id=right.right_id,
            subject=right.subject,
            provider=str(right.service.provider),
            service_code=right.service.code,
            method=right.method,
            path=right.path,
            created_at=right.created_at,
        )


def add_rights_routes(router: APIRouter, policy: AccessPolicy) -> None:
    """Groups and endpoint rights (X-Road global groups and REST endpoint access rights)."""

    @router.post("/groups", response_model=GroupOut, status_code=201)
    def create_group(principal: Admin, body: GroupIn) -> GroupOut:
        """Create an access group of subsystems; rights can name it as ``group:<code>``."""
        return GroupOut.of(
            policy.create_group(
                actor=principal.client_id, code=body.code, description=body.description
            )
        )

    @router.get("/groups", response_model=list[GroupOut])
    def list_groups(_: Reader) -> list[GroupOut]:
        return [GroupOut.of(g) for g in policy.groups()]

    @router.put(MEMBER, response_model=GroupOut)
    def add_group_member(principal: Admin, code: str, member: Member) -> GroupOut:
        """Put a subsystem in the group: one registered in the directory and enabled (else
        404 `exchange.unknown_subsystem` or 409 `exchange.subsystem_disabled`)."""
        return GroupOut.of(
            policy.set_member(actor=principal.client_id, code=code, client=member, member=True)
        )

    @router.delete(MEMBER, response_model=GroupOut)
    def remove_group_member(principal: Admin, code: str, member: Member) -> GroupOut:
        """Take a subsystem out of the group."""
        return GroupOut.of(
            policy.set_member(actor=principal.client_id, code=code, client=member, member=False)
        )

    @router.post("/rights", response_model=RightOut, status_code=201)
    def grant_right(principal: Admin, body: RightIn) -> RightOut:
        """Let a subsystem or group call one endpoint (method and path pattern) of a service."""
        right = policy.grant(
            actor=principal.client_id,
            subject=body.subject,
            service=ServiceRef(ClientId.parse(body.provider), body.service_code),
            method=body.method,
            path=body.path,
        )
        return RightOut.of(right)

    @router.get("/rights", response_model=list[RightOut])
    def list_rights(_: Reader) -> list[RightOut]:
        return [RightOut.of(r) for r in policy.rights()]

    @router.delete("/rights/{right_id}", status_code=204)
    def revoke_right(principal: Admin, right_id: str) -> Response:
        policy.revoke(actor=principal.client_id, right_id=right_id)
        return Response(status_code=204)
