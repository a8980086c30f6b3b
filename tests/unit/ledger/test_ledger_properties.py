"""Properties over random sequences of creates, posts, voids, expiries, chains and duplicates."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baobab.kernel.clock import ManualClock
from baobab.ledger import LedgerService, NewTransfer, TransferFlags
from baobab.ledger.domain import Transfer
from tests.unit.ledger.fakes import InMemoryLedgerStore
from tests.unit.ledger.model import Model
from tests.unit.ledger.simulation import ACCOUNTS, START, check_invariants

IDS = [f"t{i}" for i in range(12)]  # a small pool, so ids collide and retries happen
ACCOUNT_IDS = [a.id for a in ACCOUNTS] + ["ghost"]
F = TransferFlags

events = st.builds(
    NewTransfer,
    id=st.sampled_from(IDS),
    debit_account_id=st.sampled_from([*ACCOUNT_IDS, None]),
    credit_account_id=st.sampled_from([*ACCOUNT_IDS, None]),
    amount=st.one_of(st.none(), st.integers(-1, 3_000), st.just(2**63 - 1), st.just(2**63)),
    currency=st.sampled_from(["USD", "USD", "USD", "EUR", None]),
    pending_id=st.one_of(st.none(), st.sampled_from(IDS)),
    timeout=st.sampled_from([0, 0, 1, 5]),
    flags=st.sampled_from(
        [F.NONE, F.NONE, F.PENDING, F.POST_PENDING, F.VOID_PENDING, F.LINKED, F.LINKED | F.PENDING]
    ),
)
# A step is a batch and then how many seconds pass (an expiry sweep runs after each step).
steps = st.lists(
    st.tuples(st.lists(events, min_size=1, max_size=8), st.sampled_from([0, 1, 2, 6])),
    min_size=1,
    max_size=12,
)
FUNDING = [
    NewTransfer("fund-a", "usd-bank", "usd-a", 2_000, "USD"),
    NewTransfer("fund-b", "usd-bank", "usd-b", 700, "USD"),
    NewTransfer("fund-cap", "usd-cap", "usd-bank", 1_500, "USD"),
    NewTransfer("fund-e", "eur-bank", "eur-a", 900, "EUR"),
]


def _ledger() -> tuple[LedgerService, InMemoryLedgerStore, ManualClock]:
    clock = ManualClock(START)
    store = InMemoryLedgerStore()
    ledger = LedgerService(store, clock)
    assert all(r.succeeded for r in ledger.create_accounts(ACCOUNTS, actor="tests"))
    assert all(r.succeeded for r in ledger.create_transfers(FUNDING, actor="tests"))
    return ledger, store, clock


def _snapshot(store: InMemoryLedgerStore) -> tuple[object, ...]:
    state = store.state
    totals = {
        i: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        for i, a in state.accounts.items()
    }
    return (totals, dict(state.transfers), dict(state.settled), set(state.timeouts))


QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(steps)
def test_money_is_conserved_limits_hold_and_the_model_agrees(
    plan: list[tuple[list[NewTransfer], int]],
) -> None:
    ledger, _store, clock = _ledger()
    model = Model()
    for account in ACCOUNTS:
        model.open(account)
    model.apply_batch(FUNDING, clock.now())
    for batch, seconds in plan:
        assert ledger.create_transfers(batch, actor="tests") == model.apply_batch(
            batch, clock.now()
        )
        clock.advance(timedelta(seconds=seconds))
        assert ledger.expire_due(actor="tests") == model.expire(clock.now())
        check_invariants(ledger)
    assert {
        a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        for a in ledger.lookup_accounts([a.id for a in ACCOUNTS])
    } == model.totals()


@QUICK
@given(steps, st.data())
def test_replaying_any_prefix_changes_nothing(
    plan: list[tuple[list[NewTransfer], int]], data: st.DataObject
) -> None:
    ledger, store, _clock = _ledger()
    cut = data.draw(st.integers(1, len(plan)), label="prefix length")
    prefix = [batch for batch, _ in plan[:cut]]
    first = [ledger.create_transfers(batch, actor="tests") for batch in prefix]
    before = _snapshot(store)
    again = [ledger.create_transfers(batch, actor="tests") for batch in prefix]
    assert _snapshot(store) == before
    # Every event that succeeded the first time is now an idempotent "exists".
    for results, repeat in zip(first, again, strict=True):
        for result, second in zip(results, repeat, strict=True):
            if result.succeeded:
                assert second.value == "exists"


@QUICK
@given(st.lists(events, min_size=1, max_size=8))
def test_a_recorded_transfer_is_never_changed(batch: list[NewTransfer]) -> None:
    ledger, store, _clock = _ledger()
    ledger.create_transfers(batch, actor="tests")
    recorded: dict[str, Transfer] = dict(store.state.transfers)
    ledger.create_transfers(batch, actor="tests")
    ledger.create_transfers(list(reversed(batch)), actor="tests")
    for transfer_id, transfer in recorded.items():
        assert store.state.transfers[transfer_id] == transfer
