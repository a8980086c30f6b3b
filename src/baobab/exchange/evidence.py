"""Evidence bundles: one message's log entry, the signed checkpoint above it, the Merkle
inclusion proof between them, the public keys and, when the checkpoint was time-stamped, the
RFC 3161 token with its authority's certificate, in one signed file that anyone can verify
offline with :func:`verify_bundle` (or by hand, following ``docs/exchange.md``).

The file is the canonical JSON of the bundle (sorted keys, no spaces, UTF-8) and one newline;
a file in any other spelling is refused, so that every byte of it counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baobab.exchange.domain import (
    CHECKPOINT_JWS_TYPE,
    EVIDENCE_JWS_TYPE,
    REQUEST_JWS_TYPE,
    RESPONSE_JWS_TYPE,
    Checkpoint,
    LogEntry,
    content_hash,
    sign_detached,
    strict_compact,
    verify_detached,
)
from baobab.exchange.merkle import root_from_proof
from baobab.exchange.ports import StampCheck
from baobab.kernel.errors import InvalidInput
from baobab.kernel.hashchain import canonical_json, link_hash
from baobab.kernel.signing import Signer, VerificationKey, b64url, b64url_decode, import_public_jwk

FORMAT = "baobab-exchange-evidence/1"


@dataclass(frozen=True, slots=True)
class TimeStampEvidence:
    """The RFC 3161 token (DER) of the checkpoint and its authority's certificate (DER)."""

    token: bytes
    certificate: bytes


