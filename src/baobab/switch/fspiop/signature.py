"""FSPIOP-Signature: the detached JWS of an FSPIOP request (API Signature v1.1).

The header's value is a JSON object ``{"signature": ..., "protectedHeader": ...}``. The
protected header is a JWS header holding ``alg`` and the protected HTTP headers
``FSPIOP-URI`` (path and query relative to the FSPIOP base URL, e.g. ``/transfers/abc``),
``FSPIOP-HTTP-Method``, ``FSPIOP-Source``, ``FSPIOP-Destination`` (when the sender knows the
destination) and ``Date``. The JWS payload is the full HTTP body, so the signing input is
``protectedHeader || '.' || BASE64URL(body)``.

Deviation, documented in docs/switch.md: the FSPIOP text names RS256/RS384/RS512; Baobab's keys
are Ed25519 or P-256 everywhere (kernel/signing.py), so the ``alg`` is ``Ed25519``/``EdDSA`` or
``ES256``, with the signer's RFC 7638 ``kid`` so the receiver picks the key.

- :func:`sign_request` makes the header value; :func:`verify_request` checks one against the
  sender's keys and raises :class:`FspiopError` 3105 (invalid signature) when it does not hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from baobab.kernel.signing import MalformedJws, Signer, VerificationKey, b64url, b64url_decode
from baobab.switch.fspiop.errors import ErrorCode, FspiopError
from baobab.switch.fspiop.headers import DATE, DESTINATION, SOURCE

_MAX_PROTECTED = 32768
_MAX_SIGNATURE = 512


def sign_request(
    signer: Signer, *, method: str, uri: str, headers: Mapping[str, str], body: bytes
) -> str:
    """The ``FSPIOP-Signature`` value for a request; ``headers`` has lower-case names and must
    hold ``fspiop-source`` and ``date`` (and ``fspiop-destination`` when known)."""
    protected: dict[str, str] = {
        "alg": signer.alg,
        "kid": signer.kid,
        "FSPIOP-URI": uri,
        "FSPIOP-HTTP-Method": method.upper(),
        "FSPIOP-Source": headers[SOURCE],
        "Date": headers[DATE],
    }
    if headers.get(DESTINATION):
        protected["FSPIOP-Destination"] = headers[DESTINATION]
    encoded = b64url(json.dumps(protected, separators=(",", ":")).encode())
    signing_input = f"{encoded}.{b64url(body)}".encode("ascii")
    return json.dumps(
        {"signature": b64url(signer.sign(signing_input)), "protectedHeader": encoded},
        separators=(",", ":"),
    )


def _invalid(why: str) -> FspiopError:
    return FspiopError(ErrorCode.INVALID_SIGNATURE, f"FSPIOP-Signature: {why}")


def _parse(value: str) -> tuple[str, str, dict[str, Any]]:
    try:
        outer = json.loads(value)
    except ValueError as exc:
        raise _invalid("not a JSON object") from exc
    if not isinstance(outer, dict):
        raise _invalid("not a JSON object")
    encoded, signature = outer.get("protectedHeader"), outer.get("signature")
    if not isinstance(encoded, str) or not 1 <= len(encoded) <= _MAX_PROTECTED:
        raise _invalid("protectedHeader is missing or too long")
    if not isinstance(signature, str) or not 1 <= len(signature) <= _MAX_SIGNATURE:
        raise _invalid("signature is missing or too long")
    try:
        protected = json.loads(b64url_decode(encoded))
    except (MalformedJws, ValueError, UnicodeDecodeError) as exc:
        raise _invalid("protectedHeader is not base64url JSON") from exc
    if not isinstance(protected, dict):
        raise _invalid("protectedHeader is not a JSON object")
    return encoded, signature, protected


def verify_request(
    value: str,
    *,
    method: str,
    uri: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Sequence[VerificationKey],
) -> None:
    """Check an ``FSPIOP-Signature`` against the request and the sender's usable ``keys``.

    The protected header must bind the method, the URI, the source (and the destination and the
    date where present) to the values of this request, and the signature must verify with the
    key named by ``kid`` (or any of ``keys`` when there is no ``kid``).
    """
    encoded, signature, protected = _parse(value)
    expected = {
        "FSPIOP-URI": uri,
        "FSPIOP-HTTP-Method": method.upper(),
        "FSPIOP-Source": headers.get(SOURCE),
    }
    for name, wanted in expected.items():
        if protected.get(name) != wanted:
            raise _invalid(f"{name} is missing or differs from the request")
    for name, header in (("FSPIOP-Destination", DESTINATION), ("Date", DATE)):
        if name in protected and protected[name] != headers.get(header):
            raise _invalid(f"{name} differs from the request")
    alg, kid = protected.get("alg"), protected.get("kid")
    if not isinstance(alg, str):
        raise _invalid("the protected header has no alg")
    candidates = [key for key in keys if kid is None or key.kid == kid]
    if not candidates:
        raise _invalid("no usable key of the source matches the kid")
    try:
        raw = b64url_decode(signature)
    except MalformedJws as exc:
        raise _invalid("signature is not base64url") from exc
    signing_input = f"{encoded}.{b64url(body)}".encode("ascii")
    for key in candidates:
        if alg in key.algorithms and key.verify(signing_input, raw):
            return
    raise _invalid("the signature does not verify")
