"""The consent model: data agreements an organisation defines, and the consent records of the
individuals who agree to them (or take their agreement back).

- An **agreement** is owned by one organisation (a directory member) and says what data
  (attributes) goes to whom (recipients), for which purpose, on which lawful basis, kept how long,
  under which policy. It is versioned: a change appends a new :class:`AgreementRevision`; an old
  revision is never rewritten.
- A **consent record** is one individual's choice about one agreement. Every change appends a
  revision that names the agreement revision it refers to, chains to the record's previous
  revision by SHA-256 and is signed by the Baobab instance.
- **Individuals** are named by an opaque per-organisation token, never by an ID number.

:func:`decide` answers the hot-path question "may this data move now?" from the agreement's
current revision and the record's current state; it is pure and does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound

_TOKEN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._~:-]{7,127}")
_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_PARTY = re.compile(rf"{_PART}/{_PART}/{_PART}(/{_PART})?")
MAX_RETENTION_DAYS = 100 * 366


# --- errors ---------------------------------------------------------------------------------


class InvalidAgreement(InvalidInput):
    code = "consent.invalid_agreement"
    title = "Invalid data agreement"


class InvalidIndividualToken(InvalidInput):
    code = "consent.invalid_individual_token"
    title = "Invalid individual token"


class OptOutNotAllowed(InvalidInput):
    code = "consent.opt_out_not_allowed"
    title = "The agreement's lawful basis does not allow opting out"


class ConsentNotApplicable(InvalidInput):
    code = "consent.consent_not_applicable"
    title = "The agreement's lawful basis does not rest on consent"


class UnknownAgreement(NotFound):
    code = "consent.unknown_agreement"
    title = "Unknown data agreement"


class UnknownRecord(NotFound):
    code = "consent.unknown_record"
    title = "Unknown consent record"


class ForeignIndividual(Forbidden):
    code = "consent.foreign_individual"
    title = "The individual token belongs to another organisation"


class CheckNotPermitted(Forbidden):
    code = "consent.check_not_permitted"
    title = "Not a party to this agreement"


class AgreementInactive(Conflict):
    code = "consent.agreement_inactive"
    title = "The data agreement is no longer active"


# --- agreements -----------------------------------------------------------------------------


class LawfulBasis(StrEnum):
    """Why personal data may be processed (GDPR article 6; ISO/IEC TS 27560 ``lawfulBasis``)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTEREST = "vital_interest"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTEREST = "legitimate_interest"

    @property
    def rests_on_consent(self) -> bool:
        """Only consent needs an individual's opt-in before data moves."""
        return self is LawfulBasis.CONSENT

    @property
    def allows_opt_out(self) -> bool:
        """Consent can be withdrawn and a legitimate interest objected to; the others cannot."""
        return self in (LawfulBasis.CONSENT, LawfulBasis.LEGITIMATE_INTEREST)


