"""HTTP routes of the consent block, mounted under ``/consent``, laid out as the GovStack
Consent Building Block lays them out:

- ``/config/...``   an organisation defines its data agreements (``consent:admin``)
- ``/service/...``  an organisation's front end acts for an individual, who is named by the
  ``X-ConsentBB-IndividualId`` header (``consent:individual``); the verification check
  (``consent:check``)
- ``/audit/...``    the organisation reads, verifies and exports its records (``consent:read``)

The caller's organisation is the member of its subsystem; nothing of another organisation is
visible. Errors are problem+json with the block's stable codes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from baobab.consent.domain import organisation_of
from baobab.consent.schemas import (
    AgreementIn,
    AgreementOut,
    BatchCheckIn,
    CheckIn,
    ChoiceIn,
    ConsentRecordOut,
    DecisionOut,
    IndividualIn,
    IndividualOut,
    RecordWithHistoryOut,
    VerificationOut,
)
from baobab.consent.services import ConsentService
from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal

Admin = Annotated[Principal, Depends(require_scope("consent:admin"))]
Reader = Annotated[Principal, Depends(require_scope("consent:read"))]
OnBehalf = Annotated[Principal, Depends(require_scope("consent:individual"))]
Checker = Annotated[Principal, Depends(require_scope("consent:check"))]
IndividualId = Annotated[
    str,
    Header(
        alias="X-ConsentBB-IndividualId",
        description="The individual's token with the calling organisation",
    ),
]


def build_router(*, consent: ConsentService) -> APIRouter:
    """The consent block's routes over its service."""
    router = APIRouter(prefix="/consent", tags=["consent"])

    def org(principal: Principal) -> str:
        return organisation_of(principal.client_id)

    # --- config: data agreements --------------------------------------------------------------

    agreement_path = "/config/agreement/{agreement_id}/"

    @router.post(
        "/config/agreement/",
        response_model=AgreementOut,
        status_code=201,
        summary="Create a data agreement (its revision 1)",
    )
    def create_agreement(body: AgreementIn, principal: Admin) -> AgreementOut:
        created = consent.agreements.create(
            actor=principal.client_id, organisation=org(principal), terms=body.terms()
        )
        return AgreementOut.of(created)

    @router.get(
        agreement_path, response_model=AgreementOut, summary="An agreement's current revision"
    )
    def read_agreement(agreement_id: str, principal: Admin) -> AgreementOut:
        return AgreementOut.of(consent.agreements.get(org(principal), agreement_id))

    @router.put(
        agreement_path, response_model=AgreementOut, summary="Revise an agreement (a new revision)"
    )
    def revise_agreement(agreement_id: str, body: AgreementIn, principal: Admin) -> AgreementOut:
        revised = consent.agreements.revise(
            actor=principal.client_id,
            organisation=org(principal),
            agreement_id=agreement_id,
            terms=body.terms(),
        )
        return AgreementOut.of(revised)

    @router.delete(
        agreement_path,
        response_model=AgreementOut,
        summary="Retire an agreement: an inactive revision that authorises nothing",
    )
    def retire_agreement(agreement_id: str, principal: Admin) -> AgreementOut:
        retired = consent.agreements.retire(
            actor=principal.client_id, organisation=org(principal), agreement_id=agreement_id
        )
        return AgreementOut.of(retired)

    @router.get(
        agreement_path + "revisions/",
        response_model=list[AgreementOut],
        summary="Every revision of an agreement, oldest first",
    )
    def agreement_revisions(agreement_id: str, principal: Admin) -> list[AgreementOut]:
        return [
            AgreementOut.of(r) for r in consent.agreements.history(org(principal), agreement_id)
        ]

    @router.get(
        "/config/agreements/",
        response_model=list[AgreementOut],
        summary="The organisation's agreements (current revisions)",
    )
    def list_agreements(principal: Admin) -> list[AgreementOut]:
        return [AgreementOut.of(a) for a in consent.agreements.owned_by(org(principal))]

    # --- service: individuals -----------------------------------------------------------------

    @router.post(
        "/service/individual/",
        response_model=IndividualOut,
        status_code=201,
        summary="Register an individual's token with the organisation",
    )
    def register_individual(body: IndividualIn, principal: OnBehalf) -> IndividualOut:
        individual = consent.register_individual(
            actor=principal.client_id, organisation=org(principal), token=body.token
        )
        return IndividualOut.of(individual)

    @router.get(
        "/service/agreement/{agreement_id}/",
        response_model=AgreementOut,
        summary="The agreement an individual is asked to consent to",
    )
    def service_agreement(agreement_id: str, principal: OnBehalf) -> AgreementOut:
        return AgreementOut.of(consent.agreements.get(org(principal), agreement_id))

    @router.get(
        "/service/individual/record/agreement/",
        response_model=list[ConsentRecordOut],
        summary="The individual's view: every agreement they have a record for",
    )
    def individual_records(individual: IndividualId, principal: OnBehalf) -> list[ConsentRecordOut]:
        return [ConsentRecordOut.of(r) for r in consent.records_of(org(principal), individual)]

    record_by_agreement = "/service/individual/record/agreement/{agreement_id}/"

    @router.get(
        record_by_agreement,
        response_model=ConsentRecordOut,
        summary="The individual's current record for one agreement",
    )
    def individual_record(
        agreement_id: str, individual: IndividualId, principal: OnBehalf
    ) -> ConsentRecordOut:
        return ConsentRecordOut.of(consent.record_for(org(principal), individual, agreement_id))

    @router.post(
        record_by_agreement,
        response_model=ConsentRecordOut,
        summary="The individual gives (or refuses, or withdraws) consent to an agreement",
    )
    def record_choice(
        agreement_id: str, body: ChoiceIn, individual: IndividualId, principal: OnBehalf
    ) -> ConsentRecordOut:
        record = consent.choose(
            actor=principal.client_id,
            organisation=org(principal),
            agreement_id=agreement_id,
            individual=individual,
            opt_in=body.opt_in,
            channel=body.channel,
        )
        return ConsentRecordOut.of(record)

    @router.put(
        "/service/individual/record/consentrecord/{record_id}/",
        response_model=ConsentRecordOut,
        summary="Change a record: withdraw consent (opt_in false) or give it again",
    )
    def change_record(
        record_id: str, body: ChoiceIn, individual: IndividualId, principal: OnBehalf
    ) -> ConsentRecordOut:
        record = consent.change_record(
            actor=principal.client_id,
            organisation=org(principal),
            record_id=record_id,
            individual=individual,
            opt_in=body.opt_in,
            channel=body.channel,
        )
        return ConsentRecordOut.of(record)

    # --- service: verification ----------------------------------------------------------------

    @router.post(
        "/service/verification/check/",
        response_model=DecisionOut,
        summary="May personal data move under this agreement, for this purpose, to this "
        "recipient, now?",
    )
    def check(body: CheckIn, principal: Checker) -> DecisionOut:
        decision = consent.check(
            individual=body.individual,
            agreement_id=body.agreement_id,
            purpose=body.purpose,
            recipient=body.recipient,
            asker=principal,
        )
        return DecisionOut.of(decision)

    @router.post(
        "/service/verification/checks/",
        response_model=list[DecisionOut],
        summary="The same check for up to 1000 individuals under one agreement, in order",
    )
    def check_many(body: BatchCheckIn, principal: Checker) -> list[DecisionOut]:
        decisions = consent.check_many(
            individuals=body.individuals,
            agreement_id=body.agreement_id,
            purpose=body.purpose,
            recipient=body.recipient,
            asker=principal,
        )
        return [DecisionOut.of(d) for d in decisions]

    # --- audit --------------------------------------------------------------------------------

    @router.get(
        "/audit/agreements/",
        response_model=list[AgreementOut],
        summary="The organisation's agreements (current revisions)",
    )
    def audit_agreements(principal: Reader) -> list[AgreementOut]:
        return [AgreementOut.of(a) for a in consent.agreements.owned_by(org(principal))]

    @router.get(
        "/audit/consentrecords/",
        response_model=list[ConsentRecordOut],
        summary="The organisation's consent records, in id order, a page at a time",
    )
    def audit_records(
        principal: Reader,
        agreement_id: str | None = None,
        opt_in: bool | None = None,
        after: Annotated[str | None, Query(description="The last id of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[ConsentRecordOut]:
        found = consent.list_records(
            org(principal), agreement_id=agreement_id, opt_in=opt_in, after=after, limit=limit
        )
        return [ConsentRecordOut.of(r) for r in found]

    audit_record = "/audit/consentrecord/{record_id}/"

    @router.get(
        audit_record,
        response_model=RecordWithHistoryOut,
        summary="A consent record with every revision",
    )
    def audit_read_record(record_id: str, principal: Reader) -> RecordWithHistoryOut:
        history = consent.history(org(principal), record_id)
        return RecordWithHistoryOut(
            record=ConsentRecordOut.of(history[-1]),
            revisions=[ConsentRecordOut.of(r) for r in history],
        )

    @router.get(
        audit_record + "verify/",
        response_model=VerificationOut,
        summary="Re-compute the record's hash chain and check its signatures",
    )
    def audit_verify_record(record_id: str, principal: Reader) -> VerificationOut:
        broken = consent.verify_record(record_id, organisation=org(principal))
        if broken is None:
            return VerificationOut(record_id=record_id, intact=True)
        return VerificationOut(
            record_id=record_id,
            intact=False,
            first_broken_revision=broken.sequence,
            reason=broken.reason,
        )

    @router.get(
        audit_record + "export/",
        summary="The record as ISO/IEC TS 27560-shaped JSON",
        response_model=dict[str, Any],
    )
    def audit_export_record(record_id: str, principal: Reader) -> dict[str, Any]:
        return consent.export(org(principal), record_id)

    return router
