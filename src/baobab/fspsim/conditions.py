"""How the simulated payee makes the fulfilment of a quote and finds it again for the transfer.

The fulfilment is HMAC-SHA256(secret, what the ILP Prepare packet says: amount, expiry, ILP
address and Transaction object), so when the transfer brings the packet back the payee can derive
the same fulfilment from it, even after a restart; a packet changed on the way yields one that no
longer fits the condition. The packets of recent quotes are remembered (:class:`IssuedPackets`),
so a transfer on one needs no parsing of its packet. The packet format itself is the switch's
(``baobab.switch.fspiop.ilp``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from baobab.kernel.signing import b64url
from baobab.switch.fspiop import IlpPrepare, ilp_prepare_packet

REMEMBERED = 16_384  # at 200 quotes/s, the last 80 s: longer than a quote's default 60 s TTL


def _fulfilment(
    secret: bytes, *, amount: int, expires_at: datetime, destination: str, data: dict[str, Any]
) -> bytes:
    # The packet keeps milliseconds only: derive from the same precision it will carry back.
    stamp = expires_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    message = json.dumps(
        [amount, stamp, destination, data], sort_keys=True, separators=(",", ":")
    ).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def payment_request(
    secret: bytes, *, amount: int, expires_at: datetime, destination: str, data: dict[str, Any]
) -> tuple[str, str, str]:
    """A new ILP payment request: the ``ilpPacket``, its ``condition`` and its fulfilment."""
    raw = _fulfilment(
        secret, amount=amount, expires_at=expires_at, destination=destination, data=data
    )
    condition = b64url(hashlib.sha256(raw).digest())
    packet = ilp_prepare_packet(
        amount=amount,
        expires_at=expires_at,
        condition=condition,
        destination=destination,
        data=data,
    )
    return packet, condition, b64url(raw)


def fulfilment_for(secret: bytes, packet: IlpPrepare) -> str:
    """The fulfilment of a packet this payee issued (whatever condition it now claims)."""
    return b64url(
        _fulfilment(
            secret,
            amount=packet.amount,
            expires_at=packet.expires_at,
            destination=packet.destination,
            data=packet.data,
        )
    )


class IssuedPackets:
    """The last :data:`REMEMBERED` packets the payee issued, by condition: their fulfilment and
    amount. Older ones are forgotten (and derived again from the packet when they come back)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._by_condition: dict[str, tuple[str, str, int]] = {}

    def remember(self, *, condition: str, packet: str, fulfilment: str, amount: int) -> None:
        self._by_condition[condition] = (packet, fulfilment, amount)
        if len(self._by_condition) > self._size:
            del self._by_condition[next(iter(self._by_condition))]

    def recall(self, condition: str, packet: str) -> tuple[str, int] | None:
        """(fulfilment, amount) if this very packet was issued with this condition lately."""
        found = self._by_condition.get(condition)
        if found is None or found[0] != packet:
            return None
        return found[1], found[2]
