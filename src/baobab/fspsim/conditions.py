"""How the simulated payee makes and later re-derives the fulfilment of a quote, without state.

The fulfilment is HMAC-SHA256(secret, what the ILP Prepare packet says: amount, expiry, ILP
address and Transaction object), so when the transfer brings the packet back the payee derives
the same fulfilment from it; a packet changed on the way yields one that no longer fits the
condition. The packet format itself is the switch's (``baobab.switch.fspiop.ilp``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from baobab.kernel.signing import b64url
from baobab.switch.fspiop import IlpPrepare, condition_of, ilp_prepare_packet


def derive_fulfilment(
    secret: bytes, *, amount: int, expires_at: datetime, destination: str, data: dict[str, Any]
) -> str:
    """The base64url fulfilment for a packet with these fields."""
    # The packet keeps milliseconds only: derive from the same precision it will carry back.
    stamp = expires_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    message = json.dumps(
        [amount, stamp, destination, data], sort_keys=True, separators=(",", ":")
    ).encode()
    return b64url(hmac.new(secret, message, hashlib.sha256).digest())


def payment_request(
    secret: bytes, *, amount: int, expires_at: datetime, destination: str, data: dict[str, Any]
) -> tuple[str, str]:
    """A new ILP payment request: the ``ilpPacket`` and its ``condition``."""
    fulfilment = derive_fulfilment(
        secret, amount=amount, expires_at=expires_at, destination=destination, data=data
    )
    condition = condition_of(fulfilment)
    packet = ilp_prepare_packet(
        amount=amount,
        expires_at=expires_at,
        condition=condition,
        destination=destination,
        data=data,
    )
    return packet, condition


def fulfilment_for(secret: bytes, packet: IlpPrepare) -> str:
    """The fulfilment of a packet this payee issued (whatever condition it now claims)."""
    return derive_fulfilment(
        secret,
        amount=packet.amount,
        expires_at=packet.expires_at,
        destination=packet.destination,
        data=packet.data,
    )
