"""The audit log on SQLite and PostgreSQL: a tampered, removed, reordered or truncated entry is
named by verification — through the library and through `baobab audit verify`."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from baobab.cli import app as cli
from baobab.infra.audit import SqlAuditTrail, audit_log, read_audit, verify_audit
from baobab.infra.database import Database
from baobab.kernel.audit import AuditEvent
from tests.support import START, empty_postgres


def append(db: Database, count: int) -> None:
    for i in range(count):
        with db.transaction() as connection:
            event = AuditEvent("test.event", f"actor-{i}", f"subject-{i}", details={"n": str(i)})
            SqlAuditTrail(connection).append(event, at=START + timedelta(seconds=i))


def verify_with_cli(database_url: str, tmp_path: object) -> tuple[int, str]:
    env = {"BAOBAB_DATABASE_URL": database_url, "BAOBAB_DATA_DIR": f"{tmp_path}/var"}
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    return result.exit_code, result.output


def test_an_untouched_chain_verifies(db: Database, database_url: str, tmp_path: object) -> None:
    append(db, 5)
    assert verify_audit(db) == (5, None)
    entries = read_audit(db)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5]
    assert entries[2].details == {"n": "2"}
    assert read_audit(db, after=3, limit=1)[0].sequence == 4
    code, output = verify_with_cli(database_url, tmp_path)
    assert code == 0
    assert "5 entries verified" in output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "someone-else"),
        ("details", '{"n":"99"}'),
        ("at", "2020-01-01T00:00:00+00:00"),
        ("outcome", "refused"),
    ],
)
def test_a_changed_entry_is_named(
    db: Database, database_url: str, tmp_path: object, column: str, value: str
) -> None:
    append(db, 6)
    with db.transaction() as connection:
        connection.execute(
            update(audit_log).where(audit_log.c.sequence == 4).values({column: value})
        )
    _, broken = verify_audit(db)
    assert broken is not None
    assert broken.sequence == 4
    code, output = verify_with_cli(database_url, tmp_path)
    assert code == 1
    assert "broken at entry 4" in output


def test_a_recomputed_hash_still_breaks_the_next_link(db: Database) -> None:
    append(db, 6)
    with db.transaction() as connection:
        connection.execute(
            update(audit_log).where(audit_log.c.sequence == 2).values(hash="ab" * 32)
        )
    _, broken = verify_audit(db)
    assert broken is not None
    assert broken.sequence == 2


def test_a_removed_entry_is_named(db: Database) -> None:
    append(db, 6)
    with db.transaction() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.sequence == 3))
    _, broken = verify_audit(db)
    assert broken is not None
    assert broken.sequence == 3
    assert "missing" in broken.reason


def test_reordered_entries_are_named(db: Database) -> None:
    append(db, 6)
    with db.transaction() as connection:
        rows = {
            r.sequence: r
            for r in connection.execute(select(audit_log).where(audit_log.c.sequence.in_([2, 3])))
        }
        for sequence, other in ((2, 3), (3, 2)):
            fields = {k: v for k, v in rows[other]._mapping.items() if k != "sequence"}
            connection.execute(
                update(audit_log).where(audit_log.c.sequence == sequence).values(fields)
            )
    _, broken = verify_audit(db)
    assert broken is not None
    assert broken.sequence == 2


def test_entries_cut_from_the_end_are_detected(db: Database) -> None:
    append(db, 6)
    with db.transaction() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.sequence >= 5))
    count, broken = verify_audit(db)
    assert count == 4
    assert broken is not None
    assert broken.sequence == 5


def test_an_entry_rolled_back_with_its_transaction_leaves_no_gap(db: Database) -> None:
    append(db, 2)

    def failing_change() -> None:
        with db.transaction() as connection:
            SqlAuditTrail(connection).append(AuditEvent("test.event", "a", "s"), at=START)
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    append(db, 1)
    assert verify_audit(db) == (3, None)


@pytest.mark.postgres
def test_concurrent_writers_keep_one_chain(postgres_url: str) -> None:
    empty_postgres(postgres_url)
    db = Database(postgres_url, pool_size=8)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                with db.transaction() as connection:
                    SqlAuditTrail(connection).append(
                        AuditEvent("test.concurrent", f"w{n}", str(i)), at=START
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.dispose()
    assert errors == []
    check = Database(postgres_url)
    assert verify_audit(check) == (200, None)
    check.dispose()
