"""The ledger's HTTP API in process, on SQLite and PostgreSQL: scopes enforced, bad input refused
with problem+json and a specific code, nothing changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baobab import __version__
from baobab.bootstrap import Platform
from baobab.infra.audit import read_audit, verify_audit
from baobab.infra.database import Database
from baobab.infra.http.app import create_http_app
from baobab.kernel.clock import ManualClock
from baobab.ledger.api import LEDGER_SCOPES, build_router
from baobab.ledger.batcher import TransferBatcher
from tests.support import Caller, register


@dataclasses.dataclass
class LedgerApi:
    client: TestClient
    writer: Caller
    reader: Caller
    stranger: Caller
    clock: ManualClock
    db: Database

    def post(self, path: str, body: Any, caller: Caller | None = None) -> Any:
        return self.client.post(path, json=body, headers=(caller or self.writer).headers)

    def get(self, path: str, caller: Caller | None = None) -> Any:
        return self.client.get(path, headers=(caller or self.reader).headers)

    def totals(self, account_id: str) -> tuple[int, int, int, int]:
        a = self.get(f"/ledger/accounts/{account_id}").json()
        return (a["debits_pending"], a["debits_posted"], a["credits_pending"], a["credits_posted"])


@contextmanager
def serve_ledger(platform: Platform, clock: ManualClock, *, batched: bool) -> Iterator[LedgerApi]:
    """The ledger's routes over the platform's ledger, single transfers applied directly or
    through a batcher of their own (one that sweeps no expiries behind the test's back)."""
    batcher = TransferBatcher(platform.ledger, expire_every=0) if batched else None
    app = create_http_app(
        title="Baobab",
        version=__version__,
        routers=[build_router(ledger=platform.ledger, batcher=batcher)],
        verifier=platform.verifier,
        check_ready=platform.check_ready,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield LedgerApi(
            client=client,
            writer=register(platform, "GOV/OPS/treasury", scopes=LEDGER_SCOPES),
            reader=register(platform, "GOV/OPS/auditor", scopes=("ledger:read",)),
            stranger=register(platform, "COM/BANKA/app", scopes=("directory:read",)),
            clock=clock,
            db=platform.db,
        )
    if batcher is not None:
        batcher.close()


@pytest.fixture(params=[False, True], ids=["direct", "batched"])
def ledger_api(
    request: pytest.FixtureRequest, platform: Platform, clock: ManualClock
) -> Iterator[LedgerApi]:
    """The API with single transfers applied directly, and again through the batcher."""
    with serve_ledger(platform, clock, batched=request.param) as api:
        yield api


@pytest.fixture
def direct_api(platform: Platform, clock: ManualClock) -> Iterator[LedgerApi]:
    with serve_ledger(platform, clock, batched=False) as api:
        yield api


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["type"] == f"urn:baobab:problem:{code}"
    return body


ACCOUNTS: list[dict[str, Any]] = [
    {"id": "bank", "currency": "USD", "kind": "settlement", "owner": "central-bank"},
    {
        "id": "alice",
        "currency": "USD",
        "kind": "position",
        "owner": "fsp-a",
        "flags": ["debits_must_not_exceed_credits"],
    },
    {"id": "bob", "currency": "USD", "kind": "position", "owner": "fsp-b"},
    {"id": "euro", "currency": "EUR", "kind": "position", "owner": "fsp-e"},
]


def fund(api: LedgerApi) -> LedgerApi:
    for account in ACCOUNTS:
        assert api.post("/ledger/accounts", account).status_code == 201
    funding = {"id": "fund", "debit_account_id": "bank", "credit_account_id": "alice",
               "amount": 1_000, "currency": "USD"}  # fmt: skip
    assert api.post("/ledger/transfers", funding).status_code == 201
    return api


@pytest.fixture
def funded(ledger_api: LedgerApi) -> LedgerApi:
    return fund(ledger_api)


@pytest.fixture
def funded_direct(direct_api: LedgerApi) -> LedgerApi:
    return fund(direct_api)


def test_accounts_transfers_balances_and_history(funded: LedgerApi) -> None:
    again = funded.post("/ledger/accounts", ACCOUNTS[1])
    assert again.status_code == 200
    assert again.json()["flags"] == ["debits_must_not_exceed_credits"]
    pay = {"id": "pay-1", "debit_account_id": "alice", "credit_account_id": "bob",
           "amount": 250, "currency": "USD", "reference": "invoice 7"}  # fmt: skip
    created = funded.post("/ledger/transfers", pay)
    assert created.status_code == 201, created.text
    assert created.json()["phase"] == "single"
    assert created.json()["sequence"] > 0
    assert funded.post("/ledger/transfers", pay).status_code == 200
    hold = {"id": "hold", "phase": "pending", "debit_account_id": "alice",
            "credit_account_id": "bob", "amount": 300, "currency": "USD",
            "timeout": 60}  # fmt: skip
    assert funded.post("/ledger/transfers", hold).status_code == 201
    assert funded.get("/ledger/accounts/alice/balance").json() == {
        "currency": "USD",
        "posted": 750,
        "pending": -300,
        "available": 450,
    }
    post = {"id": "hold-post", "phase": "post", "pending_id": "hold", "amount": 100}
    posted = funded.post("/ledger/transfers", post)
    assert posted.status_code == 201
    assert posted.json()["debit_account_id"] == "alice"
    assert funded.totals("alice") == (0, 350, 0, 1_000)
    first = funded.get("/ledger/accounts/alice/transfers?limit=2").json()
    rest = funded.get(f"/ledger/accounts/alice/transfers?after={first['next_after']}").json()
    ids = [t["id"] for t in first["transfers"] + rest["transfers"]]
    assert ids == ["fund", "pay-1", "hold", "hold-post"]
    assert rest["next_after"] is None
    assert funded.get("/ledger/transfers/pay-1").json()["reference"] == "invoice 7"
    books = funded.get("/ledger/trial-balance").json()
    assert [(b["currency"], b["balanced"], b["debits_posted"]) for b in books] == [
        ("EUR", True, 0),
        ("USD", True, 1_350),
    ]
    moved = [e for e in read_audit(funded.db, limit=1000) if e.action.startswith("ledger.")]
    assert {e.actor for e in moved} == {str(funded.writer.client_id)}
    assert verify_audit(funded.db)[1] is None


def test_a_batch_answers_one_result_per_event(funded: LedgerApi) -> None:
    batch = {
        "transfers": [
            {"id": "b1", "debit_account_id": "alice", "credit_account_id": "bob", "amount": 10,
             "currency": "USD", "linked": True},
            {"id": "b2", "debit_account_id": "bob", "credit_account_id": "bank", "amount": 10,
             "currency": "USD"},
            {"id": "b3", "debit_account_id": "alice", "credit_account_id": "bob", "amount": 5_000,
             "currency": "USD"},
            {"id": "b4", "debit_account_id": "alice", "credit_account_id": "bob", "amount": 0,
             "currency": "USD"},
        ]
    }  # fmt: skip
    answer = funded.post("/ledger/transfers/batch", batch)
    assert answer.status_code == 200, answer.text
    assert [r["result"] for r in answer.json()["results"]] == [
        "ok",
        "ok",
        "exceeds_credits",
        "amount_must_be_positive",
    ]
    assert funded.totals("bank") == (0, 1_000, 0, 10)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"debit_account_id": "ghost", "credit_account_id": "bob", "amount": 1, "currency": "USD"},
         404, "ledger.debit_account_not_found"),
        ({"debit_account_id": "alice", "credit_account_id": "euro", "amount": 1, "currency": "USD"},
         400, "ledger.accounts_must_have_the_same_currency"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": 0, "currency": "USD"},
         400, "ledger.amount_must_be_positive"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": -5, "currency": "USD"},
         400, "ledger.amount_must_be_positive"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": 2**63,
          "currency": "USD"}, 400, "ledger.amount_exceeds_64_bits"),
        ({"debit_account_id": "alice", "credit_account_id": "alice", "amount": 1,
          "currency": "USD"}, 400, "ledger.accounts_must_be_different"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": 1_001,
          "currency": "USD"}, 409, "ledger.exceeds_credits"),
        ({"phase": "post", "pending_id": "voided"}, 409, "ledger.pending_transfer_already_voided"),
        ({"phase": "post", "pending_id": "held", "amount": 101}, 409,
         "ledger.exceeds_pending_transfer_amount"),
        ({"phase": "post", "pending_id": "nothing"}, 404, "ledger.pending_transfer_not_found"),
        ({"phase": "void", "pending_id": "held", "linked": True}, 400,
         "ledger.linked_event_chain_open"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": 1.5,
          "currency": "USD"}, 422, "http.invalid_request"),
        ({"debit_account_id": "alice", "credit_account_id": "bob", "amount": 1, "currency": "USD",
          "colour": "red"}, 422, "http.invalid_request"),
        ({"phase": "sideways", "pending_id": "held"}, 422, "http.invalid_request"),
    ],
)  # fmt: skip
def test_bad_transfers_get_a_specific_code_and_change_nothing(
    funded_direct: LedgerApi, body: dict[str, Any], status: int, code: str
) -> None:
    funded = funded_direct
    for setup in (
        {"id": "held", "phase": "pending", "debit_account_id": "alice",
         "credit_account_id": "bob", "amount": 100, "currency": "USD"},
        {"id": "voided", "phase": "pending", "debit_account_id": "alice",
         "credit_account_id": "bob", "amount": 50, "currency": "USD"},
        {"id": "voided-void", "phase": "void", "pending_id": "voided"},
    ):  # fmt: skip
        assert funded.post("/ledger/transfers", setup).status_code == 201
    before = [funded.totals(a["id"]) for a in ACCOUNTS]
    problem(funded.post("/ledger/transfers", {"id": "bad", **body}), status, code)
    assert [funded.totals(a["id"]) for a in ACCOUNTS] == before


