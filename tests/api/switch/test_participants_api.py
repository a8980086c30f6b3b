"""The hub admin API: registering FSPs, liquidity, the Net Debit Cap and its rules, roles."""

from __future__ import annotations

from baobab.directory import Role
from baobab.kernel.ids import new_id
from tests.api.switch.conftest import Hub
from tests.support import register


def _funds(hub: Hub, action: str, amount: str, movement_id: str | None = None) -> int:
    body = {
        "movementId": movement_id or new_id(),
        "action": action,
        "amount": {"amount": amount, "currency": "USD"},
    }
    return int(hub.admin("POST", "/participants/bank-a/funds", body).status_code)


def _cap(hub: Hub, amount: str) -> int:
    body = {"netDebitCap": {"amount": amount, "currency": "USD"}}
    return int(hub.admin("PUT", "/participants/bank-a/limits", body).status_code)


def test_registered_fsps_are_listed_with_positions(hub: Hub) -> None:
    listed = hub.admin("GET", "/participants").json()
    assert [p["fspId"] for p in listed] == ["bank-a", "bank-b"]
    position = hub.position("bank-a")
    assert position == {
        "currency": "USD",
        "liquidity": "500",
        "netDebitCap": "500",
        "netPosition": "0",
        "reserved": "0",
        "headroom": "500",
    }


def test_the_cap_cannot_exceed_liquidity(hub: Hub) -> None:
    assert _cap(hub, "1000") == 200
    assert hub.position("bank-a")["liquidity"] == "0"
    assert _cap(hub, "1000.01") == 409
    assert hub.position("bank-a")["netDebitCap"] == "1000"


def test_a_withdrawal_cannot_eat_into_the_cap(hub: Hub) -> None:
    assert _funds(hub, "withdraw", "500.01") == 409
    assert _funds(hub, "withdraw", "500") == 200
    assert hub.position("bank-a")["liquidity"] == "0"
    assert hub.position("bank-a")["netDebitCap"] == "500"


def test_a_deposit_is_idempotent_by_movement_id(hub: Hub) -> None:
    movement = new_id()
    assert _funds(hub, "deposit", "10", movement) == 200
    assert _funds(hub, "deposit", "10", movement) == 200
    assert hub.position("bank-a")["liquidity"] == "510"
    assert _funds(hub, "deposit", "11", movement) == 409


def test_the_cap_cannot_be_lowered_below_the_net_debit(hub: Hub) -> None:
    hub.prepare(amount="300")
    assert _cap(hub, "299") == 409
    assert _cap(hub, "300") == 200
    position = hub.position("bank-a")
    assert (position["netDebitCap"], position["headroom"], position["liquidity"]) == (
        "300",
        "0",
        "700",
    )


def test_registration_needs_an_fsp_member_and_a_fresh_id(hub: Hub) -> None:
    ministry = register(
        hub.platform, "GOV/MIN/app", scopes=("directory:read",), roles=(Role.MINISTRY,)
    )
    member = str(ministry.client_id.member)
    answer = hub.admin("POST", "/participants", {"fspId": "ministry", "member": member})
    assert (answer.status_code, answer.json()["code"]) == (403, "switch.not_an_fsp")
    taken = hub.admin("POST", "/participants", {"fspId": "bank-a", "member": "DEV/COM/OTHER"})
    assert taken.status_code == 400
    again = hub.admin("POST", "/participants", {"fspId": "bank-c", "member": "DEV/COM/BANKA"})
    assert (again.status_code, again.json()["code"]) == (409, "switch.participant_exists")
    bad = hub.admin("PUT", "/participants/bank-a/endpoints", {"type": "NOPE", "value": "http://x"})
    assert bad.status_code == 400


def test_admin_needs_the_operator_role(hub: Hub) -> None:
    outsider = register(hub.platform, "COM/BANKC/ops", scopes=("switch:admin",), roles=(Role.FSP,))
    answer = hub.admin("PATCH", "/participants/bank-a", {"enabled": False}, caller=outsider)
    assert (answer.status_code, answer.json()["code"]) == (403, "switch.not_operator")
    assert hub.admin("GET", "/participants/bank-a").json()["enabled"] is True
