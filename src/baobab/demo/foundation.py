"""Chapter one: the directory. An operator registers a ministry and a bank; both get tokens
with their own keys; authorised calls pass, the rest are refused; the audit chain holds."""

from __future__ import annotations

import httpx

from baobab.bootstrap import Platform
from baobab.demo.client import SubsystemClient
from baobab.demo.console import register_at_console
from baobab.demo.story import Story, answer, expect
from baobab.directory import Role
from baobab.infra.audit import verify_audit
from baobab.kernel.signing import Signer

OPERATOR = "GOV/OPS/console"
MINISTRY = "GOV/MOF/treasury"
BANK = "COM/BANKA/payments"


class DirectoryChapter:
    """The steps of the chapter, sharing the stack and the three subsystems' clients."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        settings = platform.settings
        self.base = settings.public_url
        self.instance = settings.instance

        def client(name: str, curve: str) -> SubsystemClient:
            return SubsystemClient(
                base_url=self.base,
                client_id=f"{self.instance}/{name}",
                signer=Signer.generate(curve),
                clock=platform.clock,
            )

        self.operator = client(OPERATOR, "Ed25519")
        self.ministry = client(MINISTRY, "Ed25519")
        self.bank = client(BANK, "P-256")

    def close(self) -> None:
        for c in (self.operator, self.ministry, self.bank):
            c.close()

    def bootstrap_operator(self) -> str:
        op_id = register_at_console(
            self.platform.directory,
            self.operator.client_id,
            name="DPI Operations Unit",
            role=Role.OPERATOR,
            jwk=self.operator.signer.public_jwk(),
            scopes=("directory:admin", "directory:read", "audit:read"),
        )
        return f"{op_id} registered at the console with an Ed25519 key and admin scopes"

    def operator_token(self) -> str:
        body = answer(self.operator.request_token(), 200)
        return (
            f"private_key_jwt accepted; token for '{body['scope']}', valid {body['expires_in']} s"
        )

    def register(self, who: SubsystemClient, name: str, role: str) -> str:
        member_class, member_code, subsystem = who.client_id.split("/")[1:]
        member = {
            "member_class": member_class,
            "member_code": member_code,
            "name": name,
            "roles": [role],
        }
        answer(self.operator.call("POST", "/directory/members", json=member), 201)
        path = f"/directory/members/{self.instance}/{member_class}/{member_code}/subsystems"
        answer(self.operator.call("POST", path, json={"subsystem_code": subsystem}), 201)
        keys = f"/directory/subsystems/{who.client_id}/keys"
        key = answer(self.operator.call("POST", keys, json={"jwk": who.signer.public_jwk()}), 201)
        kid = key["kid"][:12]
        return f"{member_class}/{member_code} ({role}), {subsystem}, key {kid}… ({who.signer.alg})"

    def grant_ministry(self) -> str:
        rights = f"/directory/subsystems/{self.ministry.client_id}/rights"
        answer(self.operator.call("POST", rights, json={"service": "directory:read"}), 201)
        return "the ministry may read the directory; the bank has no rights yet"

    def ministry_reads(self) -> str:
        answer(self.ministry.request_token(scope="directory:read"), 200)
        members = answer(self.ministry.call("GET", "/directory/members"), 200)
        return "200 OK: " + ", ".join(m["member_id"] for m in members)

    def refusals(self) -> str:
        seen = []
        anonymous = httpx.get(f"{self.base}/directory/members")
        expect(anonymous.status_code == 401, "a call without a token was not refused with 401")
        seen.append(f"no token {anonymous.status_code}")
        answer(self.bank.request_token(), 200)
        response = self.bank.call("GET", "/directory/members")
        expect(response.status_code == 403, "a call without the scope was not refused with 403")
        seen.append(f"bank without the right {response.status_code}")
        response = self.bank.request_token(scope="directory:admin")
        expect(response.status_code == 400, "a scope that was never granted was issued")
        seen.append(f"ungranted scope {response.status_code} {response.json()['error']}")
        assertion = self.ministry.assertion()
        answer(self.ministry.request_token(assertion=assertion), 200)
        replay = self.ministry.request_token(assertion=assertion)
        expect(replay.status_code == 401, "a replayed client assertion was accepted")
        seen.append(f"replayed assertion {replay.status_code} {replay.json()['error']}")
        forged = Signer.generate().encode(
            {"sub": self.bank.client_id, "scope": "directory:admin"}, typ="at+jwt"
        )
        response = self.bank.http.get(
            "/directory/members", headers={"Authorization": f"Bearer {forged}"}
        )
        expect(response.status_code == 401, "a forged access token was accepted")
        seen.append(f"forged token {response.status_code}")
        return "; ".join(seen)

    def rotate_bank_key(self) -> str:
        retired, self.bank.signer = self.bank.signer, Signer.generate("P-256")
        keys = f"/directory/subsystems/{self.bank.client_id}/keys"
        body = {"jwk": self.bank.signer.public_jwk(), "rotate": True, "grace_seconds": 0}
        key = answer(self.operator.call("POST", keys, json=body), 201)
        answer(self.bank.request_token(), 200)
        stale = SubsystemClient(
            base_url=self.base,
            client_id=self.bank.client_id,
            signer=retired,
            clock=self.platform.clock,
        )
        refused = stale.request_token()
        stale.close()
        expect(refused.status_code == 401, "the retired key still obtained a token")
        return (
            f"new key {key['kid'][:12]}… active; the retired key is refused ({refused.status_code})"
        )

    def audit(self) -> str:
        verdict = answer(self.operator.call("GET", "/audit/verify"), 200)
        expect(verdict["intact"] is True, f"the audit chain is reported broken: {verdict}")
        count, broken = verify_audit(self.platform.db)
        expect(broken is None, "local verification disagrees with the API")
        entries = answer(self.operator.call("GET", "/audit/entries", params={"limit": 1000}), 200)
        refused = sum(1 for e in entries if e["outcome"] == "refused")
        return f"{count} entries, chain intact; {refused} refused token requests on record"


def chapter(story: Story, platform: Platform) -> None:
    """Run the directory chapter."""
    story.chapter("Directory", "who is who, and who may call what")
    steps = DirectoryChapter(platform)
    try:
        story.step("Operator registers at the console", steps.bootstrap_operator)
        story.step("Operator obtains an access token", steps.operator_token)
        story.step(
            "Register the Ministry of Finance",
            lambda: steps.register(steps.ministry, "Ministry of Finance", "ministry"),
        )
        story.step("Register Bank A", lambda: steps.register(steps.bank, "Bank A", "fsp"))
        story.step("Grant the ministry a right", steps.grant_ministry)
        story.step("Ministry reads the directory", steps.ministry_reads)
        story.step("Calls without rights are refused", steps.refusals)
        story.step("Bank A rotates its key", steps.rotate_bank_key)
        story.step("The audit chain verifies", steps.audit)
    finally:
        steps.close()
