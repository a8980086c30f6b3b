"""A small world for the identity use cases: services over the fakes, an enrolment agency whose
packets are signed with its registered key, and example people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baobab.directory import ClientId, PublicKey
from baobab.directory.domain import KeyStatus
from baobab.identity import (
    AuthenticationService,
    EnrolmentService,
    IdentityService,
    ProfileCatalogue,
)
from baobab.identity.factors import Partner
from baobab.kernel.clock import ManualClock
from baobab.kernel.signing import Signer
from tests.unit.identity.fakes import Consent, FakeDatabase, Journal, Keys, Outbox, RuleFinder

AGENCY = "DEV/GOV/NRB/enrolment"
BANK = Partner("DEV/COM/BANKA/kyc")
OTHER_BANK = Partner("DEV/COM/BANKB/kyc")
SECRET = b"s" * 32


def person(given: str = "Amina", family: str = "Diallo", **more: Any) -> dict[str, Any]:
    """Demographics under profile example-a@2."""
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
        "biometrics": [{"modality": "finger", "reference": "abis:tpl/1"}],
        "officer": "officer-17",
        "centre": "centre-dala",
        **more,
    }


@dataclass
class World:
    clock: ManualClock
    db: FakeDatabase = field(default_factory=FakeDatabase)
    finder: RuleFinder = field(default_factory=RuleFinder)
    keys: Keys = field(default_factory=Keys)
    consent: Consent = field(default_factory=lambda: Consent(True))
    outbox: Outbox = field(default_factory=Outbox)
    journal: Journal = field(default_factory=Journal)
    agency: Signer = field(default_factory=lambda: Signer.generate("Ed25519"))
    instance: Signer = field(default_factory=lambda: Signer.generate("P-256"))

    def __post_init__(self) -> None:
        self.profiles = ProfileCatalogue.shipped(active="example-a")
        self.register_key(AGENCY, self.agency, at=self.clock.now())
        self.enrolment = EnrolmentService(
            uow=self.db.uow,
            clock=self.clock,
            profiles=self.profiles,
            keys=self.keys,
            finder=self.finder,
        )
        self.identities = IdentityService(uow=self.db.uow, clock=self.clock, profiles=self.profiles)
        self.auth = AuthenticationService(
            reader=self.db.reader(),
            uow=self.db.uow,
            clock=self.clock,
            profiles=self.profiles,
            journal=self.journal,
            messenger=self.outbox,
            consent=self.consent,
            signer=self.instance,
            secret=SECRET,
            issuer="http://testserver/identity",
            identity_limit=1000,
        )

    def register_key(self, client: str, signer: Signer, *, at: datetime) -> None:
        cid = ClientId.parse(client)
        key = PublicKey(signer.kid, cid, signer.public_jwk(), signer.alg, KeyStatus.ACTIVE, at)
        self.keys.by_client.setdefault(cid, []).append(key)

    def sign(self, body: dict[str, Any], signer: Signer | None = None) -> str:
        return (signer or self.agency).encode(body)

    def submit(self, body: dict[str, Any], *, caller: str = AGENCY) -> Any:
        return self.enrolment.submit(caller=caller, signed_packet=self.sign(body))

    def enrol(self, packet_id: str, demographics: dict[str, Any]) -> str:
        """Enrol someone new and return the UIN."""
        enrolment = self.submit(packet(packet_id, demographics))
        assert enrolment.uin is not None, enrolment
        return str(enrolment.uin)
