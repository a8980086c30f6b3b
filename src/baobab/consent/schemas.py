"""Request and response bodies of the consent API (pydantic), and their mapping to the model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from baobab.consent.domain import (
    AgreementRevision,
    AgreementTerms,
    Channel,
    ConsentRecord,
    DataAttribute,
    Decision,
    Individual,
    LawfulBasis,
    PolicyRef,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeIn(_Strict):
    name: str = Field(examples=["birth_date"])
    category: str = Field(examples=["identity"])
    sensitive: bool = False


class PolicyIn(_Strict):
    name: str = Field(examples=["Bank A privacy policy"])
    version: str = Field(examples=["2026.1"])
    url: str = Field(examples=["https://banka.example/privacy/2026.1"])
    jurisdiction: str = Field(default="", examples=["ZZ"])


class AgreementIn(_Strict):
    purpose: str = Field(examples=["ekyc"], description="A code the check matches exactly")
    purpose_description: str = Field(examples=["Verify the customer's identity"])
    lawful_basis: LawfulBasis
    attributes: list[AttributeIn]
    recipients: list[str] = Field(
        description="Members (INSTANCE/CLASS/CODE) or subsystems that may receive the data",
        examples=[["DEV/COM/BANKA"]],
    )
    retention_days: int = Field(ge=0)
    policy: PolicyIn
    validity_days: int | None = Field(
        default=None, description="Consent lapses this many days after it is given"
    )
    compatible_from: int | None = Field(
        default=None,
        description="Consent to this revision or any later one authorises this revision; "
        "omit to require consent to this very revision",
    )

    def terms(self) -> AgreementTerms:
        return AgreementTerms(
            purpose=self.purpose,
            purpose_description=self.purpose_description,
            lawful_basis=self.lawful_basis,
            attributes=tuple(
                DataAttribute(a.name, a.category, a.sensitive) for a in self.attributes
            ),
            recipients=tuple(self.recipients),
            retention_days=self.retention_days,
            policy=PolicyRef(
                self.policy.name, self.policy.version, self.policy.url, self.policy.jurisdiction
            ),
            validity_days=self.validity_days,
            compatible_from=self.compatible_from,
        )


class AgreementOut(BaseModel):
    id: str
    organisation: str
    revision: int
    active: bool
    purpose: str
    purpose_description: str
    lawful_basis: str
    attributes: list[dict[str, Any]]
    recipients: list[str]
    retention_days: int
    validity_days: int | None
    policy: dict[str, str]
    compatible_from: int | None
    created_at: datetime
    revision_hash: str
    previous_hash: str

    @classmethod
    def of(cls, a: AgreementRevision) -> AgreementOut:
        terms = a.terms.to_dict()
        return cls(
            id=a.agreement_id,
            organisation=a.organisation,
            revision=a.revision,
            created_at=a.created_at,
            revision_hash=a.hash,
            previous_hash=a.previous_hash,
            **terms,
        )


class IndividualIn(_Strict):
    token: str = Field(description="The organisation's own opaque token for the person")


class IndividualOut(BaseModel):
    token: str
    organisation: str
    created_at: datetime

    @classmethod
    def of(cls, i: Individual) -> IndividualOut:
        return cls(token=i.token, organisation=i.organisation, created_at=i.created_at)


class ChoiceIn(_Strict):
    opt_in: bool = True
    channel: Channel = Channel.API


class ConsentRecordOut(BaseModel):
    id: str
    agreement_id: str
    agreement_revision: int
    agreement_revision_hash: str
    individual: str
    opt_in: bool
    state: str
    given_at: datetime | None
    withdrawn_at: datetime | None
    expires_at: datetime | None
    channel: str
    sequence: int
    updated_at: datetime
    updated_by: str
    hash: str
    previous_hash: str
    signature: str

    @classmethod
    def of(cls, r: ConsentRecord) -> ConsentRecordOut:
        return cls(
            id=r.record_id,
            agreement_id=r.agreement_id,
            agreement_revision=r.agreement_revision,
            agreement_revision_hash=r.agreement_revision_hash,
            individual=r.individual,
            opt_in=r.opt_in,
            state=r.state,
            given_at=r.given_at,
            withdrawn_at=r.withdrawn_at,
            expires_at=r.expires_at,
            channel=r.channel.value,
            sequence=r.sequence,
            updated_at=r.at,
            updated_by=r.actor,
            hash=r.hash,
            previous_hash=r.previous_hash,
            signature=r.signature,
        )


class RecordWithHistoryOut(BaseModel):
    record: ConsentRecordOut
    revisions: list[ConsentRecordOut]


class VerificationOut(BaseModel):
    record_id: str
    intact: bool
    first_broken_revision: int | None = None
    reason: str | None = None


class CheckIn(_Strict):
    individual: str = Field(description="The individual's token with the agreement's owner")
    agreement_id: str
    purpose: str = Field(examples=["ekyc"])
    recipient: str = Field(description="Member or subsystem that would receive the data")


class BatchCheckIn(_Strict):
    individuals: list[str] = Field(
        min_length=1, max_length=1000, description="Tokens with the agreement's owner"
    )
    agreement_id: str
    purpose: str = Field(examples=["ekyc"])
    recipient: str = Field(description="Member or subsystem that would receive the data")


class DecisionOut(BaseModel):
    allowed: bool
    reason: str
    lawful_basis: str
    agreement_revision: int
    record_id: str | None
    record_sequence: int | None

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls(
            allowed=d.allowed,
            reason=d.reason,
            lawful_basis=d.lawful_basis.value,
            agreement_revision=d.agreement_revision,
            record_id=d.record_id,
            record_sequence=d.record_sequence,
        )
