"""HTTP routes of the identity block, mounted under ``/identity``.

Enrolment agencies submit signed packets (``identity:enrol``); officers work the review queue
(``identity:review``); operators lock identities, manage VIDs and partner policies
(``identity:admin``); relying parties authenticate people (``identity:auth``) and receive eKYC
(``identity:ekyc``). Routes for partners also need the caller's member to have the matching
role (``enrolment_agency``, ``relying_party``). Every refusal is problem+json.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from baobab.directory import Role
from baobab.identity.authentication import (
    AuthenticationService,
    AuthResult,
    OtpFactor,
    Partner,
)
from baobab.identity.domain import (
    DuplicateCandidate,
    Enrolment,
    ReviewCase,
    ReviewDecision,
    UnknownPacket,
    Vid,
    VidKind,
)
from baobab.identity.lifecycle import IdentityService
from baobab.identity.ports import OutboxReader
from baobab.identity.schema import ProfileCatalogue
from baobab.identity.services import EnrolmentService
from baobab.infra.http.auth import Credentials, MissingScope, principal_of
from baobab.kernel.errors import BaobabError, Forbidden
from baobab.kernel.principal import Principal


class MissingRole(Forbidden):
    code = "identity.missing_role"
    title = "The caller's institution lacks the role"


def require(
    scope: str, role: str | None = None
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Coroutine[Any, Any, Principal]]:
    """Admit callers whose token carries ``scope`` and whose member has ``role``."""

    async def dependency(request: Request, credentials: Credentials) -> Principal:
        principal = principal_of(request, credentials)
        if not principal.has_scope(scope):
            raise MissingScope(f"this operation needs the scope {scope!r}", extra={"scope": scope})
        if role is not None and role not in principal.roles:
            raise MissingRole(f"this operation is for members with the role {role!r}")
        return principal

    return dependency


Agency = Annotated[Principal, Depends(require("identity:enrol", Role.ENROLMENT_AGENCY))]
Reviewer = Annotated[Principal, Depends(require("identity:review"))]
Operator = Annotated[Principal, Depends(require("identity:admin"))]
Authenticator = Annotated[Principal, Depends(require("identity:auth", Role.RELYING_PARTY))]
KycReceiver = Annotated[Principal, Depends(require("identity:ekyc", Role.RELYING_PARTY))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PacketIn(_Strict):
    packet: str = Field(
        description="The enrolment packet as a compact JWS signed with one of the calling "
        "subsystem's registered keys; its payload is the packet JSON"
    )


class TransitionOut(BaseModel):
    state: str
    at: datetime


class EnrolmentOut(BaseModel):
    packet_id: str
    kind: str
    state: str
    transitions: list[TransitionOut]
    uin: str | None
    duplicate_of: str | None
    case_id: str | None
    reason: str | None

    @classmethod
    def of(cls, e: Enrolment) -> EnrolmentOut:
        return cls(
            packet_id=e.packet_id,
            kind=e.kind.value,
            state=e.state.value,
            transitions=[TransitionOut(state=t.state.value, at=t.at) for t in e.transitions],
            uin=e.uin,
            duplicate_of=e.duplicate_of,
            case_id=e.case_id,
            reason=e.reason,
        )


class CandidateOut(BaseModel):
    uin: str
    score: float
    outcome: str
    field_levels: dict[str, str]
    attributes: dict[str, Any] | None = None

    @classmethod
    def of(cls, c: DuplicateCandidate, attributes: dict[str, Any] | None = None) -> CandidateOut:
        return cls(
            uin=c.uin,
            score=round(c.score, 3),
            outcome=c.outcome.value,
            field_levels=c.field_levels,
            attributes=attributes,
        )


class CaseOut(BaseModel):
    case_id: str
    packet_id: str
    opened_at: datetime
    candidates: list[CandidateOut]
    decision: str | None
    duplicate_of: str | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, c: ReviewCase, candidates: list[CandidateOut] | None = None) -> CaseOut:
        return cls(
            case_id=c.case_id,
            packet_id=c.packet_id,
            opened_at=c.opened_at,
            candidates=candidates or [CandidateOut.of(x) for x in c.candidates],
            decision=c.decision.value if c.decision else None,
            duplicate_of=c.duplicate_of,
            reason=c.reason,
            decided_by=c.decided_by,
            decided_at=c.decided_at,
        )


class CaseDetailOut(CaseOut):
    packet: dict[str, Any] = Field(description="The packet's demographics, beside each candidate")
    enrolment: EnrolmentOut


class DecisionIn(_Strict):
    decision: ReviewDecision
    duplicate_of: str | None = None
    reason: str = Field(min_length=3, max_length=500)


class ReasonIn(_Strict):
    reason: str = Field(min_length=3, max_length=500)


class IdentityStatusOut(BaseModel):
    status: str
    version: int
    updated_at: datetime


class VidIn(_Strict):
    uin: str
    kind: VidKind
    ttl_seconds: int | None = Field(default=None, ge=60, le=365 * 86400)


class VidOut(BaseModel):
    vid: str
    kind: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, v: Vid) -> VidOut:
        return cls(
            vid=v.vid,
            kind=v.kind.value,
            created_at=v.created_at,
            expires_at=v.expires_at,
            revoked_at=v.revoked_at,
        )


class PolicyIn(_Strict):
    attributes: list[str] = Field(max_length=50)


class PolicyOut(BaseModel):
    partner: str
    attributes: list[str]


class OtpRequestIn(_Strict):
    individual_id: str = Field(max_length=32, description="UIN or VID")
    channel: Literal["sms", "email"]


class OtpSentOut(BaseModel):
    otp_id: str
    channel: str
    masked_address: str
    expires_at: datetime


class OtpIn(_Strict):
    otp_id: str = Field(max_length=64)
    code: str = Field(max_length=12)


class AuthIn(_Strict):
    individual_id: str = Field(max_length=32, description="UIN or VID")
    transaction_id: str = Field(max_length=64)
    demographics: dict[str, Any] | None = Field(
        default=None, description="Claimed attributes, by profile field name"
    )
    otp: OtpIn | None = None


class AuthOut(BaseModel):
    transaction_id: str
    authenticated: bool
    factors: list[str]
    token: str | None = Field(description="The person's token at this partner, on success")
    at: datetime

    @classmethod
    def of(cls, r: AuthResult) -> AuthOut:
        return cls(
            transaction_id=r.transaction_id,
            authenticated=r.authenticated,
            factors=list(r.factors),
            token=r.token,
            at=r.at,
        )


class ConsentRefIn(_Strict):
    agreement_id: str = Field(max_length=100)
    purpose: str = Field(max_length=64)


class EkycIn(AuthIn):
    attributes: list[str] = Field(
        default_factory=list, max_length=50, description="Empty: everything the policy allows"
    )
    consent: ConsentRefIn


class EkycOut(BaseModel):
    transaction_id: str
    token: str
    attributes: dict[str, Any]
    signed: str = Field(description="Compact JWS over the same claims, signed by this instance")


class OutboxOut(BaseModel):
    channel: str
    address: str
    subject: str
    text: str
    created_at: datetime


def _otp(body: AuthIn) -> OtpFactor | None:
    return OtpFactor(body.otp.otp_id, body.otp.code) if body.otp else None


def build_router(
    *,
    enrolment: EnrolmentService,
    identities: IdentityService,
    authentication: AuthenticationService,
    profiles: ProfileCatalogue,
    outbox: OutboxReader | None = None,
) -> APIRouter:
    """The ``/identity`` routes; ``outbox`` adds the development outbox (development only)."""
    router = APIRouter(prefix="/identity", tags=["identity"])

    @router.get("/profiles", summary="The ID schema profiles shipped, and the active one")
    def list_profiles(_: Agency) -> dict[str, Any]:
        return {"active": profiles.active.ref, "profiles": [p.ref for p in profiles.all()]}

    @router.get("/profiles/{ref}", summary="One ID schema profile (JSON Schema with field tags)")
    def get_profile(ref: str, _: Agency) -> dict[str, Any]:
        return profiles.get(ref).document

    # --- enrolment ------------------------------------------------------------------------

    @router.post(
        "/packets",
        response_model=EnrolmentOut,
        summary="Submit a signed enrolment packet; the same packet again gives the same answer",
    )
    def submit(body: PacketIn, principal: Agency) -> EnrolmentOut:
        return EnrolmentOut.of(
            enrolment.submit(caller=principal.client_id, signed_packet=body.packet)
        )

    @router.get(
        "/packets/{packet_id}", response_model=EnrolmentOut, summary="What became of a packet"
    )
    def get_packet(packet_id: str, principal: Agency) -> EnrolmentOut:
        found = enrolment.enrolment(packet_id)
        if found.enrolled_by != principal.client_id:
            raise UnknownPacket(f"no packet {packet_id!r}")  # others' packets are not visible
        return EnrolmentOut.of(found)

    # --- review queue ---------------------------------------------------------------------

    @router.get("/review/cases", response_model=list[CaseOut], summary="The review queue")
    def review_queue(
        _: Reviewer,
        open_only: Annotated[bool, Query(alias="open")] = True,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[CaseOut]:
        return [CaseOut.of(c) for c in enrolment.review_queue(open_only=open_only, limit=limit)]

    @router.get(
        "/review/cases/{case_id}",
        response_model=CaseDetailOut,
        summary="A case with the packet and each candidate side by side (audited)",
    )
    def show_case(case_id: str, principal: Reviewer) -> CaseDetailOut:
        view = enrolment.show_case(actor=principal.client_id, case_id=case_id)
        base = CaseOut.of(view.case, [CandidateOut.of(c, a) for c, a in view.candidates])
        return CaseDetailOut(
            **base.model_dump(), packet=view.packet, enrolment=EnrolmentOut.of(view.enrolment)
        )

    @router.post(
        "/review/cases/{case_id}/decision",
        response_model=EnrolmentOut,
        summary="Decide a case: distinct, duplicate of a candidate, or reject",
    )
    def decide(case_id: str, body: DecisionIn, principal: Reviewer) -> EnrolmentOut:
        return EnrolmentOut.of(
            enrolment.decide(
                actor=principal.client_id,
                case_id=case_id,
                decision=body.decision,
                duplicate_of=body.duplicate_of,
                reason=body.reason,
            )
        )

    # --- lifecycle ------------------------------------------------------------------------

    def _set_locked(uin: str, body: ReasonIn, principal: Principal, locked: bool) -> Any:
        identity = identities.set_locked(
            actor=principal.client_id, uin=uin, locked=locked, reason=body.reason
        )
        return IdentityStatusOut(
            status=identity.status.value, version=identity.version, updated_at=identity.updated_at
        )

    @router.post(
        "/identities/{uin}/lock", response_model=IdentityStatusOut, summary="Lock an identity"
    )
    def lock(uin: str, body: ReasonIn, principal: Operator) -> IdentityStatusOut:
        result: IdentityStatusOut = _set_locked(uin, body, principal, True)
        return result

    @router.post(
        "/identities/{uin}/unlock", response_model=IdentityStatusOut, summary="Unlock an identity"
    )
    def unlock(uin: str, body: ReasonIn, principal: Operator) -> IdentityStatusOut:
        result: IdentityStatusOut = _set_locked(uin, body, principal, False)
        return result

    @router.post("/vids", response_model=VidOut, status_code=201, summary="Issue a virtual ID")
    def issue_vid(body: VidIn, principal: Operator) -> VidOut:
        ttl = timedelta(seconds=body.ttl_seconds) if body.ttl_seconds else None
        return VidOut.of(
            identities.issue_vid(actor=principal.client_id, uin=body.uin, kind=body.kind, ttl=ttl)
        )

    @router.post("/vids/{vid}/revoke", response_model=VidOut, summary="Revoke a virtual ID")
    def revoke_vid(vid: str, principal: Operator) -> VidOut:
        return VidOut.of(identities.revoke_vid(actor=principal.client_id, vid=vid))

    @router.put(
        "/partners/{instance}/{member_class}/{member_code}/policy",
        response_model=PolicyOut,
        summary="The attributes a relying party may receive in eKYC",
    )
    def set_policy(
        instance: str, member_class: str, member_code: str, body: PolicyIn, principal: Operator
    ) -> PolicyOut:
        partner = f"{instance}/{member_class}/{member_code}"
        chosen = identities.set_policy(
            actor=principal.client_id, partner=partner, attributes=body.attributes
        )
        return PolicyOut(partner=partner, attributes=sorted(chosen))

    # --- relying parties ------------------------------------------------------------------

    @router.post("/otp", response_model=OtpSentOut, summary="Send an OTP to the person")
    def request_otp(body: OtpRequestIn, principal: Authenticator) -> OtpSentOut:
        sent = authentication.request_otp(
            partner=Partner(principal.client_id),
            individual_id=body.individual_id,
            channel=body.channel,
        )
        return OtpSentOut(
            otp_id=sent.otp_id,
            channel=sent.channel,
            masked_address=sent.masked_address,
            expires_at=sent.expires_at,
        )

    @router.post(
        "/authenticate",
        response_model=AuthOut,
        summary="Yes/no authentication by demographics and/or OTP",
    )
    async def authenticate(body: AuthIn, principal: Authenticator) -> AuthOut:
        # The hot path: the checks run on the event loop (a keyed read and comparisons, no
        # lock waits), and the wait for the group-committed audit entry holds no thread.
        # An OTP factor writes a row under a lock, so it goes to a worker thread.
        arguments: dict[str, Any] = {
            "partner": Partner(principal.client_id),
            "individual_id": body.individual_id,
            "transaction_id": body.transaction_id,
            "demographics": body.demographics,
            "otp": _otp(body),
        }
        if body.otp is not None:
            pending = await run_in_threadpool(
                lambda: authentication.authenticate_pending(**arguments)
            )
        else:
            pending = authentication.authenticate_pending(**arguments)
        answer, audited = pending
        await asyncio.wrap_future(audited)
        if isinstance(answer, BaobabError):
            raise answer
        return AuthOut.of(answer)

    @router.post(
        "/ekyc",
        response_model=EkycOut,
        summary="Authenticate and receive the allowed attributes, signed, with consent",
    )
    def ekyc(body: EkycIn, principal: KycReceiver) -> EkycOut:
        kyc = authentication.ekyc(
            partner=Partner(principal.client_id),
            individual_id=body.individual_id,
            transaction_id=body.transaction_id,
            attributes=body.attributes,
            agreement_id=body.consent.agreement_id,
            purpose=body.consent.purpose,
            demographics=body.demographics,
            otp=_otp(body),
        )
        return EkycOut(
            transaction_id=kyc.transaction_id,
            token=kyc.token,
            attributes=kyc.attributes,
            signed=kyc.jws,
        )

    if outbox is not None:

        @router.get(
            "/dev/outbox",
            response_model=list[OutboxOut],
            summary="Development only: messages that would have been sent",
        )
        def dev_outbox(
            _: Operator,
            address: str | None = None,
            limit: Annotated[int, Query(ge=1, le=100)] = 20,
        ) -> list[OutboxOut]:
            return [
                OutboxOut(
                    channel=m.channel,
                    address=m.address,
                    subject=m.subject,
                    text=m.text,
                    created_at=m.created_at,
                )
                for m in outbox.messages(address=address, limit=limit)
            ]

    return router
