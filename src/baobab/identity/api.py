"""HTTP routes of the identity block, mounted under ``/identity``.

Enrolment agencies submit signed packets (``identity:enrol``); officers work the review queue
(``identity:review``); operators lock identities, manage VIDs and partner policies
(``identity:admin``); relying parties authenticate people (``identity:auth``) and receive eKYC
(``identity:ekyc``). Routes for partners also need the caller's member to have the matching
role (``enrolment_agency``, ``relying_party``). Every refusal is problem+json.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from baobab.directory import Role
from baobab.identity.api_models import (
    AuthIn,
    AuthOut,
    CandidateOut,
    CaseDetailOut,
    CaseOut,
    DecisionIn,
    EkycIn,
    EkycOut,
    EnrolmentOut,
    FactorLocksIn,
    FactorLocksOut,
    IdentityStatusOut,
    OtpRequestIn,
    OtpSentOut,
    OutboxOut,
    PacketIn,
    PolicyIn,
    PolicyOut,
    ReasonIn,
    VidIn,
    VidOut,
)
from baobab.identity.authentication import AuthenticationService
from baobab.identity.errors import UnknownPacket
from baobab.identity.factors import OtpFactor, Partner
from baobab.identity.lifecycle import IdentityService
from baobab.identity.ports import OutboxReader
from baobab.identity.resident import ResidentService
from baobab.identity.schema import ProfileCatalogue
from baobab.identity.services import EnrolmentService
from baobab.infra.http.auth import ScopeGuard
from baobab.infra.http.lean_route import LeanRoute
from baobab.kernel.errors import Forbidden
from baobab.kernel.principal import Principal


class MissingRole(Forbidden):
    code = "identity.missing_role"
    title = "The caller's institution lacks the role"


class _Guard(ScopeGuard):
    """Admits callers whose token carries the scope and whose member has the role, if any."""

    def __init__(self, scope: str, role: str | None) -> None:
        super().__init__(scope)
        self.role = role

    def admit(self, principal: Principal) -> None:
        if self.role is not None and self.role not in principal.roles:
            raise MissingRole(f"this operation is for members with the role {self.role!r}")


def require(scope: str, role: str | None = None) -> ScopeGuard:
    """Admit callers whose token carries ``scope`` and whose member has ``role``."""
    return _Guard(scope, role)


Agency = Annotated[Principal, Depends(require("identity:enrol", Role.ENROLMENT_AGENCY))]
Reviewer = Annotated[Principal, Depends(require("identity:review"))]
Operator = Annotated[Principal, Depends(require("identity:admin"))]
Authenticator = Annotated[Principal, Depends(require("identity:auth", Role.RELYING_PARTY))]
KycReceiver = Annotated[Principal, Depends(require("identity:ekyc", Role.RELYING_PARTY))]
Portal = Annotated[Principal, Depends(require("identity:resident"))]


def _otp(body: AuthIn) -> OtpFactor | None:
    return OtpFactor(body.otp.otp_id, body.otp.code) if body.otp else None


def build_router(
    *,
    enrolment: EnrolmentService,
    identities: IdentityService,
    authentication: AuthenticationService,
    profiles: ProfileCatalogue,
    outbox: OutboxReader | None = None,
    resident: ResidentService | None = None,
) -> APIRouter:
    """The ``/identity`` routes; ``outbox`` adds the development outbox (development only),
    ``resident`` the routes a resident portal relays the person's own requests through."""
    router = APIRouter(prefix="/identity", tags=["identity"])

    # --- relying parties (first: the router tries routes in order, and these are hot) -------

    @router.post("/otp", response_model=OtpSentOut, summary="Send an OTP to the person")
    def request_otp(body: OtpRequestIn, principal: Authenticator) -> OtpSentOut:
        sent = authentication.request_otp(
            partner=Partner(principal.client_id),
            individual_id=body.individual_id,
            channel=body.channel,
        )
        return OtpSentOut.of(sent)

    async def authenticate(body: AuthIn, principal: Authenticator) -> Response:
        # The hot path: served by LeanRoute (no dependency solving); the checks run on
        # the event loop (a keyed read and comparisons, no lock waits), and the wait for the
        # group-committed audit entry holds no thread (between the checks and queueing the
        # entry there is no await, so the entry is queued even if the request is cancelled).
        # An OTP try writes a row under a lock, so it goes to a worker thread, which queues
        # the entry itself and waits for it.
        arguments: dict[str, Any] = {
            "partner": Partner(principal.client_id),
            "individual_id": body.individual_id,
            "transaction_id": body.transaction_id,
            "demographics": body.demographics,
            "otp": _otp(body),
        }
        if body.otp is not None:
            answer = await run_in_threadpool(lambda: authentication.authenticate(**arguments))
        else:
            answer = await authentication.conclude(authentication.attempt(**arguments))
        # serialised here, once: a returned model would be validated again, then serialised
        return Response(AuthOut.of(answer).model_dump_json(), media_type="application/json")

    router.add_api_route(
        "/authenticate",
        authenticate,
        methods=["POST"],
        response_model=AuthOut,
        summary="Yes/no authentication by demographics and/or OTP",
        route_class_override=LeanRoute,
    )

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

    if resident is not None:
        _resident_routes(router, resident)

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


def _resident_routes(router: APIRouter, resident: ResidentService) -> None:
    @router.post(
        "/resident/otp",
        response_model=OtpSentOut,
        summary="Send the person an OTP to prove themselves to the resident portal",
    )
    def resident_otp(body: OtpRequestIn, principal: Portal) -> OtpSentOut:
        sent = resident.request_otp(
            portal=Partner(principal.client_id),
            individual_id=body.individual_id,
            channel=body.channel,
        )
        return OtpSentOut.of(sent)

    @router.post(
        "/resident/factor-locks",
        response_model=FactorLocksOut,
        summary="The person locks or unlocks authentication factors, proven by their OTP",
    )
    def factor_locks(body: FactorLocksIn, principal: Portal) -> FactorLocksOut:
        locked = resident.set_factor_locks(
            portal=Partner(principal.client_id),
            individual_id=body.individual_id,
            otp=OtpFactor(body.otp.otp_id, body.otp.code),
            lock=body.lock,
            unlock=body.unlock,
        )
        return FactorLocksOut(locked=sorted(locked))
