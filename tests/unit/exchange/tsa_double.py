"""A local RFC 3161 time-stamping authority for tests: a P-256 key, a self-signed certificate
with the timeStamping extended key usage, and CMS SignedData tokens over TSTInfo built with the
exchange's DER writer and signed with ``cryptography``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baobab.exchange.adapters import der
from baobab.exchange.adapters.tsa import (
    ID_CONTENT_TYPE,
    ID_CT_TSTINFO,
    ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
    ID_SIGNING_CERTIFICATE_V2,
    SHA256,
)

ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
POLICY = "1.3.6.1.4.1.99999.1"


class TsaDouble:
    """Answers ``TimeStampReq`` bodies; ``status``, ``nonce_offset`` and ``now`` steer it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Baobab test TSA")])
        start = datetime(2026, 1, 1, tzinfo=UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(7)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3650))
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        self.now = now or datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
        self.status = 0
        self.nonce_offset = 0
        self.serial = 0
        self.requests = 0

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def respond(self, request: bytes) -> bytes:
        self.requests += 1
        fields = der.read(request).children()
        digest = fields[1].children()[1].content
        nonce = next((f.as_int() for f in fields[2:] if f.tag == der.INTEGER), None)
        if self.status not in (0, 1):
            return der.sequence(der.sequence(der.integer(self.status)))
        token = self.token(digest, None if nonce is None else nonce + self.nonce_offset)
        return der.sequence(der.sequence(der.integer(self.status)), token)

    def token(self, digest: bytes, nonce: int | None) -> bytes:
        self.serial += 1
        tst = der.sequence(
            der.integer(1),
            der.oid(POLICY),
            der.sequence(der.sequence(der.oid(SHA256), der.null()), der.octet_string(digest)),
            der.integer(self.serial),
            der.generalized_time(self.now),
            *([der.integer(nonce)] if nonce is not None else []),
        )
        certificate = self.certificate.public_bytes(serialization.Encoding.DER)
        attributes = sorted(
            [
                der.sequence(der.oid(ID_CONTENT_TYPE), der.set_of(der.oid(ID_CT_TSTINFO))),
                der.sequence(
                    der.oid(ID_MESSAGE_DIGEST),
                    der.set_of(der.octet_string(hashlib.sha256(tst).digest())),
                ),
                der.sequence(
                    der.oid(ID_SIGNING_CERTIFICATE_V2),
                    der.set_of(
                        der.sequence(
                            der.sequence(
                                der.sequence(der.octet_string(hashlib.sha256(certificate).digest()))
                            )
                        )
                    ),
                ),
            ]
        )
        content = b"".join(attributes)
        signature = self.key.sign(der.tlv(der.SET, content), ec.ECDSA(hashes.SHA256()))
        signer = der.sequence(
            der.integer(1),
            der.sequence(
                self.certificate.issuer.public_bytes(), der.integer(self.certificate.serial_number)
            ),
            der.sequence(der.oid(SHA256), der.null()),
            der.tlv(0xA0, content),
            der.sequence(der.oid(ECDSA_WITH_SHA256)),
            der.octet_string(signature),
        )
        signed_data = der.sequence(
            der.integer(3),
            der.set_of(der.sequence(der.oid(SHA256), der.null())),
            der.sequence(der.oid(ID_CT_TSTINFO), der.explicit(0, der.octet_string(tst))),
            der.tlv(0xA0, certificate),
            der.set_of(signer),
        )
        return der.sequence(der.oid(ID_SIGNED_DATA), der.explicit(0, signed_data))

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if request.headers.get("content-type") != "application/timestamp-query":
                return httpx.Response(415)
            return httpx.Response(
                200,
                content=self.respond(request.content),
                headers={"content-type": "application/timestamp-reply"},
            )

        return httpx.MockTransport(handle)