@dataclass(frozen=True, slots=True)
class DataAttribute:
    """One item of personal data the agreement covers, e.g. ``birth_date`` (``identity``)."""

    name: str
    category: str
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """The privacy policy that governs an agreement: a fixed, permanently readable version."""

    name: str
    version: str
    url: str
    jurisdiction: str


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What an organisation writes into one revision of an agreement.

    ``compatible_from``: consent given to any revision from this one on still authorises this
    revision; ``None`` means only consent to this very revision does (the safe default).
    ``validity_days``: consent lapses this many days after it was given (``None``: until
    withdrawn). ``retention_days``: how long the recipient may keep the data.
    """

    purpose: str
    purpose_description: str
    lawful_basis: LawfulBasis
    attributes: tuple[DataAttribute, ...]
    recipients: tuple[str, ...]
    retention_days: int
    policy: PolicyRef
    validity_days: int | None = None
    compatible_from: int | None = None
    active: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.purpose, str) or not _CODE.fullmatch(self.purpose):
            raise InvalidAgreement("purpose must be a code: 1-64 of a-z, 0-9, '.', '_', '-'")
        if not 1 <= len(self.purpose_description.strip()) <= 1000:
            raise InvalidAgreement("purpose_description must be 1 to 1000 characters")
        _check_attributes(self.attributes)
        _check_recipients(self.recipients)
        if not 0 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise InvalidAgreement("retention_days must be between 0 and 36600")
        if self.validity_days is not None and not 1 <= self.validity_days <= MAX_RETENTION_DAYS:
            raise InvalidAgreement("validity_days must be between 1 and 36600")
        if self.validity_days is not None and not self.lawful_basis.rests_on_consent:
            raise InvalidAgreement("validity_days applies only to agreements based on consent")
        if self.compatible_from is not None and self.compatible_from < 1:
            raise InvalidAgreement("compatible_from names a revision number (1 or more)")
        policy = self.policy
        if not all(1 <= len(v) <= 500 for v in (policy.name, policy.version, policy.url)):
            raise InvalidAgreement("the policy needs a name, a version and a url")
        if not policy.url.startswith(("https://", "http://")):
            raise InvalidAgreement("the policy url must be an http(s) URL")

    def names_recipient(self, recipient: str) -> bool:
        """True if ``recipient`` (a member or subsystem id) is, or belongs to, a named one."""
        return any(recipient == r or recipient.startswith(r + "/") for r in self.recipients)

    def to_dict(self) -> dict[str, Any]:
        """The terms as JSON: what a revision's hash commits to."""
        return {
            "purpose": self.purpose,
            "purpose_description": self.purpose_description,
            "lawful_basis": self.lawful_basis.value,
            "attributes": [
                {"name": a.name, "category": a.category, "sensitive": a.sensitive}
                for a in self.attributes
            ],
            "recipients": list(self.recipients),
            "retention_days": self.retention_days,
            "validity_days": self.validity_days,
            "policy": {
                "name": self.policy.name,
                "version": self.policy.version,
                "url": self.policy.url,
                "jurisdiction": self.policy.jurisdiction,
            },
            "compatible_from": self.compatible_from,
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgreementTerms:
        return cls(
            purpose=data["purpose"],
            purpose_description=data["purpose_description"],
            lawful_basis=LawfulBasis(data["lawful_basis"]),
            attributes=tuple(DataAttribute(**a) for a in data["attributes"]),
            recipients=tuple(data["recipients"]),
            retention_days=data["retention_days"],
            validity_days=data["validity_days"],
            policy=PolicyRef(**data["policy"]),
            compatible_from=data["compatible_from"],
            active=data["active"],
        )


def _check_attributes(attributes: tuple[DataAttribute, ...]) -> None:
    if not attributes:
        raise InvalidAgreement("an agreement names at least one data attribute")
    names = [a.name for a in attributes]
    if len(set(names)) != len(names):
        raise InvalidAgreement("data attribute names must be unique")
    for attribute in attributes:
        if not _CODE.fullmatch(attribute.name) or not _CODE.fullmatch(attribute.category):
            raise InvalidAgreement(f"attribute {attribute.name!r}: name and category must be codes")


def _check_recipients(recipients: tuple[str, ...]) -> None:
    if not recipients:
        raise InvalidAgreement("an agreement names at least one data recipient")
    for recipient in recipients:
        if not isinstance(recipient, str) or not _PARTY.fullmatch(recipient):
            raise InvalidAgreement(
                f"recipient {recipient!r} is not a member (INSTANCE/CLASS/CODE) "
                "or subsystem (INSTANCE/CLASS/CODE/SUBSYSTEM)"
            )
    if len(set(recipients)) != len(recipients):
        raise InvalidAgreement("recipients must be unique")


@dataclass(frozen=True, slots=True)
class AgreementRevision:
    """One immutable revision of a data agreement, chained to the revision before it."""

    agreement_id: str
    organisation: str
    revision: int
    terms: AgreementTerms
    created_at: datetime
    actor: str
    previous_hash: str
    hash: str

    def payload(self) -> dict[str, Any]:
        """What ``hash`` commits to (with ``previous_hash``)."""
        return {
            "agreement_id": self.agreement_id,
            "organisation": self.organisation,
            "revision": self.revision,
            "terms": self.terms.to_dict(),
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
        }

    def covers(self, consented_revision: int) -> bool:
        """True if consent given to ``consented_revision`` authorises this revision."""
        oldest = self.terms.compatible_from or self.revision
        return oldest <= consented_revision <= self.revision


# --- individuals and consent records --------------------------------------------------------


def organisation_of(client_id: str) -> str:
    """The member (``INSTANCE/CLASS/CODE``) a subsystem id (``.../SUBSYSTEM``) belongs to."""
    return client_id.rsplit("/", 1)[0]


def check_token(token: str) -> str:
    """An individual token: 8-128 URL-safe characters, opaque to Baobab."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidIndividualToken("an individual token is 8 to 128 URL-safe characters")
    return token


@dataclass(frozen=True, slots=True)
class Individual:
    """A person as one organisation knows them: by its own opaque token."""

    token: str
    organisation: str
    created_at: datetime


class Channel(StrEnum):
    """How the individual expressed their choice (ISO/IEC TS 27560 ``collectionMethod``)."""

    WEB = "web"
    MOBILE = "mobile"
    USSD = "ussd"
    ASSISTED = "assisted"  # at a counter, with an agent's help
    PAPER = "paper"
    API = "api"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One revision of an individual's consent record; the newest is the record's state.

    ``opt_in`` is the choice; ``given_at`` is when the current consent was given (kept after a
    withdrawal, for the history), ``withdrawn_at`` when it was last withdrawn.
    """

    record_id: str
    sequence: int
    organisation: str
    agreement_id: str
    agreement_revision: int
    agreement_revision_hash: str
    individual: str
    opt_in: bool
    given_at: datetime | None
    withdrawn_at: datetime | None
    expires_at: datetime | None
    channel: Channel
    at: datetime
    actor: str
    previous_hash: str
    hash: str
    signature: str

    @property
    def state(self) -> str:
        """``given``, ``withdrawn``, or ``refused`` (said no without ever saying yes)."""
        if self.opt_in:
            return "given"
        return "withdrawn" if self.given_at is not None else "refused"

    def payload(self) -> dict[str, Any]:
        """What ``hash`` commits to (with ``previous_hash``); ``signature`` signs ``hash``."""
        return {
            "record_id": self.record_id,
            "sequence": self.sequence,
            "organisation": self.organisation,
            "agreement_id": self.agreement_id,
            "agreement_revision": self.agreement_revision,
            "agreement_revision_hash": self.agreement_revision_hash,
            "individual": self.individual,
            "opt_in": self.opt_in,
            "given_at": _iso(self.given_at),
            "withdrawn_at": _iso(self.withdrawn_at),
            "expires_at": _iso(self.expires_at),
            "channel": self.channel.value,
            "at": self.at.isoformat(),
            "actor": self.actor,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class StoredState:
    """A record's current-state row as stored: the index the check reads. Verification
    compares it with the newest revision, so a state changed behind Baobab's back is caught."""

    record_id: str
    agreement_id: str
    individual: str
    organisation: str
    sequence: int
    opt_in: bool
    agreement_revision: int
    expires_at: datetime | None

    @classmethod
    def of(cls, record: ConsentRecord) -> StoredState:
        return cls(
            record.record_id,
            record.agreement_id,
            record.individual,
            record.organisation,
            record.sequence,
            record.opt_in,
            record.agreement_revision,
            record.expires_at,
        )


# --- the check ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordState:
    """The part of a record's current state the check needs."""

    record_id: str
    sequence: int
    opt_in: bool
    agreement_revision: int
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The check's answer. ``reason`` is a stable code saying why."""

    allowed: bool
    reason: str
    lawful_basis: LawfulBasis
    agreement_revision: int
    record_id: str | None = None
    record_sequence: int | None = None


def decide(
    agreement: AgreementRevision,
    record: RecordState | None,
    *,
    purpose: str,
    recipient: str,
    now: datetime,
) -> Decision:
    """May data move under ``agreement``'s current revision for ``purpose`` to ``recipient``?"""
    terms = agreement.terms

    def answer(allowed: bool, reason: str) -> Decision:
        return Decision(
            allowed,
            reason,
            terms.lawful_basis,
            agreement.revision,
            record.record_id if record else None,
            record.sequence if record else None,
        )

    if not terms.active:
        return answer(False, "agreement_inactive")
    if purpose != terms.purpose:
        return answer(False, "purpose_mismatch")
    if not terms.names_recipient(recipient):
        return answer(False, "recipient_not_named")
    if terms.lawful_basis is LawfulBasis.LEGITIMATE_INTEREST:
        objected = record is not None and not record.opt_in
        return answer(not objected, "objected" if objected else "legitimate_interest")
    if not terms.lawful_basis.rests_on_consent:
        return answer(True, terms.lawful_basis.value)
    if record is None:
        return answer(False, "no_consent")
    if not record.opt_in:
        return answer(False, "withdrawn")
    if not agreement.covers(record.agreement_revision):
        return answer(False, "revision_not_covered")
    if record.expires_at is not None and now >= record.expires_at:
        return answer(False, "expired")
    return answer(True, "consent_given")
