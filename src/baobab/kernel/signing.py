"""Keys and signatures: public JWKs (Ed25519 and P-256), RFC 7638 thumbprints, compact JWS.

Only two key types are accepted anywhere in Baobab: Ed25519 (JWS ``alg`` ``Ed25519``, RFC 9864,
or its older name ``EdDSA``, RFC 8037) and P-256 (``ES256``). Compact JWS is parsed and verified
here directly with ``cryptography``: it is on every request's hot path and needs no more.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from joserfc import jwk
from joserfc.errors import JoseError

from baobab.kernel.errors import InvalidInput

# key type and curve -> accepted JWS algorithms, the preferred one first
ALGORITHMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("OKP", "Ed25519"): ("Ed25519", "EdDSA"),
    ("EC", "P-256"): ("ES256",),
}
_PUBLIC_MEMBERS: dict[str, tuple[str, ...]] = {
    "OKP": ("kty", "crv", "x"),
    "EC": ("kty", "crv", "x", "y"),
}
_ECDSA = ec.ECDSA(hashes.SHA256())
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidKey(InvalidInput):
    code = "kernel.invalid_key"
    title = "Invalid key"


class MalformedJws(InvalidInput):
    code = "kernel.malformed_jws"
    title = "Malformed JWS"


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (RFC 7515); anything outside its alphabet is refused, so one
    signature or payload has exactly one encoding."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedJws("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJws("not base64url") from exc


def algorithms_for(public: Mapping[str, Any]) -> tuple[str, ...]:
    """The JWS algorithms that go with a key's type and curve, the preferred one first."""
    algs = ALGORITHMS.get((str(public.get("kty")), str(public.get("crv"))))
    if algs is None:
        raise InvalidKey("keys must be Ed25519 (kty OKP) or P-256 (kty EC)")
    return algs


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key that checks JWS signatures; ``kid`` is its RFC 7638 thumbprint."""

    kid: str
    algorithms: tuple[str, ...]
    public: dict[str, str]
    _key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """True if ``signature`` (JWS form: raw Ed25519, or r||s for ES256) signs the input."""
        try:
            if isinstance(self._key, ed25519.Ed25519PublicKey):
                self._key.verify(signature, signing_input)
            else:
                if len(signature) != 64:
                    return False
                r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
                self._key.verify(encode_dss_signature(r, s), signing_input, _ECDSA)
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        """The JWK to publish: public members, ``kid``, preferred ``alg`` and ``use``."""
        return {**self.public, "kid": self.kid, "alg": self.algorithms[0], "use": "sig"}


def import_public_jwk(value: Mapping[str, Any]) -> VerificationKey:
    """Validate a public JWK and return it as a verification key.

    Refuses private material (``d``), other key types and curves, points not on the curve, a
    ``kid`` that is not the RFC 7638 thumbprint and an ``alg`` that does not fit the key.
    """
    if not isinstance(value, Mapping):
        raise InvalidKey("a JWK must be a JSON object")
    if "d" in value:
        raise InvalidKey("the JWK holds private key material; send only the public key")
    algorithms = algorithms_for(value)
    public: dict[str, str] = {}
    for name in _PUBLIC_MEMBERS[str(value["kty"])]:
        member = value.get(name)
        if not isinstance(member, str) or not member:
            raise InvalidKey(f"the JWK lacks the member {name!r}")
        public[name] = member
    if "alg" in value and value["alg"] not in algorithms:
        raise InvalidKey(f"alg {value['alg']!r} does not fit a {public['crv']} key")
    try:
        imported = jwk.import_key(cast(Any, public))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidKey(f"the JWK is not a valid {public['crv']} public key") from exc
    kid = imported.thumbprint()
    if "kid" in value and value["kid"] != kid:
        raise InvalidKey("kid does not match the key's RFC 7638 thumbprint")
    key = imported.public_key
    assert isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey)
    return VerificationKey(kid, algorithms, public, key)


class Signer:
    """A private key that makes compact JWS; ``kid`` is the public key's thumbprint."""

    def __init__(self, private_jwk: Mapping[str, Any]) -> None:
        try:
            imported = jwk.import_key(dict(private_jwk))
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidKey("not a valid private JWK") from exc
        key = imported.private_key
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
            raise InvalidKey("a signing key must be a private Ed25519 or P-256 JWK")
        self._key = key
        self._private = imported.as_dict(private=True)
        self.verification_key = import_public_jwk(imported.as_dict(private=False))
        self.kid = self.verification_key.kid
        self.alg = self.verification_key.algorithms[0]

    @classmethod
    def generate(cls, curve: str = "Ed25519") -> Signer:
        """A new random key on ``curve`` (``Ed25519`` or ``P-256``)."""
        if curve == "Ed25519":
            return cls(jwk.OKPKey.generate_key("Ed25519", auto_kid=False).as_dict(private=True))
        if curve == "P-256":
            return cls(jwk.ECKey.generate_key("P-256", auto_kid=False).as_dict(private=True))
        raise InvalidKey(f"unsupported curve {curve!r}")

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK, for writing to a key file. Handle with care."""
        return {**self._private, "kid": self.kid}

    def public_jwk(self) -> dict[str, str]:
        return self.verification_key.jwk()

    def sign(self, data: bytes) -> bytes:
        """A JWS signature over ``data`` (raw Ed25519, or r||s for ES256)."""
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(data)
        r, s = decode_dss_signature(self._key.sign(data, _ECDSA))
        return r.to_bytes(32) + s.to_bytes(32)

    def encode(self, payload: Mapping[str, Any], **header: Any) -> str:
        """A compact JWS of the JSON ``payload`` with ``alg`` and ``kid`` plus ``header``."""
        protected = {"alg": self.alg, "kid": self.kid, **header}
        signing_input = (
            b64url(json.dumps(protected, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        return signing_input + "." + b64url(self.sign(signing_input.encode("ascii")))


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A parsed, not yet verified, compact JWS."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def verified_by(self, key: VerificationKey) -> bool:
        """True if ``key`` accepts this JWS's ``alg`` and its signature."""
        return self.header.get("alg") in key.algorithms and key.verify(
            self.signing_input, self.signature
        )

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object."""
        try:
            value = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedJws("the JWS payload is not JSON") from exc
        if not isinstance(value, dict):
            raise MalformedJws("the JWS payload is not a JSON object")
        return value


def parse_compact(token: str) -> CompactJws:
    """Split and decode a compact JWS; raises :class:`MalformedJws` if it is not one."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts[:1]) or not parts[2]:
        raise MalformedJws("a compact JWS has three base64url parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJws("the JWS header is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise MalformedJws("the JWS header has no alg")
    return CompactJws(
        header,
        b64url_decode(parts[1]),
        f"{parts[0]}.{parts[1]}".encode("ascii"),
        b64url_decode(parts[2]),
    )
