"""The identity block's model: enrolment packets and their states, identities and their history,
the manual review queue, virtual IDs and the block's errors (each with a stable code)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

# --- errors ---------------------------------------------------------------------------------


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


# --- packets and their states ----------------------------------------------------------------

_PACKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
_LABEL = re.compile(r"[^\x00-\x1f]{1,100}")
BIOMETRIC_MODALITIES = ("finger", "iris", "face")
PACKET_MEMBERS = frozenset(
    {
        "packet_id",
        "kind",
        "uin",
        "demographics",
        "biometrics",
        "biometric_exception",
        "documents",
        "officer",
        "centre",
    }
)


class PacketKind(StrEnum):
    NEW = "new"  # a first enrolment: the person gets a UIN unless already registered
    UPDATE = "update"  # a change to an existing identity (new address, corrected name)


class PacketState(StrEnum):
    """``received -> checked -> deduplicating -> issued | duplicate | in_review | rejected``;
    a case in review ends ``issued``, ``duplicate`` or ``rejected`` when an officer decides."""

    RECEIVED = "received"
    CHECKED = "checked"
    DEDUPLICATING = "deduplicating"
    ISSUED = "issued"
    DUPLICATE = "duplicate"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({PacketState.ISSUED, PacketState.DUPLICATE, PacketState.REJECTED})
_NEXT: dict[PacketState, frozenset[PacketState]] = {
    PacketState.RECEIVED: frozenset({PacketState.CHECKED}),
    PacketState.CHECKED: frozenset({PacketState.DEDUPLICATING}),
    PacketState.DEDUPLICATING: frozenset(
        {PacketState.ISSUED, PacketState.DUPLICATE, PacketState.IN_REVIEW, PacketState.REJECTED}
    ),
    PacketState.IN_REVIEW: frozenset(
        {PacketState.ISSUED, PacketState.DUPLICATE, PacketState.REJECTED}
    ),
}


class IllegalTransition(Conflict):
    code = "identity.illegal_transition"
    title = "Packet cannot move to that state"


@dataclass(frozen=True, slots=True)
class BiometricRef:
    """A reference to a biometric template held by the ABIS; never the template itself."""

    modality: str
    reference: str


@dataclass(frozen=True, slots=True)
class DocumentRef:
    kind: str
    reference: str


@dataclass(frozen=True, slots=True)
class Packet:
    """A checked enrolment packet, as signed by the enrolling subsystem ``enrolled_by``.

    ``digest`` is the SHA-256 of the packet's canonical JSON: the same packet id with the same
    digest is the same request; with another digest it is a conflict.
    """

    packet_id: str
    kind: PacketKind
    uin: str | None
    demographics: dict[str, Any]
    biometrics: tuple[BiometricRef, ...]
    biometric_exception: str | None
    documents: tuple[DocumentRef, ...]
    officer: str
    centre: str
    enrolled_by: str
    digest: str


def canonical_digest(value: Any) -> str:
    """SHA-256 over canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_packet(body: Any, *, enrolled_by: str) -> Packet:
    """Check the envelope of a packet (not yet its demographics, which the profile checks)."""
    if not isinstance(body, dict):
        raise MalformedPacket("a packet is a JSON object")
    unknown = sorted(set(body) - PACKET_MEMBERS)
    if unknown:
        raise MalformedPacket(f"unknown packet members: {', '.join(unknown)}")
    packet_id = body.get("packet_id")
    if not isinstance(packet_id, str) or not _PACKET_ID.fullmatch(packet_id):
        raise MalformedPacket("packet_id must be 8-100 letters, digits, '.', '_', ':' or '-'")
    try:
        kind = PacketKind(body.get("kind", "new"))
    except ValueError as exc:
        raise MalformedPacket("kind must be 'new' or 'update'") from exc
    uin = body.get("uin")
    if kind is PacketKind.UPDATE and not isinstance(uin, str):
        raise MalformedPacket("an update packet names the identity's uin")
    if kind is PacketKind.NEW and uin is not None:
        raise MalformedPacket("a new enrolment packet carries no uin")
    demographics = body.get("demographics")
    if not isinstance(demographics, dict) or not demographics:
        raise MalformedPacket("demographics must be a non-empty JSON object")
    biometrics = tuple(_biometric(b) for b in _list(body, "biometrics"))
    exception = body.get("biometric_exception")
    if exception is not None and (
        not isinstance(exception, dict)
        or set(exception) != {"reason"}
        or not isinstance(exception["reason"], str)
        or not 3 <= len(exception["reason"].strip()) <= 500
    ):
        raise MalformedPacket('biometric_exception is {"reason": "<3 to 500 characters>"}')
    reason = exception["reason"].strip() if exception else None
    if kind is PacketKind.NEW and not biometrics and reason is None:
        raise BiometricsMissing(
            "a new enrolment needs biometric references or a biometric exception with a reason"
        )
    if biometrics and reason is not None:
        raise MalformedPacket("a packet has biometric references or an exception, not both")
    documents = tuple(_document(d) for d in _list(body, "documents"))
    officer, centre = body.get("officer"), body.get("centre")
    for name, value in (("officer", officer), ("centre", centre)):
        if not isinstance(value, str) or not _LABEL.fullmatch(value):
            raise MalformedPacket(f"{name} must be 1-100 printable characters")
    assert isinstance(officer, str)
    assert isinstance(centre, str)
    return Packet(
        packet_id=packet_id,
        kind=kind,
        uin=uin if kind is PacketKind.UPDATE else None,
        demographics=demographics,
        biometrics=biometrics,
        biometric_exception=reason,
        documents=documents,
        officer=officer,
        centre=centre,
        enrolled_by=enrolled_by,
        digest=canonical_digest(body),
    )


