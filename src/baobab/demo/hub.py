"""A switch operator's console and client, shared by the switch chapter, its end-to-end tests
and its benchmark: register an FSP's system in the directory, then join it to the hub through the
admin API (participant, currency, callback endpoints pointing at the FSP, liquidity, Net Debit
Cap) and read its positions back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from baobab.demo.client import SubsystemClient
from baobab.demo.console import register_at_console
from baobab.demo.story import Unexpected
from baobab.directory import DirectoryService, Role
from baobab.kernel.clock import Clock
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer

OPERATOR_SCOPES = ("switch:admin", "switch:read")
FSP_SCOPES = ("switch:fspiop",)


def fsp_endpoints(base_url: str) -> dict[str, str]:
    """Where an FSP serving the FSPIOP resources at ``base_url`` receives each kind of message
    (Mojaloop's endpoint types and ``{{placeholder}}`` templates)."""
    base = base_url.rstrip("/")
    party = f"{base}/parties/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}"
    participant = f"{base}/participants/{{{{partyIdType}}}}/{{{{partyIdentifier}}}}"
    transfer = f"{base}/transfers/{{{{transferId}}}}"
    return {
        "FSPIOP_CALLBACK_URL_PARTIES_GET": party,
        "FSPIOP_CALLBACK_URL_PARTIES_PUT": party,
        "FSPIOP_CALLBACK_URL_PARTIES_PUT_ERROR": f"{party}/error",
        "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT": participant,
        "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT_ERROR": f"{participant}/error",
        "FSPIOP_CALLBACK_URL_QUOTES": base,
        "FSPIOP_CALLBACK_URL_TRANSFER_POST": f"{base}/transfers",
        "FSPIOP_CALLBACK_URL_TRANSFER_PUT": transfer,
        "FSPIOP_CALLBACK_URL_TRANSFER_ERROR": f"{transfer}/error",
    }


def register_fsp_system(
    directory: DirectoryService, client_id: str, *, name: str, signer: Signer
) -> None:
    """At the directory console: the FSP as a member with the role ``fsp``, its switch
    subsystem with ``signer``'s public key and the scope to call the hub."""
    register_at_console(
        directory,
        client_id,
        name=name,
        role=Role.FSP,
        jwk=signer.public_jwk(),
        scopes=FSP_SCOPES,
    )


def register_operator(directory: DirectoryService, client_id: str, *, signer: Signer) -> None:
    """At the directory console: the switch operator with the hub admin scopes."""
    register_at_console(
        directory,
        client_id,
        name="Switch operations",
        role=Role.OPERATOR,
        jwk=signer.public_jwk(),
        scopes=OPERATOR_SCOPES,
    )


class HubRefusedAdmin(Unexpected):
    """The hub's admin API answered something other than success."""


@dataclass(frozen=True, slots=True)
class Funding:
    """What an FSP brings: liquidity deposited and the Net Debit Cap set, as FSPIOP amounts."""

    currency: str
    liquidity: str
    net_debit_cap: str


class HubOperator:
    """The operator's client of the hub admin API (``/switch/hub/...``)."""

    def __init__(self, *, base_url: str, client_id: str, signer: Signer, clock: Clock) -> None:
        self.client = SubsystemClient(
            base_url=base_url, client_id=client_id, signer=signer, clock=clock
        )

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        if self.client.token is None:
            self.client.request_token()
        response = self.client.call(method, f"/switch/hub{path}", **kwargs)
        if response.status_code != expected:
            raise HubRefusedAdmin(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def join(self, *, fsp_id: str, member: str, fsp_url: str, funding: Funding) -> dict[str, Any]:
        """Register ``member`` as FSP ``fsp_id`` with its endpoints, liquidity and cap."""
        self._call(
            "POST",
            "/participants",
            201,
            json={"fspId": fsp_id, "member": member, "currencies": [funding.currency]},
        )
        for kind, value in fsp_endpoints(fsp_url).items():
            self._call(
                "PUT", f"/participants/{fsp_id}/endpoints", 200, json={"type": kind, "value": value}
            )
        self.fund(fsp_id, funding.currency, funding.liquidity)
        money = {"amount": funding.net_debit_cap, "currency": funding.currency}
        return dict(
            self._call("PUT", f"/participants/{fsp_id}/limits", 200, json={"netDebitCap": money})
        )

    def fund(self, fsp_id: str, currency: str, amount: str) -> dict[str, Any]:
        """Deposit ``amount`` of liquidity for the FSP."""
        body = {
            "movementId": new_id(),
            "action": "deposit",
            "amount": {"amount": amount, "currency": currency},
        }
        return dict(self._call("POST", f"/participants/{fsp_id}/funds", 200, json=body))

    def position(self, fsp_id: str, currency: str) -> dict[str, str]:
        """The FSP's position in ``currency`` as the hub reports it (FSPIOP amounts)."""
        found = self._call("GET", f"/participants/{fsp_id}", 200)
        for position in found.get("positions") or []:
            if position["currency"] == currency:
                return dict(position)
        raise HubRefusedAdmin(f"{fsp_id} has no {currency} position")

    def close_window(self) -> dict[str, Any]:
        """Close the open settlement window; its report (net position per FSP and currency)."""
        return dict(self._call("POST", "/settlement/windows/close", 200))

    def settle_window(self, window_id: int, *, wait: float = 60.0) -> dict[str, Any]:
        """Freeze the closed window's net positions — once the hub's grace after closing has
        passed, waiting up to ``wait`` seconds for it — then settle them; the settled report."""
        deadline = time.monotonic() + wait
        path = f"/switch/hub/settlement/windows/{window_id}/start"
        while (started := self.raw("POST", path)).status_code == 409:
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        if started.status_code != 200:
            raise HubRefusedAdmin(f"POST {path}: {started.status_code} {started.text}")
        return dict(self._call("POST", f"/settlement/windows/{window_id}/settle", 200))

    def report_csv(self, window_id: int) -> str:
        """The window's settlement report as CSV."""
        response = self.raw(
            "GET", f"/switch/hub/settlement/windows/{window_id}/report", params={"format": "csv"}
        )
        if response.status_code != 200:
            raise HubRefusedAdmin(f"report of window {window_id}: {response.status_code}")
        return response.text

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any call to the hub as the operator (a fresh token is fetched first if needed)."""
        if self.client.token is None:
            self.client.request_token()
        return self.client.call(method, path, **kwargs)
