"""RFC 3161 time-stamps of checkpoints from a time-stamping authority (TSA) over HTTP.

``stamp`` POSTs a ``TimeStampReq`` (``application/timestamp-query``: version 1, the SHA-256
message imprint, a random nonce, ``certReq`` true) and checks the ``TimeStampResp``. ``check``
verifies a kept token: a CMS ``SignedData`` (RFC 5652) whose encapsulated content is a
``TSTInfo``, with signed attributes whose ``contentType`` is ``id-ct-TSTInfo`` and whose
``messageDigest`` is the TSTInfo's digest, a ``SigningCertificate``/``SigningCertificateV2``
attribute naming the configured TSA certificate, a signature over the attributes that verifies
with that certificate's key, and a message imprint equal to the checkpoint's digest.

The TSA certificate is pinned by configuration (``BAOBAB_EXCHANGE_TSA_CERTIFICATE_FILE``); no
certificate chain is built.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID

from baobab.exchange.adapters import der
from baobab.kernel.errors import InvalidInput, Unavailable

SHA256 = "2.16.840.1.101.3.4.2.1"
SHA384, SHA512 = "2.16.840.1.101.3.4.2.2", "2.16.840.1.101.3.4.2.3"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.3.14.3.2.26": hashes.SHA1,
    SHA256: hashes.SHA256,
    SHA384: hashes.SHA384,
    SHA512: hashes.SHA512,
}

# signature algorithm -> the key type it needs and the digest it names (None: the signer's)
_SIGNATURE_KEYS: dict[str, tuple[type[object], str | None]] = {
    "1.2.840.113549.1.1.1": (rsa.RSAPublicKey, None),  # rsaEncryption (RFC 3370 3.2)
    "1.2.840.113549.1.1.11": (rsa.RSAPublicKey, SHA256),  # sha256WithRSAEncryption
    "1.2.840.113549.1.1.12": (rsa.RSAPublicKey, SHA384),
    "1.2.840.113549.1.1.13": (rsa.RSAPublicKey, SHA512),
    "1.2.840.10045.4.3.2": (ec.EllipticCurvePublicKey, SHA256),  # ecdsa-with-SHA256
    "1.2.840.10045.4.3.3": (ec.EllipticCurvePublicKey, SHA384),
    "1.2.840.10045.4.3.4": (ec.EllipticCurvePublicKey, SHA512),
    "1.3.101.112": (ed25519.Ed25519PublicKey, None),  # id-Ed25519 (RFC 8419)
}


class InvalidTimeStamp(InvalidInput):
    code = "exchange.invalid_time_stamp"
    title = "Time-stamp does not verify"


class TimeStampUnavailable(Unavailable):
    code = "exchange.tsa_unavailable"
    title = "Time-stamping authority unavailable"


@dataclass(frozen=True, slots=True)
class TstInfo:
    """What a verified token attests."""

    policy: str
    serial: int
    at: datetime
    imprint: bytes
    nonce: int | None


def time_stamp_request(digest: bytes, *, nonce: int) -> bytes:
    """A DER ``TimeStampReq`` for a SHA-256 ``digest``."""
    imprint = der.sequence(der.sequence(der.oid(SHA256), der.null()), der.octet_string(digest))
    return der.sequence(der.integer(1), imprint, der.integer(nonce), der.boolean(True))


def token_of_response(response: bytes) -> bytes:
    """The ``TimeStampToken`` of a granted ``TimeStampResp``."""
    parts = der.read(response).expect(der.SEQUENCE).children()
    status = parts[0].expect(der.SEQUENCE).children()[0].as_int()
    if status not in (0, 1):  # granted, grantedWithMods
        raise TimeStampUnavailable(f"the time-stamping authority refused (status {status})")
    if len(parts) < 2:
        raise InvalidTimeStamp("a granted time-stamp response without a token")
    return parts[1].encoded


def check_token(token: bytes, digest: bytes, certificate: x509.Certificate) -> TstInfo:
    """Verify ``token`` against ``digest`` and the TSA's ``certificate``."""
    try:
        return _check(token, digest, certificate)
    except (der.DerError, IndexError, KeyError, ValueError) as exc:
        raise InvalidTimeStamp(f"not a well-formed time-stamp token: {exc}") from exc


