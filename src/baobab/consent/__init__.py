"""Consent: data agreements and the consent records of the individuals who agree to them.

Organisations define versioned data agreements (purpose, lawful basis, data, recipients,
retention, policy); individuals, known by a per-organisation token, give and withdraw consent;
each change is a new SHA-256-chained revision signed by the Baobab instance. The exchange gateway
and eKYC ask :meth:`ConsentService.check` before personal data moves; a withdrawal counts for the
very next check.
"""

from baobab.consent.domain import (
    AgreementInactive,
    AgreementRevision,
    AgreementTerms,
    Channel,
    CheckNotPermitted,
    ConsentNotApplicable,
    ConsentRecord,
    DataAttribute,
    Decision,
    ForeignIndividual,
    Individual,
    InvalidAgreement,
    InvalidIndividualToken,
    LawfulBasis,
    OptOutNotAllowed,
    PolicyRef,
    UnknownAgreement,
    UnknownRecord,
)
from baobab.consent.export import to_iso27560
from baobab.consent.services import (
    CONSENT_SCOPES,
    ConcurrentChange,
    ConsentService,
    RecordVerification,
)

__all__ = [
    "CONSENT_SCOPES",
    "AgreementInactive",
    "AgreementRevision",
    "AgreementTerms",
    "Channel",
    "CheckNotPermitted",
    "ConcurrentChange",
    "ConsentNotApplicable",
    "ConsentRecord",
    "ConsentService",
    "DataAttribute",
    "Decision",
    "ForeignIndividual",
    "Individual",
    "InvalidAgreement",
    "InvalidIndividualToken",
    "LawfulBasis",
    "OptOutNotAllowed",
    "PolicyRef",
    "RecordVerification",
    "UnknownAgreement",
    "UnknownRecord",
    "to_iso27560",
]
