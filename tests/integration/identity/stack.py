"""The identity block wired over a test platform, as ``bootstrap`` wires it
(:func:`baobab.identity.adapters.wiring.assemble`), with a consent double the test can switch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from baobab.bootstrap import Platform
from baobab.identity import (
    AuthenticationService,
    DuplicateFinder,
    EnrolmentService,
    IdentityService,
    ProfileCatalogue,
)
from baobab.identity.adapters.crypto import FieldCipher
from baobab.identity.adapters.messaging import DevelopmentOutbox
from baobab.identity.adapters.reader import SqlIdentityReader
from baobab.identity.adapters.wiring import IdentityBlock, assemble


class SwitchableConsent:
    """A consent double: says ``answer``, remembers the questions."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str, str]] = []

    def permits(self, *, individual: str, recipient: str, agreement_id: str, purpose: str) -> bool:
        self.asked.append((individual, recipient, agreement_id, purpose))
        return self.answer


@dataclass
class IdentityStack:
    platform: Platform
    block: IdentityBlock
    consent: SwitchableConsent

    @property
    def cipher(self) -> FieldCipher:
        return self.block.cipher

    @property
    def profiles(self) -> ProfileCatalogue:
        return self.block.profiles

    @property
    def finder(self) -> DuplicateFinder:
        return self.block.finder

    @property
    def outbox(self) -> DevelopmentOutbox:
        assert self.block.outbox is not None
        return self.block.outbox

    @property
    def reader(self) -> SqlIdentityReader:
        return self.block.reader

    @property
    def enrolment(self) -> EnrolmentService:
        return self.block.enrolment

    @property
    def identities(self) -> IdentityService:
        return self.block.identities

    @property
    def auth(self) -> AuthenticationService:
        return self.block.authentication


@contextmanager
def identity_stack(
    platform: Platform, *, data_dir: Path, finder: DuplicateFinder | None = None
) -> Iterator[IdentityStack]:
    """The block over ``platform``; ``finder`` None is Baobab's matching engine."""
    consent = SwitchableConsent()
    block = assemble(
        db=platform.db,
        clock=platform.clock,
        signer=platform.signer,
        keys=platform.directory,
        consent=consent,
        profile="example-a",
        keystore_file=None,
        data_dir=data_dir,
        production=False,
        issuer=platform.settings.public_url.rstrip("/") + "/identity",
        finder=finder,
    )
    try:
        yield IdentityStack(platform, block, consent)
    finally:
        block.close()
