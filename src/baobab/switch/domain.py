"""The switch's model: participants (FSPs) with their currencies and callback endpoints, and
transfers through the hub with their FSPIOP states. Pure: kernel and the standard library only.

Ledger layout, per FSP and currency (ids from :func:`account_ids`):

- ``position`` (flag debits-must-not-exceed-credits): credited with the Net Debit Cap; every
  transfer debits the payer's position and credits the payee's, so the ledger itself refuses a
  transfer that would take ``outgoing - incoming`` beyond the cap, also under concurrency.
- ``liquidity`` (same flag): the FSP's free funds at the settlement bank.
- ``collateral``: liquidity earmarked for the Net Debit Cap. Raising the cap moves the amount
  from ``liquidity`` to ``collateral`` in the same linked chain that credits the position, so the
  cap can never exceed the liquidity and a withdrawal can never eat into it.

Hub accounts per currency: ``hub:<cur>:control`` grants the caps, ``hub:<cur>:bank`` is the
other side of deposits and withdrawals.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from baobab.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from baobab.kernel.money import Money, minor_unit_exponent

SWITCH_SCOPES: dict[str, str] = {
    "switch:fspiop": "Call the payment switch's FSPIOP API as a connected FSP",
    "switch:admin": "Manage the switch's participants, liquidity, limits and settlement",
    "switch:read": "Read the switch's participants, positions and settlement reports",
}
HUB_ID = "hub"  # the FSPIOP-Source of messages the hub itself originates
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{0,3}[1-9])?")  # FSPIOP Amount
_ENDPOINT_VALUE = re.compile(r"https?://[^\s]{1,500}")


class SwitchError(InvalidInput):
    code = "switch.invalid"
    title = "Invalid switch request"


class ParticipantNotFound(NotFound):
    code = "switch.participant_not_found"
    title = "Participant not found"


class ParticipantExists(Conflict):
    code = "switch.participant_exists"
    title = "Participant exists"


class NotAnFsp(Forbidden):
    code = "switch.not_an_fsp"
    title = "Not an FSP"


class LedgerRefused(Conflict):
    code = "switch.ledger_refused"
    title = "The ledger refused the movement"


class EndpointType(StrEnum):
    """Where an FSP receives FSPIOP requests and callbacks (Mojaloop's endpoint types)."""

    TRANSFER_POST = "FSPIOP_CALLBACK_URL_TRANSFER_POST"
    TRANSFER_PUT = "FSPIOP_CALLBACK_URL_TRANSFER_PUT"
    TRANSFER_ERROR = "FSPIOP_CALLBACK_URL_TRANSFER_ERROR"
    PARTICIPANT_PUT = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT"
    PARTICIPANT_PUT_ERROR = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT_ERROR"
    PARTIES_GET = "FSPIOP_CALLBACK_URL_PARTIES_GET"
    PARTIES_PUT = "FSPIOP_CALLBACK_URL_PARTIES_PUT"
    PARTIES_PUT_ERROR = "FSPIOP_CALLBACK_URL_PARTIES_PUT_ERROR"
    QUOTES = "FSPIOP_CALLBACK_URL_QUOTES"
    BULK_QUOTES = "FSPIOP_CALLBACK_URL_BULK_QUOTES"
    BULK_TRANSFER_POST = "FSPIOP_CALLBACK_URL_BULK_TRANSFER_POST"
    BULK_TRANSFER_PUT = "FSPIOP_CALLBACK_URL_BULK_TRANSFER_PUT"
    BULK_TRANSFER_ERROR = "FSPIOP_CALLBACK_URL_BULK_TRANSFER_ERROR"


def render_endpoint(template: str, **values: str) -> str:
    """An endpoint template with ``{{name}}`` placeholders filled, e.g. ``{{transferId}}``."""
    url = template
    for name, value in values.items():
        url = url.replace("{{" + name + "}}", value)
    return url


def check_endpoint(value: object) -> str:
    """``value`` if it is an http(s) URL (template) the hub may call, else raise."""
    if not isinstance(value, str) or not _ENDPOINT_VALUE.fullmatch(value):
        raise SwitchError("an endpoint is an http:// or https:// URL of at most 500 characters")
    return value


@dataclass(frozen=True, slots=True)
class AccountIds:
    """The ledger accounts of one FSP in one currency."""

    position: str
    liquidity: str
    collateral: str


def account_ids(fsp_id: str, currency: str) -> AccountIds:
    """The ledger account ids of ``fsp_id`` in ``currency``."""
    prefix = f"sw:{fsp_id}:{currency}"
    return AccountIds(f"{prefix}:position", f"{prefix}:liquidity", f"{prefix}:collateral")


def hub_accounts(currency: str) -> tuple[str, str]:
    """The hub's ``control`` (grants caps) and ``bank`` (deposits) accounts in ``currency``."""
    return f"sw:{HUB_ID}:{currency}:control", f"sw:{HUB_ID}:{currency}:bank"


@dataclass(frozen=True, slots=True)
class Participant:
    """An FSP connected to the switch: its FSPIOP id, the directory member it is, its state."""

    fsp_id: str
    member: str
    enabled: bool
    created_at: datetime
    currencies: frozenset[str] = frozenset()
    endpoints: dict[str, str] = field(default_factory=dict)

    def endpoint(self, kind: EndpointType) -> str | None:
        """The URL template registered for ``kind``, if any."""
        return self.endpoints.get(kind.value)


def member_of(client_id: str) -> str:
    """The member id (``INSTANCE/CLASS/CODE``) of a subsystem id."""
    return client_id.rsplit("/", 1)[0]


def parse_amount(amount: object, currency: object) -> Money:
    """An FSPIOP ``Money`` object's amount as minor units; raises :class:`SwitchError`."""
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise SwitchError("currency must be a three-letter ISO 4217 code")
    if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
        raise SwitchError(f"not an FSPIOP amount: {amount!r}")
    whole, _, fraction = amount.partition(".")
    exponent = minor_unit_exponent(currency)
    if len(fraction) > exponent:
        raise SwitchError(f"{amount} has more decimals than {currency} allows ({exponent})")
    return Money(int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0"), currency)


class TransferState(StrEnum):
    """FSPIOP ``TransferState``."""

    RECEIVED = "RECEIVED"
    RESERVED = "RESERVED"
    COMMITTED = "COMMITTED"
    ABORTED = "ABORTED"


def body_digest(body: bytes) -> str:
    """The SHA-256 of a request body, to tell a resend from a modified request (3106)."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class HubTransfer:
    """A transfer as the hub keeps it; the money itself is in the ledger under ``transfer_id``."""

    transfer_id: str
    payer: str
    payee: str
    amount: int
    currency: str
    condition: str
    expiration: datetime
    state: TransferState
    digest: str
    created_at: datetime
    fulfilment: str | None = None
    completed_at: datetime | None = None
    error_code: str | None = None
    payee_wants_patch: bool = False

    @property
    def final(self) -> bool:
        return self.state in (TransferState.COMMITTED, TransferState.ABORTED)

    def involves(self, fsp_id: str) -> bool:
        return fsp_id in (self.payer, self.payee)


def post_id(transfer_id: str) -> str:
    """The ledger id of the post that commits transfer ``transfer_id``."""
    return f"{transfer_id}:commit"


def void_id(transfer_id: str) -> str:
    """The ledger id of the void that aborts transfer ``transfer_id``."""
    return f"{transfer_id}:abort"


@dataclass(frozen=True, slots=True)
class Callback:
    """One HTTP request the hub owes an FSP: written to the outbox with the state change."""

    fsp_id: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class QuoteState(StrEnum):
    """Where a quote stands at the hub."""

    RECEIVED = "RECEIVED"  # forwarded to the payee FSP, no answer yet
    ACCEPTED = "ACCEPTED"  # the payee FSP answered with terms
    REJECTED = "REJECTED"  # the payee FSP (or the hub) answered with an error


@dataclass(frozen=True, slots=True)
class HubQuote:
    """A quote as the hub keeps it, to route the answer and to answer resends."""

    quote_id: str
    payer: str
    payee: str
    digest: str
    state: QuoteState
    expiration: datetime | None
    created_at: datetime
    response: bytes | None = None
    response_headers: dict[str, str] | None = None


class WindowState(StrEnum):
    """A settlement window's life: open -> closed -> pending settlement -> settled."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    PENDING_SETTLEMENT = "PENDING_SETTLEMENT"
    SETTLED = "SETTLED"


@dataclass(frozen=True, slots=True)
class SettlementWindow:
    """The transfers committed from ``opened_at`` (inclusive) to ``closed_at`` (exclusive)."""

    window_id: int
    state: WindowState
    opened_at: datetime
    closed_at: datetime | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NetPosition:
    """One FSP's result in one currency over a window, in minor units; ``net`` > 0 receives."""

    fsp_id: str
    currency: str
    sent: int
    received: int
    transfers: int

    @property
    def net(self) -> int:
        return self.received - self.sent


class BulkState(StrEnum):
    """FSPIOP ``BulkTransferState`` as the hub uses it."""

    ACCEPTED = "ACCEPTED"  # items reserved, forwarded to the payee FSP
    COMPLETED = "COMPLETED"  # the payee FSP answered; each item committed or aborted
    REJECTED = "REJECTED"  # nothing committed: refused, rejected by the payee, or expired


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One transfer of a bulk; ``error_code`` is set when the hub could not reserve it."""

    transfer_id: str
    amount: int
    currency: str
    condition: str
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class HubBulk:
    """A bulk transfer as the hub keeps it; ``result`` is the final callback body sent."""

    bulk_id: str
    payer: str
    payee: str
    digest: str
    state: BulkState
    expiration: datetime
    created_at: datetime
    items: tuple[BulkItem, ...]
    completed_at: datetime | None = None
    result: bytes | None = None

    @property
    def final(self) -> bool:
        return self.state is not BulkState.ACCEPTED
