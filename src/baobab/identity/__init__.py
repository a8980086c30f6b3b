"""Identity: the population register.

Signed enrolment packets move through ``received -> checked -> deduplicating -> issued |
duplicate | in_review | rejected`` against a country's ID schema profile; demographic
deduplication (:mod:`baobab.identity.matching`, behind the :class:`DuplicateFinder` port) catches
people already registered and sends doubtful cases to a manual review queue. People get a UIN
(random, Verhoeff-checked), virtual IDs and, at each relying party, a partner token instead of
the UIN. Relying parties authenticate people (demographics and/or OTP) and receive signed eKYC
when the person consented (:class:`ConsentCheck`).
"""

from baobab.identity.authentication import AuthenticationService
from baobab.identity.biometrics import AbisUnavailable, BiometricCandidate
from baobab.identity.domain import (
    DuplicateCandidate,
    Identity,
    IdentityStatus,
    IdentityVersion,
    MatchOutcome,
    ReviewCase,
    ReviewDecision,
    Vid,
    VidKind,
)
from baobab.identity.errors import (
    AttributeNotAllowed,
    AuthenticationFailed,
    BadPacketSignature,
    BiometricsMissing,
    ConsentMissing,
    FactorLocked,
    IdentityLocked,
    ImpossibleDate,
    MalformedPacket,
    NoFactor,
    OtpAttemptsExhausted,
    OtpExpired,
    OtpLockedOut,
    OtpUsed,
    PacketConflict,
    RateLimited,
    SchemaViolation,
    UnknownField,
    UnknownIdentity,
    UnknownPacket,
    UnknownReviewCase,
    UnknownVid,
    VidExpired,
    VidRevoked,
    VidUsed,
)
from baobab.identity.factors import AuthResult, Ekyc, OtpFactor, OtpSent, Partner
from baobab.identity.lifecycle import IdentityService
from baobab.identity.numbers import UIN_POLICY, VID_POLICY, NumberPolicy, partner_token
from baobab.identity.otp import OtpPolicy
from baobab.identity.packets import Enrolment, PacketKind, PacketState
from baobab.identity.ports import (
    AuthenticationJournal,
    BiometricMatcher,
    ConsentCheck,
    DuplicateFinder,
    KeyDirectory,
    Messenger,
)
from baobab.identity.resident import ResidentService
from baobab.identity.review import CaseView
from baobab.identity.schema import Profile, ProfileCatalogue
from baobab.identity.services import IDENTITY_SCOPES, EnrolmentService

__all__ = [
    "IDENTITY_SCOPES",
    "UIN_POLICY",
    "VID_POLICY",
    "AbisUnavailable",
    "AttributeNotAllowed",
    "AuthResult",
    "AuthenticationFailed",
    "AuthenticationJournal",
    "AuthenticationService",
    "BadPacketSignature",
    "BiometricCandidate",
    "BiometricMatcher",
    "BiometricsMissing",
    "CaseView",
    "ConsentCheck",
    "ConsentMissing",
    "DuplicateCandidate",
    "DuplicateFinder",
    "Ekyc",
    "Enrolment",
    "EnrolmentService",
    "FactorLocked",
    "Identity",
    "IdentityLocked",
    "IdentityService",
    "IdentityStatus",
    "IdentityVersion",
    "ImpossibleDate",
    "KeyDirectory",
    "MalformedPacket",
    "MatchOutcome",
    "Messenger",
    "NoFactor",
    "NumberPolicy",
    "OtpAttemptsExhausted",
    "OtpExpired",
    "OtpFactor",
    "OtpLockedOut",
    "OtpPolicy",
    "OtpSent",
    "OtpUsed",
    "PacketConflict",
    "PacketKind",
    "PacketState",
    "Partner",
    "Profile",
    "ProfileCatalogue",
    "RateLimited",
    "ResidentService",
    "ReviewCase",
    "ReviewDecision",
    "SchemaViolation",
    "UnknownField",
    "UnknownIdentity",
    "UnknownPacket",
    "UnknownReviewCase",
    "UnknownVid",
    "Vid",
    "VidExpired",
    "VidKind",
    "VidRevoked",
    "VidUsed",
    "partner_token",
]
