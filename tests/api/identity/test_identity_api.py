from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.kernel.signing import Signer, parse_compact
from tests.api.identity.client import enrol, otp_code, submit
from tests.integration.identity.people import PHONE, agency, packet, person
from tests.integration.identity.stack import IdentityStack
from tests.support import Caller, register


def test_enrolment_is_idempotent_and_conflicts_are_specific(
    identity_api: TestClient, nrb: Caller
) -> None:
    first = submit(identity_api, nrb, packet("pkt-00000001", person()))
    assert first.status_code == 200
    body = first.json()
    assert body["state"] == "issued"
    assert [t["state"] for t in body["transitions"]] == [
        "received",
        "checked",
        "deduplicating",
        "issued",
    ]
    again = submit(identity_api, nrb, packet("pkt-00000001", person()))
    assert again.json() == body
    other = submit(identity_api, nrb, packet("pkt-00000001", person(given="Fatima")))
    assert (other.status_code, other.json()["code"]) == (409, "identity.packet_conflict")
    read = identity_api.get("/identity/packets/pkt-00000001", headers=nrb.headers)
    assert read.json() == body
    dup = submit(identity_api, nrb, packet("pkt-00000002", person(family="Dialo")))
    assert dup.json()["state"] == "duplicate"
    assert dup.json()["duplicate_of"] == body["uin"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"packet_id": "x"}, 400, "identity.malformed_packet"),
        (packet("pkt-00000009", person(shoe="42")), 400, "identity.unknown_field"),
        (packet("pkt-00000009", person(birth_date="1990-02-30")), 400, "identity.impossible_date"),
        (packet("pkt-00000009", person(sex="cat")), 400, "identity.schema_violation"),
        (
            {**packet("pkt-00000009", person()), "biometric_exception": None},
            400,
            "identity.biometrics_missing",
        ),
    ],
)
def test_bad_packets_are_refused_with_specific_codes(
    identity_api: TestClient,
    *,
    nrb: Caller,
    stack: IdentityStack,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = submit(identity_api, nrb, body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert stack.enrolment.review_queue(open_only=False) == []
    missing = identity_api.get("/identity/packets/pkt-00000009", headers=nrb.headers)
    assert missing.status_code == 404


def test_a_packet_signed_by_a_stranger_is_refused(identity_api: TestClient, nrb: Caller) -> None:
    body = {"packet": Signer.generate().encode(packet("pkt-00000001", person()))}
    response = identity_api.post("/identity/packets", json=body, headers=nrb.headers)
    assert (response.status_code, response.json()["code"]) == (401, "identity.bad_packet_signature")
    garbage = identity_api.post("/identity/packets", json={"packet": "x.y"}, headers=nrb.headers)
    assert garbage.json()["code"] == "identity.malformed_packet"


def test_another_agency_cannot_read_a_packet(
    identity_api: TestClient, nrb: Caller, wired: Platform
) -> None:
    enrol(identity_api, nrb, "pkt-00000001", person())
    other = agency(wired, "GOV/NRB/other")
    response = identity_api.get("/identity/packets/pkt-00000001", headers=other.headers)
    assert response.status_code == 404


def test_otp_authentication_and_ekyc_with_consent(
    identity_api: TestClient,
    *,
    nrb: Caller,
    bank: Caller,
    operator: Caller,
    stack: IdentityStack,
    wired: Platform,
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person(phone=PHONE))
    policy = identity_api.put(
        "/identity/partners/DEV/COM/BANKA/policy",
        json={"attributes": ["given_name", "family_name", "birth_date"]},
        headers=operator.headers,
    )
    assert policy.status_code == 200

    def otp() -> dict[str, str]:
        sent = identity_api.post(
            "/identity/otp", json={"individual_id": uin, "channel": "sms"}, headers=bank.headers
        ).json()
        assert sent["masked_address"] == "+23*********78"
        return {"otp_id": sent["otp_id"], "code": otp_code(identity_api, operator, PHONE)}

    yes = identity_api.post(
        "/identity/authenticate",
        json={"individual_id": uin, "transaction_id": "t-1", "otp": otp()},
        headers=bank.headers,
    ).json()
    assert yes["authenticated"] is True
    assert uin not in str(yes)

    request = {
        "individual_id": uin,
        "transaction_id": "kyc-1",
        "attributes": ["given_name", "birth_date"],
        "consent": {"agreement_id": "agr-1", "purpose": "account-opening"},
    }
    stack.consent.answer = False
    refused = identity_api.post(
        "/identity/ekyc", json={**request, "otp": otp()}, headers=bank.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "identity.consent_missing")

    stack.consent.answer = True
    outside = identity_api.post(
        "/identity/ekyc",
        json={**request, "attributes": ["address"], "otp": otp()},
        headers=bank.headers,
    )
    assert (outside.status_code, outside.json()["code"]) == (403, "identity.attribute_not_allowed")

    kyc = identity_api.post("/identity/ekyc", json={**request, "otp": otp()}, headers=bank.headers)
    assert kyc.status_code == 200, kyc.json()
    body = kyc.json()
    assert body["attributes"] == {"given_name": "Amina", "birth_date": "1990-04-12"}
    assert body["token"] == yes["token"]
    jws = parse_compact(body["signed"])
    assert jws.verified_by(wired.signer.verification_key)
    assert jws.claims()["sub"] == body["token"]
    assert uin not in body["signed"]


def test_used_and_wrong_otps_and_unknown_or_revoked_vids(
    identity_api: TestClient, nrb: Caller, bank: Caller, operator: Caller
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person(phone=PHONE))
    sent = identity_api.post(
        "/identity/otp", json={"individual_id": uin, "channel": "sms"}, headers=bank.headers
    ).json()
    otp = {"otp_id": sent["otp_id"], "code": otp_code(identity_api, operator, PHONE)}
    auth = {"individual_id": uin, "transaction_id": "t-1", "otp": otp}
    assert identity_api.post("/identity/authenticate", json=auth, headers=bank.headers).json()[
        "authenticated"
    ]
    used = identity_api.post("/identity/authenticate", json=auth, headers=bank.headers)
    assert (used.status_code, used.json()["code"]) == (409, "identity.otp_used")
    no_email = identity_api.post(
        "/identity/otp", json={"individual_id": uin, "channel": "email"}, headers=bank.headers
    )
    assert no_email.json()["code"] == "identity.no_otp_channel"

    vid = identity_api.post(
        "/identity/vids", json={"uin": uin, "kind": "perpetual"}, headers=operator.headers
    ).json()["vid"]
    demo = {"transaction_id": "t-2", "demographics": {"given_name": "amina"}}
    ok = identity_api.post(
        "/identity/authenticate", json={"individual_id": vid, **demo}, headers=bank.headers
    )
    assert ok.json()["authenticated"] is True
    identity_api.post(f"/identity/vids/{vid}/revoke", headers=operator.headers)
    revoked = identity_api.post(
        "/identity/authenticate", json={"individual_id": vid, **demo}, headers=bank.headers
    )
    assert (revoked.status_code, revoked.json()["code"]) == (403, "identity.vid_revoked")
    unknown = identity_api.post(
        "/identity/authenticate",
        json={"individual_id": "2" + "7495836" * 2 + "1", **demo},
        headers=bank.headers,
    )
    assert unknown.json()["code"] in {"identity.unknown_vid", "identity.invalid_individual_id"}


def test_lock_and_unlock(
    identity_api: TestClient, nrb: Caller, bank: Caller, operator: Caller
) -> None:
    uin = enrol(identity_api, nrb, "pkt-00000001", person())
    demo = {"individual_id": uin, "transaction_id": "t", "demographics": {"sex": "female"}}
    locked = identity_api.post(
        f"/identity/identities/{uin}/lock", json={"reason": "card lost"}, headers=operator.headers
    )
    assert locked.json()["status"] == "locked"
    refused = identity_api.post("/identity/authenticate", json=demo, headers=bank.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "identity.locked")
    identity_api.post(
        f"/identity/identities/{uin}/unlock", json={"reason": "found"}, headers=operator.headers
    )
    assert identity_api.post("/identity/authenticate", json=demo, headers=bank.headers).json()[
        "authenticated"
    ]


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/identity/profiles", None),
    ("GET", "/identity/profiles/example-a@2", None),
    ("POST", "/identity/packets", {"packet": "x"}),
    ("GET", "/identity/packets/pkt-00000001", None),
    ("GET", "/identity/review/cases", None),
    ("GET", "/identity/review/cases/c", None),
    ("POST", "/identity/review/cases/c/decision", {"decision": "reject", "reason": "xyz"}),
    ("POST", "/identity/identities/2749583610/lock", {"reason": "xyz"}),
    ("POST", "/identity/identities/2749583610/unlock", {"reason": "xyz"}),
    ("POST", "/identity/vids", {"uin": "2749583610", "kind": "perpetual"}),
    ("POST", "/identity/vids/1/revoke", None),
    ("PUT", "/identity/partners/DEV/COM/BANKA/policy", {"attributes": []}),
    ("POST", "/identity/otp", {"individual_id": "1", "channel": "sms"}),
    ("POST", "/identity/authenticate", {"individual_id": "1", "transaction_id": "t"}),
    (
        "POST",
        "/identity/ekyc",
        {
            "individual_id": "1",
            "transaction_id": "t",
            "consent": {"agreement_id": "a", "purpose": "p"},
        },
    ),
    ("GET", "/identity/dev/outbox", None),
    ("POST", "/identity/resident/otp", {"individual_id": "1", "channel": "sms"}),
    (
        "POST",
        "/identity/resident/factor-locks",
        {"individual_id": "1", "otp": {"otp_id": "x", "code": "1"}, "lock": ["demo"]},
    ),
]


def test_every_route_refuses_callers_without_rights(
    identity_api: TestClient, wired: Platform
) -> None:
    outsider = register(wired, "COM/NOBODY/app", scopes=("directory:read",))
    for method, path, body in ROUTES:
        anonymous = identity_api.request(method, path, json=body)
        assert anonymous.status_code == 401, path
        refused = identity_api.request(method, path, json=body, headers=outsider.headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "auth.missing_scope"), path


def test_partner_routes_need_the_role_as_well_as_the_scope(
    identity_api: TestClient, wired: Platform
) -> None:
    scoped = register(
        wired, "COM/SHOP/app", scopes=("identity:auth", "identity:ekyc", "identity:enrol")
    )
    for method, path, body in ROUTES:
        if path.startswith(
            (
                "/identity/otp",
                "/identity/authenticate",
                "/identity/ekyc",
                "/identity/packets",
                "/identity/profiles",
            )
        ):
            response = identity_api.request(method, path, json=body, headers=scoped.headers)
            assert (response.status_code, response.json()["code"]) == (
                403,
                "identity.missing_role",
            ), path


def test_profiles_are_published(identity_api: TestClient, nrb: Caller) -> None:
    listing = identity_api.get("/identity/profiles", headers=nrb.headers).json()
    assert listing == {
        "active": "example-a@2",
        "profiles": ["example-a@1", "example-a@2", "example-b@1"],
    }
    doc = identity_api.get("/identity/profiles/example-b@1", headers=nrb.headers).json()
    assert doc["x-profile"]["uin"]["length"] == 12
    missing = identity_api.get("/identity/profiles/atlantis@1", headers=nrb.headers)
    assert missing.json()["code"] == "identity.unknown_profile"
