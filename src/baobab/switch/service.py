"""The switch assembled: its services over one store, ledger and outbox worker. Built by
:func:`assemble` from the composition root."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from baobab.kernel.clock import Clock
from baobab.kernel.signing import Signer, VerificationKey
from baobab.ledger import LedgerService, TransferBatcher
from baobab.switch.bulk import BulkTransferService
from baobab.switch.gate import Gate
from baobab.switch.messages import Messages
from baobab.switch.outbox import CallbackWorker
from baobab.switch.participants import ParticipantService
from baobab.switch.parties import Oracle, PartyService
from baobab.switch.ports import BulkStore, CallbackSender, SettlementStore, SwitchStore
from baobab.switch.quotes import BULK_QUOTES, QuoteService
from baobab.switch.settlement import SettlementService
from baobab.switch.transfers import TransferService


@dataclass(frozen=True, slots=True)
class Switch:
    """The switch's services. ``worker`` delivers callbacks once started."""

    store: SwitchStore
    participants: ParticipantService
    transfers: TransferService
    parties: PartyService
    quotes: QuoteService
    bulk_quotes: QuoteService
    settlement: SettlementService
    bulk: BulkTransferService
    gate: Gate
    worker: CallbackWorker


def assemble(
    *,
    store: SwitchStore,
    ledger: LedgerService,
    batcher: TransferBatcher,
    clock: Clock,
    signer: Signer | None,
    sender: CallbackSender,
    member_roles: Callable[[str], frozenset[str] | None],
    keys_of: Callable[[str], Sequence[VerificationKey]],
    require_signature: bool,
    oracle: Oracle,
    settlement_store: SettlementStore,
    bulk_store: BulkStore,
    oracles: Mapping[str, Oracle] | None = None,
    settlement_grace: timedelta = timedelta(seconds=30),
) -> Switch:
    """Wire the switch's services together. ``oracle`` answers party lookups for every party id
    type not in ``oracles``; ``settlement_grace`` is how long after closing a window its
    settlement may start."""
    participants = ParticipantService(
        store=store, ledger=ledger, clock=clock, member_roles=member_roles
    )
    worker = CallbackWorker(store=store, sender=sender, clock=clock, mark_every=0.2)
    store.listen(worker.hand_over)
    messages = Messages(signer)
    transfers = TransferService(
        store=store,
        participants=participants,
        ledger=ledger,
        batcher=batcher,
        messages=messages,
        clock=clock,
    )
    bulk = BulkTransferService(
        store=bulk_store, participants=participants, batcher=batcher, messages=messages, clock=clock
    )
    worker.sweep = lambda: transfers.sweep() + bulk.sweep()
    parties = PartyService(
        send=worker.send_unrecorded,
        participants=participants,
        default=oracle,
        oracles=oracles,
        messages=messages,
        clock=clock,
    )
    quotes = QuoteService(
        store=store,
        send=worker.send_unrecorded,
        participants=participants,
        messages=messages,
        clock=clock,
    )
    bulk_quotes = QuoteService(
        store=store,
        send=worker.send_unrecorded,
        participants=participants,
        messages=messages,
        clock=clock,
        kind=BULK_QUOTES,
    )
    gate = Gate(participants=participants, keys_of=keys_of, require_signature=require_signature)
    settlement = SettlementService(
        store=settlement_store, ledger=ledger, clock=clock, grace=settlement_grace
    )
    return Switch(
        store, participants, transfers, parties, quotes, bulk_quotes, settlement, bulk, gate, worker
    )
