"""ID numbers: the UIN, virtual IDs and per-partner tokens.

Rules follow MOSIP's UIN and VID generators, which countries already know: a random number of a
fixed length whose last digit is a Verhoeff check digit; no leading 0 or 1; no runs of ascending
or descending digits; no digit repeated within a short distance; no block of digits repeated;
plus any patterns the country excludes. A VID follows the same rules at a different length, so
the two can never be mistaken for each other.

A partner token is HMAC-SHA-256 over the UIN, keyed with an instance secret and bound to the
relying party: two partners get unrelated tokens for the same person and cannot link them, and
no partner can turn a token back into the UIN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from baobab.kernel import verhoeff
from baobab.kernel.errors import InvalidInput


class InvalidNumberPolicy(InvalidInput):
    code = "identity.invalid_number_policy"
    title = "Invalid ID number policy"


@dataclass(frozen=True, slots=True)
class NumberPolicy:
    """How a country's ID numbers look. ``length`` includes the check digit.

    ``sequence_limit``: no run of this many ascending or descending digits (``123``, ``987``).
    ``repeat_distance``: no digit appears again within this many positions (``11``, ``1x1``).
    ``block_length``: no block of this many digits appears twice.
    ``excluded``: regular expressions a number must not match anywhere (a country's reserved
    prefixes, numbers that read as dates, ...).
    """

    length: int = 10
    sequence_limit: int = 3
    repeat_distance: int = 2
    block_length: int = 4
    excluded: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if not 8 <= self.length <= 32:
            raise InvalidNumberPolicy("an ID number has 8 to 32 digits")
        if not 2 <= self.sequence_limit <= self.length or self.repeat_distance < 1:
            raise InvalidNumberPolicy("sequence limit must be >= 2 and repeat distance >= 1")
        if not 2 <= self.block_length <= self.length // 2:
            raise InvalidNumberPolicy("the repeated-block length must be 2 to half the length")
        try:
            compiled = tuple(re.compile(p) for p in self.excluded)
        except re.error as exc:
            raise InvalidNumberPolicy(
                f"an excluded pattern is not a regular expression: {exc}"
            ) from exc
        object.__setattr__(self, "_compiled", compiled)

    def violation(self, number: str) -> str | None:
        """Why ``number`` is not acceptable under this policy, or None if it is."""
        if len(number) != self.length or not number.isascii() or not number.isdigit():
            return f"must be {self.length} digits"
        if number[0] in "01":
            return "must not start with 0 or 1"
        if not verhoeff.is_valid(number):
            return "check digit does not match"
        return self._pattern_violation(number)

    def _pattern_violation(self, number: str) -> str | None:
        digits = [int(c) for c in number]
        run_up = run_down = 1
        for i in range(1, len(digits)):
            run_up = run_up + 1 if digits[i] == digits[i - 1] + 1 else 1
            run_down = run_down + 1 if digits[i] == digits[i - 1] - 1 else 1
            if max(run_up, run_down) >= self.sequence_limit:
                return "contains a sequence of digits"
            if number[i] in number[max(0, i - self.repeat_distance) : i]:
                return "contains a repeated digit"
        blocks = [
            number[i : i + self.block_length] for i in range(len(number) - self.block_length + 1)
        ]
        if len(set(blocks)) != len(blocks):
            return "contains a repeated block of digits"
        for pattern in self._compiled:
            if pattern.search(number):
                return "matches a pattern the country excludes"
        return None

    def is_valid(self, number: str) -> bool:
        return self.violation(number) is None

    def generate(self, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
        """A new random number that satisfies every rule (the caller checks it is unused)."""
        for _ in range(10_000):
            body = str(2 + randbelow(8)) + "".join(
                str(randbelow(10)) for _ in range(self.length - 2)
            )
            number = body + verhoeff.check_digit(body)
            if self._pattern_violation(number) is None:
                return number
        raise InvalidNumberPolicy("the policy excludes (almost) every number; relax it")


UIN_POLICY = NumberPolicy()
VID_POLICY = NumberPolicy(length=16)


def partner_token(secret: bytes, *, partner: str, uin: str) -> str:
    """The token that stands for the person with ``uin`` towards ``partner`` (a member id).

    Base64url of HMAC-SHA-256(secret, partner NUL uin): 43 URL-safe characters, stable for one
    partner, unlinkable across partners without the secret.
    """
    if len(secret) < 32:
        raise InvalidInput("the partner-token secret must be at least 32 bytes")
    digest = hmac.new(secret, f"{partner}\x00{uin}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
