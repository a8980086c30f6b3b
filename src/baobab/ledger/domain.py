"""Accounts and transfers: the only two objects of the ledger, and the rules of each on its own.

Amounts are integers of minor units of the account's currency, never floats. Every total an
account keeps stays within a signed 64-bit integer, which both storage engines hold natively.
How a batch of transfers changes accounts lives in :mod:`baobab.ledger.engine`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag, StrEnum

from baobab.kernel.money import INT64_MAX, Money
from baobab.ledger.errors import AccountResult, TransferResult

MAX_BATCH = 8190  # events per batch: one database transaction, one result per event
LEDGER_SCOPES = ("ledger:read", "ledger:write")  # the platform scopes the ledger's API asks for
MAX_TIMEOUT_SECONDS = 2**31 - 1  # a pending transfer may wait at most ~68 years
MAX_REFERENCE = 256  # characters of a transfer's free-form reference

# Client-chosen ids: UUIDs, FSPIOP transfer ids, or operator names such as "fsp-a:usd:position".
# "~" is kept out so ids the ledger derives itself (expiries) can never collide with a client's.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def valid_id(value: object) -> bool:
    """True if ``value`` is an acceptable client-chosen id (1-64 characters, no spaces)."""
    return type(value) is str and _ID.fullmatch(value) is not None


def valid_currency(value: object) -> bool:
    """True if ``value`` is a three-letter upper-case ISO 4217 style code."""
    return type(value) is str and len(value) == 3 and value.isascii() and value.isupper()


def fits_int64(value: object) -> bool:
    """True if ``value`` is an int (not a bool) within the signed 64-bit range."""
    return type(value) is int and -INT64_MAX - 1 <= value <= INT64_MAX


class AccountFlags(IntFlag):
    """Rules an account enforces on every transfer that touches it."""

    NONE = 0
    # Debits (posted + pending) may never exceed posted credits: a wallet that cannot go negative.
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    # Credits (posted + pending) may never exceed posted debits: e.g. a capped funding account.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


ACCOUNT_FLAGS_ALL = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS) | int(
    AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
)


class AccountKind(StrEnum):
    """What an account is for; the ledger treats every kind alike, reports and the switch do not."""

    POSITION = "position"
    SETTLEMENT = "settlement"
    LIQUIDITY = "liquidity"
    DISBURSEMENT = "disbursement"
    SUSPENSE = "suspense"
    FEES = "fees"
    CONTROL = "control"


class TransferFlags(IntFlag):
    """How a transfer acts. At most one of the phase flags is set; none means single-phase."""

    NONE = 0
    # Apply this event together with the next one, all or nothing.
    LINKED = 1
    # Reserve the amount: it counts against limits but moves nothing until posted.
    PENDING = 2
    # Settle the pending transfer named by ``pending_id``, in full or in part.
    POST_PENDING = 4
    # Release the pending transfer named by ``pending_id``.
    VOID_PENDING = 8
    # Set only by the ledger when a pending transfer's timeout passes; clients may not use it.
    EXPIRE_PENDING = 16


_KINDS = frozenset(kind.value for kind in AccountKind)
CLIENT_TRANSFER_FLAGS = 1 | 2 | 4 | 8
PHASE_FLAGS = 2 | 4 | 8
RESOLVING_FLAGS = 4 | 8 | 16  # post, void, expire: each settles a pending transfer for good
_SETTLING_FLAGS = 4 | 8  # plain ints: IntFlag arithmetic allocates, and check() runs per event
_PENDING_FLAG = 2
_LINKED_FLAG = 1


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A request to open an account. ``id`` is chosen by the client, so a retry is harmless."""

    id: str
    currency: str
    kind: AccountKind
    owner: str
    flags: AccountFlags = AccountFlags.NONE

    def check(self) -> AccountResult | None:
        """The result that refuses this request on its own, or None if it is well formed."""
        if not valid_id(self.id):
            return AccountResult.ID_INVALID
        if not isinstance(self.flags, int) or int(self.flags) & ~ACCOUNT_FLAGS_ALL:
            return AccountResult.RESERVED_FLAG
        if int(self.flags) == ACCOUNT_FLAGS_ALL:
            return AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if not valid_currency(self.currency):
            return AccountResult.CURRENCY_INVALID
        if self.kind not in _KINDS:
            return AccountResult.KIND_INVALID
        if type(self.owner) is not str or not 1 <= len(self.owner) <= 128:
            return AccountResult.OWNER_INVALID
        return None


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance on its normal side, in minor units.

    ``posted`` is settled; ``pending`` is the net of reservations not yet posted or voided;
    ``available`` is what may still leave the account once outgoing reservations are honoured.
    """

    currency: str
    posted: int
    pending: int
    available: int

    @property
    def posted_money(self) -> Money:
        """The posted balance as :class:`~baobab.kernel.money.Money`."""
        return Money(self.posted, self.currency)


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """One currency's totals over every account: the books balance when debits equal credits.

    ``over_limit`` counts accounts whose totals break their own flags; it must be 0.
    """

    currency: str
    accounts: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    over_limit: int

    @property
    def balanced(self) -> bool:
        """Debits equal credits, posted and pending, and no account is over its limit."""
        return (
            self.debits_posted == self.credits_posted
            and self.debits_pending == self.credits_pending
            and self.over_limit == 0
        )


@dataclass(slots=True)
class Account:
    """An account and its four running totals. Only the ledger's engine changes the totals."""

    id: str
    currency: str
    kind: AccountKind
    owner: str
    flags: AccountFlags
    created_at: datetime
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def balance(self) -> Balance:
        """The balance on the account's normal side.

        An account whose debits may not exceed its credits (a wallet, a position) is read from
        the credit side; one whose credits may not exceed its debits from the debit side; an
        account without a limit is read from the credit side.
        """
        if self.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            posted = self.debits_posted - self.credits_posted
            pending = self.debits_pending - self.credits_pending
            available = posted - self.credits_pending
        else:
            posted = self.credits_posted - self.debits_posted
            pending = self.credits_pending - self.debits_pending
            available = posted - self.debits_pending
        return Balance(self.currency, posted, pending, available)

    def matches(self, request: NewAccount) -> AccountResult:
        """``exists`` if ``request`` would open this same account, else the first difference."""
        if request.currency != self.currency:
            return AccountResult.EXISTS_WITH_DIFFERENT_CURRENCY
        if request.kind != self.kind:
            return AccountResult.EXISTS_WITH_DIFFERENT_KIND
        if request.owner != self.owner:
            return AccountResult.EXISTS_WITH_DIFFERENT_OWNER
        if int(request.flags) != int(self.flags):
            return AccountResult.EXISTS_WITH_DIFFERENT_FLAGS
        return AccountResult.EXISTS

    @classmethod
    def open(cls, request: NewAccount, *, at: datetime) -> Account:
        """A new account with all totals at zero."""
        return cls(
            id=request.id,
            currency=request.currency,
            kind=AccountKind(request.kind),
            owner=request.owner,
            flags=AccountFlags(int(request.flags)),
            created_at=at,
        )


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A request to move money, chosen and named (``id``) by the client.

    Single-phase and pending transfers name both accounts, the amount and the currency. A post
    or void names its pending transfer in ``pending_id`` and may leave the other fields unset
    (``None``), which means "as the pending transfer"; a post may give a smaller ``amount`` to
    settle only part. ``timeout`` (seconds, pending only, 0 = never) lets a reservation lapse.
    """

    id: str
    debit_account_id: str | None = None
    credit_account_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    pending_id: str | None = None
    timeout: int = 0
    reference: str = ""
    flags: TransferFlags = TransferFlags.NONE

    def check(self) -> TransferResult | None:  # noqa: PLR0912 - one rule per branch reads best
        """The result that refuses this event on its own, or None if it is well formed.

        Nothing here reads the ledger, so a refusal here is never recorded: the same request
        is refused the same way every time it is sent.
        """
        if not valid_id(self.id):
            return TransferResult.ID_INVALID
        flags = int(self.flags)
        if flags & ~CLIENT_TRANSFER_FLAGS:
            return TransferResult.RESERVED_FLAG
        phase = flags & PHASE_FLAGS
        if phase & (phase - 1):
            return TransferResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        resolving = phase & _SETTLING_FLAGS
        debit, credit = self.debit_account_id, self.credit_account_id
        if resolving:
            if not valid_id(self.pending_id):
                return TransferResult.PENDING_ID_INVALID
            if self.pending_id == self.id:
                return TransferResult.PENDING_ID_MUST_BE_DIFFERENT
            if debit is not None and not valid_id(debit):
                return TransferResult.DEBIT_ACCOUNT_ID_INVALID
            if credit is not None and not valid_id(credit):
                return TransferResult.CREDIT_ACCOUNT_ID_INVALID
        else:
            if self.pending_id is not None:
                return TransferResult.PENDING_ID_MUST_BE_EMPTY
            if not valid_id(debit):
                return TransferResult.DEBIT_ACCOUNT_ID_INVALID
            if not valid_id(credit):
                return TransferResult.CREDIT_ACCOUNT_ID_INVALID
        if debit is not None and debit == credit:
            return TransferResult.ACCOUNTS_MUST_BE_DIFFERENT
        if type(self.timeout) is not int or not 0 <= self.timeout <= MAX_TIMEOUT_SECONDS:
            return TransferResult.TIMEOUT_INVALID
        if self.timeout and not phase & _PENDING_FLAG:
            return TransferResult.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        amount = self.amount
        if amount is not None or not resolving:
            if type(amount) is not int or amount <= 0:
                return TransferResult.AMOUNT_MUST_BE_POSITIVE
            if amount > INT64_MAX:
                return TransferResult.AMOUNT_EXCEEDS_64_BITS
        currency = self.currency
        if (currency is not None or not resolving) and not valid_currency(currency):
            return TransferResult.CURRENCY_INVALID
        if type(self.reference) is not str or len(self.reference) > MAX_REFERENCE:
            return TransferResult.REFERENCE_TOO_LONG
        return None


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer as the ledger recorded it. Immutable: history is never rewritten.

    For a transfer that succeeded (``result`` is ``ok``) every field is resolved: a post carries
    its accounts, currency and posted amount. A refused transfer is recorded only when the
    refusal came from the ledger's state (an unknown account, a limit); it is kept exactly as
    requested, so a retry with the same fields gets the same answer and the id cannot be reused.
    ``sequence`` orders the ledger's history; it is set by storage (0 until stored).
    """

    id: str
    debit_account_id: str | None
    credit_account_id: str | None
    amount: int | None
    currency: str | None
    pending_id: str | None
    timeout: int
    reference: str
    flags: TransferFlags
    result: TransferResult
    timestamp: datetime
    expires_at: datetime | None = None
    sequence: int = 0

    def matches(self, request: NewTransfer) -> TransferResult:
        """What a request with this transfer's id gets: the original outcome, or a difference."""
        strict = self.result is not TransferResult.OK
        if int(request.flags) & ~_LINKED_FLAG != int(self.flags) & ~_LINKED_FLAG:
            return TransferResult.EXISTS_WITH_DIFFERENT_FLAGS
        for asked, stored, different in (
            (request.debit_account_id, self.debit_account_id, _DIFF_DEBIT),
            (request.credit_account_id, self.credit_account_id, _DIFF_CREDIT),
            (request.amount, self.amount, _DIFF_AMOUNT),
            (request.currency, self.currency, _DIFF_CURRENCY),
        ):
            # A post or void may leave a field unset, meaning "as the pending transfer".
            if asked != stored and (strict or asked is not None):
                return different
        if request.pending_id != self.pending_id:
            return TransferResult.EXISTS_WITH_DIFFERENT_PENDING_ID
        if request.timeout != self.timeout:
            return TransferResult.EXISTS_WITH_DIFFERENT_TIMEOUT
        if request.reference != self.reference:
            return TransferResult.EXISTS_WITH_DIFFERENT_REFERENCE
        return TransferResult.EXISTS if self.result is TransferResult.OK else self.result

    @property
    def succeeded(self) -> bool:
        """True if the transfer moved (or reserved, or released) money."""
        return self.result is TransferResult.OK


_DIFF_DEBIT = TransferResult.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
_DIFF_CREDIT = TransferResult.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
_DIFF_AMOUNT = TransferResult.EXISTS_WITH_DIFFERENT_AMOUNT
_DIFF_CURRENCY = TransferResult.EXISTS_WITH_DIFFERENT_CURRENCY


def expiry_id(pending_id: str) -> str:
    """The id of the record the ledger writes when pending transfer ``pending_id`` expires."""
    return f"{pending_id}~expired"