def _check(token: bytes, digest: bytes, certificate: x509.Certificate) -> TstInfo:
    content_info = der.read(token).expect(der.SEQUENCE).children()
    if len(content_info) != 2 or content_info[0].as_oid() != ID_SIGNED_DATA:
        raise InvalidTimeStamp("the token is not CMS SignedData")
    signed_data = content_info[1].expect(0xA0).children()[0].expect(der.SEQUENCE).children()
    if signed_data[0].as_int() != 3:  # RFC 5652 5.1: eContentType other than id-data
        raise InvalidTimeStamp("the SignedData version is not 3")
    encapsulated = signed_data[2].expect(der.SEQUENCE).children()
    if len(encapsulated) != 2 or encapsulated[0].as_oid() != ID_CT_TSTINFO:
        raise InvalidTimeStamp("the token does not hold a TSTInfo")
    tst_der = encapsulated[1].expect(0xA0).children()[0].expect(der.OCTET_STRING).content
    _check_certificates(signed_data[3:-1], certificate)
    signers = signed_data[-1].expect(der.SET).children()
    if len(signers) != 1:
        raise InvalidTimeStamp("a time-stamp token has exactly one signer")
    signer = signers[0].expect(der.SEQUENCE).children()
    if len(signer) not in (6, 7):
        raise InvalidTimeStamp("the SignerInfo is malformed")
    _check_signer_id(signer[0].as_int(), signer[1], certificate)
    digest_oid = _algorithm(signer[2])
    hash_algorithm = _HASHES[digest_oid]
    digest_set = signed_data[1].expect(der.SET).children()
    if [_algorithm(a) for a in digest_set] != [digest_oid]:
        raise InvalidTimeStamp("the digest algorithms are not the signer's alone")
    attributes_node = signer[3].expect(0xA0)
    signature_oid = _algorithm(signer[4])
    signature = signer[5].expect(der.OCTET_STRING).content
    attributes: dict[str, list[der.Node]] = {}
    for attribute in attributes_node.children():
        kind, values = attribute.expect(der.SEQUENCE).children()
        if kind.as_oid() in attributes:
            raise InvalidTimeStamp("a signed attribute is repeated")
        attributes[kind.as_oid()] = values.expect(der.SET).children()
    if attributes[ID_CONTENT_TYPE][0].as_oid() != ID_CT_TSTINFO:
        raise InvalidTimeStamp("the signed content type is not TSTInfo")
    if attributes[ID_MESSAGE_DIGEST][0].expect(der.OCTET_STRING).content != _hash(
        hash_algorithm, tst_der
    ):
        raise InvalidTimeStamp("the signed digest is not the TSTInfo's")
    _check_signing_certificate(attributes, certificate)
    signed = der.tlv(der.SET, attributes_node.content)  # RFC 5652 5.4: signed as a SET OF
    _verify(certificate, signature_oid, signature, signed, hash_algorithm)
    return _tst_info(tst_der, digest)


def _algorithm(node: der.Node) -> str:
    """The OID of an ``AlgorithmIdentifier`` whose parameters are absent or NULL."""
    parts = node.expect(der.SEQUENCE).children()
    if len(parts) == 2 and parts[1].encoded == der.null():
        return parts[0].as_oid()
    if len(parts) != 1:
        raise InvalidTimeStamp("an algorithm identifier has unexpected parameters")
    return parts[0].as_oid()


def _check_certificates(optional: list[der.Node], certificate: x509.Certificate) -> None:
    """RFC 3161 2.4.1: asked with ``certReq``, the TSA sends its certificate in the token."""
    if not optional or optional[0].tag != 0xA0 or any(n.tag != 0xA1 for n in optional[1:]):
        raise InvalidTimeStamp("the token does not carry the TSA certificate")
    encoded = certificate.public_bytes(serialization.Encoding.DER)
    if encoded not in [c.encoded for c in optional[0].children()]:
        raise InvalidTimeStamp("the token does not carry the TSA certificate")


def _check_signer_id(version: int, sid: der.Node, certificate: x509.Certificate) -> None:
    if version == 1:
        issuer, serial = sid.expect(der.SEQUENCE).children()
        if (
            issuer.encoded == certificate.issuer.public_bytes()
            and serial.as_int() == certificate.serial_number
        ):
            return
    elif version == 3 and sid.tag == 0x80:
        try:
            key_id = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            key_id = None
        if key_id is not None and key_id.value.digest == sid.content:
            return
    raise InvalidTimeStamp("the token's signer is not the TSA certificate")


def _check_signing_certificate(
    attributes: dict[str, list[der.Node]], certificate: x509.Certificate
) -> None:
    encoded = certificate.public_bytes(serialization.Encoding.DER)
    if ID_SIGNING_CERTIFICATE_V2 in attributes:
        ids = attributes[ID_SIGNING_CERTIFICATE_V2][0].children()[0].children()
        first = ids[0].children()
        algorithm = SHA256
        if first[0].tag == der.SEQUENCE:
            algorithm = first[0].children()[0].as_oid()
            first = first[1:]
        expected = _hash(_HASHES[algorithm], encoded)
    elif ID_SIGNING_CERTIFICATE in attributes:
        first = attributes[ID_SIGNING_CERTIFICATE][0].children()[0].children()[0].children()
        expected = _hash(hashes.SHA1, encoded)
    else:
        raise InvalidTimeStamp("the token names no signing certificate (RFC 3161 2.4.2)")
    if first[0].expect(der.OCTET_STRING).content != expected:
        raise InvalidTimeStamp("the token was signed for another certificate than the TSA's")


