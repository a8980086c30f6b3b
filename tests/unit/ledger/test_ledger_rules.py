"""The ledger's rules, one case each, driven through the service over the in-memory fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baobab.kernel.clock import ManualClock
from baobab.kernel.errors import Conflict, InvalidInput, NotFound
from baobab.kernel.money import INT64_MAX
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    AccountNotFound,
    AccountResult,
    BatchTooLarge,
    LedgerError,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.ledger.domain import Account
from baobab.ledger.errors import TRANSFER_ERRORS, transfer_error
from tests.unit.ledger.fakes import InMemoryLedgerStore

R = TransferResult
PENDING, POST, VOID, LINKED = (
    TransferFlags.PENDING,
    TransferFlags.POST_PENDING,
    TransferFlags.VOID_PENDING,
    TransferFlags.LINKED,
)
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CAPPED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


class World:
    """A ledger with a funding account, two wallets that cannot go negative, and a EUR wallet."""

    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        self.store = InMemoryLedgerStore()
        self.ledger = LedgerService(self.store, self.clock)
        results = self.ledger.create_accounts(
            [
                NewAccount("bank", "USD", AccountKind.SETTLEMENT, "central-bank"),
                NewAccount("alice", "USD", AccountKind.POSITION, "fsp-a", WALLET),
                NewAccount("bob", "USD", AccountKind.POSITION, "fsp-b", WALLET),
                NewAccount("cap", "USD", AccountKind.LIQUIDITY, "fsp-c", CAPPED),
                NewAccount("euro", "EUR", AccountKind.POSITION, "fsp-e", WALLET),
            ],
            actor="tests",
        )
        assert all(r is AccountResult.OK for r in results)
        assert self.apply(t("fund", "bank", "alice", 1_000)) == [R.OK]

    def apply(self, *events: NewTransfer) -> list[TransferResult]:
        return self.ledger.create_transfers(events, actor="tests")

    def account(self, account_id: str) -> Account:
        return self.ledger.get_account(account_id)

    def totals(self, account_id: str) -> tuple[int, int, int, int]:
        a = self.account(account_id)
        return (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)


def t(
    transfer_id: str,
    debit: str | None,
    credit: str | None,
    amount: int | None,
    currency: str | None = "USD",
    **kwargs: object,
) -> NewTransfer:
    return NewTransfer(transfer_id, debit, credit, amount, currency, **kwargs)  # type: ignore[arg-type]


def settle(
    transfer_id: str, pending_id: str, flags: TransferFlags, **kwargs: object
) -> NewTransfer:
    return NewTransfer(transfer_id, pending_id=pending_id, flags=flags, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def world() -> World:
    return World()


def test_a_single_phase_transfer_moves_posted_amounts(world: World) -> None:
    assert world.apply(t("t1", "alice", "bob", 300)) == [R.OK]
    assert world.totals("alice") == (0, 300, 0, 1_000)
    assert world.totals("bob") == (0, 0, 0, 300)
    assert world.ledger.balance("alice").posted == 700


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (t("x1", "ghost", "bob", 1), R.DEBIT_ACCOUNT_NOT_FOUND),
        (t("x2", "alice", "ghost", 1), R.CREDIT_ACCOUNT_NOT_FOUND),
        (t("x3", "alice", "euro", 1), R.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY),
        (t("x4", "alice", "bob", 1, "EUR"), R.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS),
        (t("x5", "alice", "bob", 0), R.AMOUNT_MUST_BE_POSITIVE),
        (t("x6", "alice", "bob", -5), R.AMOUNT_MUST_BE_POSITIVE),
        (t("x7", "alice", "bob", INT64_MAX + 1), R.AMOUNT_EXCEEDS_64_BITS),
        (t("x8", "alice", "alice", 1), R.ACCOUNTS_MUST_BE_DIFFERENT),
        (t("x9", "alice", "bob", 1, "usd"), R.CURRENCY_INVALID),
        (t("bad id", "alice", "bob", 1), R.ID_INVALID),
        (t("x10", "alice", "bob", 1_001), R.EXCEEDS_CREDITS),
        (t("x11", "bank", "cap", 1), R.EXCEEDS_DEBITS),
        (t("x12", "alice", "bob", 1, flags=TransferFlags(32)), R.RESERVED_FLAG),
        (t("x13", "alice", "bob", 1, flags=TransferFlags.EXPIRE_PENDING), R.RESERVED_FLAG),
        (t("x14", "alice", "bob", 1, flags=PENDING | POST), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
        (t("x15", "alice", "bob", 1, timeout=5), R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER),
        (t("x16", "alice", "bob", 1, flags=PENDING, timeout=-1), R.TIMEOUT_INVALID),
        (t("x17", "alice", "bob", 1, pending_id="fund"), R.PENDING_ID_MUST_BE_EMPTY),
        (t("x18", None, "bob", 1), R.DEBIT_ACCOUNT_ID_INVALID),
        (t("x19", "alice", None, 1), R.CREDIT_ACCOUNT_ID_INVALID),
        (t("x20", "alice", "bob", 1, reference="r" * 257), R.REFERENCE_TOO_LONG),
        (settle("x21", "x21", POST), R.PENDING_ID_MUST_BE_DIFFERENT),
        (settle("x22", "", POST), R.PENDING_ID_INVALID),
        (settle("x23", "nothing", POST), R.PENDING_TRANSFER_NOT_FOUND),
        (settle("x24", "fund", POST), R.PENDING_TRANSFER_NOT_PENDING),
    ],
)
def test_bad_input_gets_its_own_code_and_changes_nothing(
    world: World, event: NewTransfer, expected: TransferResult
) -> None:
    before = {a: world.totals(a) for a in ("bank", "alice", "bob", "cap", "euro")}
    assert world.apply(event) == [expected]
    assert {a: world.totals(a) for a in before} == before
    with pytest.raises(LedgerError) as raised:
        world.ledger.create_transfer(event, actor="tests")
    assert raised.value.code == f"ledger.{expected.value}"


def test_error_kinds_follow_the_kernel_tree() -> None:
    assert isinstance(transfer_error(R.DEBIT_ACCOUNT_NOT_FOUND, "t"), NotFound)
    assert isinstance(transfer_error(R.EXCEEDS_CREDITS, "t"), Conflict)
    assert isinstance(transfer_error(R.EXISTS_WITH_DIFFERENT_AMOUNT, "t"), Conflict)
    assert isinstance(transfer_error(R.PENDING_TRANSFER_ALREADY_VOIDED, "t"), Conflict)
    assert isinstance(transfer_error(R.AMOUNT_MUST_BE_POSITIVE, "t"), InvalidInput)
    assert isinstance(transfer_error(R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT, "t"), InvalidInput)
    assert len({cls.code for cls in TRANSFER_ERRORS.values()}) == len(TRANSFER_ERRORS)


def test_two_phase_reserves_then_posts_part_and_releases_the_rest(world: World) -> None:
    assert world.apply(t("p1", "alice", "bob", 600, flags=PENDING)) == [R.OK]
    assert world.totals("alice") == (600, 0, 0, 1_000)
    assert world.ledger.balance("alice").available == 400
    # The reservation counts against the limit.
    assert world.apply(t("t2", "alice", "bob", 401)) == [R.EXCEEDS_CREDITS]
    assert world.apply(settle("p1-post", "p1", POST, amount=601)) == [
        R.EXCEEDS_PENDING_TRANSFER_AMOUNT
    ]
    assert world.apply(settle("p1-post2", "p1", POST, amount=250)) == [R.OK]
    assert world.totals("alice") == (0, 250, 0, 1_000)
    assert world.totals("bob") == (0, 0, 0, 250)
    assert world.apply(settle("p1-void", "p1", VOID)) == [R.PENDING_TRANSFER_ALREADY_POSTED]
    assert world.apply(settle("p1-post3", "p1", POST)) == [R.PENDING_TRANSFER_ALREADY_POSTED]


def test_void_releases_and_a_voided_transfer_cannot_be_posted(world: World) -> None:
    assert world.apply(t("p1", "alice", "bob", 600, flags=PENDING)) == [R.OK]
    assert world.apply(settle("v1", "p1", VOID, amount=599)) == [
        R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
    ]
    assert world.apply(settle("v2", "p1", VOID, debit_account_id="bob")) == [
        R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
    ]
    assert world.apply(settle("v3", "p1", VOID, credit_account_id="bank")) == [
        R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
    ]
    assert world.apply(settle("v4", "p1", VOID, currency="EUR")) == [
        R.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY
    ]
    assert world.apply(settle("v5", "p1", VOID)) == [R.OK]
    assert world.totals("alice") == (0, 0, 0, 1_000)
    assert world.apply(settle("v6", "p1", POST)) == [R.PENDING_TRANSFER_ALREADY_VOIDED]


def test_an_expired_pending_transfer_cannot_be_posted_and_is_released(world: World) -> None:
    assert world.apply(t("p1", "alice", "bob", 600, flags=PENDING, timeout=30)) == [R.OK]
    world.clock.advance(timedelta(seconds=29))
    assert world.ledger.expire_due(actor="tests") == 0
    world.clock.advance(timedelta(seconds=1))
    # Past the deadline a post fails even before the sweeper has run ...
    assert world.apply(settle("late", "p1", POST)) == [R.PENDING_TRANSFER_EXPIRED]
    assert world.totals("alice") == (600, 0, 0, 1_000)
    # ... and the sweeper gives the reservation back, recording why.
    assert world.ledger.expire_due(actor="tests") == 1
    assert world.ledger.expire_due(actor="tests") == 0
    assert world.totals("alice") == (0, 0, 0, 1_000)
    assert world.apply(settle("later", "p1", VOID)) == [R.PENDING_TRANSFER_EXPIRED]
    history = world.ledger.history("alice").transfers
    assert [h.id for h in history] == ["fund", "p1", "p1~expired"]


def test_a_settled_pending_transfer_is_not_expired(world: World) -> None:
    assert world.apply(t("p1", "alice", "bob", 600, flags=PENDING, timeout=30)) == [R.OK]
    assert world.apply(settle("post", "p1", POST)) == [R.OK]
    world.clock.advance(timedelta(minutes=5))
    assert world.ledger.expire_due(actor="tests") == 0
    assert world.totals("alice") == (0, 600, 0, 1_000)


def test_same_id_same_fields_returns_the_original_outcome(world: World) -> None:
    first = world.apply(t("t1", "alice", "bob", 300), t("t2", "alice", "bob", 5_000))
    assert first == [R.OK, R.EXCEEDS_CREDITS]
    world.apply(t("top-up", "bank", "alice", 10_000))
    # The refusal was recorded: even with money now there, t2 is refused again, never applied.
    again = world.apply(t("t1", "alice", "bob", 300), t("t2", "alice", "bob", 5_000))
    assert again == [R.EXISTS, R.EXCEEDS_CREDITS]
    assert world.totals("bob") == (0, 0, 0, 300)
    assert world.ledger.create_transfer(t("t1", "alice", "bob", 300), actor="tests").amount == 300


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        (t("t1", "alice", "bob", 301), R.EXISTS_WITH_DIFFERENT_AMOUNT),
        (t("t1", "bank", "bob", 300), R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID),
        (t("t1", "alice", "bank", 300), R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID),
        (t("t1", "alice", "bob", 300, "EUR"), R.EXISTS_WITH_DIFFERENT_CURRENCY),
        (t("t1", "alice", "bob", 300, flags=PENDING), R.EXISTS_WITH_DIFFERENT_FLAGS),
        (t("t1", "alice", "bob", 300, reference="x"), R.EXISTS_WITH_DIFFERENT_REFERENCE),
        (settle("t1", "fund", POST), R.EXISTS_WITH_DIFFERENT_FLAGS),
    ],
)
def test_same_id_different_fields_is_refused(
    world: World, retry: NewTransfer, expected: TransferResult
) -> None:
    assert world.apply(t("t1", "alice", "bob", 300)) == [R.OK]
    assert world.apply(retry) == [expected]
    assert world.totals("bob") == (0, 0, 0, 300)


def test_a_post_retried_with_or_without_the_optional_fields_exists(world: World) -> None:
    world.apply(t("p1", "alice", "bob", 600, flags=PENDING, timeout=60))
    assert world.apply(settle("post", "p1", POST)) == [R.OK]
    assert world.apply(settle("post", "p1", POST, amount=600, debit_account_id="alice")) == [
        R.EXISTS
    ]
    assert world.apply(settle("post", "p1", POST, amount=500)) == [R.EXISTS_WITH_DIFFERENT_AMOUNT]
    assert world.apply(t("p1", "alice", "bob", 600, flags=PENDING, timeout=61)) == [
        R.EXISTS_WITH_DIFFERENT_TIMEOUT
    ]
    assert world.apply(settle("post", "fund", POST)) == [R.EXISTS_WITH_DIFFERENT_PENDING_ID]


def test_duplicates_inside_one_batch_apply_once(world: World) -> None:
    event = t("t1", "alice", "bob", 300)
    assert world.apply(event, event, event) == [R.OK, R.EXISTS, R.EXISTS]
    assert world.totals("bob") == (0, 0, 0, 300)


def test_a_linked_chain_applies_all_or_nothing(world: World) -> None:
    results = world.apply(
        t("c1", "alice", "bob", 100, flags=LINKED),
        t("c2", "bob", "bank", 100, flags=LINKED),
        t("c3", "alice", "bob", 5_000),
        t("after", "alice", "bob", 1),
    )
    assert results == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.OK]
    assert world.totals("bob") == (0, 0, 0, 1)
    # The refusal is recorded for every event of the chain: a retry fails the same way, even
    # once the money is there.
    recorded = world.ledger.lookup_transfers(["c1", "c2", "c3"])
    assert [r.result for r in recorded] == [R.LINKED_EVENT_FAILED] * 2 + [R.EXCEEDS_CREDITS]
    world.apply(t("top-up", "bank", "alice", 10_000))
    retry = world.apply(
        t("c1", "alice", "bob", 100, flags=LINKED),
        t("c2", "bob", "bank", 100, flags=LINKED),
        t("c3", "alice", "bob", 5_000),
    )
    assert retry == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS]
    ok = world.apply(
        t("d1", "alice", "bob", 100, flags=LINKED),
        t("d2", "bob", "bank", 100, flags=LINKED),
        t("d3", "alice", "bob", 50),
    )
    assert ok == [R.OK, R.OK, R.OK]
    assert world.totals("bob") == (0, 100, 0, 151)
    # Retrying the whole chain is harmless.
    retried = world.apply(
        t("d1", "alice", "bob", 100, flags=LINKED),
        t("d2", "bob", "bank", 100, flags=LINKED),
        t("d3", "alice", "bob", 50),
    )
    assert retried == [R.EXISTS, R.EXISTS, R.EXISTS]
    assert world.totals("bob") == (0, 100, 0, 151)


def test_a_chain_failing_on_malformed_input_records_nothing(world: World) -> None:
    results = world.apply(
        t("m1", "alice", "bob", 100, flags=LINKED),
        t("m2", "alice", "bob", 0),
    )
    assert results == [R.LINKED_EVENT_FAILED, R.AMOUNT_MUST_BE_POSITIVE]
    assert world.ledger.lookup_transfers(["m1", "m2"]) == []


def test_a_chain_mixing_old_and_new_ids_fails_with_the_retry_answers(world: World) -> None:
    world.apply(t("old", "alice", "bob", 5_000))  # refused and recorded
    results = world.apply(
        t("new", "alice", "bob", 1, flags=LINKED),
        t("old", "alice", "bob", 5_000, flags=LINKED),
        t("new2", "alice", "bob", 1),
    )
    assert results == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED]
    assert world.totals("bob") == (0, 0, 0, 0)


def test_a_chain_undoes_posts_and_reservations(world: World) -> None:
    world.apply(t("p1", "alice", "bob", 600, flags=PENDING))
    results = world.apply(
        NewTransfer("post", pending_id="p1", flags=POST | LINKED),
        t("res", "alice", "bob", 300, flags=PENDING | LINKED),
        t("bad", "alice", "ghost", 1),
    )
    assert results == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.CREDIT_ACCOUNT_NOT_FOUND]
    assert world.totals("alice") == (600, 0, 0, 1_000)
    assert world.apply(settle("post", "p1", POST)) == [R.LINKED_EVENT_FAILED]
    assert world.apply(settle("post-again", "p1", POST)) == [R.OK]


def test_a_chain_left_open_at_the_end_of_the_batch_fails(world: World) -> None:
    results = world.apply(
        t("ok", "alice", "bob", 1),
        t("c1", "alice", "bob", 1, flags=LINKED),
        t("c2", "alice", "bob", 1, flags=LINKED),
    )
    assert results == [R.OK, R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    assert world.totals("bob") == (0, 0, 0, 1)


def test_pending_and_post_in_the_same_batch(world: World) -> None:
    results = world.apply(
        t("p1", "alice", "bob", 600, flags=PENDING),
        settle("post", "p1", POST, amount=100),
        settle("void", "p1", VOID),
    )
    assert results == [R.OK, R.OK, R.PENDING_TRANSFER_ALREADY_POSTED]
    assert world.totals("alice") == (0, 100, 0, 1_000)


def test_totals_never_overflow_64_bits(world: World) -> None:
    world.ledger.create_accounts(
        [
            NewAccount("src", "USD", AccountKind.SUSPENSE, "ops"),
            NewAccount("big", "USD", AccountKind.SUSPENSE, "ops"),
        ],
        actor="tests",
    )
    assert world.apply(t("b1", "src", "big", INT64_MAX)) == [R.OK]
    assert world.apply(t("b2", "bank", "big", 1)) == [R.OVERFLOWS_CREDITS]
    assert world.apply(t("b3", "src", "bank", 1)) == [R.OVERFLOWS_DEBITS]
    assert world.apply(t("b4", "src", "bank", 1, flags=PENDING)) == [R.OK]
    assert world.apply(t("b5", "bank", "big", 1, flags=PENDING)) == [R.OK]
    assert world.apply(settle("b6", "b5", POST)) == [R.OVERFLOWS_CREDITS]
    assert world.totals("big") == (0, 0, 1, INT64_MAX)


def test_account_creation_is_idempotent_and_checked(world: World) -> None:
    again = NewAccount("alice", "USD", AccountKind.POSITION, "fsp-a", WALLET)
    assert world.ledger.create_accounts(
        [
            again,
            NewAccount("alice", "EUR", AccountKind.POSITION, "fsp-a", WALLET),
            NewAccount("alice", "USD", AccountKind.FEES, "fsp-a", WALLET),
            NewAccount("alice", "USD", AccountKind.POSITION, "fsp-z", WALLET),
            NewAccount("alice", "USD", AccountKind.POSITION, "fsp-a"),
            NewAccount("", "USD", AccountKind.POSITION, "o"),
            NewAccount("n1", "US", AccountKind.POSITION, "o"),
            NewAccount("n2", "USD", "vault", "o"),  # type: ignore[arg-type]
            NewAccount("n3", "USD", AccountKind.POSITION, ""),
            NewAccount("n4", "USD", AccountKind.POSITION, "o", WALLET | CAPPED),
            NewAccount("n5", "USD", AccountKind.POSITION, "o", AccountFlags(8)),
        ],
        actor="tests",
    ) == [
        AccountResult.EXISTS,
        AccountResult.EXISTS_WITH_DIFFERENT_CURRENCY,
        AccountResult.EXISTS_WITH_DIFFERENT_KIND,
        AccountResult.EXISTS_WITH_DIFFERENT_OWNER,
        AccountResult.EXISTS_WITH_DIFFERENT_FLAGS,
        AccountResult.ID_INVALID,
        AccountResult.CURRENCY_INVALID,
        AccountResult.KIND_INVALID,
        AccountResult.OWNER_INVALID,
        AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        AccountResult.RESERVED_FLAG,
    ]
    assert world.ledger.create_account(again, actor="tests").credits_posted == 1_000
    with pytest.raises(LedgerError) as raised:
        world.ledger.create_account(
            NewAccount("n1", "US", AccountKind.POSITION, "o"), actor="tests"
        )
    assert raised.value.code == "ledger.currency_invalid"
    with pytest.raises(AccountNotFound):
        world.ledger.get_account("n1")


def test_balances_read_from_the_normal_side(world: World) -> None:
    world.apply(t("c", "cap", "bank", 500), t("back", "bank", "cap", 200, flags=PENDING))
    capped = world.ledger.balance("cap")
    assert (capped.posted, capped.pending, capped.available) == (500, -200, 300)
    alice = world.ledger.balance("alice")
    assert (alice.posted, alice.pending, alice.available) == (1_000, 0, 1_000)


def test_history_pages_with_a_cursor(world: World) -> None:
    world.apply(*(t(f"h{i}", "alice", "bob", 1) for i in range(7)))
    first = world.ledger.history("bob", limit=3)
    second = world.ledger.history("bob", after=first.next_after or 0, limit=3)
    third = world.ledger.history("bob", after=second.next_after or 0, limit=3)
    ids = [x.id for page in (first, second, third) for x in page.transfers]
    assert ids == [f"h{i}" for i in range(7)]
    assert third.next_after is None
    with pytest.raises(AccountNotFound):
        world.ledger.history("ghost")


def test_a_batch_larger_than_the_limit_is_refused_whole(world: World) -> None:
    events = [t(f"b{i}", "bank", "bob", 1) for i in range(8_191)]
    with pytest.raises(BatchTooLarge):
        world.apply(*events)
    assert world.totals("bob") == (0, 0, 0, 0)
    assert world.apply(*events[:8_190]) == [R.OK] * 8_190


def test_a_write_that_fails_half_way_leaves_nothing_behind(world: World) -> None:
    world.store.fail_after_writes = world.store.writes + 1
    with pytest.raises(Exception, match="crash"):
        world.apply(t("t1", "alice", "bob", 1), t("t2", "alice", "bob", 2))
    assert world.ledger.lookup_transfers(["t1", "t2"]) == []
    assert world.apply(t("t1", "alice", "bob", 1), t("t2", "alice", "bob", 2)) == [R.OK, R.OK]
    assert world.totals("bob") == (0, 0, 0, 3)


def test_money_movement_and_new_accounts_are_audited_per_batch(world: World) -> None:
    trail = world.store.state.audit
    opened = [e for e in trail if e.action == "ledger.accounts_opened"]
    assert [(e.subject, e.actor) for e in opened] == [("bank", "tests")]
    assert dict(opened[0].details) == {
        "opened": "5",
        "currencies": "EUR,USD",
        "kinds": "liquidity,position,settlement",
    }
    before = len(world.store.state.audit)
    world.ledger.create_transfers(
        [t("a1", "alice", "bob", 5), t("a2", "alice", "bob", 5_000), t("a3", "alice", "bob", 0)],
        actor="DEV/GOV/OPS/console",
    )
    entry = world.store.state.audit[-1]
    assert len(world.store.state.audit) == before + 1
    assert (entry.action, entry.actor, entry.subject) == (
        "ledger.transfers_applied",
        "DEV/GOV/OPS/console",
        "a1",
    )
    assert dict(entry.details) == {
        "events": "3",
        "applied": "1",
        "recorded_refusals": "1",
        "accounts": "2",
    }
    # A retry changes nothing and so leaves no entry; neither does a malformed batch.
    world.ledger.create_transfers([t("a1", "alice", "bob", 5)], actor="tests")
    world.ledger.create_transfers([t("a4", "alice", "bob", -1)], actor="tests")
    world.ledger.create_accounts(
        [NewAccount("bank", "USD", AccountKind.SETTLEMENT, "central-bank")], actor="tests"
    )
    assert len(world.store.state.audit) == before + 1
    world.apply(t("p", "alice", "bob", 5, flags=PENDING, timeout=1))
    world.clock.advance(timedelta(seconds=1))
    world.ledger.expire_due(actor="ledger:expiry")
    expired = world.store.state.audit[-1]
    assert (expired.action, expired.actor, expired.subject) == (
        "ledger.pending_expired",
        "ledger:expiry",
        "p~expired",
    )
