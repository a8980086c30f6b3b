"""Races that only a real database can lose: on PostgreSQL, the same client assertion sent by
many threads at once yields exactly one token, and a member registered twice at once exists once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from baobab.bootstrap import Platform
from baobab.directory import JWT_BEARER, MemberId, OAuthError, TokenRequest, client_assertion
from baobab.infra.audit import verify_audit
from baobab.kernel.errors import BaobabError
from tests.support import register

pytestmark = pytest.mark.postgres


def race(threads: int, action: Callable[[], object]) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(threads)
    wins: list[object] = []
    losses: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            wins.append(action())
        except BaseException as exc:  # every outcome is counted below
            losses.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(wins), losses


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_replayed_assertion_wins_once_under_concurrency(platform: Platform) -> None:
    ministry = register(platform, "GOV/MOF/treasury", scopes=("directory:read",))
    assertion = client_assertion(
        ministry.signer,
        client_id=str(ministry.client_id),
        audience=platform.settings.token_endpoint,
        now=platform.clock.now(),
    )
    request = TokenRequest("client_credentials", JWT_BEARER, assertion)
    wins, losses = race(8, lambda: platform.tokens.issue(request))
    assert wins == 1
    assert len(losses) == 7
    assert all(
        isinstance(e, OAuthError) and e.code == "directory.client_assertion_replayed"
        for e in losses
    )
    _, broken = verify_audit(platform.db)
    assert broken is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_member_registered_twice_at_once_exists_once(platform: Platform) -> None:
    member = MemberId("DEV", "COM", "BANKZ")
    wins, losses = race(
        6,
        lambda: platform.directory.add_member(
            actor="op", member_id=member, name="Bank Z", roles=["fsp"]
        ),
    )
    assert wins == 1
    assert len(losses) == 5
    assert [m.id for m in platform.directory.list_members()] == [member]
    assert all(isinstance(e, BaobabError) for e in losses), losses
