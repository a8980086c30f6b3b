"""The identity block's adapters and services, assembled for ``bootstrap`` (the composition
root calls :func:`assemble` once; nothing here runs at import time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from baobab.identity.adapters.crypto import FieldCipher, load_keystore
from baobab.identity.adapters.journal import GroupCommitJournal
from baobab.identity.adapters.keys import CachedKeyDirectory
from baobab.identity.adapters.matching import EngineDuplicateFinder
from baobab.identity.adapters.messaging import DevelopmentOutbox
from baobab.identity.adapters.reader import SqlIdentityReader
from baobab.identity.adapters.sql import SqlIdentityUnitOfWork
from baobab.identity.authentication import AuthenticationService
from baobab.identity.lifecycle import IdentityService
from baobab.identity.ports import (
    BiometricMatcher,
    ConsentCheck,
    DuplicateFinder,
    KeyDirectory,
    Messenger,
)
from baobab.identity.resident import ResidentService
from baobab.identity.retention import RetentionService
from baobab.identity.schema import ProfileCatalogue
from baobab.identity.services import EnrolmentService
from baobab.infra.database import Database
from baobab.infra.settings import UnsafeConfiguration
from baobab.kernel.clock import Clock
from baobab.kernel.signing import Signer


@dataclass(frozen=True, slots=True)
class IdentityBlock:
    """Everything the identity block offers one process, plus what must be closed."""

    profiles: ProfileCatalogue
    enrolment: EnrolmentService
    identities: IdentityService
    authentication: AuthenticationService
    resident: ResidentService
    retention: RetentionService
    outbox: DevelopmentOutbox | None  # development only: messages kept instead of sent
    finder: DuplicateFinder
    cipher: FieldCipher
    journal: GroupCommitJournal
    reader: SqlIdentityReader

    def close(self) -> None:
        self.journal.close()
        self.reader.close()


def assemble(
    *,
    db: Database,
    clock: Clock,
    signer: Signer,
    keys: KeyDirectory,
    consent: ConsentCheck,
    profile: str,
    keystore_file: Path | None,
    data_dir: Path,
    production: bool,
    issuer: str,
    messenger: Messenger | None = None,
    finder: DuplicateFinder | None = None,
    load_gallery: bool = False,
    abis: BiometricMatcher | None = None,
    retention: timedelta = timedelta(days=365),
) -> IdentityBlock:
    """Wire the block. Without ``messenger`` messages go to the development outbox (refused in
    production). Without ``abis`` deduplication is demographic only. Duplicate and rejected
    packets keep their personal data for ``retention``. The matcher's gallery fills
    from the register before the first packet is deduplicated; ``load_gallery`` fills it now
    instead (an enrolment process at start)."""
    cipher = load_keystore(keystore_file, data_dir=data_dir, production=production)
    profiles = ProfileCatalogue.shipped(active=profile)
    finder = finder or EngineDuplicateFinder()
    outbox = None
    if messenger is None:
        if production:
            raise UnsafeConfiguration("production needs real SMS/e-mail messengers, not the outbox")
        outbox = DevelopmentOutbox(db, clock)
        messenger = outbox
    journal = GroupCommitJournal(db)
    reader = SqlIdentityReader(db, cipher)

    def uow() -> SqlIdentityUnitOfWork:
        return SqlIdentityUnitOfWork(db, cipher)

    enrolment = EnrolmentService(
        uow=uow,
        clock=clock,
        profiles=profiles,
        keys=CachedKeyDirectory(keys),
        finder=finder,
        abis=abis,
    )
    if load_gallery:
        enrolment.load_gallery()
    authentication = AuthenticationService(
        reader=reader,
        uow=uow,
        clock=clock,
        profiles=profiles,
        journal=journal,
        messenger=messenger,
        consent=consent,
        signer=signer,
        secret=cipher.secret,
        issuer=issuer,
    )
    return IdentityBlock(
        profiles=profiles,
        enrolment=enrolment,
        identities=IdentityService(uow=uow, clock=clock, profiles=profiles),
        authentication=authentication,
        resident=ResidentService(authentication=authentication, uow=uow, clock=clock),
        retention=RetentionService(uow=uow, clock=clock, period=retention),
        outbox=outbox,
        finder=finder,
        cipher=cipher,
        journal=journal,
        reader=reader,
    )
