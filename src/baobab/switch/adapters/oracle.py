"""The built-in party oracle: which FSP owns a party identifier, kept in the switch's database.
Used for every party id type no external oracle is configured for."""

from __future__ import annotations

import threading
import time

from sqlalchemy import delete, select

from baobab.infra.database import Database, insert_new
from baobab.kernel.clock import Clock
from baobab.switch.adapters.tables import oracle
from baobab.switch.parties import PartyKey


class SqlOracle:
    """Party identifiers and their owning FSP in ``switch_oracle``.

    Answers are kept for ``cache_seconds`` (every payment starts with a lookup, and a party
    rarely changes FSP): a change made through this process is seen at once, one made through
    another hub process within that time.
    """

    def __init__(self, db: Database, clock: Clock, *, cache_seconds: float = 2.0) -> None:
        self._db = db
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[PartyKey, tuple[float, str | None]] = {}
        self._reading = threading.Lock()

    def owner(self, party: PartyKey) -> str | None:
        cached = self._cache.get(party)
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        with self._reading:  # lookups of one party that missed together: one read
            cached = self._cache.get(party)
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
            now = time.monotonic()
            found = self._read(party)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[party] = (now, found)
            return found

    def _read(self, party: PartyKey) -> str | None:
        with self._db.engine.connect() as connection:
            return connection.execute(
                select(oracle.c.fsp_id).where(
                    oracle.c.party_type == party.type,
                    oracle.c.party_id == party.id,
                    oracle.c.sub_id == party.sub_id,
                )
            ).scalar()

    def register(self, party: PartyKey, fsp_id: str, currency: str | None) -> str:
        self._cache.pop(party, None)
        with self._db.transaction() as connection:
            insert_new(
                connection,
                oracle,
                {
                    "party_type": party.type,
                    "party_id": party.id,
                    "sub_id": party.sub_id,
                    "fsp_id": fsp_id,
                    "currency": currency,
                    "created_at": self._clock.now(),
                },
            )
            owner: str = connection.execute(
                select(oracle.c.fsp_id).where(
                    oracle.c.party_type == party.type,
                    oracle.c.party_id == party.id,
                    oracle.c.sub_id == party.sub_id,
                )
            ).scalar_one()
            return owner

    def remove(self, party: PartyKey, fsp_id: str) -> bool:
        self._cache.pop(party, None)
        with self._db.transaction() as connection:
            gone = connection.execute(
                delete(oracle)
                .where(
                    oracle.c.party_type == party.type,
                    oracle.c.party_id == party.id,
                    oracle.c.sub_id == party.sub_id,
                    oracle.c.fsp_id == fsp_id,
                )
                .returning(oracle.c.fsp_id)
            ).first()
            return gone is not None
