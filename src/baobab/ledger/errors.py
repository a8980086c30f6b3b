"""Result codes of the ledger and the errors they become.

Every event in a batch gets exactly one result. ``ok`` and ``exists`` mean the event is (now or
already) in the ledger; every other result means nothing of that event was applied. Each failing
result has a stable error code ``ledger.<result>`` and an error class deriving from one of the
kernel's kinds, so the HTTP layer can pick a status without knowing the ledger:

- :class:`~baobab.kernel.errors.InvalidInput` the event itself is malformed (checked before any
  state is read, never recorded);
- :class:`~baobab.kernel.errors.NotFound` an account or pending transfer it names does not exist;
- :class:`~baobab.kernel.errors.Conflict` it clashes with the ledger's state: balance limits,
  a pending transfer already settled, the same id used with different fields.

The ideas (results as values, precedence, linked chains) follow TigerBeetle's model; the names
and the set of results are Baobab's own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from baobab.kernel.errors import BaobabError, Conflict, InvalidInput, NotFound


class TransferResult(StrEnum):
    """The outcome of one transfer event. ``ok`` and ``exists`` are the two successes."""

    OK = "ok"
    EXISTS = "exists"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    # The event itself is malformed.
    ID_INVALID = "id_invalid"
    RESERVED_FLAG = "reserved_flag"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    DEBIT_ACCOUNT_ID_INVALID = "debit_account_id_invalid"
    CREDIT_ACCOUNT_ID_INVALID = "credit_account_id_invalid"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_EMPTY = "pending_id_must_be_empty"
    PENDING_ID_INVALID = "pending_id_invalid"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_INVALID = "timeout_invalid"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    AMOUNT_EXCEEDS_64_BITS = "amount_exceeds_64_bits"
    CURRENCY_INVALID = "currency_invalid"
    REFERENCE_TOO_LONG = "reference_too_long"
    # The id was used before for a different transfer.
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = "exists_with_different_debit_account_id"
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = "exists_with_different_credit_account_id"
    EXISTS_WITH_DIFFERENT_AMOUNT = "exists_with_different_amount"
    EXISTS_WITH_DIFFERENT_CURRENCY = "exists_with_different_currency"
    EXISTS_WITH_DIFFERENT_PENDING_ID = "exists_with_different_pending_id"
    EXISTS_WITH_DIFFERENT_TIMEOUT = "exists_with_different_timeout"
    EXISTS_WITH_DIFFERENT_REFERENCE = "exists_with_different_reference"
    # The ledger's state refuses it.
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY = "accounts_must_have_the_same_currency"
    TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS = (
        "transfer_must_have_the_same_currency_as_accounts"
    )
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = (
        "pending_transfer_has_different_debit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = (
        "pending_transfer_has_different_credit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY = "pending_transfer_has_different_currency"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"

    @property
    def succeeded(self) -> bool:
        """True for ``ok`` and ``exists``: the transfer is in the ledger."""
        return self is TransferResult.OK or self is TransferResult.EXISTS


class AccountResult(StrEnum):
    """The outcome of one account-creation event."""

    OK = "ok"
    EXISTS = "exists"
    ID_INVALID = "id_invalid"
    RESERVED_FLAG = "reserved_flag"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    CURRENCY_INVALID = "currency_invalid"
    KIND_INVALID = "kind_invalid"
    OWNER_INVALID = "owner_invalid"
    EXISTS_WITH_DIFFERENT_CURRENCY = "exists_with_different_currency"
    EXISTS_WITH_DIFFERENT_KIND = "exists_with_different_kind"
    EXISTS_WITH_DIFFERENT_OWNER = "exists_with_different_owner"
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"

    @property
    def succeeded(self) -> bool:
        """True for ``ok`` and ``exists``: the account is in the ledger."""
        return self is AccountResult.OK or self is AccountResult.EXISTS


class LedgerError(BaobabError):
    """Root of the ledger's errors; ``result`` is the batch result the error stands for."""

    code: ClassVar[str] = "ledger.error"
    result: ClassVar[str] = ""


class BatchTooLarge(LedgerError, InvalidInput):
    """A batch holds more events than one database transaction may apply."""

    code = "ledger.batch_too_large"
    title = "Batch too large"


class AccountNotFound(LedgerError, NotFound):
    """No account has the id asked for."""

    code = "ledger.account_not_found"
    title = "Account not found"


class TransferNotFound(LedgerError, NotFound):
    """No transfer has the id asked for."""

    code = "ledger.transfer_not_found"
    title = "Transfer not found"


def _kind(result: str) -> type[BaobabError]:
    if result.endswith("_not_found"):
        return NotFound
    if result.startswith(("exists_with_", "exceeds_", "overflows_", "linked_event_failed")) or (
        result.startswith("pending_transfer_")
        and not result.startswith("pending_transfer_has_different_")
    ):
        return Conflict
    return InvalidInput


def _error_class(result: str, prefix: str) -> type[LedgerError]:
    kind = _kind(result)
    name = prefix + "".join(part.capitalize() for part in result.split("_"))
    namespace: dict[str, Any] = {
        "__doc__": f"Refused with result ``{result}``.",
        "__module__": __name__,
        "code": f"ledger.{result}",
        "title": result.replace("_", " ").capitalize(),
        "result": result,
    }
    return type(name, (LedgerError, kind), namespace)


# One error class per failing result, built from the tables above so the two never drift apart.
TRANSFER_ERRORS: dict[TransferResult, type[LedgerError]] = {
    result: _error_class(result.value, "Transfer")
    for result in TransferResult
    if not result.succeeded
}
ACCOUNT_ERRORS: dict[AccountResult, type[LedgerError]] = {
    result: _error_class(result.value, "Account")
    for result in AccountResult
    if not result.succeeded
}


def transfer_error(result: TransferResult, transfer_id: str) -> LedgerError:
    """The error to raise when a single transfer ends with the failing ``result``."""
    return TRANSFER_ERRORS[result](
        f"transfer {transfer_id!r} refused: {result.value}",
        extra={"result": result.value, "transfer_id": transfer_id},
    )


def account_error(result: AccountResult, account_id: str) -> LedgerError:
    """The error to raise when a single account creation ends with the failing ``result``."""
    return ACCOUNT_ERRORS[result](
        f"account {account_id!r} refused: {result.value}",
        extra={"result": result.value, "account_id": account_id},
    )
