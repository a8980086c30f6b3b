"""The identity block's model: identities and their history, deduplication candidates and the
manual review queue, and virtual IDs. Enrolment packets and their states are in
:mod:`baobab.identity.packets`; the block's errors in :mod:`baobab.identity.errors`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from baobab.identity.errors import VidExpired, VidRevoked, VidUsed

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
