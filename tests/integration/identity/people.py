"""Packets and people for the identity integration and API tests."""

from __future__ import annotations

from typing import Any

from baobab.bootstrap import Platform
from baobab.directory import Role
from baobab.identity import Enrolment
from tests.integration.identity.stack import IdentityStack
from tests.support import Caller, register

PHONE = "+2348012345678"


def person(given: str = "Amina", family: str = "Diallo", **more: Any) -> dict[str, Any]:
    return {
        "given_name": given,
        "family_name": family,
        "birth_date": "1990-04-12",
        "sex": "female",
        "address": {"region": "North", "district": "Kano", "locality": "Dala"},
        **more,
    }


def packet(packet_id: str, demographics: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "packet_id": packet_id,
        "demographics": demographics,
        "biometric_exception": {"reason": "no fingerprint scanner at this mobile centre"},
        "officer": "officer-17",
        "centre": "centre-dala",
        **more,
    }


def agency(platform: Platform, name: str = "GOV/NRB/enrolment") -> Caller:
    return register(platform, name, scopes=("identity:enrol",), roles=(Role.ENROLMENT_AGENCY,))


def relying_party(platform: Platform, name: str = "COM/BANKA/kyc") -> Caller:
    return register(
        platform,
        name,
        scopes=("identity:auth", "identity:ekyc"),
        roles=(Role.RELYING_PARTY,),
        curve="P-256",
    )


class Enroller:
    """An enrolment agency's client over the service: signs and submits packets."""

    def __init__(self, stack: IdentityStack, caller: Caller) -> None:
        self.stack = stack
        self.caller = caller

    def submit(self, body: dict[str, Any]) -> Enrolment:
        return self.stack.enrolment.submit(
            caller=str(self.caller.client_id), signed_packet=self.caller.signer.encode(body)
        )

    def enrol(self, packet_id: str, demographics: dict[str, Any]) -> str:
        enrolment = self.submit(packet(packet_id, demographics))
        assert enrolment.uin is not None, enrolment
        return enrolment.uin
