"""Hub administration: register FSPs, their currencies and callback endpoints, fund them, set
their Net Debit Cap, enable and disable them. Every money movement is a ledger transfer (or a
linked chain), so the ledger's own limits keep the books right under concurrency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.ids import new_id
from baobab.ledger import (
    AccountFlags,
    AccountKind,
    AccountResult,
    LedgerService,
    NewAccount,
    NewTransfer,
    TransferFlags,
    TransferResult,
)
from baobab.switch.domain import (
    HUB_ID,
    AccountIds,
    EndpointType,
    LedgerRefused,
    NotAnFsp,
    Participant,
    ParticipantExists,
    ParticipantNotFound,
    SwitchError,
    account_ids,
    check_endpoint,
    hub_accounts,
)
from baobab.switch.fspiop import valid_fsp_id
from baobab.switch.ports import SwitchStore

_NO_LIMIT = AccountFlags.NONE
_FLOOR = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
_OK = (TransferResult.OK, TransferResult.EXISTS)


@dataclass(frozen=True, slots=True)
class Position:
    """One FSP's standing in one currency, in minor units.

    ``liquidity`` is the free liquidity, ``net_debit_cap`` the earmarked part, ``net_position``
    committed outgoing minus incoming (positive = owes), ``reserved`` outgoing transfers in flight,
    ``headroom`` what it may still send.
    """

    currency: str
    liquidity: int
    net_debit_cap: int
    net_position: int
    reserved: int
    headroom: int


class ParticipantService:
    """The switch's admin use cases. ``member_roles`` tells a directory member's roles (None
    for an unknown member)."""

    def __init__(
        self,
        *,
        store: SwitchStore,
        ledger: LedgerService,
        clock: Clock,
        member_roles: Callable[[str], frozenset[str] | None],
        cache_seconds: float = 2.0,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._clock = clock
        self._member_roles = member_roles
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Participant | None]] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._reading = threading.Lock()

    # --- reading ---------------------------------------------------------------------------

    def get(self, fsp_id: str) -> Participant:
        """The participant ``fsp_id``; :class:`ParticipantNotFound` if there is none."""
        found = self.find(fsp_id)
        if found is None:
            raise ParticipantNotFound(f"no participant {fsp_id!r}")
        return found

    def find(self, fsp_id: str) -> Participant | None:
        """The participant, from a short-lived cache (the FSPIOP hot path reads it per request;
        changes made through this process are seen at once, others within ``cache_seconds``)."""
        cached = self._cache.get(fsp_id)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        # One thread reads; the others that missed at the same moment take its answer rather
        # than each reading the same rows.
        with self._reading:
            cached = self._cache.get(fsp_id)
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
            now = time.monotonic()
            found = self._store.get_participant(fsp_id)
            self._cache[fsp_id] = (now, found)
            return found

    def all(self) -> Sequence[Participant]:
        """Every participant, by id."""
        return self._store.list_participants()

    def positions(self, fsp_id: str) -> Sequence[Position]:
        """The participant's position per currency, read from the ledger."""
        participant = self.get(fsp_id)
        result = []
        for currency in sorted(participant.currencies):
            ids = account_ids(fsp_id, currency)
            position, liquidity, collateral = self._ledger.lookup_accounts(
                [ids.position, ids.liquidity, ids.collateral]
            )
            cap = collateral.credits_posted - collateral.debits_posted
            result.append(
                Position(
                    currency=currency,
                    liquidity=liquidity.balance().posted,
                    net_debit_cap=cap,
                    net_position=cap - position.balance().posted,
                    reserved=position.debits_pending,
                    headroom=position.balance().available,
                )
            )
        return result

    # --- changing --------------------------------------------------------------------------

    def register(
        self, *, actor: str, fsp_id: str, member: str, currencies: Sequence[str] = ()
    ) -> Participant:
        """Register directory member ``member`` (role ``fsp``) as FSP ``fsp_id``, enabled."""
        if not valid_fsp_id(fsp_id) or fsp_id == HUB_ID:
            raise SwitchError("an FSP id is 1-32 letters, digits, '.', '_' or '-' (not 'hub')")
        roles = self._member_roles(member)
        if roles is None:
            raise SwitchError(f"no directory member {member!r}")
        if "fsp" not in roles:
            raise NotAnFsp(f"directory member {member!r} does not have the role 'fsp'")
        participant = Participant(fsp_id, member, True, self._clock.now())
        event = AuditEvent(
            "switch.participant_registered", actor, fsp_id, details={"member": member}
        )
        if not self._store.add_participant(participant, event):
            raise ParticipantExists(f"FSP {fsp_id!r} or member {member!r} is registered already")
        self._cache.pop(fsp_id, None)
        for currency in currencies:
            self.add_currency(actor=actor, fsp_id=fsp_id, currency=currency)
        return self.get(fsp_id)

    def add_currency(self, *, actor: str, fsp_id: str, currency: str) -> None:
        """Let the FSP transact in ``currency``: open its ledger accounts (and the hub's)."""
        participant = self.get(fsp_id)
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
            raise SwitchError("a currency is a three-letter ISO 4217 code")
        ids = account_ids(fsp_id, currency)
        control, bank = hub_accounts(currency)
        requests = [
            NewAccount(control, currency, AccountKind.CONTROL, HUB_ID, _NO_LIMIT),
            NewAccount(bank, currency, AccountKind.SETTLEMENT, HUB_ID, _NO_LIMIT),
            NewAccount(ids.position, currency, AccountKind.POSITION, participant.member, _FLOOR),
            NewAccount(ids.liquidity, currency, AccountKind.LIQUIDITY, participant.member, _FLOOR),
            NewAccount(ids.collateral, currency, AccountKind.LIQUIDITY, participant.member, _FLOOR),
        ]
        results = self._ledger.create_accounts(requests, actor=actor)
        if any(r not in (AccountResult.OK, AccountResult.EXISTS) for r in results):
            raise LedgerRefused(f"the ledger refused the accounts: {[r.value for r in results]}")
        event = AuditEvent("switch.currency_added", actor, fsp_id, details={"currency": currency})
        self._store.add_currency(fsp_id, currency, event, self._clock.now())
        self._cache.pop(fsp_id, None)

    def set_endpoint(self, *, actor: str, fsp_id: str, kind: str, value: str) -> None:
        """Register where the FSP receives ``kind`` requests (a URL template)."""
        self.get(fsp_id)
        try:
            endpoint = EndpointType(kind)
        except ValueError as exc:
            allowed = ", ".join(e.value for e in EndpointType)
            raise SwitchError(f"endpoint type must be one of: {allowed}") from exc
        url = check_endpoint(value)
        event = AuditEvent("switch.endpoint_set", actor, fsp_id, details={"type": endpoint.value})
        self._store.set_endpoint(fsp_id, endpoint.value, url, event, self._clock.now())
        self._cache.pop(fsp_id, None)

    def set_enabled(self, *, actor: str, fsp_id: str, enabled: bool) -> None:
        """Enable or disable the FSP; a disabled FSP can neither send nor receive transfers."""
        self.get(fsp_id)
        action = "switch.participant_enabled" if enabled else "switch.participant_disabled"
        self._store.set_enabled(
            fsp_id, enabled, AuditEvent(action, actor, fsp_id), self._clock.now()
        )
        self._cache.pop(fsp_id, None)

    def deposit(
        self, *, actor: str, fsp_id: str, currency: str, amount: int, movement_id: str
    ) -> None:
        """Record funds the FSP paid into the settlement bank (idempotent by ``movement_id``)."""
        ids = self._accounts(fsp_id, currency)
        _, bank = hub_accounts(currency)
        self._move([NewTransfer(movement_id, bank, ids.liquidity, amount, currency)], actor)

    def withdraw(
        self, *, actor: str, fsp_id: str, currency: str, amount: int, movement_id: str
    ) -> None:
        """Pay funds out to the FSP; refused beyond its free liquidity (the cap stays covered)."""
        ids = self._accounts(fsp_id, currency)
        _, bank = hub_accounts(currency)
        self._move([NewTransfer(movement_id, ids.liquidity, bank, amount, currency)], actor)

    def set_net_debit_cap(self, *, actor: str, fsp_id: str, currency: str, amount: int) -> None:
        """Set the FSP's Net Debit Cap in ``currency`` to ``amount`` minor units.

        Raising it earmarks liquidity (refused beyond the free liquidity); lowering it is refused
        while the FSP's net debit would exceed the new cap. Changes to one FSP and currency are
        serialised in this process; the ledger keeps both rules across processes.
        """
        if type(amount) is not int or amount < 0:
            raise SwitchError("the Net Debit Cap is a non-negative integer of minor units")
        ids = self._accounts(fsp_id, currency)
        control, _ = hub_accounts(currency)
        with self._lock(fsp_id, currency):
            collateral = self._ledger.get_account(ids.collateral)
            delta = amount - (collateral.credits_posted - collateral.debits_posted)
            if delta == 0:
                return
            linked = TransferFlags.LINKED
            base = new_id()
            if delta > 0:
                chain = [
                    NewTransfer(
                        f"ndc-{base}-1",
                        ids.liquidity,
                        ids.collateral,
                        delta,
                        currency,
                        flags=linked,
                    ),
                    NewTransfer(f"ndc-{base}-2", control, ids.position, delta, currency),
                ]
            else:
                chain = [
                    NewTransfer(
                        f"ndc-{base}-1", ids.position, control, -delta, currency, flags=linked
                    ),
                    NewTransfer(f"ndc-{base}-2", ids.collateral, ids.liquidity, -delta, currency),
                ]
            self._move(chain, actor)

    def _accounts(self, fsp_id: str, currency: str) -> AccountIds:
        participant = self.get(fsp_id)
        if currency not in participant.currencies:
            raise SwitchError(f"FSP {fsp_id!r} has no {currency} account")
        return account_ids(fsp_id, currency)

    def _lock(self, fsp_id: str, currency: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((fsp_id, currency), threading.Lock())

    def _move(self, events: list[NewTransfer], actor: str) -> None:
        for event in events:
            if type(event.amount) is not int or event.amount <= 0:
                raise SwitchError("an amount is a positive integer of minor units")
        results = self._ledger.create_transfers(events, actor=actor)
        refused = [r for r in results if r not in _OK]
        if refused:
            causes = [r for r in refused if r is not TransferResult.LINKED_EVENT_FAILED]
            first = (causes or refused)[0]
            raise LedgerRefused(
                f"the ledger refused the movement: {first.value}", extra={"result": first.value}
            )