def _verify(
    certificate: x509.Certificate,
    signature_oid: str,
    signature: bytes,
    data: bytes,
    algorithm: type[hashes.HashAlgorithm],
) -> None:
    key = certificate.public_key()
    kind, named = _SIGNATURE_KEYS.get(signature_oid, (type(None), None))
    if not isinstance(key, kind) or (named is not None and _HASHES[named] is not algorithm):
        raise InvalidTimeStamp("the signature algorithm does not fit the TSA certificate's key")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            # OpenSSL reads an ECDSA-Sig-Value leniently; only its one DER spelling is taken
            r, s = (n.as_int() for n in der.read(signature).expect(der.SEQUENCE).children())
            if encode_dss_signature(r, s) != signature:
                raise InvalidTimeStamp("the token's ECDSA signature is not in DER")
            key.verify(signature, data, ec.ECDSA(algorithm()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise InvalidTimeStamp("the TSA certificate's key type is not supported")
    except InvalidSignature as exc:
        raise InvalidTimeStamp("the token's signature does not verify") from exc


def _tst_info(encoded: bytes, digest: bytes) -> TstInfo:
    fields = der.read(encoded).expect(der.SEQUENCE).children()
    if fields[0].as_int() != 1:
        raise InvalidTimeStamp("unknown TSTInfo version")
    algorithm_node, hashed = fields[2].expect(der.SEQUENCE).children()
    if algorithm_node.children()[0].as_oid() != SHA256:
        raise InvalidTimeStamp("the message imprint is not SHA-256")
    imprint = hashed.expect(der.OCTET_STRING).content
    if imprint != digest:
        raise InvalidTimeStamp("the token time-stamps another digest than the checkpoint's")
    nonce = next((f.as_int() for f in fields[5:] if f.tag == der.INTEGER), None)
    return TstInfo(fields[1].as_oid(), fields[3].as_int(), fields[4].as_time(), imprint, nonce)


def check_offline(token: bytes, digest: bytes, certificate: bytes) -> datetime:
    """The offline check of an evidence bundle's token (a ``StampCheck``): ``certificate`` (DER)
    must be a time-stamping authority's (RFC 3161 2.3: extended key usage ``timeStamping``,
    critical), the token must verify with it (as :func:`check_token`) and its time must fall
    within the certificate's validity. The nonce is not checked: only the requester knew it."""
    try:
        parsed = x509.load_der_x509_certificate(certificate)
    except ValueError as exc:
        raise InvalidTimeStamp("the TSA certificate is not a DER X.509 certificate") from exc
    try:
        usage = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound as exc:
        raise InvalidTimeStamp("the certificate is not a time-stamping authority's") from exc
    if not usage.critical or list(usage.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise InvalidTimeStamp("the certificate is not a time-stamping authority's")
    at = check_token(token, digest, parsed).at
    if not parsed.not_valid_before_utc <= at <= parsed.not_valid_after_utc:
        raise InvalidTimeStamp("the token's time is outside the TSA certificate's validity")
    return at


def _hash(algorithm: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm())
    hasher.update(data)
    return hasher.finalize()


class Rfc3161TimeStamper:
    """Asks the TSA at ``url`` for tokens and checks them with its pinned ``certificate``."""

    def __init__(
        self,
        url: str,
        certificate: x509.Certificate,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._certificate = certificate
        self._transport = transport
        self._timeout = timeout

    @classmethod
    def from_pem(
        cls, url: str, pem: bytes, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Rfc3161TimeStamper:
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise InvalidTimeStamp("the TSA certificate is not a PEM X.509 certificate") from exc
        return cls(url, certificate, transport=transport)

    async def stamp(self, digest: bytes) -> bytes:
        nonce = secrets.randbits(63)
        request = time_stamp_request(digest, nonce=nonce)
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, trust_env=False
            ) as client:
                response = await client.post(
                    self._url,
                    content=request,
                    headers={"content-type": "application/timestamp-query"},
                )
        except httpx.HTTPError as exc:
            raise TimeStampUnavailable(
                f"the time-stamping authority did not answer: {exc}"
            ) from exc
        if response.status_code != 200:
            raise TimeStampUnavailable(
                f"the time-stamping authority answered {response.status_code}"
            )
        try:
            token = token_of_response(response.content)
        except (der.DerError, IndexError) as exc:
            raise InvalidTimeStamp("the time-stamping authority's answer is not DER") from exc
        info = check_token(token, digest, self._certificate)
        if info.nonce != nonce:
            raise InvalidTimeStamp("the token does not carry this request's nonce")
        return token

    def check(self, token: bytes, digest: bytes) -> datetime:
        return check_token(token, digest, self._certificate).at

    def certificate(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.DER)
