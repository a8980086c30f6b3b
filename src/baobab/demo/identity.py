"""Chapter: identity. The registration agency enrols a few hundred synthetic people, some of
them twice with the errors real registers show; deduplication catches the second records and
sends doubtful ones to an officer, who decides; then a microfinance bank authenticates one
person with an OTP sent to their phone and, once the person consents, receives signed eKYC
with its own token for the person instead of the UIN."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import asdict
from typing import Any

from baobab.bootstrap import Platform
from baobab.demo.client import SubsystemClient
from baobab.demo.console import join
from baobab.demo.story import Story, answer, expect
from baobab.directory import Role
from baobab.identity.matching.population import generate_population
from baobab.kernel.signing import Signer, import_public_jwk, parse_compact

AGENCY = "GOV/NRB/enrolment"
OFFICER = "GOV/NRB/review"
BANK = "COM/UMOJA/kyc"
PORTAL = "GOV/RESIDENT/portal"
PEOPLE = 300
SEX = {"F": "female", "M": "male"}


def demographics_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """A synthetic register row as profile example-a demographics; None when it lacks what the
    profile requires (a name and at least a year of birth)."""
    if not (record.get("given_name") and record.get("family_name") and record.get("birth_date")):
        return None
    demographics: dict[str, Any] = {
        "given_name": record["given_name"],
        "family_name": record["family_name"],
        "birth_date": record["birth_date"],
        "sex": SEX.get(record.get("sex") or "", "not_stated"),
        "address": {"region": record.get("location") or "unknown"},
    }
    if record.get("other_names"):
        demographics["other_names"] = record["other_names"]
    if record.get("phone"):
        demographics["phone"] = record["phone"]
    return demographics


class IdentityChapter:
    """The steps, sharing the agency's, the officer's and the bank's clients."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        self.instance = settings.instance

        def client(name: str) -> SubsystemClient:
            return SubsystemClient(
                base_url=settings.public_url,
                client_id=f"{self.instance}/{name}",
                signer=Signer.generate(),
                clock=platform.clock,
            )

        self.agency = client(AGENCY)
        self.officer = client(OFFICER)
        self.bank = client(BANK)
        self.portal = client(PORTAL)
        self.truth: dict[str, str] = {}  # packet id -> person id
        self.results: dict[str, dict[str, Any]] = {}
        self.demographics: dict[str, dict[str, Any]] = {}
        self.uin = ""
        self.token = ""
        self.agreement_id = ""
        self.record_id = ""

    def close(self) -> None:
        for c in (self.agency, self.officer, self.bank, self.portal):
            c.close()

    def register(self) -> str:
        join(
            self.platform.directory,
            self.agency,
            "National Registration Bureau",
            Role.ENROLMENT_AGENCY,
            ["identity:enrol"],
        )
        join(
            self.platform.directory,
            self.officer,
            "National Registration Bureau",
            Role.ENROLMENT_AGENCY,
            ["identity:review", "identity:admin"],
        )
        join(
            self.platform.directory,
            self.bank,
            "Umoja Microfinance",
            Role.RELYING_PARTY,
            ["identity:auth", "identity:ekyc", "consent:admin", "consent:individual"],
        )
        join(
            self.platform.directory,
            self.portal,
            "Resident services portal",
            Role.MINISTRY,
            ["identity:resident"],
        )
        return (
            f"{AGENCY} (enrols), {OFFICER} (reviews), {BANK} (relying party), "
            f"{PORTAL} (resident portal)"
        )

    def enrol(self) -> str:
        population = generate_population(PEOPLE, seed=2026, duplicate_share=0.25)
        for number, record in enumerate(population.records):
            demographics = demographics_of(asdict(record))
            if demographics is None:
                continue
            packet_id = f"NRB-2026-{number:06d}"
            result = self._submit(packet_id, demographics)
            self.truth[packet_id] = population.person_of[record.record_id]
            self.results[packet_id] = result
            self.demographics[packet_id] = demographics
        states = Counter(r["state"] for r in self.results.values())
        expect(states["issued"] > 0, f"nobody was issued a UIN: {dict(states)}")
        return ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + f" of {len(self.results)}"

    def duplicates(self) -> str:
        people = Counter(self.truth.values())
        second = [p for p, r in self.results.items() if people[self.truth[p]] > 1]
        caught = [p for p in second if self.results[p]["state"] in ("duplicate", "in_review")]
        by_person: dict[str, list[str]] = {}
        for packet_id in second:
            by_person.setdefault(self.truth[packet_id], []).append(packet_id)
        repeats = sum(len(v) - 1 for v in by_person.values())
        flagged = sum(1 for r in self.results.values() if r["state"] in ("duplicate", "in_review"))
        expect(flagged > 0, "no duplicate was caught")
        return (
            f"{repeats} packets were people already registered; {flagged} packets were caught "
            f"(duplicate or to review), {len(caught)} of them among the known repeats"
        )

    def _submit(self, packet_id: str, demographics: dict[str, Any]) -> Any:
        body = {
            "packet_id": packet_id,
            "demographics": demographics,
            "biometric_exception": {"reason": "mobile registration without a scanner"},
            "officer": "officer-07",
            "centre": "mobile-unit-3",
        }
        signed = self.agency.signer.encode(body)
        return answer(self.agency.call("POST", "/identity/packets", json={"packet": signed}), 200)

    def doubtful(self) -> str:
        """Look-alikes of registered people the matcher should not settle alone: the same
        names and place, but only a year of birth, two years off (a relative? the same person
        with a guessed age?)."""
        issued = [p for p, r in self.results.items() if r["state"] == "issued"]
        states: Counter[str] = Counter()
        for number, packet_id in enumerate(issued[:12]):
            original = self.demographics[packet_id]
            look_alike = {**original, "birth_date": str(int(original["birth_date"][:4]) + 2)}
            look_alike.pop("phone", None)
            states[self._submit(f"NRB-2026-LA{number:04d}", look_alike)["state"]] += 1
        expect(states["in_review"] > 0, f"no look-alike went to review: {dict(states)}")
        return ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + " of 12 look-alikes"

    def review(self) -> str:
        cases = answer(self.officer.call("GET", "/identity/review/cases"), 200)
        expect(bool(cases), "the review queue is empty")
        case = cases[0]
        detail = answer(self.officer.call("GET", f"/identity/review/cases/{case['case_id']}"), 200)
        candidate = detail["candidates"][0]
        levels = ", ".join(f"{k} {v}" for k, v in candidate["field_levels"].items())
        decision = {"decision": "distinct", "reason": "different parents on the birth record"}
        decided = answer(
            self.officer.call(
                "POST", f"/identity/review/cases/{case['case_id']}/decision", json=decision
            ),
            200,
        )
        expect(decided["state"] == "issued", f"the decision left the packet {decided['state']}")
        return (
            f"{len(cases)} case(s) waiting; the first side by side: {levels}; "
            f"decided distinct, UIN issued"
        )

    def _person_with_phone(self, index: int = 0) -> tuple[str, str]:
        people = [
            (result["uin"], self.demographics[packet_id]["phone"])
            for packet_id, result in self.results.items()
            if result["state"] == "issued" and self.demographics[packet_id].get("phone")
        ]
        expect(len(people) > index, "too few people with a phone were issued a UIN")
        return people[index]

    def _otp(self, via: str = "/identity/otp", person: int = 0) -> dict[str, str]:
        uin, phone = self._person_with_phone(person)
        asker = self.portal if via.startswith("/identity/resident") else self.bank
        sent = answer(asker.call("POST", via, json={"individual_id": uin, "channel": "sms"}), 200)
        # the person reads the SMS; here, the development outbox stands in for the phone
        messages = answer(
            self.officer.call("GET", "/identity/dev/outbox", params={"address": phone, "limit": 1}),
            200,
        )
        code = next(w.rstrip(".") for w in messages[0]["text"].split() if w.rstrip(".").isdigit())
        return {"otp_id": sent["otp_id"], "code": code}

    def authenticate(self) -> str:
        self.uin, _ = self._person_with_phone()
        body = {"individual_id": self.uin, "transaction_id": "demo-auth-1", "otp": self._otp()}
        result = answer(self.bank.call("POST", "/identity/authenticate", json=body), 200)
        expect(result["authenticated"] is True, "the OTP was refused")
        self.token = result["token"]
        return f"yes by OTP; the bank knows the person as {self.token[:12]}…, never by UIN"

    def _ekyc(self) -> Any:
        body = {
            "individual_id": self.uin,
            "transaction_id": f"demo-kyc-{secrets.token_hex(4)}",
            "otp": self._otp(),
            "attributes": ["given_name", "family_name", "birth_date"],
            "consent": {"agreement_id": self.agreement_id or "none", "purpose": "ekyc"},
        }
        return self.bank.call("POST", "/identity/ekyc", json=body)

    def ekyc_refused(self) -> str:
        policy = {"attributes": ["given_name", "family_name", "birth_date", "sex"]}
        answer(
            self.officer.call(
                "PUT", f"/identity/partners/{self.instance}/COM/UMOJA/policy", json=policy
            ),
            200,
        )
        refused = answer(self._ekyc(), 403)
        expect(refused["code"] == "identity.consent_missing", f"refused with {refused['code']}")
        return "refused without the person's consent (identity.consent_missing)"

    def consent(self) -> str:
        agreement = {
            "purpose": "ekyc",
            "purpose_description": "Confirm your identity to open an account",
            "lawful_basis": "consent",
            "attributes": [
                {"name": "given_name", "category": "identity"},
                {"name": "family_name", "category": "identity"},
                {"name": "birth_date", "category": "identity"},
            ],
            "retention_days": 1825,
            "validity_days": 365,
            "policy": {
                "name": "Umoja privacy notice",
                "version": "2026.1",
                "url": "https://umoja.example/privacy/2026.1",
                "jurisdiction": "ZZ",
            },
            "recipients": [f"{self.instance}/COM/UMOJA"],
        }
        created = answer(self.bank.call("POST", "/consent/config/agreement/", json=agreement), 201)
        self.agreement_id = created["id"]
        path = f"/consent/service/individual/record/agreement/{self.agreement_id}/"
        headers = {"X-ConsentBB-IndividualId": self.token}
        record = answer(
            self.bank.call("POST", path, json={"channel": "mobile"}, headers=headers), 200
        )
        expect(record["state"] == "given", f"the record says {record['state']}")
        self.record_id = record["id"]
        return "the person consents in the bank's app, under the bank's token for them"

    def withdraw(self) -> str:
        path = f"/consent/service/individual/record/consentrecord/{self.record_id}/"
        headers = {"X-ConsentBB-IndividualId": self.token}
        body = {"opt_in": False, "channel": "mobile"}
        record = answer(self.bank.call("PUT", path, json=body, headers=headers), 200)
        expect(record["state"] == "withdrawn", f"the record says {record['state']}")
        refused = answer(self._ekyc(), 403)
        expect(refused["code"] == "identity.consent_missing", f"refused with {refused['code']}")
        return "withdrawn in the bank's app; the very next eKYC request is refused"

    def factor_lock(self) -> str:
        uin, _ = self._person_with_phone(1)  # someone else: OTPs per person are rate-limited

        def locks(change: dict[str, list[str]]) -> Any:
            otp = self._otp("/identity/resident/otp", person=1)
            body = {"individual_id": uin, "otp": otp, **change}
            return answer(
                self.portal.call("POST", "/identity/resident/factor-locks", json=body), 200
            )

        expect(locks({"lock": ["otp"]})["locked"] == ["otp"], "the OTP factor did not lock")
        refused = answer(
            self.bank.call("POST", "/identity/otp", json={"individual_id": uin, "channel": "sms"}),
            403,
        )
        expect(refused["code"] == "identity.factor_locked", f"refused with {refused['code']}")
        expect(locks({"unlock": ["otp"]})["locked"] == [], "the OTP factor did not unlock")
        return "locked with an OTP of their own; the bank's OTP request is refused; unlocked"

    def ekyc(self) -> str:
        body = answer(self._ekyc(), 200)
        jwks = answer(self.bank.call("GET", "/directory/jwks.json"), 200)["keys"]
        jws = parse_compact(body["signed"])
        key = next(k for k in jwks if k["kid"] == jws.header.get("kid"))
        expect(jws.verified_by(import_public_jwk(key)), "the eKYC signature does not verify")
        claims = jws.claims()
        expect(claims["sub"] == self.token, "the eKYC names the person otherwise")
        expect(self.uin not in body["signed"], "the UIN leaked into the eKYC")
        return f"signed eKYC ({', '.join(sorted(claims['kyc']))}), verified with the instance key"


def chapter(story: Story, platform: Platform) -> None:
    """Run the identity chapter."""
    story.chapter("Identity", "enrolment with deduplication, then OTP authentication and eKYC")
    steps = IdentityChapter(platform)
    try:
        story.step(
            "Register the agency, its review desk, Umoja Microfinance and the resident portal",
            steps.register,
        )
        story.step(f"Enrol about {PEOPLE} synthetic people, some twice", steps.enrol)
        story.step("Duplicates are caught", steps.duplicates)
        story.step("Deliberate look-alikes of registered people", steps.doubtful)
        story.step("An officer decides a doubtful case side by side", steps.review)
        story.step("The bank authenticates a person by OTP", steps.authenticate)
        story.step("eKYC without consent is refused", steps.ekyc_refused)
        story.step("The person consents", steps.consent)
        story.step("The bank receives signed eKYC", steps.ekyc)
        story.step("The person locks OTP authentication, then unlocks it", steps.factor_lock)
        story.step("The person withdraws; eKYC stops at once", steps.withdraw)
    finally:
        steps.close()
