"""The identity block's errors, in one place: each has a stable code and a title (the error
envelope of :mod:`baobab.kernel.errors`). Adapter-side failures (ABIS, messaging, journal, keystore)
stay beside the adapter or port that raises them."""

from __future__ import annotations

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

# --- enrolment packets -----------------------------------------------------------------------


class MalformedPacket(InvalidInput):
    code = "identity.malformed_packet"
    title = "Malformed enrolment packet"


class BadPacketSignature(Unauthenticated):
    code = "identity.bad_packet_signature"
    title = "Packet signature does not verify with the enrolling subsystem's keys"


class SchemaViolation(InvalidInput):
    code = "identity.schema_violation"
    title = "Demographics break the ID schema"


class UnknownField(SchemaViolation):
    code = "identity.unknown_field"
    title = "Field not in the ID schema"


class ImpossibleDate(SchemaViolation):
    code = "identity.impossible_date"
    title = "Date that cannot be"


class BiometricsMissing(InvalidInput):
    code = "identity.biometrics_missing"
    title = "Neither biometric references nor a biometric exception with a reason"


class PacketConflict(Conflict):
    code = "identity.packet_conflict"
    title = "Packet id already used with different content"


class UnknownPacket(NotFound):
    code = "identity.unknown_packet"
    title = "Unknown packet"


class IllegalTransition(Conflict):
    code = "identity.illegal_transition"
    title = "Packet cannot move to that state"


# --- identities and review -------------------------------------------------------------------


class UnknownIdentity(NotFound):
    code = "identity.unknown_identity"
    title = "Unknown identity"


class IdentityLocked(Forbidden):
    code = "identity.locked"
    title = "Identity is locked"


class FactorLocked(Forbidden):
    code = "identity.factor_locked"
    title = "The person has locked this authentication factor"


class UnknownReviewCase(NotFound):
    code = "identity.unknown_review_case"
    title = "Unknown review case"


class ReviewAlreadyDecided(Conflict):
    code = "identity.review_decided"
    title = "Review case already decided"


class InvalidDecision(InvalidInput):
    code = "identity.invalid_decision"
    title = "Invalid review decision"


class UnknownProfile(NotFound):
    code = "identity.unknown_profile"
    title = "Unknown ID schema profile"


class InvalidProfile(InvalidInput):
    code = "identity.invalid_profile"
    title = "Invalid ID schema profile"


# --- individual ids and VIDs -----------------------------------------------------------------


class InvalidIndividualId(InvalidInput):
    code = "identity.invalid_individual_id"
    title = "Not a valid UIN or VID"


class UnknownVid(NotFound):
    code = "identity.unknown_vid"
    title = "Unknown VID"


class VidRevoked(Forbidden):
    code = "identity.vid_revoked"
    title = "VID revoked"


class VidExpired(Forbidden):
    code = "identity.vid_expired"
    title = "VID expired"


class VidUsed(Forbidden):
    code = "identity.vid_used"
    title = "One-time VID already used"


# --- authentication and eKYC -----------------------------------------------------------------


class NoFactor(InvalidInput):
    code = "identity.no_factor"
    title = "No authentication factor given"


class AuthenticationFailed(Forbidden):
    code = "identity.authentication_failed"
    title = "Authentication failed"


class AttributeNotAllowed(Forbidden):
    code = "identity.attribute_not_allowed"
    title = "Attribute outside the partner's eKYC policy"


class ConsentMissing(Forbidden):
    code = "identity.consent_missing"
    title = "No consent for this eKYC"


# --- one-time passwords and rate limits ------------------------------------------------------


class UnknownOtp(NotFound):
    code = "identity.unknown_otp"
    title = "No such OTP transaction"


class OtpExpired(Forbidden):
    code = "identity.otp_expired"
    title = "OTP expired"


class OtpUsed(Conflict):
    code = "identity.otp_used"
    title = "OTP already used"


class OtpAttemptsExhausted(Forbidden):
    code = "identity.otp_attempts_exhausted"
    title = "Too many wrong OTPs for this transaction"


class OtpLockedOut(Forbidden):
    code = "identity.otp_locked_out"
    title = "OTP authentication locked out for this identity for a while"


class RateLimited(Forbidden):
    code = "identity.rate_limited"
    title = "Too many requests"


class NoOtpChannel(InvalidInput):
    code = "identity.no_otp_channel"
    title = "The identity has no address on this channel"
