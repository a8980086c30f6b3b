"""One-time passwords and rate limits for authentication.

An OTP is six random digits sent to the person's phone or e-mail. Only its keyed hash is
stored; it is good once, for a short time, for a few tries; after too many failures across
challenges the identity's OTP factor is locked out for a while. Requests are rate-limited per
identity and per partner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from baobab.identity.errors import OtpAttemptsExhausted, OtpExpired, OtpUsed


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    """How OTPs behave; the defaults follow common practice (and MOSIP's: 3 minutes, 3 tries)."""

    digits: int = 6
    ttl: timedelta = timedelta(minutes=3)
    max_attempts: int = 3  # wrong codes per challenge before it is burnt
    lockout_failures: int = 5  # wrong codes per identity within ``window`` before lock-out
    window: timedelta = timedelta(minutes=30)
    per_identity: int = 5  # OTPs sent to one identity within ``window``
    per_partner_per_minute: int = 600  # OTPs one partner may request each minute


@dataclass(frozen=True, slots=True)
class OtpChallenge:
    """An OTP sent for ``uin`` at ``partner``'s request; ``code_hash`` is a keyed hash."""

    transaction_id: str
    uin: str
    partner: str
    channel: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    failures: int = 0
    used_at: datetime | None = None

    def verify(self, code: str, *, secret: bytes, now: datetime, policy: OtpPolicy) -> OtpChallenge:
        """The challenge after one try: ``used_at`` set if ``code`` was right. Raises when the
        challenge cannot be tried any more (used, expired, out of attempts); a wrong code is
        not an error but a counted failure, for the caller to answer "no"."""
        if self.used_at is not None:
            raise OtpUsed("this OTP was already used")
        if now >= self.expires_at:
            raise OtpExpired("this OTP has expired; request a new one")
        if self.attempts >= policy.max_attempts:
            raise OtpAttemptsExhausted("this OTP had too many wrong tries; request a new one")
        right = hmac.compare_digest(self.code_hash, hash_code(secret, self.transaction_id, code))
        if right:
            return replace(self, attempts=self.attempts + 1, used_at=now)
        return replace(self, attempts=self.attempts + 1, failures=self.failures + 1)

    @property
    def succeeded(self) -> bool:
        return self.used_at is not None


def new_code(digits: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def hash_code(secret: bytes, transaction_id: str, code: str) -> str:
    """HMAC-SHA-256 of the code bound to its transaction: a stolen table reveals no codes."""
    message = f"{transaction_id}\x00{code}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def mask(address: str) -> str:
    """What a partner may see of where the OTP went: ``+25******89``, ``a***@example.org``."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return address[:3] + "*" * max(len(address) - 5, 0) + address[-2:]


class SlidingWindow:
    """At most ``limit`` events per key within ``period``; thread-safe, in memory.

    Guards the yes/no hot path per partner and per identity without a database write; each
    process keeps its own counts, so a deployment of N replicas allows N times the limit (the
    load balancer spreads a partner's traffic, so the effective limit stays close).
    """

    def __init__(self, *, limit: int, period: timedelta) -> None:
        self.limit = limit
        self.period = period
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, now: datetime) -> bool:
        """Count one event for ``key``; False (and not counted) if the limit is reached."""
        horizon = now - self.period
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= horizon:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 100_000:
                self._forget(horizon)
            return True

    def _forget(self, horizon: datetime) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= horizon]:
            del self._events[key]
