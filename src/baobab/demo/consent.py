"""Chapter: consent. Bank A defines a data agreement for eKYC; a person gives consent through
the bank's app (the individual API); the gateway's check passes; the person withdraws; the very
next check is refused; the record's chain verifies and exports as ISO/IEC TS 27560 JSON.

(The eKYC call itself arrives with the Identity block; this chapter stops at the check it will
ask.)"""

from __future__ import annotations

import secrets
from typing import Any

from baobab.bootstrap import Platform
from baobab.demo.client import SubsystemClient
from baobab.demo.console import join
from baobab.demo.story import Story, answer, expect
from baobab.directory import Role
from baobab.kernel.signing import Signer

BANK_APP = "COM/BANKA/onboarding"
GATEWAY = "GOV/OPS/gateway"
AGREEMENT = {
    "purpose": "ekyc",
    "purpose_description": "Confirm your identity with the national ID system to open an account",
    "lawful_basis": "consent",
    "attributes": [
        {"name": "full_name", "category": "identity"},
        {"name": "birth_date", "category": "identity"},
        {"name": "photo", "category": "biometric", "sensitive": True},
    ],
    "retention_days": 1825,
    "validity_days": 365,
    "policy": {
        "name": "Bank A privacy notice",
        "version": "2026.1",
        "url": "https://bank-a.example/privacy/2026.1",
        "jurisdiction": "ZZ",
    },
}


class ConsentChapter:
    """The steps of the chapter, sharing the bank's app and the gateway's clients."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        self.instance = settings.instance
        self.bank_member = f"{self.instance}/{BANK_APP.rsplit('/', 1)[0]}"

        def client(name: str) -> SubsystemClient:
            return SubsystemClient(
                base_url=settings.public_url,
                client_id=f"{self.instance}/{name}",
                signer=Signer.generate(),
                clock=platform.clock,
            )

        self.bank = client(BANK_APP)
        self.gateway = client(GATEWAY)
        self.person = f"tok-{secrets.token_urlsafe(12)}"  # the bank's own token for the person
        self.agreement_id = ""
        self.record_id = ""

    def close(self) -> None:
        for c in (self.bank, self.gateway):
            c.close()

    def register(self) -> str:
        join(
            self.platform.directory,
            self.bank,
            "Bank A",
            Role.FSP,
            ["consent:admin", "consent:individual", "consent:read"],
        )
        join(
            self.platform.directory,
            self.gateway,
            "DPI Operations Unit",
            Role.OPERATOR,
            ["consent:check"],
        )
        return f"{self.bank.client_id} (agreements, individuals); {self.gateway.client_id} (checks)"

    def define(self) -> str:
        body = {**AGREEMENT, "recipients": [self.bank_member]}
        agreement = answer(self.bank.call("POST", "/consent/config/agreement/", json=body), 201)
        self.agreement_id = agreement["id"]
        names = ", ".join(a["name"] for a in agreement["attributes"])
        return (
            f"agreement {self.agreement_id[:8]}… rev {agreement['revision']}: {names} "
            f"to {self.bank_member}, lawful basis {agreement['lawful_basis']}"
        )

    def _as_person(self) -> dict[str, str]:
        return {"X-ConsentBB-IndividualId": self.person}

    def give(self) -> str:
        path = f"/consent/service/individual/record/agreement/{self.agreement_id}/"
        record = answer(
            self.bank.call("POST", path, json={"channel": "mobile"}, headers=self._as_person()),
            200,
        )
        self.record_id = record["id"]
        expect(record["state"] == "given", f"the record says {record['state']}")
        return f"record {self.record_id[:8]}… revision {record['sequence']}: consent given, signed"

    def _check(self) -> Any:
        body = {
            "individual": self.person,
            "agreement_id": self.agreement_id,
            "purpose": "ekyc",
            "recipient": self.bank.client_id,
        }
        return answer(
            self.gateway.call("POST", "/consent/service/verification/check/", json=body), 200
        )

    def check_passes(self) -> str:
        decision = self._check()
        expect(decision["allowed"] is True, f"the check refused: {decision['reason']}")
        return f"allowed ({decision['reason']}): eKYC data may go to the bank"

    def withdraw(self) -> str:
        path = f"/consent/service/individual/record/consentrecord/{self.record_id}/"
        body = {"opt_in": False, "channel": "mobile"}
        record = answer(self.bank.call("PUT", path, json=body, headers=self._as_person()), 200)
        expect(record["state"] == "withdrawn", f"the record says {record['state']}")
        return f"revision {record['sequence']}: consent withdrawn in the bank's app"

    def check_refused(self) -> str:
        decision = self._check()
        expect(decision["allowed"] is False, "the check still allowed after the withdrawal")
        return f"refused ({decision['reason']}): the next eKYC request would be refused"

    def evidence(self) -> str:
        base = f"/consent/audit/consentrecord/{self.record_id}/"
        verdict = answer(self.bank.call("GET", base + "verify/"), 200)
        expect(verdict["intact"] is True, f"the record does not verify: {verdict}")
        exported = answer(self.bank.call("GET", base + "export/"), 200)
        states = [e["eventState"] for e in exported["events"]]
        expect(states == ["consent given", "consent withdrawn"], f"events: {states}")
        return f"chain and signatures intact; ISO/IEC TS 27560 export: {', '.join(states)}"


def chapter(story: Story, platform: Platform) -> None:
    """Run the consent chapter."""
    story.chapter("Consent", "a person gives consent for eKYC, then takes it back")
    steps = ConsentChapter(platform)
    try:
        story.step("Register the bank's app and the gateway", steps.register)
        story.step("Bank A defines the eKYC data agreement", steps.define)
        story.step("The person consents in the bank's app", steps.give)
        story.step("The gateway checks before data moves", steps.check_passes)
        story.step("The person withdraws consent", steps.withdraw)
        story.step("The very next check is refused", steps.check_refused)
        story.step("The record verifies and exports", steps.evidence)
    finally:
        steps.close()
