"""HTTP routes of the ledger, mounted under ``/ledger``: an internal API for operators.

Reads need the scope ``ledger:read``, writes ``ledger:write``. Amounts are integers of minor
units of the account's currency. Refusals answer ``application/problem+json`` with the stable
code ``ledger.<result>``; a batch answers one result per event instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal
from baobab.ledger.batcher import TransferBatcher
from baobab.ledger.domain import (
    LEDGER_SCOPES,
    MAX_BATCH,
    Account,
    AccountFlags,
    AccountKind,
    NewAccount,
    NewTransfer,
    Transfer,
    TransferFlags,
)
from baobab.ledger.errors import AccountResult, TransferResult, account_error, transfer_error
from baobab.ledger.services import MAX_PAGE, LedgerService

__all__ = ["LEDGER_SCOPES", "build_router"]

Reader = Annotated[Principal, Depends(require_scope("ledger:read"))]
Writer = Annotated[Principal, Depends(require_scope("ledger:write"))]

AccountFlagName = Literal["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"]
Phase = Literal["single", "pending", "post", "void"]
_PHASE_FLAGS: dict[str, TransferFlags] = {
    "single": TransferFlags.NONE,
    "pending": TransferFlags.PENDING,
    "post": TransferFlags.POST_PENDING,
    "void": TransferFlags.VOID_PENDING,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountIn(_Strict):
    id: str = Field(examples=["fsp-a:usd:position"], max_length=64)
    currency: str = Field(examples=["USD"], max_length=3)
    kind: AccountKind = Field(examples=["position"])
    owner: str = Field(examples=["DEV/COM/BANKA"], max_length=128)
    flags: list[AccountFlagName] = Field(default_factory=list)

    def command(self) -> NewAccount:
        flags = AccountFlags.NONE
        for name in self.flags:
            flags |= AccountFlags[name.upper()]
        return NewAccount(self.id, self.currency, self.kind, self.owner, flags)


class BalanceOut(BaseModel):
    currency: str
    posted: int
    pending: int
    available: int


class AccountOut(BaseModel):
    id: str
    currency: str
    kind: str
    owner: str
    flags: list[str]
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    balance: BalanceOut
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        b = a.balance()
        return cls(
            id=a.id,
            currency=a.currency,
            kind=a.kind.value,
            owner=a.owner,
            flags=[f.name.lower() for f in AccountFlags if f and f in a.flags and f.name],
            debits_pending=a.debits_pending,
            debits_posted=a.debits_posted,
            credits_pending=a.credits_pending,
            credits_posted=a.credits_posted,
            balance=BalanceOut(
                currency=b.currency, posted=b.posted, pending=b.pending, available=b.available
            ),
            created_at=a.created_at,
        )


class TransferIn(_Strict):
    id: str = Field(examples=["0190f2a4-7b8c-7d2e-9f10-5a6b7c8d9e0f"], max_length=64)
    phase: Phase = "single"
    debit_account_id: str | None = Field(default=None, max_length=64)
    credit_account_id: str | None = Field(default=None, max_length=64)
    amount: int | None = Field(default=None, description="Minor units, e.g. cents")
    currency: str | None = Field(default=None, max_length=3)
    pending_id: str | None = Field(default=None, max_length=64)
    timeout: int = Field(default=0, description="Seconds a pending transfer may wait; 0 = never")
    reference: str = Field(default="", max_length=256)
    linked: bool = Field(default=False, description="In a batch: apply with the next event")

    def command(self) -> NewTransfer:
        flags = _PHASE_FLAGS[self.phase]
        if self.linked:
            flags |= TransferFlags.LINKED
        return NewTransfer(
            id=self.id,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            currency=self.currency,
            pending_id=self.pending_id,
            timeout=self.timeout,
            reference=self.reference,
            flags=flags,
        )


class TransferOut(BaseModel):
    id: str
    phase: str
    debit_account_id: str | None
    credit_account_id: str | None
    amount: int | None
    currency: str | None
    pending_id: str | None
    timeout: int
    reference: str
    result: str
    timestamp: datetime
    expires_at: datetime | None
    sequence: int

    @classmethod
    def of(cls, t: Transfer) -> TransferOut:
        return cls(
            id=t.id,
            phase=_phase_name(t.flags),
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=t.amount,
            currency=t.currency,
            pending_id=t.pending_id,
            timeout=t.timeout,
            reference=t.reference,
            result=t.result.value,
            timestamp=t.timestamp,
            expires_at=t.expires_at,
            sequence=t.sequence,
        )


class BatchIn(_Strict):
    transfers: list[TransferIn] = Field(max_length=MAX_BATCH)


class EventResult(BaseModel):
    index: int
    id: str
    result: str


class BatchOut(BaseModel):
    results: list[EventResult] = Field(description="One per event, in order")


class TrialBalanceOut(BaseModel):
    currency: str
    accounts: int
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    over_limit: int
    balanced: bool


class HistoryOut(BaseModel):
    account_id: str
    transfers: list[TransferOut]
    next_after: int | None = Field(description="Pass as `after` for the next page")


def _phase_name(flags: TransferFlags) -> str:
    for name, flag in (
        ("pending", TransferFlags.PENDING),
        ("post", TransferFlags.POST_PENDING),
        ("void", TransferFlags.VOID_PENDING),
        ("expire", TransferFlags.EXPIRE_PENDING),
    ):
        if flags & flag:
            return name
    return "single"


def build_router(*, ledger: LedgerService, batcher: TransferBatcher | None = None) -> APIRouter:
    """The ledger's routes over its service; single transfers go through ``batcher`` if given."""
    router = APIRouter(prefix="/ledger", tags=["ledger"])

    @router.post(
        "/accounts",
        response_model=AccountOut,
        status_code=201,
        summary="Open an account (the same request again answers 200 with the account)",
    )
    def create_account(body: AccountIn, response: Response, principal: Writer) -> AccountOut:
        request = body.command()
        result = ledger.create_accounts([request], actor=principal.client_id)[0]
        if not result.succeeded:
            raise account_error(result, request.id)
        if result is AccountResult.EXISTS:
            response.status_code = 200
        return AccountOut.of(ledger.get_account(request.id))

    @router.get("/accounts/{account_id}", response_model=AccountOut, summary="An account")
    def get_account(account_id: str, _: Reader) -> AccountOut:
        return AccountOut.of(ledger.get_account(account_id))

    @router.get(
        "/accounts/{account_id}/balance",
        response_model=BalanceOut,
        summary="Posted, pending and available balance",
    )
    def get_balance(account_id: str, _: Reader) -> BalanceOut:
        b = ledger.balance(account_id)
        return BalanceOut(
            currency=b.currency, posted=b.posted, pending=b.pending, available=b.available
        )

    @router.get(
        "/accounts/{account_id}/transfers",
        response_model=HistoryOut,
        summary="An account's history, oldest first, paged with a cursor",
    )
    def history(
        account_id: str,
        _: Reader,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> HistoryOut:
        page = ledger.history(account_id, after=after, limit=limit)
        return HistoryOut(
            account_id=page.account_id,
            transfers=[TransferOut.of(t) for t in page.transfers],
            next_after=page.next_after,
        )

    @router.post(
        "/transfers",
        response_model=TransferOut,
        status_code=201,
        summary="Apply one transfer (the same request again answers 200 with the transfer)",
    )
    async def create_transfer(
        body: TransferIn, response: Response, principal: Writer
    ) -> TransferOut:
        event = body.command()
        actor = principal.client_id
        if batcher is None:
            results = await run_in_threadpool(ledger.create_transfers, [event], actor=actor)
            result = results[0]
        else:
            # Awaited on the event loop: a request waiting for its batch holds no thread.
            result = (await batcher.transfer(event, actor=actor)).result
        if not result.succeeded:
            raise transfer_error(result, event.id)
        if result is TransferResult.EXISTS:
            response.status_code = 200
        # Read back: the stored transfer carries its place in history (``sequence``).
        return TransferOut.of(await run_in_threadpool(ledger.get_transfer, event.id))

    @router.post(
        "/transfers/batch",
        response_model=BatchOut,
        summary=f"Apply up to {MAX_BATCH} events in one transaction, one result per event",
    )
    def create_batch(body: BatchIn, principal: Writer) -> BatchOut:
        events = [t.command() for t in body.transfers]
        results = ledger.create_transfers(events, actor=principal.client_id)
        return BatchOut(
            results=[
                EventResult(index=i, id=e.id, result=r.value)
                for i, (e, r) in enumerate(zip(events, results, strict=True))
            ]
        )

    @router.get(
        "/trial-balance",
        response_model=list[TrialBalanceOut],
        summary="The books per currency: debits equal credits, no account over its limit",
    )
    def trial_balance(_: Reader) -> list[TrialBalanceOut]:
        return [
            TrialBalanceOut(
                currency=b.currency,
                accounts=b.accounts,
                debits_pending=b.debits_pending,
                debits_posted=b.debits_posted,
                credits_pending=b.credits_pending,
                credits_posted=b.credits_posted,
                over_limit=b.over_limit,
                balanced=b.balanced,
            )
            for b in ledger.trial_balance()
        ]

    @router.get("/transfers/{transfer_id}", response_model=TransferOut, summary="A transfer")
    def get_transfer(transfer_id: str, _: Reader) -> TransferOut:
        return TransferOut.of(ledger.get_transfer(transfer_id))

    return router
