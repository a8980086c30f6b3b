"""The matcher's gallery of registered identities, and the lock that lets one packet or review
decision at a time change it: a packet is matched against a gallery that already holds every
identity issued before it, so two duplicates arriving together cannot both be issued."""

from __future__ import annotations

import threading

from baobab.identity.ports import DuplicateFinder, UnitOfWorkFactory
from baobab.identity.schema import ProfileCatalogue


class Gallery:
    """Every registered identity's matching view in ``finder``, loaded once, lazily or at start."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, profiles: ProfileCatalogue, finder: DuplicateFinder
    ) -> None:
        self._uow = uow
        self._profiles = profiles
        self.finder = finder
        self.lock = threading.Lock()
        self._ready = False

    def load(self) -> int:
        """Put every registered identity into the matcher; returns how many."""
        count = 0
        with self._uow() as uow:
            for identity in uow.store.identities():
                view = self._profiles.get(identity.profile).matching_view(identity.attributes)
                self.finder.add(identity.uin, view)
                count += 1
        self._ready = True
        return count

    def ensure(self) -> None:
        """Load the gallery unless it is loaded. Called under :attr:`lock`, before a
        transaction opens (SQLite allows one writer)."""
        if not self._ready:
            self.load()
