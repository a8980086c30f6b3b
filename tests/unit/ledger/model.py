"""A deliberately simple model of the ledger's rules, written apart from the engine.

It keeps every transfer and recomputes nothing cleverly: a linked chain is tried on a deep copy
of the whole state. Slow, but short enough to check by eye; the simulation and the property
tests compare the real ledger against it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from baobab.ledger.domain import AccountFlags, NewAccount, NewTransfer, TransferFlags
from baobab.ledger.errors import TransferResult as R

MAX = 2**63 - 1
STATIC = "static"  # the event is malformed: never recorded


@dataclass
class MAccount:
    currency: str
    flags: int
    dp: int = 0
    dpo: int = 0
    cp: int = 0
    cpo: int = 0


@dataclass
class MTransfer:
    request: NewTransfer
    result: R
    debit: str | None = None
    credit: str | None = None
    amount: int | None = None
    currency: str | None = None
    expires_at: datetime | None = None


@dataclass
class Model:
    accounts: dict[str, MAccount] = field(default_factory=dict)
    transfers: dict[str, MTransfer] = field(default_factory=dict)
    settled: dict[str, int] = field(default_factory=dict)  # pending id -> flag that settled it

    def open(self, request: NewAccount) -> None:
        self.accounts.setdefault(request.id, MAccount(request.currency, int(request.flags)))

    def apply_batch(self, events: Sequence[NewTransfer], now: datetime) -> list[R]:
        results: list[R] = []
        chain: list[NewTransfer] = []
        for event in events:
            chain.append(event)
            if not event.flags & TransferFlags.LINKED:
                results.extend(self._chain(chain, now))
                chain = []
        if chain:
            results.extend([R.LINKED_EVENT_FAILED] * (len(chain) - 1))
            results.append(R.LINKED_EVENT_CHAIN_OPEN)
        return results

    def _chain(self, chain: list[NewTransfer], now: datetime) -> list[R]:
        if len(chain) == 1:
            result, how = self._one(chain[0], now)
            if how == "refused":
                self.transfers[chain[0].id] = MTransfer(chain[0], result)
            return [result]
        for k, event in enumerate(chain):
            bad = event.check()
            if bad is not None:
                return [bad if j == k else R.LINKED_EVENT_FAILED for j in range(len(chain))]
        saved = (copy.deepcopy(self.accounts), dict(self.transfers), dict(self.settled))
        results: list[R] = []
        failed = False
        for event in chain:
            result, how = self._one(event, now)
            results.append(result)
            if result in (R.OK, R.EXISTS):
                continue
            failed = True
            if how != "record":
                break
        if not failed:
            return results
        new_ids = {e.id for e in chain if e.id not in saved[1]}
        self.accounts, self.transfers, self.settled = saved
        final = []
        for k, event in enumerate(chain):
            r = results[k] if k < len(results) else R.OK
            if r is R.OK or (r is R.EXISTS and event.id in new_ids):
                r = R.LINKED_EVENT_FAILED
            final.append(r)
        for k, event in enumerate(chain):
            if event.id not in self.transfers:
                self.transfers[event.id] = MTransfer(event, final[k])
        return final

    def _one(self, e: NewTransfer, now: datetime) -> tuple[R, str]:  # noqa: PLR0912, PLR0915
        bad = e.check()
        if bad is not None:
            return bad, STATIC
        old = self.transfers.get(e.id)
        if old is not None:
            return self._compare(old, e), "record"
        flags = int(e.flags)
        if flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
            p = self.transfers.get(e.pending_id or "")
            if p is None or p.result is not R.OK:
                return R.PENDING_TRANSFER_NOT_FOUND, "refused"
            if not p.request.flags & TransferFlags.PENDING:
                return R.PENDING_TRANSFER_NOT_PENDING, "refused"
            if e.debit_account_id is not None and e.debit_account_id != p.debit:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID, "refused"
            if e.credit_account_id is not None and e.credit_account_id != p.credit:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID, "refused"
            if e.currency is not None and e.currency != p.currency:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_CURRENCY, "refused"
            settled_by = self.settled.get(e.pending_id or "", 0)
            if settled_by == TransferFlags.POST_PENDING:
                return R.PENDING_TRANSFER_ALREADY_POSTED, "refused"
            if settled_by == TransferFlags.VOID_PENDING:
                return R.PENDING_TRANSFER_ALREADY_VOIDED, "refused"
            if settled_by or (p.expires_at is not None and p.expires_at <= now):
                return R.PENDING_TRANSFER_EXPIRED, "refused"
            assert p.amount is not None
            assert p.debit is not None
            assert p.credit is not None
            amount = p.amount if e.amount is None else e.amount
            post = flags & TransferFlags.POST_PENDING
            if post and amount > p.amount:
                return R.EXCEEDS_PENDING_TRANSFER_AMOUNT, "refused"
            if not post and amount != p.amount:
                return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT, "refused"
            d, c = self.accounts[p.debit], self.accounts[p.credit]
            moved = amount if post else 0
            if d.dpo + moved > MAX:
                return R.OVERFLOWS_DEBITS, "refused"
            if c.cpo + moved > MAX:
                return R.OVERFLOWS_CREDITS, "refused"
            d.dp -= p.amount
            c.cp -= p.amount
            d.dpo += moved
            c.cpo += moved
            how = flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
            self.settled[e.pending_id or ""] = how
            self.transfers[e.id] = MTransfer(e, R.OK, p.debit, p.credit, amount, p.currency)
            return R.OK, "applied"
        assert e.debit_account_id
        assert e.credit_account_id
        assert e.amount
        assert e.currency
        d_ = self.accounts.get(e.debit_account_id)
        if d_ is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND, "refused"
        c_ = self.accounts.get(e.credit_account_id)
        if c_ is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND, "refused"
        if d_.currency != c_.currency:
            return R.ACCOUNTS_MUST_HAVE_THE_SAME_CURRENCY, "refused"
        if e.currency != d_.currency:
            return R.TRANSFER_MUST_HAVE_THE_SAME_CURRENCY_AS_ACCOUNTS, "refused"
        pending = bool(flags & TransferFlags.PENDING)
        new_d = (d_.dp if pending else d_.dpo) + e.amount
        new_c = (c_.cp if pending else c_.cpo) + e.amount
        if new_d > MAX:
            return R.OVERFLOWS_DEBITS, "refused"
        if new_c > MAX:
            return R.OVERFLOWS_CREDITS, "refused"
        if d_.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
            d_.dp + d_.dpo + e.amount > d_.cpo
        ):
            return R.EXCEEDS_CREDITS, "refused"
        if c_.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
            c_.cp + c_.cpo + e.amount > c_.dpo
        ):
            return R.EXCEEDS_DEBITS, "refused"
        if pending:
            d_.dp, c_.cp = new_d, new_c
        else:
            d_.dpo, c_.cpo = new_d, new_c
        expires = now + timedelta(seconds=e.timeout) if e.timeout else None
        self.transfers[e.id] = MTransfer(
            e, R.OK, e.debit_account_id, e.credit_account_id, e.amount, e.currency, expires
        )
        return R.OK, "applied"

    def _compare(self, old: MTransfer, e: NewTransfer) -> R:
        o = old.request
        lax = old.result is R.OK  # unset fields of a post/void mean "as the pending transfer"
        if int(o.flags) & ~1 != int(e.flags) & ~1:
            return R.EXISTS_WITH_DIFFERENT_FLAGS
        stored = (
            (old.debit, old.credit, old.amount, old.currency)
            if lax
            else (o.debit_account_id, o.credit_account_id, o.amount, o.currency)
        )
        asked = (e.debit_account_id, e.credit_account_id, e.amount, e.currency)
        codes = (
            R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
            R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
            R.EXISTS_WITH_DIFFERENT_AMOUNT,
            R.EXISTS_WITH_DIFFERENT_CURRENCY,
        )
        for a, s, code in zip(asked, stored, codes, strict=True):
            if a != s and not (lax and a is None):
                return code
        if e.pending_id != o.pending_id:
            return R.EXISTS_WITH_DIFFERENT_PENDING_ID
        if e.timeout != o.timeout:
            return R.EXISTS_WITH_DIFFERENT_TIMEOUT
        if e.reference != o.reference:
            return R.EXISTS_WITH_DIFFERENT_REFERENCE
        return R.EXISTS if old.result is R.OK else old.result

    def expire(self, now: datetime) -> int:
        count = 0
        for tid, t in list(self.transfers.items()):
            if t.result is R.OK and t.expires_at is not None and t.expires_at <= now:
                if tid in self.settled:
                    continue
                assert t.debit
                assert t.credit
                assert t.amount
                self.accounts[t.debit].dp -= t.amount
                self.accounts[t.credit].cp -= t.amount
                self.settled[tid] = int(TransferFlags.EXPIRE_PENDING)
                count += 1
        return count

    def totals(self) -> dict[str, tuple[int, int, int, int]]:
        return {i: (a.dp, a.dpo, a.cp, a.cpo) for i, a in self.accounts.items()}