def _list(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > 20:
        raise MalformedPacket(f"{name} must be a list of at most 20 entries")
    return value


def _biometric(value: Any) -> BiometricRef:
    if (
        not isinstance(value, dict)
        or set(value) != {"modality", "reference"}
        or value["modality"] not in BIOMETRIC_MODALITIES
        or not isinstance(value["reference"], str)
        or not _REF.fullmatch(value["reference"])
    ):
        raise MalformedPacket(
            'a biometric entry is {"modality": "finger"|"iris"|"face", "reference": "<ref>"}'
        )
    return BiometricRef(value["modality"], value["reference"])


def _document(value: Any) -> DocumentRef:
    if (
        not isinstance(value, dict)
        or set(value) != {"kind", "reference"}
        or not isinstance(value["kind"], str)
        or not _LABEL.fullmatch(value["kind"])
        or not isinstance(value["reference"], str)
        or not _REF.fullmatch(value["reference"])
    ):
        raise MalformedPacket('a document entry is {"kind": "<kind>", "reference": "<ref>"}')
    return DocumentRef(value["kind"], value["reference"])


@dataclass(frozen=True, slots=True)
class Transition:
    state: PacketState
    at: datetime


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What became of a packet: its state, its path through the states and the result.

    ``uin`` is the identity issued or updated; ``duplicate_of`` the identity the person was
    already registered as; ``case_id`` the review case while one is open or was decided.
    """

    packet_id: str
    kind: PacketKind
    digest: str
    enrolled_by: str
    state: PacketState
    transitions: tuple[Transition, ...]
    uin: str | None = None
    duplicate_of: str | None = None
    case_id: str | None = None
    reason: str | None = None

    @classmethod
    def received(cls, packet: Packet, *, at: datetime) -> Enrolment:
        return cls(
            packet.packet_id,
            packet.kind,
            packet.digest,
            packet.enrolled_by,
            PacketState.RECEIVED,
            (Transition(PacketState.RECEIVED, at),),
            uin=packet.uin,
        )

    def move(self, state: PacketState, *, at: datetime, **changes: Any) -> Enrolment:
        """The enrolment in ``state``; refuses a move the state machine does not allow."""
        if state not in _NEXT.get(self.state, frozenset()):
            raise IllegalTransition(f"packet {self.packet_id} cannot go {self.state} -> {state}")
        return replace(
            self, state=state, transitions=(*self.transitions, Transition(state, at)), **changes
        )


# --- identities ----------------------------------------------------------------------------


class IdentityStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"  # no authentication until unlocked by the person or an operator


@dataclass(frozen=True, slots=True)
class Identity:
    """A registered person: UIN, current attributes (profile-shaped) and their version."""

    uin: str
    attributes: dict[str, Any]
    profile: str  # "<name>@<version>" the attributes were last checked against
    status: IdentityStatus
    version: int
    created_at: datetime
    updated_at: datetime
    packet_id: str  # the packet that made this version
    locked_factors: frozenset[str] = frozenset()  # factors the person has locked ("demo"...)

    @property
    def locked(self) -> bool:
        return self.status is IdentityStatus.LOCKED


@dataclass(frozen=True, slots=True)
class IdentityVersion:
    """One past or current version of an identity's attributes and the packet that made it."""

    uin: str
    version: int
    attributes: dict[str, Any]
    packet_id: str
    at: datetime


# --- deduplication and review ----------------------------------------------------------------


class MatchOutcome(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    DISTINCT = "distinct"


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A registered identity that may be the same person, with the matcher's score."""

    uin: str
    score: float
    outcome: MatchOutcome
    field_levels: dict[str, str] = field(default_factory=dict)


class ReviewDecision(StrEnum):
    DISTINCT = "distinct"  # a different person: issue a UIN
    DUPLICATE = "duplicate"  # the same person as ``duplicate_of``
    REJECT = "reject"  # neither: the packet is refused (fraud, unusable data)


@dataclass(frozen=True, slots=True)
class ReviewCase:
    """A packet the matcher could not decide, waiting for an officer."""

    case_id: str
    packet_id: str
    candidates: tuple[DuplicateCandidate, ...]
    opened_at: datetime
    decision: ReviewDecision | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.decision is None


# --- virtual IDs -----------------------------------------------------------------------------


class VidKind(StrEnum):
    """As in MOSIP: perpetual until revoked; temporary until it expires; one-time (single use)."""

    PERPETUAL = "perpetual"
    TEMPORARY = "temporary"
    ONE_TIME = "one_time"


@dataclass(frozen=True, slots=True)
class Vid:
    vid: str
    uin: str
    kind: VidKind
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    used_at: datetime | None = None

    def check_usable(self, now: datetime) -> None:
        """Raise unless the VID may stand for its person at ``now``."""
        if self.revoked_at is not None:
            raise VidRevoked("this VID was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise VidExpired("this VID has expired")
        if self.kind is VidKind.ONE_TIME and self.used_at is not None:
            raise VidUsed("this one-time VID was already used")
