"""Request and response bodies of the ``/identity`` routes (pydantic models; the OpenAPI
document is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baobab.identity.domain import DuplicateCandidate, ReviewCase, ReviewDecision, Vid, VidKind
from baobab.identity.factors import AuthResult, OtpSent
from baobab.identity.packets import Enrolment


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

    @classmethod
    def of(cls, sent: OtpSent) -> OtpSentOut:
        return cls(
            otp_id=sent.otp_id,
            channel=sent.channel,
            masked_address=sent.masked_address,
            expires_at=sent.expires_at,
        )


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


class FactorLocksIn(_Strict):
    individual_id: str = Field(max_length=32, description="The person's UIN or VID")
    otp: OtpIn = Field(description="The one-time password the person received")
    lock: list[Literal["demo", "otp"]] = Field(default_factory=list, max_length=2)
    unlock: list[Literal["demo", "otp"]] = Field(default_factory=list, max_length=2)


class FactorLocksOut(BaseModel):
    locked: list[str] = Field(description="The factors relying parties may not use now")


class OutboxOut(BaseModel):
    channel: str
    address: str
    subject: str
    text: str
    created_at: datetime
