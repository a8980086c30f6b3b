"""What a relying party sends and gets back: the partner, the factors, the answers, and how a
claimed demographic is compared with what the register holds."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baobab.identity.errors import NoFactor
from baobab.identity.schema import parse_partial_date
from baobab.kernel.errors import InvalidInput

TRANSACTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Partner:
    """The relying party calling: its subsystem and the member organisation it belongs to."""

    client_id: str

    @property
    def organisation(self) -> str:
        return self.client_id.rsplit("/", 1)[0]


@dataclass(frozen=True, slots=True)
class OtpFactor:
    otp_id: str
    code: str


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The answer: yes or no, and on yes the person's token at this partner."""

    transaction_id: str
    authenticated: bool
    factors: tuple[str, ...]
    token: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OtpSent:
    otp_id: str
    channel: str
    masked_address: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Ekyc:
    """A signed eKYC answer: ``jws`` carries the claims, ``token`` is the partner token."""

    transaction_id: str
    token: str
    attributes: dict[str, Any]
    jws: str


def factors_given(demographics: Mapping[str, Any] | None, otp: OtpFactor | None) -> tuple[str, ...]:
    """The factors a request carries (``demo``, ``otp``); refuses a request with none."""
    if demographics is not None and (not isinstance(demographics, Mapping) or not demographics):
        raise InvalidInput("demographics, when given, name at least one field")
    factors = (("demo",) if demographics else ()) + (("otp",) if otp else ())
    if not factors:
        raise NoFactor("give demographics, an OTP or both")
    return factors


def check_transaction(transaction_id: str) -> None:
    """Refuse a transaction id that is not 1-64 letters, digits, '.', '_' or '-'."""
    if not isinstance(transaction_id, str) or not TRANSACTION.fullmatch(transaction_id):
        raise InvalidInput("transaction_id is 1-64 letters, digits, '.', '_' or '-'")


def normalise(text: str) -> str:
    """NFKC, case folded, diacritics removed, spaces collapsed: "José  Núñez" ~ "jose nunez"."""
    if text.isascii():  # NFKC and NFKD leave ASCII as it is, and it has no combining marks
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def claim_matches(stored: Any, given: Any, *, partial: bool) -> bool:
    """Whether a claimed value matches the stored one (objects field by field, text normalised,
    partial dates only as precisely as the register knows them)."""
    if isinstance(given, Mapping):
        return isinstance(stored, Mapping) and all(
            claim_matches(stored.get(k), v, partial=False) for k, v in given.items()
        )
    if not isinstance(given, str) or not isinstance(stored, str):
        return False
    if partial:
        mine, theirs = parse_partial_date(stored), parse_partial_date(given)
        if mine is None or theirs is None:
            return False
        # a claim is confirmed only as precisely as the register knows it
        return all(
            t is None or (m is not None and m == t) for m, t in zip(mine, theirs, strict=True)
        )
    return normalise(stored) == normalise(given)
