"""The ledger's use cases: open accounts, apply batches of transfers, expire, read.

Every write is one unit of work: read what the batch names (locking the accounts), decide the
whole batch in memory, write the outcome. A batch first assumes its ids are new, which spares a
lookup of every id on the hot path; if storage finds one taken (a retry, or a concurrent
duplicate) nothing is written and the batch is decided again, this time with every id read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import Unavailable
from baobab.ledger.domain import (
    MAX_BATCH,
    Account,
    Balance,
    NewAccount,
    NewTransfer,
    Transfer,
    TrialBalance,
)
from baobab.ledger.engine import BatchOutcome, LedgerView, apply_transfers, expire_pending
from baobab.ledger.errors import (
    AccountNotFound,
    AccountResult,
    BatchTooLarge,
    TransferNotFound,
    TransferResult,
    account_error,
    transfer_error,
)
from baobab.ledger.ports import LedgerSession, LedgerStore, StoreContention

ATTEMPTS = 8  # a batch meets contention at most once per concurrent duplicate; 8 is generous
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of an account's history; pass ``next_after`` back to get the next page."""

    account_id: str
    transfers: list[Transfer]
    next_after: int | None


class LedgerService:
    """The ledger's facade: every use case, over any :class:`LedgerStore`.

    Every write names its ``actor`` (the caller's client id, ``cli:<user>`` at the console) and
    leaves one audit entry per batch that changed something: money movement and new accounts are
    security-relevant. The entry names the batch by its first id and counts what it did; the
    accounts and transfers themselves are the ledger's own immutable record.
    """

    def __init__(self, store: LedgerStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # --- accounts ------------------------------------------------------------------------

    def create_accounts(self, requests: Sequence[NewAccount], *, actor: str) -> list[AccountResult]:
        """Open accounts, one result per request; an existing identical account is ``exists``."""
        _check_size(len(requests))
        for _attempt in range(ATTEMPTS):
            try:
                with self._store.unit() as session:
                    return self._open(session, requests, actor)
            except StoreContention:
                continue
        raise Unavailable("accounts could not be created under contention; retry")

    def create_account(self, request: NewAccount, *, actor: str) -> Account:
        """Open one account (or find the identical one); raise the specific error otherwise."""
        result = self.create_accounts([request], actor=actor)[0]
        if not result.succeeded:
            raise account_error(result, request.id)
        return self.get_account(request.id)

    def _open(
        self, session: LedgerSession, requests: Sequence[NewAccount], actor: str
    ) -> list[AccountResult]:
        now = self._clock.now()
        wanted = {r.id for r in requests if type(r.id) is str}
        known = session.find_accounts(wanted)
        results: list[AccountResult] = []
        fresh: list[Account] = []
        for request in requests:
            malformed = request.check()
            if malformed is not None:
                results.append(malformed)
                continue
            existing = known.get(request.id)
            if existing is not None:
                results.append(existing.matches(request))
                continue
            account = Account.open(request, at=now)
            known[account.id] = account
            fresh.append(account)
            results.append(AccountResult.OK)
        if fresh:
            session.insert_accounts(fresh)
            # One entry per batch, like transfers: bulk opening stays one cheap append.
            details = {
                "opened": str(len(fresh)),
                "currencies": ",".join(sorted({a.currency for a in fresh})),
                "kinds": ",".join(sorted({a.kind.value for a in fresh})),
            }
            event = AuditEvent("ledger.accounts_opened", actor, fresh[0].id, details=details)
            session.audit(event, at=now)
        return results

    def get_account(self, account_id: str) -> Account:
        """The account with its current totals; :class:`AccountNotFound` if there is none."""
        with self._store.unit() as session:
            found = session.find_accounts([account_id]).get(account_id)
        if found is None:
            raise AccountNotFound(f"no account {account_id!r}", extra={"account_id": account_id})
        return found

    def lookup_accounts(self, account_ids: Sequence[str]) -> list[Account]:
        """The accounts among ``account_ids`` that exist, in the order asked."""
        _check_size(len(account_ids))
        with self._store.unit() as session:
            found = session.find_accounts(set(account_ids))
        return [found[i] for i in account_ids if i in found]

    def balance(self, account_id: str) -> Balance:
        """Posted, pending and available balance of one account."""
        return self.get_account(account_id).balance()

    # --- transfers -----------------------------------------------------------------------

    def create_transfers(
        self, events: Sequence[NewTransfer], *, actor: str
    ) -> list[TransferResult]:
        """Apply a batch of up to 8,190 transfer events in one transaction, one result each."""
        return self.run_batch(events, actor=actor).results

    def create_transfer(self, event: NewTransfer, *, actor: str) -> Transfer:
        """Apply one transfer and return it as recorded; raise the specific error on refusal."""
        outcome = self.run_batch([event], actor=actor)
        result = outcome.results[0]
        if result is TransferResult.OK:
            return outcome.records[-1]
        if result is TransferResult.EXISTS:
            return self.get_transfer(event.id)
        raise transfer_error(result, event.id)

    def run_batch(self, events: Sequence[NewTransfer], *, actor: str) -> BatchOutcome:
        """Apply a batch and return everything it decided: results and the records written."""
        _check_size(len(events))
        if not events:
            return BatchOutcome(results=[])
        read_ids = False
        for _attempt in range(ATTEMPTS):
            try:
                with self._store.unit() as session:
                    now = self._clock.now()
                    view = self._read(session, events, read_ids=read_ids)
                    # Records stream to storage as they are decided: the database indexes the
                    # first while Python decides the rest.
                    with session.appender() as append:
                        outcome = apply_transfers(view, events, now=now, sink=append)
                    if outcome.records or outcome.touched:
                        session.write(outcome)
                        _audit_batch(session, outcome, "ledger.transfers_applied", actor)
                    return outcome
            except StoreContention:
                read_ids = True
        raise Unavailable("the batch met contention on every attempt; retry")

    def _read(
        self, session: LedgerSession, events: Sequence[NewTransfer], *, read_ids: bool
    ) -> LedgerView:
        """What the batch needs to be decided, its accounts locked."""
        account_ids: set[str] = set()
        pending_ids: set[str] = set()
        for event in events:
            if type(event.debit_account_id) is str:
                account_ids.add(event.debit_account_id)
            if type(event.credit_account_id) is str:
                account_ids.add(event.credit_account_id)
            if type(event.pending_id) is str:
                pending_ids.add(event.pending_id)
        wanted = (
            pending_ids | {e.id for e in events if type(e.id) is str} if read_ids else pending_ids
        )
        # Recorded transfers never change, so they may be read before the locks are taken.
        transfers = session.find_transfers(wanted) if wanted else {}
        pending_found: list[str] = []
        for pending_id in pending_ids:
            target = transfers.get(pending_id)
            if target is not None and target.succeeded:
                pending_found.append(pending_id)
                account_ids.add(target.debit_account_id)  # type: ignore[arg-type]
                account_ids.add(target.credit_account_id)  # type: ignore[arg-type]
        accounts = session.lock_accounts(account_ids)
        # Whether a pending transfer is settled can change until its accounts are locked.
        settled = session.find_settled(pending_found) if pending_found else {}
        return LedgerView(accounts=accounts, transfers=transfers, settled=settled)

    def expire_due(self, *, actor: str, limit: int = MAX_BATCH) -> int:
        """Release pending transfers whose timeout has passed; return how many expired."""
        for _attempt in range(ATTEMPTS):
            try:
                with self._store.unit() as session:
                    now = self._clock.now()
                    due = session.due_pending(now, limit)
                    if not due:
                        return 0
                    account_ids: set[str] = set()
                    for target in due:
                        account_ids.add(target.debit_account_id)  # type: ignore[arg-type]
                        account_ids.add(target.credit_account_id)  # type: ignore[arg-type]
                    accounts = session.lock_accounts(account_ids)
                    settled = session.find_settled([t.id for t in due])
                    view = LedgerView(accounts, {t.id: t for t in due}, settled)
                    outcome = expire_pending(view, due, now=now)
                    with session.appender() as append:
                        for record in outcome.records:
                            append(record)
                    session.write(outcome)
                    if outcome.records:
                        _audit_batch(session, outcome, "ledger.pending_expired", actor)
                    return len(outcome.records)
            except StoreContention:
                continue
        raise Unavailable("expiry met contention on every attempt; retry")

    def get_transfer(self, transfer_id: str) -> Transfer:
        """The transfer as recorded; :class:`TransferNotFound` if the ledger never saw it."""
        found = self.lookup_transfers([transfer_id])
        if not found:
            raise TransferNotFound(
                f"no transfer {transfer_id!r}", extra={"transfer_id": transfer_id}
            )
        return found[0]

    def lookup_transfers(self, transfer_ids: Sequence[str]) -> list[Transfer]:
        """The recorded transfers among ``transfer_ids``, in the order asked."""
        _check_size(len(transfer_ids))
        with self._store.unit() as session:
            found = session.find_transfers(set(transfer_ids))
        return [found[i] for i in transfer_ids if i in found]

    def trial_balance(self) -> list[TrialBalance]:
        """The books per currency: debits equal credits and no account over its limit.

        A check for operators (``baobab ledger check``): it reads every account, so it is not
        for the hot path.
        """
        with self._store.unit() as session:
            return session.trial_balance()

    def history(self, account_id: str, *, after: int = 0, limit: int = 100) -> HistoryPage:
        """Succeeded transfers touching ``account_id``, oldest first, ``limit`` at a time."""
        limit = max(1, min(limit, MAX_PAGE))
        with self._store.unit() as session:
            if not session.find_accounts([account_id]):
                raise AccountNotFound(
                    f"no account {account_id!r}", extra={"account_id": account_id}
                )
            rows = session.history(account_id, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return HistoryPage(account_id, rows, rows[-1].sequence if more else None)


def _audit_batch(session: LedgerSession, outcome: BatchOutcome, action: str, actor: str) -> None:
    first = outcome.records[0]
    applied = sum(1 for r in outcome.records if r.succeeded)
    details = {
        "events": str(len(outcome.results) or len(outcome.records)),
        "applied": str(applied),
        "recorded_refusals": str(len(outcome.records) - applied),
        "accounts": str(len(outcome.touched)),
    }
    # The subject names the batch by its first recorded transfer: opaque, and enough to find it.
    session.audit(AuditEvent(action, actor, first.id, details=details), at=first.timestamp)


def _check_size(count: int) -> None:
    if count > MAX_BATCH:
        raise BatchTooLarge(
            f"a batch holds at most {MAX_BATCH} events, got {count}",
            extra={"max": MAX_BATCH, "count": count},
        )
