"""How a batch of transfer events changes the ledger: pure, deterministic, no I/O.

The engine works on a :class:`LedgerView` - the accounts a batch touches (loaded and locked by
storage beforehand) and the transfers it refers to - and returns a :class:`BatchOutcome`: one
result per event, the records to append and the accounts whose totals changed. Storage then
writes the outcome in the same database transaction. Because the whole batch is decided in
memory, the database sees a handful of set-based statements per batch instead of several per
transfer, and the same code decides for SQLite, PostgreSQL and the in-memory fake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from baobab.kernel.money import INT64_MAX
from baobab.ledger.domain import (
    Account,
    AccountFlags,
    NewTransfer,
    Transfer,
    TransferFlags,
    expiry_id,
)
from baobab.ledger.errors import TransferResult as R

# Plain ints: IntFlag arithmetic allocates, and these tests run once per event on the hot path.
_LINKED = int(TransferFlags.LINKED)
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING)
_VOID = int(TransferFlags.VOID_PENDING)
_DEBITS_LIMITED = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDITS_LIMITED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_SETTLED_AS = {
    _POST: R.PENDING_TRANSFER_ALREADY_POSTED,
    _VOID: R.PENDING_TRANSFER_ALREADY_VOIDED,
    int(TransferFlags.EXPIRE_PENDING): R.PENDING_TRANSFER_EXPIRED,
}


@dataclass(slots=True)
class LedgerView:
    """What a batch may read.

    ``accounts`` holds every account the batch names (storage has locked them); ``transfers``
    the already recorded transfers it names, by id (for idempotency and as pending transfers);
    ``settled`` maps a pending transfer's id to the flag (post, void, expire) that settled it.
    The engine updates all three as it goes, so later events see earlier ones.
    """

    accounts: dict[str, Account]
    transfers: dict[str, Transfer] = field(default_factory=dict)
    settled: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class BatchOutcome:
    """What a batch decided: storage writes exactly this, or nothing."""

    results: list[R]
    records: list[Transfer] = field(default_factory=list)
    touched: dict[str, Account] = field(default_factory=dict)
    timeouts_added: list[Transfer] = field(default_factory=list)
    timeouts_removed: list[str] = field(default_factory=list)


class _Undo:
    """Enough to take back a linked chain that failed half-way."""

    __slots__ = ("added", "balances", "records", "settled", "timeouts_added", "timeouts_removed")

    def __init__(self, outcome: BatchOutcome) -> None:
        self.balances: list[tuple[Account, int, int, int, int, bool]] = []
        self.added: list[str] = []
        self.settled: list[str] = []
        self.records = len(outcome.records)
        self.timeouts_added = len(outcome.timeouts_added)
        self.timeouts_removed = len(outcome.timeouts_removed)


class _Batch:
    def __init__(self, view: LedgerView, now: datetime, outcome: BatchOutcome) -> None:
        self.view = view
        self.now = now
        self.out = outcome
        self.undo: _Undo | None = None
        # Whether the last apply() answered from a recorded transfer (a retry), for chains.
        self.answered_from_record = False

    def _save(self, account: Account) -> None:
        touched = self.out.touched
        if self.undo is not None:
            self.undo.balances.append(
                (
                    account,
                    account.debits_pending,
                    account.debits_posted,
                    account.credits_pending,
                    account.credits_posted,
                    account.id in touched,
                )
            )
        touched[account.id] = account

    def _remember(self, record: Transfer) -> None:
        self.view.transfers[record.id] = record
        self.out.records.append(record)
        if self.undo is not None:
            self.undo.added.append(record.id)

    def refuse(self, event: NewTransfer, result: R, *, record: bool) -> R:
        """Refuse ``event``; outside a chain the refusal is recorded so a retry gets it too."""
        if record:
            self._remember(
                Transfer(
                    id=event.id,
                    debit_account_id=event.debit_account_id,
                    credit_account_id=event.credit_account_id,
                    amount=event.amount,
                    currency=event.currency,
                    pending_id=event.pending_id,
                    timeout=event.timeout,
                    reference=event.reference,
                    flags=TransferFlags(int(event.flags)),
                    result=result,
                    timestamp=self.now,
                )
            )
        return result

    def apply(self, event: NewTransfer, *, record_refusal: bool) -> R:  # noqa: PLR0912
        """Decide one event and, if it succeeds, apply it to the view and the outcome."""
        malformed = event.check()
        self.answered_from_record = False
        if malformed is not None:
            return malformed
        known = self.view.transfers.get(event.id)
        if known is not None:
            self.answered_from_record = True
            return known.matches(event)
        flags = int(event.flags)
        if flags & (_POST | _VOID):
            return self._settle(event, flags, record_refusal)
        accounts = self.view.accounts
        debit = accounts.get(event.debit_account_id)  # type: ignore[arg-type]
        if debit is None:
            return self.refuse(event, R.DEBIT_ACCOUNT_NOT_FOUND, record=record_refusal)
        credit = accounts.get(event.credit_account_id)  # type: ignore[arg-type]
        if credit is None:
            return self.refuse(event, R.CREDIT_ACCOUNT_NOT_FOUND, record=record_refusal)
        if debit.currency != credit.currency:
            return self.refuse(event, R.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY, record=record_refusal)
        if event.currency != debit.currency:
            result = R.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS
            return self.refuse(event, result, record=record_refusal)
        amount: int = event.amount  # type: ignore[assignment]  # check() made sure
        pending = flags & _PENDING
        if pending:
            debits = debit.debits_pending + amount
            credits = credit.credits_pending + amount
            debits_total = debits + debit.debits_posted
            credits_total = credits + credit.credits_posted
        else:
            debits = debit.debits_posted + amount
            credits = credit.credits_posted + amount
            debits_total = debits + debit.debits_pending
            credits_total = credits + credit.credits_pending
        if debits > INT64_MAX:
            return self.refuse(event, R.OVERFLOWS_DEBITS, record=record_refusal)
        if credits > INT64_MAX:
            return self.refuse(event, R.OVERFLOWS_CREDITS, record=record_refusal)
        if int(debit.flags) & _DEBITS_LIMITED and debits_total > debit.credits_posted:
            return self.refuse(event, R.EXCEEDS_CREDITS, record=record_refusal)
        if int(credit.flags) & _CREDITS_LIMITED and credits_total > credit.debits_posted:
            return self.refuse(event, R.EXCEEDS_DEBITS, record=record_refusal)
        self._save(debit)
        self._save(credit)
        expires_at = None
        if pending:
            debit.debits_pending = debits
            credit.credits_pending = credits
            if event.timeout:
                expires_at = self.now + timedelta(seconds=event.timeout)
        else:
            debit.debits_posted = debits
            credit.credits_posted = credits
        record = Transfer(
            id=event.id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            currency=event.currency,
            pending_id=None,
            timeout=event.timeout,
            reference=event.reference,
            flags=event.flags,
            result=R.OK,
            timestamp=self.now,
            expires_at=expires_at,
        )
        self._remember(record)
        if expires_at is not None:
            self.out.timeouts_added.append(record)
        return R.OK

    def _settle(self, event: NewTransfer, flags: int, record_refusal: bool) -> R:
        pending_id: str = event.pending_id  # type: ignore[assignment]  # check() made sure
        target = self.view.transfers.get(pending_id)
        if target is None or target.result is not R.OK:
            return self.refuse(event, R.PENDING_TRANSFER_NOT_FOUND, record=record_refusal)
        if not int(target.flags) & _PENDING:
            return self.refuse(event, R.PENDING_TRANSFER_NOT_PENDING, record=record_refusal)
        if event.debit_account_id not in (None, target.debit_account_id):
            result = R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
            return self.refuse(event, result, record=record_refusal)
        if event.credit_account_id not in (None, target.credit_account_id):
            result = R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
            return self.refuse(event, result, record=record_refusal)
        if event.currency not in (None, target.currency):
            result = R.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY
            return self.refuse(event, result, record=record_refusal)
        settled = self.view.settled.get(pending_id)
        if settled is not None:
            return self.refuse(event, _SETTLED_AS[settled], record=record_refusal)
        if target.expires_at is not None and target.expires_at <= self.now:
            return self.refuse(event, R.PENDING_TRANSFER_EXPIRED, record=record_refusal)
        reserved: int = target.amount  # type: ignore[assignment]  # a recorded success has one
        amount = reserved if event.amount is None else event.amount
        if flags & _POST and amount > reserved:
            return self.refuse(event, R.EXCEEDS_PENDING_TRANSFER_AMOUNT, record=record_refusal)
        if flags & _VOID and amount != reserved:
            result = R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
            return self.refuse(event, result, record=record_refusal)
        debit = self.view.accounts[target.debit_account_id]  # type: ignore[index]
        credit = self.view.accounts[target.credit_account_id]  # type: ignore[index]
        posted = amount if flags & _POST else 0
        # Moving a reservation to posted never raises a total that a limit watches, but the
        # posted column may still be full.
        if debit.debits_posted + posted > INT64_MAX:
            return self.refuse(event, R.OVERFLOWS_DEBITS, record=record_refusal)
        if credit.credits_posted + posted > INT64_MAX:
            return self.refuse(event, R.OVERFLOWS_CREDITS, record=record_refusal)
        self._save(debit)
        self._save(credit)
        debit.debits_pending -= reserved
        debit.debits_posted += posted
        credit.credits_pending -= reserved
        credit.credits_posted += posted
        self._mark_settled(target, flags & (_POST | _VOID))
        self._remember(
            Transfer(
                id=event.id,
                debit_account_id=target.debit_account_id,
                credit_account_id=target.credit_account_id,
                amount=amount,
                currency=target.currency,
                pending_id=pending_id,
                timeout=0,
                reference=event.reference,
                flags=event.flags,
                result=R.OK,
                timestamp=self.now,
            )
        )
        return R.OK

    def _mark_settled(self, target: Transfer, how: int) -> None:
        self.view.settled[target.id] = how
        if self.undo is not None:
            self.undo.settled.append(target.id)
        if target.expires_at is not None:
            self.out.timeouts_removed.append(target.id)

    def chain(self, events: Sequence[NewTransfer], start: int, end: int) -> None:
        """Apply ``events[start:end]`` all or nothing.

        A chain holding a malformed event fails before anything is read, and nothing of it is
        recorded. Otherwise the chain stops at the first event that fails afresh; events
        answered from a record (a retry) do not stop it, so a retried chain gets back every
        original result. A chain that fails is recorded: the failing event with its own
        result, every other new event as ``linked_event_failed``, so the same chain sent again
        fails the same way even after the ledger's state has changed.
        """
        results = self.out.results
        for k in range(start, end):
            malformed = events[k].check()
            if malformed is not None:
                results[start:end] = [R.LINKED_EVENT_FAILED] * (end - start)
                results[k] = malformed
                return
        self.undo = undo = _Undo(self.out)
        failed = False
        failing = -1
        for k in range(start, end):
            result = self.apply(events[k], record_refusal=False)
            results[k] = result
            if result.succeeded:
                continue
            failed = True
            if not self.answered_from_record:
                failing = k
                break
        self.undo = None
        if not failed:
            return
        added = set(undo.added)
        self._rollback(undo)
        evaluated = end if failing < 0 else failing + 1
        for k in range(start, end):
            result = results[k]
            if k >= evaluated or result is R.OK or (result is R.EXISTS and events[k].id in added):
                results[k] = R.LINKED_EVENT_FAILED
        for k in range(start, end):
            event = events[k]
            if event.id not in self.view.transfers:
                self.refuse(event, results[k], record=True)

    def _rollback(self, undo: _Undo) -> None:
        touched = self.out.touched
        for account, dp, dpo, cp, cpo, was_touched in reversed(undo.balances):
            account.debits_pending, account.debits_posted = dp, dpo
            account.credits_pending, account.credits_posted = cp, cpo
            if not was_touched:
                touched.pop(account.id, None)
        for transfer_id in undo.added:
            del self.view.transfers[transfer_id]
        for pending_id in undo.settled:
            del self.view.settled[pending_id]
        del self.out.records[undo.records :]
        del self.out.timeouts_added[undo.timeouts_added :]
        del self.out.timeouts_removed[undo.timeouts_removed :]


def apply_transfers(
    view: LedgerView,
    events: Sequence[NewTransfer],
    *,
    now: datetime,
    sink: Callable[[Transfer], None] | None = None,
) -> BatchOutcome:
    """Decide every event of a batch in order; linked chains apply all or nothing.

    An event whose ``linked`` flag is set belongs to one chain with the event after it. A chain
    left open at the end of the batch fails as a whole. A chain succeeds when every event in it
    succeeds (``ok``, or ``exists`` for a retried chain); otherwise none of it is applied, the
    first failing event keeps its result and the others get ``linked_event_failed``.

    ``sink`` receives each record as soon as it is final (its event or chain is decided), so
    storage can stream them to the database while the rest of the batch is being decided.
    """
    count = len(events)
    outcome = BatchOutcome(results=[R.OK] * count)
    batch = _Batch(view, now, outcome)
    results = outcome.results
    records = outcome.records
    sent = 0
    start = 0
    while start < count:
        end = start
        while int(events[end].flags) & _LINKED and end + 1 < count:
            end += 1
        if int(events[end].flags) & _LINKED:
            for k in range(start, end):
                results[k] = R.LINKED_EVENT_FAILED
            results[end] = R.LINKED_EVENT_CHAIN_OPEN
            break
        if start == end:
            results[start] = batch.apply(events[start], record_refusal=True)
        else:
            batch.chain(events, start, end + 1)
        start = end + 1
        if sink is not None:
            while sent < len(records):
                sink(records[sent])
                sent += 1
    return outcome


def expire_pending(view: LedgerView, due: Sequence[Transfer], *, now: datetime) -> BatchOutcome:
    """Release every pending transfer in ``due`` whose timeout has passed and is not settled.

    Each expiry is recorded as a transfer of its own (id :func:`expiry_id`), so history shows
    when and why the reservation went away.
    """
    outcome = BatchOutcome(results=[])
    batch = _Batch(view, now, outcome)
    expire = int(TransferFlags.EXPIRE_PENDING)
    for target in due:
        if target.expires_at is None or target.expires_at > now:
            continue
        if target.id in view.settled:
            outcome.timeouts_removed.append(target.id)  # settled earlier; only the timer is left
            continue
        debit = view.accounts[target.debit_account_id]  # type: ignore[index]
        credit = view.accounts[target.credit_account_id]  # type: ignore[index]
        reserved: int = target.amount  # type: ignore[assignment]
        batch._save(debit)
        batch._save(credit)
        debit.debits_pending -= reserved
        credit.credits_pending -= reserved
        batch._mark_settled(target, expire)
        batch._remember(
            Transfer(
                id=expiry_id(target.id),
                debit_account_id=target.debit_account_id,
                credit_account_id=target.credit_account_id,
                amount=reserved,
                currency=target.currency,
                pending_id=target.id,
                timeout=0,
                reference=target.reference,
                flags=TransferFlags.EXPIRE_PENDING,
                result=R.OK,
                timestamp=now,
            )
        )
        outcome.results.append(R.OK)
    return outcome
