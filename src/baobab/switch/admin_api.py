"""The hub administration API, mounted under ``/switch/hub``: participants (FSPs), their
currencies, callback endpoints, liquidity, Net Debit Caps, enabling; the callbacks that failed.

Writes need the scope ``switch:admin`` and a caller whose member has the role ``operator``;
reads need ``switch:read``. Amounts are FSPIOP ``Money`` objects (decimal strings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from baobab.infra.http.auth import require_scope
from baobab.kernel.errors import Forbidden
from baobab.kernel.money import Money
from baobab.kernel.principal import Principal
from baobab.switch.domain import Participant
from baobab.switch.fspiop import amount_text
from baobab.switch.participants import ParticipantService, Position
from baobab.switch.ports import SwitchStore

Reader = Annotated[Principal, Depends(require_scope("switch:read"))]
_admin_scope = require_scope("switch:admin")


class NotOperator(Forbidden):
    code = "switch.not_operator"
    title = "Operator role required"


async def _operator(principal: Annotated[Principal, Depends(_admin_scope)]) -> Principal:
    if "operator" not in principal.roles:
        raise NotOperator("hub administration needs a member with the role 'operator'")
    return principal


Admin = Annotated[Principal, Depends(_operator)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(_Strict):
    amount: str = Field(examples=["1000.00"], max_length=32)
    currency: str = Field(examples=["USD"], max_length=3)

    def money(self) -> Money:
        return Money.parse(self.amount, self.currency)


class ParticipantIn(_Strict):
    fspId: str = Field(examples=["bank-a"], max_length=32)  # noqa: N815 - FSPIOP's spelling
    member: str = Field(examples=["DEV/COM/BANKA"], max_length=200)
    currencies: list[str] = Field(default_factory=list, max_length=20)


class CurrencyIn(_Strict):
    currency: str = Field(examples=["USD"], max_length=3)


class EndpointIn(_Strict):
    type: str = Field(examples=["FSPIOP_CALLBACK_URL_TRANSFER_POST"], max_length=64)
    value: str = Field(examples=["https://bank-a.example/fspiop/transfers"], max_length=500)


class StateIn(_Strict):
    enabled: bool


class FundsIn(_Strict):
    movementId: str = Field(max_length=64)  # noqa: N815
    action: Literal["deposit", "withdraw"]
    amount: MoneyIn


class LimitIn(_Strict):
    netDebitCap: MoneyIn  # noqa: N815


class PositionOut(BaseModel):
    currency: str
    liquidity: str
    netDebitCap: str  # noqa: N815
    netPosition: str  # noqa: N815
    reserved: str
    headroom: str

    @classmethod
    def of(cls, p: Position) -> PositionOut:
        def text(minor: int) -> str:
            return amount_text(Money(minor, p.currency))

        return cls(
            currency=p.currency,
            liquidity=text(p.liquidity),
            netDebitCap=text(p.net_debit_cap),
            netPosition=text(p.net_position),
            reserved=text(p.reserved),
            headroom=text(p.headroom),
        )


class ParticipantOut(BaseModel):
    fspId: str  # noqa: N815
    member: str
    enabled: bool
    currencies: list[str]
    endpoints: dict[str, str]
    createdAt: datetime  # noqa: N815
    positions: list[PositionOut] | None = None

    @classmethod
    def of(cls, p: Participant, positions: list[PositionOut] | None = None) -> ParticipantOut:
        return cls(
            fspId=p.fsp_id,
            member=p.member,
            enabled=p.enabled,
            currencies=sorted(p.currencies),
            endpoints=dict(p.endpoints),
            createdAt=p.created_at,
            positions=positions,
        )


class FailedCallbackOut(BaseModel):
    id: int
    fspId: str  # noqa: N815
    method: str
    url: str
    attempts: int
    lastError: str  # noqa: N815


def build_admin_routes(
    router: APIRouter, *, participants: ParticipantService, store: SwitchStore
) -> None:
    """Mount the admin routes on ``router`` (prefix ``/switch``)."""

    def detail(fsp_id: str) -> ParticipantOut:
        found = participants.get(fsp_id)
        positions = [PositionOut.of(p) for p in participants.positions(fsp_id)]
        return ParticipantOut.of(found, positions)

    @router.post("/hub/participants", status_code=201, summary="Register an FSP")
    def register(body: ParticipantIn, principal: Admin) -> ParticipantOut:
        participants.register(
            actor=principal.client_id,
            fsp_id=body.fspId,
            member=body.member,
            currencies=body.currencies,
        )
        return detail(body.fspId)

    @router.get("/hub/participants", summary="List the FSPs")
    def listing(principal: Reader) -> list[ParticipantOut]:
        return [ParticipantOut.of(p) for p in participants.all()]

    @router.get("/hub/participants/{fsp_id}", summary="One FSP with its positions")
    def one(fsp_id: str, principal: Reader) -> ParticipantOut:
        return detail(fsp_id)

    @router.post("/hub/participants/{fsp_id}/currencies", summary="Add a currency to an FSP")
    def currency(fsp_id: str, body: CurrencyIn, principal: Admin) -> ParticipantOut:
        participants.add_currency(actor=principal.client_id, fsp_id=fsp_id, currency=body.currency)
        return detail(fsp_id)

    @router.put("/hub/participants/{fsp_id}/endpoints", summary="Set a callback endpoint")
    def endpoint(fsp_id: str, body: EndpointIn, principal: Admin) -> ParticipantOut:
        participants.set_endpoint(
            actor=principal.client_id, fsp_id=fsp_id, kind=body.type, value=body.value
        )
        return detail(fsp_id)

    @router.patch("/hub/participants/{fsp_id}", summary="Enable or disable an FSP")
    def state(fsp_id: str, body: StateIn, principal: Admin) -> ParticipantOut:
        participants.set_enabled(actor=principal.client_id, fsp_id=fsp_id, enabled=body.enabled)
        return detail(fsp_id)

    @router.post("/hub/participants/{fsp_id}/funds", summary="Deposit or withdraw liquidity")
    def funds(fsp_id: str, body: FundsIn, principal: Admin) -> ParticipantOut:
        money = body.amount.money()
        move = participants.deposit if body.action == "deposit" else participants.withdraw
        move(
            actor=principal.client_id,
            fsp_id=fsp_id,
            currency=money.currency,
            amount=money.minor,
            movement_id=body.movementId,
        )
        return detail(fsp_id)

    @router.put("/hub/participants/{fsp_id}/limits", summary="Set the Net Debit Cap")
    def limit(fsp_id: str, body: LimitIn, principal: Admin) -> ParticipantOut:
        money = body.netDebitCap.money()
        participants.set_net_debit_cap(
            actor=principal.client_id, fsp_id=fsp_id, currency=money.currency, amount=money.minor
        )
        return detail(fsp_id)

    @router.get("/hub/callbacks/failed", summary="Callbacks given up on after retries")
    def failed(
        principal: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[FailedCallbackOut]:
        return [
            FailedCallbackOut(
                id=item.id,
                fspId=item.callback.fsp_id,
                method=item.callback.method,
                url=item.callback.url,
                attempts=item.attempts,
                lastError=error,
            )
            for item, error in store.failed_callbacks(limit)
        ]
