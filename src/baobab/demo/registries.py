"""Chapter: digital registries. The social registry is defined from its shipped schema and
loaded with a few thousand synthetic households; a planner searches it without seeing personal
data; a field officer reads a household, updates it after a visit, is stopped from overwriting a
colleague's change, and the record's history and the log of personal-data reads are shown."""

from __future__ import annotations

import time
from typing import Any

from baobab.bootstrap import Platform
from baobab.demo.client import SubsystemClient
from baobab.demo.console import register_at_console
from baobab.demo.story import Story, answer, expect
from baobab.directory import ClientId, Role
from baobab.kernel.signing import Signer
from baobab.registries import Caller, example_schema, import_records
from baobab.registries.bulk import iter_rows
from baobab.registries.examples import households

REGISTRY = "social-registry"
DATA = f"/registries/data/{REGISTRY}/1.0"
HOUSEHOLDS = 3000
ADMIN = "GOV/MOSD/registry-admin"
FIELD = "GOV/MOSD/field-app"
PLANNER = "GOV/MOF/planning"


class RegistriesChapter:
    """The steps of the chapter, sharing the stack and three subsystems' clients."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.registries = platform.registries
        self.base = platform.settings.public_url
        instance = platform.settings.instance

        def client(name: str) -> SubsystemClient:
            return SubsystemClient(
                base_url=self.base,
                client_id=f"{instance}/{name}",
                signer=Signer.generate("P-256"),
                clock=platform.clock,
            )

        self.admin = client(ADMIN)
        self.field = client(FIELD)
        self.planner = client(PLANNER)
        self.household: dict[str, Any] = {}

    def close(self) -> None:
        for c in (self.admin, self.field, self.planner):
            c.close()

    def subsystems(self) -> str:
        scopes = {
            self.admin: ("registries:admin", "registries:read", "registries:write"),
            self.field: ("registries:read", "registries:write"),
            self.planner: ("registries:read",),
        }
        for who, granted in scopes.items():
            member = ClientId.parse(who.client_id).member
            register_at_console(
                self.platform.directory,
                who.client_id,
                name=f"Ministry {member.member_code}",
                role=Role.MINISTRY,
                jwk=who.signer.public_jwk(),
                scopes=granted,
            )
            answer(who.request_token(), 200)
        return "registry admin, field app and planning unit registered with their scopes"

    def define(self) -> str:
        body = {"code": REGISTRY, "version": "1.0", "schema": example_schema(REGISTRY)}
        shown = answer(self.admin.call("POST", "/registries/database/modify", json=body), 201)
        personal = [f["name"] for f in shown["fields"] if f["personal"]]
        indexed = [f["name"] for f in shown["fields"] if f["indexed"]]
        rights = f"/registries/database/{REGISTRY}/rights"
        grants = {
            self.field: ["read", "personal", "update", "history"],
            self.planner: ["read"],
        }
        for who, operations in grants.items():
            body = {"client_id": who.client_id, "operations": operations}
            answer(self.admin.call("POST", rights, json=body), 201)
        return f"indexed {', '.join(indexed)}; personal {', '.join(personal)}"

    def load(self) -> str:
        started = time.perf_counter()
        report = import_records(
            self.registries,
            Caller("cli:demo", unrestricted=True),
            REGISTRY,
            "1.0",
            iter_rows(households(HOUSEHOLDS, seed=2026)),
            reason="initial load from the census listing",
        )
        elapsed = time.perf_counter() - started
        expect(report.imported == HOUSEHOLDS, f"only {report.imported} households imported")
        return f"{report.imported} households in {elapsed:.1f} s, every row valid"

    def search(self) -> str:
        params = {"query.district": "Kati", "ordering": "poverty_score", "page_size": 5}
        page = answer(self.planner.call("GET", DATA, params=params), 200)
        expect(page["count"] > 0, "no household found in Kati")
        first = page["results"][0]
        expect("head_name" not in first["content"], "the planner saw a personal field")
        self.household = first
        scores = ", ".join(str(r["content"]["poverty_score"]) for r in page["results"])
        return (
            f"{page['count']} households in Kati; the five poorest score {scores}; "
            "names, phones and members hidden from the planner"
        )

    def field_visit(self) -> str:
        household_id = self.household["meta"]["id"]
        query = {"query": {"content": {"household_id": household_id}}}
        read = answer(self.field.call("POST", f"{DATA}/read", json=query), 200)
        update = {
            **query,
            "write": {"content": {"size": read["content"]["size"] + 1}},
            "version": read["meta"]["version"],
            "reason": "home visit: a child was born",
        }
        changed = answer(self.field.call("PUT", f"{DATA}/update", json=update), 200)
        stale = self.field.call("PUT", f"{DATA}/update", json=update)
        expect(stale.status_code == 409, "a stale update was not refused")
        expect(stale.json()["code"] == "registries.stale_version", "wrong refusal code")
        return (
            f"{household_id} ({read['content']['head_name']}) now has "
            f"{changed['content']['size']} members, version {changed['meta']['version']}; "
            f"a second update from version {read['meta']['version']} refused ({stale.status_code})"
        )

    def history(self) -> str:
        household_id = self.household["meta"]["id"]
        revisions = answer(self.field.call("GET", f"{DATA}/{household_id}/history"), 200)
        lines = [f"v{r['record_version']} {r['operation']} by {r['actor']}" for r in revisions]
        verdict = answer(self.field.call("GET", f"{DATA}/verify"), 200)
        expect(verdict["intact"] is True, f"the registry's history is broken: {verdict}")
        denied = self.planner.call("GET", f"{DATA}/{household_id}/read-value/phone.json")
        expect(denied.status_code == 403, "the planner read a phone number")
        reads = answer(
            self.field.call("GET", f"{DATA}/disclosures", params={"record_id": household_id}),
            200,
        )
        expect(all(r["hash"] for r in reads), "a read of personal data is not chained")
        return (
            f"{'; '.join(lines)}; chains of {verdict['revisions']} revisions and "
            f"{verdict['disclosures']} disclosures intact; {len(reads)} read(s) of this "
            f"household's personal data logged; the planner's phone lookup refused "
            f"({denied.status_code})"
        )


def chapter(story: Story, platform: Platform) -> None:
    """Run the registries chapter."""
    story.chapter("Registries", "a social registry defined by a schema, searched and kept honest")
    steps = RegistriesChapter(platform)
    try:
        story.step("Register the registry's users", steps.subsystems)
        story.step("Define the social registry from its schema", steps.define)
        story.step(f"Load {HOUSEHOLDS} synthetic households", steps.load)
        story.step("A planner searches by district", steps.search)
        story.step("A field officer updates a household", steps.field_visit)
        story.step("History, verification and the read log", steps.history)
    finally:
        steps.close()
