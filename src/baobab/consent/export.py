"""Consent records as ISO/IEC TS 27560-shaped JSON: a record header, the PII processing the
consent is about, the parties, and one event per revision, with the integrity evidence.

The field names follow the structure of ISO/IEC TS 27560:2023 (record header, PII processing,
party identification, event sections) in camelCase; ``docs/consent.md`` maps each to its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baobab.consent.domain import AgreementRevision, ConsentRecord, LawfulBasis

SCHEMA = "ISO/IEC TS 27560:2023 consent record (Baobab profile 1)"
_EVENT_STATE = {
    "given": "consent given",
    "withdrawn": "consent withdrawn",
    "refused": "consent refused",
}
_OBJECTION_STATE = {"given": "objection withdrawn", "withdrawn": "objected", "refused": "objected"}


def _duration(days: int | None) -> str | None:
    return f"P{days}D" if days is not None else None


def _processing(agreement: AgreementRevision) -> dict[str, Any]:
    terms = agreement.terms
    return {
        "agreement": {
            "id": agreement.agreement_id,
            "revision": agreement.revision,
            "hash": agreement.hash,
        },
        "privacyNotice": {
            "name": terms.policy.name,
            "version": terms.policy.version,
            "url": terms.policy.url,
        },
        "purposes": [
            {
                "purpose": terms.purpose,
                "purposeDescription": terms.purpose_description,
                "lawfulBasis": terms.lawful_basis.value,
                "piiInformation": [
                    {"piiType": a.name, "category": a.category, "sensitive": a.sensitive}
                    for a in terms.attributes
                ],
                "piiControllers": [agreement.organisation],
                "recipientThirdParties": list(terms.recipients),
                "storage": {"retentionPeriod": _duration(terms.retention_days)},
                "jurisdiction": terms.policy.jurisdiction,
            }
        ],
    }


def to_iso27560(
    history: Sequence[ConsentRecord],
    agreements: dict[int, AgreementRevision],
    *,
    recorder: str,
) -> dict[str, Any]:
    """The record ``history`` (oldest first) with the agreement revisions it refers to
    (by revision number). ``recorder`` names the Baobab instance that signed the revisions."""
    if not history:
        raise ValueError("a consent record has at least one revision")
    current = history[-1]
    basis = agreements[current.agreement_revision].terms.lawful_basis
    states = _OBJECTION_STATE if basis is LawfulBasis.LEGITIMATE_INTEREST else _EVENT_STATE
    events = []
    for revision in history:
        terms = agreements[revision.agreement_revision].terms
        validity = terms.validity_days if revision.opt_in else None
        events.append(
            {
                "sequence": revision.sequence,
                "eventTime": revision.at.isoformat(),
                "eventType": "explicit",
                "eventBy": "piiPrincipal",
                "eventState": states[revision.state],
                "validityDuration": _duration(validity),
                "expiresAt": revision.expires_at.isoformat() if revision.expires_at else None,
                "collectionMethod": revision.channel.value,
                "agreementRevision": revision.agreement_revision,
                "recordedBy": revision.actor,
                "previousHash": revision.previous_hash,
                "hash": revision.hash,
                "signature": revision.signature,
            }
        )
    return {
        "schemaVersion": SCHEMA,
        "recordHeader": {
            "recordId": current.record_id,
            "piiPrincipalId": current.individual,
            "recordState": current.state,
            "lastUpdated": current.at.isoformat(),
        },
        "piiProcessing": [
            _processing(agreements[n]) for n in sorted({r.agreement_revision for r in history})
        ],
        "partyIdentification": [
            {"partyId": current.organisation, "partyType": "piiController"},
            {"partyId": recorder, "partyType": "consentRecorder"},
        ],
        "events": events,
        "integrity": {
            "hashAlgorithm": "SHA-256",
            "chain": "each event's hash = SHA-256(previousHash || canonical JSON of the revision)",
            "signatureFormat": "compact JWS over {record_id, sequence, sha256}",
            "headHash": current.hash,
        },
    }