def build_bundle(
    *,
    signer: Signer,
    entry: LogEntry,
    checkpoint: Checkpoint,
    proof: Sequence[str],
    provider_keys: Sequence[Mapping[str, Any]],
    exported_at: datetime,
    time_stamp: TimeStampEvidence | None = None,
) -> bytes:
    """The bundle file for ``entry`` under ``checkpoint``, signed by the instance key; with the
    checkpoint's ``time_stamp`` when it has one."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "message_id": entry.message_id,
        "entry": {
            "sequence": entry.sequence,
            "previous_hash": entry.previous_hash,
            "hash": entry.hash,
            "payload": dict(entry.payload),
        },
        "checkpoint": checkpoint.jws,
        "proof": {
            "index": entry.sequence - checkpoint.first,
            "size": checkpoint.last - checkpoint.first + 1,
            "path": list(proof),
        },
        "instance_key": signer.public_jwk(),
        "provider_keys": [dict(k) for k in provider_keys],
        "exported_at": exported_at.isoformat(),
    }
    if time_stamp is not None:
        body["time_stamp"] = {
            "token": b64url(time_stamp.token),
            "tsa_certificate": b64url(time_stamp.certificate),
        }
    iat = int(exported_at.timestamp())
    body["signature"] = sign_detached(signer, body, typ=EVIDENCE_JWS_TYPE, iat=iat)
    return canonical_json(body) + b"\n"


@dataclass
class EvidenceReport:
    """Each check of :func:`verify_bundle`, in order, with whether it held."""

    message_id: str | None = None
    instance_kid: str | None = None
    tsa_fingerprint: str | None = None  # SHA-256 (hex) of the TSA certificate in the bundle
    time_stamped_at: datetime | None = None
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(ok for _, ok in self.checks)

    def check(self, name: str, ok: bool) -> bool:
        self.checks.append((name, ok))
        return ok


def _parse(data: bytes, report: EvidenceReport) -> dict[str, Any] | None:
    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        report.check("the file is JSON", False)
        return None
    if not isinstance(bundle, dict):
        report.check("the file is a JSON object", False)
        return None
    report.check("the file is in canonical form", data == canonical_json(bundle) + b"\n")
    report.check("the format is " + FORMAT, bundle.get("format") == FORMAT)
    return bundle


def verify_bundle(
    data: bytes,
    *,
    trusted_kid: str | None = None,
    trusted_tsa: str | None = None,
    stamp_check: StampCheck | None = None,
) -> EvidenceReport:
    """Check an evidence file completely, offline. ``trusted_kid`` is the instance key's
    thumbprint as published by the operator; without it the key in the file is taken on trust
    (and the report says so). A bundle with a time-stamp needs ``stamp_check`` (else it fails);
    ``trusted_tsa`` is the SHA-256 (hex) of the authority's certificate, without which the
    certificate in the file is taken on trust."""
    report = EvidenceReport()
    bundle = _parse(data, report)
    if bundle is None or not report.valid:
        return report
    try:
        _verify(bundle, report, trusted_kid)
        if "time_stamp" in bundle:
            _verify_stamp(bundle, report, trusted_tsa, stamp_check)
        elif trusted_tsa is not None:
            report.check("the bundle carries a time-stamp of its checkpoint", False)
    except (InvalidInput, KeyError, TypeError, ValueError, AttributeError):
        report.check("every part of the bundle is well formed", False)
    return report


def _verify(bundle: dict[str, Any], report: EvidenceReport, trusted_kid: str | None) -> None:
    report.message_id = str(bundle["message_id"])
    instance = import_public_jwk(bundle["instance_key"])
    report.instance_kid = instance.kid
    if trusted_kid is not None:
        report.check("the instance key is the trusted one", instance.kid == trusted_kid)
    keys = [instance]
    unsigned = {k: v for k, v in bundle.items() if k != "signature"}
    report.check(
        "the bundle is signed by the instance key",
        verify_detached(str(bundle["signature"]), unsigned, keys, typ=EVIDENCE_JWS_TYPE)
        is not None,
    )
    entry = bundle["entry"]
    payload = entry["payload"]
    report.check(
        "the entry's hash is SHA-256(previous hash || canonical payload)",
        link_hash(entry["previous_hash"], payload) == entry["hash"],
    )
    report.check(
        "the entry is the message's",
        payload["message_id"] == report.message_id and payload["sequence"] == entry["sequence"],
    )
    header, claims, signing_input, signature = strict_compact(bundle["checkpoint"])
    report.check(
        "the checkpoint is signed by the instance key",
        header.get("kid") == instance.kid
        and header.get("typ") == CHECKPOINT_JWS_TYPE
        and header.get("alg") in instance.algorithms
        and instance.verify(signing_input, signature),
    )
    proof = bundle["proof"]
    first, last = int(claims["first"]), int(claims["last"])
    report.check(
        "the proof's position is the entry's place under the checkpoint",
        proof["index"] == entry["sequence"] - first and proof["size"] == last - first + 1,
    )
    report.check(
        "the inclusion proof leads to the checkpoint's Merkle root",
        root_from_proof(proof["index"], proof["size"], entry["hash"], proof["path"])
        == claims["root"],
    )
    if entry["sequence"] == last:
        report.check(
            "the checkpoint's last hash is the entry's", claims["last_hash"] == entry["hash"]
        )
    _verify_message(payload, keys, bundle, report)


def _verify_stamp(
    bundle: dict[str, Any],
    report: EvidenceReport,
    trusted_tsa: str | None,
    stamp_check: StampCheck | None,
) -> None:
    stamp = bundle["time_stamp"]
    certificate = b64url_decode(stamp["tsa_certificate"])
    report.tsa_fingerprint = hashlib.sha256(certificate).hexdigest()
    if trusted_tsa is not None:
        report.check(
            "the TSA certificate is the trusted one",
            report.tsa_fingerprint == trusted_tsa.strip().lower(),
        )
    if stamp_check is None:
        report.check("the checkpoint's time-stamp is checked (no checker given)", False)
        return
    digest = hashlib.sha256(str(bundle["checkpoint"]).encode("ascii")).digest()
    try:
        report.time_stamped_at = stamp_check(b64url_decode(stamp["token"]), digest, certificate)
    except InvalidInput:
        report.check("the time-stamp token verifies and stamps the checkpoint", False)
        return
    report.check("the time-stamp token verifies and stamps the checkpoint", True)


def _verify_message(
    payload: dict[str, Any],
    keys: list[VerificationKey],
    bundle: dict[str, Any],
    report: EvidenceReport,
) -> None:
    request = payload.get("request")
    if request is None:  # refused before a request was signed: nothing more to check
        return
    report.check(
        "the request hash is the hash of the signed request",
        content_hash(request) == payload["request_hash"],
    )
    report.check(
        "the request is signed by the instance key",
        verify_detached(payload["request_signature"], request, keys, typ=REQUEST_JWS_TYPE)
        is not None,
    )
    response = payload.get("response")
    if response is None:
        return
    report.check(
        "the response is bound to the request",
        response["request_hash"] == payload["request_hash"]
        and response["id"] == payload["message_id"],
    )
    report.check(
        "the response is signed by the instance key",
        verify_detached(payload["response_signature"], response, keys, typ=RESPONSE_JWS_TYPE)
        is not None,
    )
    if payload.get("provider_signature"):
        provider = [import_public_jwk(k) for k in bundle["provider_keys"]]
        report.check(
            "the response is signed by the provider's key",
            verify_detached(
                payload["provider_signature"], response, provider, typ=RESPONSE_JWS_TYPE
            )
            is not None,
        )
