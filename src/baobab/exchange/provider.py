"""The provider's side of the protocol, for any Python provider behind the gateway: check the
gateway's request signature, sign the response bound to the request.

A provider that signs its responses sends ``X-Road-Signature`` (a detached JWS by one of its
subsystem's keys registered in the directory) and echoes ``X-Road-Request-Hash``; the gateway
refuses an answer whose signature does not verify or whose request hash is not its request's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from baobab.exchange.domain import (
    REQUEST_JWS_TYPE,
    RESPONSE_JWS_TYPE,
    content_hash,
    digest,
    request_content,
    response_content,
    sign_detached,
    verify_detached,
)
from baobab.kernel.signing import Signer, VerificationKey


def request_is_signed(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    gateway_keys: Sequence[VerificationKey],
) -> bool:
    """True if the gateway signed exactly this request (``headers`` with lower-case names,
    ``target`` the path and query as the provider received them) and the request hash it sent
    is this request's."""
    signature = headers.get("x-road-signature")
    if not signature or "x-road-request-id" not in headers:
        return False
    content = request_content(
        message_id=headers["x-road-request-id"],
        client=headers.get("x-road-client", ""),
        service=headers.get("x-road-service", ""),
        method=method,
        target=target,
        headers=headers,
        body_digest=digest(body),
    )
    return verify_detached(
        signature, content, gateway_keys, typ=REQUEST_JWS_TYPE
    ) is not None and headers.get("x-road-request-hash") == content_hash(content)


def response_headers(
    signer: Signer,
    *,
    request_headers: Mapping[str, str],
    status: int,
    content_type: str,
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a response to the request whose (lower-case) headers are given."""
    request_hash = request_headers.get("x-road-request-hash", "")
    content = response_content(
        message_id=request_headers.get("x-road-request-id", ""),
        request_hash=request_hash,
        status=status,
        headers={"content-type": content_type},
        body_digest=digest(body),
    )
    signature = sign_detached(signer, content, typ=RESPONSE_JWS_TYPE, iat=int(now.timestamp()))
    return {
        "content-type": content_type,
        "x-road-request-hash": request_hash,
        "x-road-signature": signature,
    }
