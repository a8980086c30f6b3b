"""ILP condition and fulfilment (FSPIOP API Definition v1.1, section 4.5 and 7.4): the
cryptographic lock of a transfer.

The payee's FSP picks a 32-byte secret, the *fulfilment*; the *condition* is its SHA-256. Both
travel as base64url without padding (43 characters). The hub commits a transfer only when the
fulfilment the payee sends hashes to the condition the payer sent.

- :func:`new_fulfilment` makes a random fulfilment; :func:`condition_of` its condition.
- :func:`fulfils` checks a fulfilment against a condition (constant time).
- :func:`valid_condition` / :func:`valid_fulfilment` check the wire format only.
- :func:`ilp_prepare_packet` / :func:`read_ilp_prepare_packet` build and read the ILP v4 Prepare
  packet FSPIOP carries in ``ilpPacket`` (its data is the JSON ``Transaction`` object).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_B64URL_43 = re.compile(r"[A-Za-z0-9_-]{43}")
_PREPARE = 12  # ILP v4 packet type of a Prepare
MAX_ILP_PACKET = 32768  # IlpPacket is String(1..32768)


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _valid_32_bytes(value: object) -> bool:
    if not isinstance(value, str) or _B64URL_43.fullmatch(value) is None:
        return False
    # The last character carries 2 padding bits that must be zero for one canonical encoding.
    return _encode(_decode(value)) == value


def valid_condition(value: object) -> bool:
    """True if ``value`` is an ``IlpCondition``: base64url of 32 bytes, no padding."""
    return _valid_32_bytes(value)


def valid_fulfilment(value: object) -> bool:
    """True if ``value`` is an ``IlpFulfilment``: base64url of 32 bytes, no padding."""
    return _valid_32_bytes(value)


def new_fulfilment() -> str:
    """A fresh random fulfilment (32 bytes from the OS's CSPRNG), base64url."""
    return _encode(secrets.token_bytes(32))


def condition_of(fulfilment: str) -> str:
    """The condition for ``fulfilment``: SHA-256 of its 32 bytes, base64url."""
    if not valid_fulfilment(fulfilment):
        raise ValueError("a fulfilment is 32 bytes in unpadded base64url")
    return _encode(hashlib.sha256(_decode(fulfilment)).digest())


def fulfils(fulfilment: str, condition: str) -> bool:
    """True if ``fulfilment`` is well formed and its SHA-256 equals ``condition``."""
    if not valid_fulfilment(fulfilment) or not valid_condition(condition):
        return False
    return hmac.compare_digest(condition_of(fulfilment), condition)


# --- ILP v4 Prepare packet (OER encoding, RFC-like "Interledger Protocol V4") ---------------


def _length_prefix(size: int) -> bytes:
    if size < 128:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _read_length(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    if first < 128:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


@dataclass(frozen=True, slots=True)
class IlpPrepare:
    """The fields of an ILP Prepare packet; ``data`` is FSPIOP's ``Transaction`` object."""

    amount: int
    expires_at: datetime
    condition: str
    destination: str
    data: dict[str, Any]


def ilp_prepare_packet(
    *, amount: int, expires_at: datetime, condition: str, destination: str, data: dict[str, Any]
) -> str:
    """An ILP v4 Prepare packet, base64url: ``amount`` in minor units, ``destination`` an ILP
    address such as ``g.payeefsp.msisdn.256700000001``, ``data`` the Transaction object."""
    if not valid_condition(condition):
        raise ValueError("the condition is not 32 bytes of base64url")
    stamp = expires_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17].encode("ascii")
    address = destination.encode("ascii")
    payload = json.dumps(data, separators=(",", ":")).encode()
    body = (
        amount.to_bytes(8, "big")
        + stamp
        + _decode(condition)
        + _length_prefix(len(address))
        + address
        + _length_prefix(len(payload))
        + payload
    )
    return _encode(bytes([_PREPARE]) + _length_prefix(len(body)) + body)


def read_ilp_prepare_packet(packet: str) -> IlpPrepare:
    """The fields of a base64url ILP Prepare packet; raises ValueError if it is not one."""
    try:
        raw = _decode(packet)
        if not raw or raw[0] != _PREPARE:
            raise ValueError("not an ILP Prepare packet")
        size, at = _read_length(raw, 1)
        if at + size != len(raw):
            raise ValueError("the ILP packet's length is wrong")
        amount = int.from_bytes(raw[at : at + 8], "big")
        stamp = raw[at + 8 : at + 25].decode("ascii") + "+0000"
        expires = datetime.strptime(stamp, "%Y%m%d%H%M%S%f%z")
        condition = _encode(raw[at + 25 : at + 57])
        length, at = _read_length(raw, at + 57)
        destination = raw[at : at + length].decode("ascii")
        length, at = _read_length(raw, at + length)
        data = json.loads(raw[at : at + length])
    except (IndexError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("malformed ILP packet") from exc
    if not isinstance(data, dict):
        raise ValueError("the ILP packet's data is not a JSON object")
    return IlpPrepare(amount, expires.astimezone(UTC), condition, destination, data)