def test_an_expired_pending_transfer_cannot_be_posted(funded: LedgerApi) -> None:
    hold = {"id": "short", "phase": "pending", "debit_account_id": "alice",
            "credit_account_id": "bob", "amount": 100, "currency": "USD", "timeout": 5}  # fmt: skip
    assert funded.post("/ledger/transfers", hold).status_code == 201
    funded.clock.advance(timedelta(seconds=5))
    late = {"id": "late", "phase": "post", "pending_id": "short"}
    problem(funded.post("/ledger/transfers", late), 409, "ledger.pending_transfer_expired")


def test_bad_accounts_and_unknown_objects(funded: LedgerApi) -> None:
    problem(
        funded.post("/ledger/accounts", {**ACCOUNTS[1], "owner": "someone-else"}),
        409,
        "ledger.exists_with_different_owner",
    )
    problem(
        funded.post("/ledger/accounts", {**ACCOUNTS[2], "id": "new", "currency": "usd"}),
        400,
        "ledger.currency_invalid",
    )
    problem(
        funded.post("/ledger/accounts", {**ACCOUNTS[2], "id": "new", "kind": "vault"}),
        422,
        "http.invalid_request",
    )
    problem(funded.get("/ledger/accounts/ghost"), 404, "ledger.account_not_found")
    problem(funded.get("/ledger/accounts/ghost/transfers"), 404, "ledger.account_not_found")
    problem(funded.get("/ledger/transfers/ghost"), 404, "ledger.transfer_not_found")
    too_many = {"transfers": [{"id": f"x{i}"} for i in range(8_191)]}
    problem(funded.post("/ledger/transfers/batch", too_many), 422, "http.invalid_request")


def test_callers_without_rights_are_refused(funded: LedgerApi) -> None:
    pay = {"id": "p", "debit_account_id": "alice", "credit_account_id": "bob", "amount": 1,
           "currency": "USD"}  # fmt: skip
    problem(funded.client.post("/ledger/transfers", json=pay), 401, "auth.missing_token")
    problem(funded.post("/ledger/transfers", pay, funded.reader), 403, "auth.missing_scope")
    problem(funded.post("/ledger/accounts", ACCOUNTS[0], funded.reader), 403, "auth.missing_scope")
    problem(funded.post("/ledger/transfers/batch", {"transfers": [pay]}, funded.reader), 403,
            "auth.missing_scope")  # fmt: skip
    problem(funded.get("/ledger/accounts/alice", funded.stranger), 403, "auth.missing_scope")
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert funded.client.get("/ledger/accounts/alice", headers=bad_token).status_code == 401
    assert funded.totals("bob") == (0, 0, 0, 0)
