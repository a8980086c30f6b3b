"""Tamper evidence: each consent record revision is chained by SHA-256 to the one before and
signed by the Baobab instance; each agreement revision is chained the same way.

A signature is a compact JWS (``typ`` ``consent-record+jws``) over
``{"record_id", "sequence", "sha256"}``, so anyone holding the instance's published key can check
a revision without Baobab's help.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from baobab.consent.domain import AgreementRevision, ConsentRecord, StoredState
from baobab.kernel.hashchain import ChainBreak, Link, link_hash, verify_chain
from baobab.kernel.signing import MalformedJws, Signer, VerificationKey, parse_compact

RECORD_JWS_TYPE = "consent-record+jws"


def seal_agreement(draft: AgreementRevision) -> AgreementRevision:
    """The revision with its hash, chained to ``draft.previous_hash``."""
    return replace(draft, hash=link_hash(draft.previous_hash, draft.payload()))


def seal_record(draft: ConsentRecord, signer: Signer) -> ConsentRecord:
    """The revision with its hash, chained to ``draft.previous_hash``, and the instance's
    signature over it."""
    digest = link_hash(draft.previous_hash, draft.payload())
    claims = {"record_id": draft.record_id, "sequence": draft.sequence, "sha256": digest}
    return replace(draft, hash=digest, signature=signer.encode(claims, typ=RECORD_JWS_TYPE))


def verify_agreement_history(history: Sequence[AgreementRevision]) -> ChainBreak | None:
    """The first break in an agreement's revisions (oldest first), or None."""
    return verify_chain(Link(r.revision, r.previous_hash, r.payload(), r.hash) for r in history)


def verify_record_history(
    current: StoredState,
    history: Sequence[ConsentRecord],
    keys: Mapping[str, VerificationKey],
) -> ChainBreak | None:
    """The first break in a record: a changed, removed or reordered revision, a signature that
    is not by one of ``keys`` over that revision's hash, or a current state (what the check
    reads) that is not the newest revision."""
    broken = verify_chain(Link(r.sequence, r.previous_hash, r.payload(), r.hash) for r in history)
    if broken is not None:
        return broken
    for revision in history:
        if not _signed(revision, keys):
            return ChainBreak(revision.sequence, "the signature does not sign this revision")
    if not history or StoredState.of(history[-1]) != current:
        return ChainBreak(len(history) + 1, "the current state is not the newest revision")
    return None


def _signed(record: ConsentRecord, keys: Mapping[str, VerificationKey]) -> bool:
    try:
        jws = parse_compact(record.signature)
        claims = jws.claims()
    except MalformedJws:
        return False
    key = keys.get(str(jws.header.get("kid")))
    return (
        key is not None
        and jws.header.get("typ") == RECORD_JWS_TYPE
        and jws.verified_by(key)
        and claims
        == {"record_id": record.record_id, "sequence": record.sequence, "sha256": record.hash}
    )
