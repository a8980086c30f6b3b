"""What the operator does at the console for each party of the demo: register the member (once),
the subsystem, its public key and its platform scopes, as `baobab members ...` would."""

from __future__ import annotations

from collections.abc import Sequence

from baobab.demo.client import SubsystemClient
from baobab.demo.story import answer
from baobab.directory import ClientId, DirectoryService, Role, ServiceRef

ACTOR = "cli:demo"


def register_at_console(
    directory: DirectoryService,
    client_id: str,
    *,
    name: str,
    role: Role,
    jwk: dict[str, str],
    scopes: Sequence[str] = (),
) -> ClientId:
    """Register ``client_id`` with ``jwk`` and ``scopes``; its member too, unless it exists."""
    cid = ClientId.parse(client_id)
    if not any(m.id == cid.member for m in directory.list_members()):
        directory.add_member(actor=ACTOR, member_id=cid.member, name=name, roles=[role])
    directory.add_subsystem(actor=ACTOR, client_id=cid)
    directory.add_key(actor=ACTOR, client_id=cid, jwk=jwk)
    for scope in scopes:
        directory.grant(actor=ACTOR, client_id=cid, service=ServiceRef(None, scope))
    return cid


def join(
    directory: DirectoryService,
    who: SubsystemClient,
    name: str,
    role: Role,
    scopes: Sequence[str] = (),
) -> None:
    """Register ``who`` with its own public key, then check it gets its first access token."""
    register_at_console(
        directory, who.client_id, name=name, role=role, jwk=who.signer.public_jwk(), scopes=scopes
    )
    answer(who.request_token(), 200)
