"""Helpers shared by tests: registering subsystems with keys and tokens, the engines to run on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from baobab.bootstrap import Platform
from baobab.directory import (
    JWT_BEARER,
    ClientId,
    Role,
    ServiceRef,
    TokenRequest,
    client_assertion,
)
from baobab.infra.database import Database
from baobab.kernel.hashchain import GENESIS
from baobab.kernel.signing import Signer

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Caller:
    """A registered subsystem: its id, its private key and a ready access token."""

    client_id: ClientId
    signer: Signer
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register(
    platform: Platform,
    client_id: str,
    *,
    scopes: tuple[str, ...] = (),
    roles: tuple[Role, ...] = (),
    curve: str = "Ed25519",
) -> Caller:
    """Register member (if new), subsystem and key at the console; grant scopes; issue a token."""
    directory = platform.directory
    cid = ClientId.parse(f"{platform.settings.instance}/{client_id}")
    if not any(m.id == cid.member for m in directory.list_members()):
        directory.add_member(
            actor="test", member_id=cid.member, name=f"Member {cid.member}", roles=roles
        )
    directory.add_subsystem(actor="test", client_id=cid)
    signer = Signer.generate(curve)
    directory.add_key(actor="test", client_id=cid, jwk=signer.public_jwk())
    for scope in scopes:
        directory.grant(actor="test", client_id=cid, service=ServiceRef(None, scope))
    token = token_for(platform, cid, signer)
    return Caller(cid, signer, token)


def token_for(
    platform: Platform, client_id: ClientId, signer: Signer, scope: str | None = None
) -> str:
    """An access token issued through the token service itself."""
    assertion = client_assertion(
        signer,
        client_id=str(client_id),
        audience=platform.settings.token_endpoint,
        now=platform.clock.now(),
    )
    issued = platform.tokens.issue(TokenRequest("client_credentials", JWT_BEARER, assertion, scope))
    return issued.access_token


def empty_postgres(url: str) -> None:
    """Empty every table of a migrated PostgreSQL database and re-seed the audit chain head."""
    db = Database(url)
    with db.transaction() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, :genesis)"),
            {"genesis": GENESIS},
        )
    db.dispose()
