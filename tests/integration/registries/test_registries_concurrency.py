"""Two officers updating the same record at once, on PostgreSQL where the race is real: exactly
one update wins, the other is told its version is stale, and the chain stays whole; of creates
racing for one unique value, exactly one gets it. Readers of
personal data at once line up at the disclosure chain's head: one gapless chain."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from baobab.registries import Caller, RegistryService, import_records
from baobab.registries.bulk import iter_rows
from baobab.registries.errors import StaleVersion, UniqueViolation
from baobab.registries.examples import households
from tests.integration.registries.conftest import OPERATOR

pytestmark = pytest.mark.postgres

CODE, V = "social-registry", "1.0"


def race(actions: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    barrier = threading.Barrier(len(actions))
    wins: list[object] = []
    losses: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            wins.append(action())
        except BaseException as exc:  # every outcome is counted below
            losses.append(exc)

    workers = [threading.Thread(target=run, args=(a,)) for a in actions]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return wins, losses


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_officers_cannot_overwrite_each_other(social: RegistryService) -> None:
    import_records(social, OPERATOR, CODE, V, iter_rows(households(3)))
    officers = [Caller(f"DEV/GOV/MOSD/officer{i}", unrestricted=True) for i in range(6)]

    def update(who: Caller, size: int) -> Callable[[], object]:
        return lambda: social.update(
            who,
            CODE,
            V,
            {"household_id": "HH-00000002"},
            {"size": size},
            expected_version=1,
            reason=f"visit by {who.actor}",
        )

    wins, losses = race([update(o, i + 2) for i, o in enumerate(officers)])
    assert len(wins) == 1
    assert len(losses) == 5
    assert all(isinstance(e, StaleVersion) for e in losses), losses
    record = social.read(OPERATOR, CODE, V, {"household_id": "HH-00000002"})
    assert record.version == 2
    history = social.history(OPERATOR, CODE, "HH-00000002")
    assert [h.record_version for h in history] == [1, 2]
    assert social.verify(OPERATOR, CODE).intact


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_unique_value_goes_to_one_of_many_racing_creates(social: RegistryService) -> None:
    token = "racing-token-0001"
    homes = [{**home, "head_identity": token} for home in households(6)]

    def create(home: dict[str, object]) -> Callable[[], object]:
        return lambda: social.create(OPERATOR, CODE, V, home)

    wins, losses = race([create(home) for home in homes])
    assert len(wins) == 1
    assert len(losses) == 5
    assert all(isinstance(e, UniqueViolation) for e in losses), losses
    page = social.search(OPERATOR, CODE, V, filters={"head_identity": token})
    assert page.count == 1
    assert social.verify(OPERATOR, CODE).intact


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_creates_keep_one_chain(social: RegistryService) -> None:
    batches = [list(households(10, start=1 + 10 * i)) for i in range(3)]

    def create_all(batch: list[dict[str, object]]) -> Callable[[], object]:
        return lambda: [social.create(OPERATOR, CODE, V, r) for r in batch]

    _wins, losses = race([create_all(b) for b in batches])
    assert losses == []
    verdict = social.verify(OPERATOR, CODE)
    assert verdict.intact
    assert verdict.revisions == 30


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_personal_reads_keep_one_disclosure_chain(social: RegistryService) -> None:
    import_records(social, OPERATOR, CODE, V, iter_rows(households(8)))
    readers = [Caller(f"DEV/GOV/MOSD/reader{i}", unrestricted=True) for i in range(4)]

    def read_all(who: Caller) -> Callable[[], object]:
        return lambda: [
            social.read(who, CODE, V, {"household_id": f"HH-{n:08d}"}) for n in range(1, 9)
        ]

    _wins, losses = race([read_all(r) for r in readers])
    assert losses == []
    log = social.disclosures(OPERATOR, CODE)
    assert [d.sequence for d in log] == list(range(1, 33))
    assert len({d.previous_hash for d in log}) == 32  # no two entries claim the same place
    verdict = social.verify(OPERATOR, CODE)
    assert verdict.intact
    assert verdict.disclosures == 32
