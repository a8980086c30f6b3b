"""A switch served in process over the test platform, with two FSPs registered and funded, a
ledger batcher that sweeps no expiries behind the test's back, and a recording callback sender
instead of HTTP: the test delivers the outbox when it wants to look at the callbacks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baobab import __version__
from baobab.bootstrap import Platform
from baobab.directory import Role
from baobab.infra.http.app import create_http_app
from baobab.kernel.clock import ManualClock
from baobab.kernel.ids import new_id
from baobab.ledger import TransferBatcher
from baobab.switch import Switch, assemble_switch
from baobab.switch.adapters.bulk_sql import SqlBulkStore
from baobab.switch.adapters.directory import DirectoryForSwitch
from baobab.switch.adapters.oracle import SqlOracle
from baobab.switch.adapters.settlement_sql import SqlSettlementStore
from baobab.switch.adapters.sql import SqlSwitchStore
from baobab.switch.api import build_router
from baobab.switch.domain import Callback
from baobab.switch.fspiop import (
    condition_of,
    ilp_prepare_packet,
    new_fulfilment,
    outgoing_headers,
    sign_request,
)
from baobab.switch.fspiop import datetime_text as iso
from tests.support import Caller, register


@dataclass
class RecordingSender:
    """Answers every callback with ``status`` and keeps what it was sent."""

    status: int = 200
    sent: list[Callback] = field(default_factory=list)

    async def send(self, callback: Callback, *, timeout: float) -> int:
        self.sent.append(callback)
        return self.status

    async def aclose(self) -> None:
        return None


ENDPOINTS = {
    "FSPIOP_CALLBACK_URL_TRANSFER_POST": "http://{fsp}.test/transfers",
    "FSPIOP_CALLBACK_URL_TRANSFER_PUT": "http://{fsp}.test/transfers/{{{{transferId}}}}",
    "FSPIOP_CALLBACK_URL_TRANSFER_ERROR": "http://{fsp}.test/transfers/{{{{transferId}}}}/error",
    "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT": (
        "http://{fsp}.test/participants/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}"
    ),
    "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT_ERROR": (
        "http://{fsp}.test/participants/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}/error"
    ),
    "FSPIOP_CALLBACK_URL_PARTIES_GET": (
        "http://{fsp}.test/parties/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}"
    ),
    "FSPIOP_CALLBACK_URL_PARTIES_PUT": (
        "http://{fsp}.test/parties/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}"
    ),
    "FSPIOP_CALLBACK_URL_PARTIES_PUT_ERROR": (
        "http://{fsp}.test/parties/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}/error"
    ),
    "FSPIOP_CALLBACK_URL_QUOTES": "http://{fsp}.test",
    "FSPIOP_CALLBACK_URL_BULK_QUOTES": "http://{fsp}.test",
    "FSPIOP_CALLBACK_URL_BULK_TRANSFER_POST": "http://{fsp}.test/bulkTransfers",
    "FSPIOP_CALLBACK_URL_BULK_TRANSFER_PUT": "http://{fsp}.test/bulkTransfers/{{{{id}}}}",
    "FSPIOP_CALLBACK_URL_BULK_TRANSFER_ERROR": "http://{fsp}.test/bulkTransfers/{{{{id}}}}/error",
}


@dataclass
class Hub:
    client: TestClient
    switch: Switch
    sender: RecordingSender
    clock: ManualClock
    platform: Platform
    operator: Caller
    fsps: dict[str, Caller]

    # --- admin -----------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None, caller: Caller | None = None) -> Any:
        return self.client.request(
            method, f"/switch/hub{path}", json=body, headers=(caller or self.operator).headers
        )

    def position(self, fsp: str, currency: str = "USD") -> dict[str, str]:
        answer = self.admin("GET", f"/participants/{fsp}")
        assert answer.status_code == 200, answer.text
        return next(p for p in answer.json()["positions"] if p["currency"] == currency)

    # --- FSPIOP ----------------------------------------------------------------------------

    def fspiop(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        source: str,
        destination: str | None = None,
        caller: Caller | None = None,
        sign: bool = False,
        headers: dict[str, str] | None = None,
        resource: str = "transfers",
    ) -> Any:
        raw = b"" if body is None else json.dumps(body).encode()
        sent = outgoing_headers(
            resource,
            source=source,
            destination=destination,
            at=self.clock.now(),
            has_body=body is not None and method != "DELETE",
            expects_callback=method in ("POST", "GET"),
        )
        who = caller or self.fsps[source]
        if sign:
            sent["fspiop-signature"] = sign_request(
                who.signer, method=method, uri=path, headers=sent, body=raw
            )
        sent.update(headers or {})
        sent.update(who.headers)
        return self.client.request(method, f"/switch{path}", content=raw, headers=sent)

    def prepare_body(
        self,
        *,
        amount: str = "100",
        payer: str = "bank-a",
        payee: str = "bank-b",
        expires_in: timedelta = timedelta(minutes=1),
        transfer_id: str | None = None,
        fulfilment: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """A POST /transfers body and the fulfilment that unlocks it."""
        fulfilment = fulfilment or new_fulfilment()
        condition = condition_of(fulfilment)
        expiration: datetime = self.clock.now() + expires_in
        body = {
            "transferId": transfer_id or new_id(),
            "payerFsp": payer,
            "payeeFsp": payee,
            "amount": {"amount": amount, "currency": "USD"},
            "ilpPacket": ilp_prepare_packet(
                amount=int(float(amount) * 100),
                expires_at=expiration,
                condition=condition,
                destination=f"g.{payee}.msisdn.256700000001",
                data={"transactionId": new_id()},
            ),
            "condition": condition,
            "expiration": iso(expiration),
        }
        return body, fulfilment

    def prepare(self, **kwargs: Any) -> tuple[dict[str, Any], str]:
        body, fulfilment = self.prepare_body(**kwargs)
        answer = self.fspiop(
            "POST", "/transfers", body, source=body["payerFsp"], destination=body["payeeFsp"]
        )
        assert answer.status_code == 202, answer.text
        return body, fulfilment

    def fulfil(
        self, transfer_id: str, fulfilment: str, *, source: str = "bank-b", state: str = "COMMITTED"
    ) -> Any:
        body = {
            "fulfilment": fulfilment,
            "completedTimestamp": iso(self.clock.now()),
            "transferState": state,
        }
        return self.fspiop(
            "PUT", f"/transfers/{transfer_id}", body, source=source, destination="bank-a"
        )

    def deliver(self) -> list[Callback]:
        """Run the outbox once; return what it sent this time."""
        before = len(self.sender.sent)
        asyncio.run(self.switch.worker.deliver_due())
        return self.sender.sent[before:]


def _register_fsp(hub: Hub, fsp: str, member_code: str) -> None:
    """Join an FSP through the services (the admin API has tests of its own): member, currency,
    endpoints, 1000 USD of liquidity, a Net Debit Cap of 500."""
    caller = register(
        hub.platform, f"COM/{member_code}/app", scopes=("switch:fspiop",), roles=(Role.FSP,)
    )
    hub.fsps[fsp] = caller
    participants = hub.switch.participants
    member = str(caller.client_id.member)
    participants.register(actor="test", fsp_id=fsp, member=member, currencies=["USD"])
    for kind, template in ENDPOINTS.items():
        participants.set_endpoint(
            actor="test", fsp_id=fsp, kind=kind, value=template.format(fsp=fsp)
        )
    participants.deposit(
        actor="test", fsp_id=fsp, currency="USD", amount=100000, movement_id=new_id()
    )
    participants.set_net_debit_cap(actor="test", fsp_id=fsp, currency="USD", amount=50000)


@pytest.fixture
def hub(platform: Platform, clock: ManualClock) -> Iterator[Hub]:
    batcher = TransferBatcher(platform.ledger, expire_every=0)
    sender = RecordingSender()
    directory = DirectoryForSwitch(platform.directory, clock)
    switch = assemble_switch(
        store=(store := SqlSwitchStore(platform.db)),
        ledger=platform.ledger,
        batcher=batcher,
        clock=clock,
        signer=platform.signer,
        sender=sender,
        member_roles=directory.member_roles,
        keys_of=directory.keys_of,
        require_signature=False,
        oracle=SqlOracle(platform.db, clock),
        settlement_store=SqlSettlementStore(platform.db),
        bulk_store=SqlBulkStore(store),
    )
    app = create_http_app(
        title="Baobab",
        version=__version__,
        routers=[build_router(switch=switch)],
        verifier=platform.verifier,
        check_ready=platform.check_ready,
    )
    operator = register(
        platform, "GOV/OPS/hub", scopes=("switch:admin", "switch:read"), roles=(Role.OPERATOR,)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        built = Hub(client, switch, sender, clock, platform, operator, {})
        _register_fsp(built, "bank-a", "BANKA")
        _register_fsp(built, "bank-b", "BANKB")
        yield built
    batcher.close()
