from __future__ import annotations

from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from tests.api.identity.client import enrol, otp_code
from tests.integration.identity.people import PHONE, person
from tests.support import Caller, register


def test_the_person_locks_a_factor_through_the_resident_portal(
    identity_api: TestClient, *, nrb: Caller, bank: Caller, operator: Caller, wired: Platform
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person(phone=PHONE))
    portal = register(wired, "GOV/RESIDENT/portal", scopes=("identity:resident",))
    claim = {
        "individual_id": uin,
        "transaction_id": "t-1",
        "demographics": {"given_name": "Amina", "birth_date": "1990"},
    }

    def person_otp() -> dict[str, str]:
        sent = identity_api.post(
            "/identity/resident/otp",
            json={"individual_id": uin, "channel": "sms"},
            headers=portal.headers,
        )
        assert sent.status_code == 200, sent.json()
        return {"otp_id": sent.json()["otp_id"], "code": otp_code(identity_api, operator, PHONE)}

    locked = identity_api.post(
        "/identity/resident/factor-locks",
        json={"individual_id": uin, "otp": person_otp(), "lock": ["demo"]},
        headers=portal.headers,
    )
    assert (locked.status_code, locked.json()) == (200, {"locked": ["demo"]})
    refused = identity_api.post("/identity/authenticate", json=claim, headers=bank.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "identity.factor_locked")

    bad = identity_api.post(
        "/identity/resident/factor-locks",
        json={"individual_id": uin, "otp": person_otp(), "unlock": ["fingerprint"]},
        headers=portal.headers,
    )
    assert bad.status_code == 422
    unlocked = identity_api.post(
        "/identity/resident/factor-locks",
        json={"individual_id": uin, "otp": person_otp(), "unlock": ["demo"]},
        headers=portal.headers,
    )
    assert unlocked.json() == {"locked": []}
    yes = identity_api.post("/identity/authenticate", json=claim, headers=bank.headers)
    assert yes.json()["authenticated"] is True


def test_a_bank_cannot_use_the_resident_routes(
    identity_api: TestClient, *, nrb: Caller, bank: Caller
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person(phone=PHONE))
    refused = identity_api.post(
        "/identity/resident/otp",
        json={"individual_id": uin, "channel": "sms"},
        headers=bank.headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.missing_scope")
