"""What the ledger needs from outside: storage, in units of work.

A :class:`LedgerStore` opens units of work; each :class:`LedgerSession` is one database
transaction. The ledger's services read what a batch needs, decide the batch in memory with
:mod:`baobab.ledger.engine`, and hand the outcome back to the session to write. Nothing is
written unless the unit of work ends without an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from baobab.kernel.audit import AuditEvent
from baobab.kernel.errors import Conflict
from baobab.ledger.domain import Account, Transfer, TrialBalance
from baobab.ledger.engine import BatchOutcome
from baobab.ledger.errors import LedgerError


class StoreContention(LedgerError, Conflict):
    """Storage refused the write because a concurrent unit of work got there first.

    Raised when an id the batch took for new was stored meanwhile, or the database broke a
    deadlock. Nothing was written; the service retries the batch, this time reading every id.
    """

    code = "ledger.store_contention"
    title = "Concurrent write, retry"


class LedgerSession(Protocol):
    """One unit of work (database transaction) on the ledger's storage."""

    def lock_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        """The accounts among ``ids`` that exist, locked until the unit of work ends.

        Locks are taken in ascending id order so concurrent batches never deadlock on them.
        """
        ...

    def find_accounts(self, ids: Collection[str]) -> dict[str, Account]:
        """The accounts among ``ids`` that exist, without locking them."""
        ...

    def find_transfers(self, ids: Collection[str]) -> dict[str, Transfer]:
        """The recorded transfers (succeeded or refused) among ``ids``."""
        ...

    def find_settled(self, pending_ids: Collection[str]) -> dict[str, int]:
        """For each of ``pending_ids`` already posted, voided or expired, the flag that did it."""
        ...

    def insert_accounts(self, accounts: Sequence[Account]) -> None:
        """Add new accounts; raise :class:`StoreContention` if an id is taken."""
        ...

    def appender(self) -> AbstractContextManager[Callable[[Transfer], None]]:
        """A sink for new transfer records, all stored when the block exits without error.

        Raises :class:`StoreContention` (from the sink or at the end of the block) if a
        record's id is already stored.
        """
        ...

    def write(self, outcome: BatchOutcome) -> None:
        """Store the totals of ``outcome.touched`` and the pending-timeout changes.

        The records themselves go through :meth:`appender`.
        """
        ...

    def due_pending(self, now: datetime, limit: int) -> list[Transfer]:
        """Up to ``limit`` pending transfers whose timeout is at or before ``now``."""
        ...

    def history(self, account_id: str, *, after: int, limit: int) -> list[Transfer]:
        """Succeeded transfers touching ``account_id`` with ``sequence > after``, oldest first."""
        ...

    def trial_balance(self) -> list[TrialBalance]:
        """Totals per currency over every account, and how many accounts break their limits."""
        ...

    def audit(self, event: AuditEvent, *, at: datetime) -> None:
        """Append ``event`` to the audit trail, in this unit of work."""
        ...


class LedgerStore(Protocol):
    """Opens units of work on the ledger's storage."""

    def unit(self) -> AbstractContextManager[LedgerSession]:
        """A new unit of work: committed when the block exits normally, else rolled back."""
        ...
