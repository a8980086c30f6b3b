"""The ledger: double-entry accounts and two-phase transfers, batched, idempotent, checked.

Its public face: the :class:`LedgerService` facade and the :class:`TransferBatcher` in front of
it, the commands they take (:class:`NewAccount`, :class:`NewTransfer`), what they return
(:class:`Account`, :class:`Transfer`, :class:`Balance`, result codes) and the ledger's errors.
Other blocks (the switch) import only from here.
"""

from baobab.ledger.batcher import Outcome, TransferBatcher
from baobab.ledger.domain import (
    LEDGER_SCOPES,
    MAX_BATCH,
    Account,
    AccountFlags,
    AccountKind,
    Balance,
    NewAccount,
    NewTransfer,
    Transfer,
    TransferFlags,
)
from baobab.ledger.errors import (
    AccountNotFound,
    AccountResult,
    BatchTooLarge,
    LedgerError,
    TransferNotFound,
    TransferResult,
)
from baobab.ledger.ports import LedgerStore, StoreContention
from baobab.ledger.services import HistoryPage, LedgerService

__all__ = [
    "LEDGER_SCOPES",
    "MAX_BATCH",
    "Account",
    "AccountFlags",
    "AccountKind",
    "AccountNotFound",
    "AccountResult",
    "Balance",
    "BatchTooLarge",
    "HistoryPage",
    "LedgerError",
    "LedgerService",
    "LedgerStore",
    "NewAccount",
    "NewTransfer",
    "Outcome",
    "StoreContention",
    "Transfer",
    "TransferBatcher",
    "TransferFlags",
    "TransferNotFound",
    "TransferResult",
]
