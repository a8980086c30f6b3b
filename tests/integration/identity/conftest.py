"""Identity fixtures: the block wired over the test platform's database, clock and signer, with
a consent double the test can switch and Baobab's matching engine (or a module's own finder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baobab.bootstrap import Platform
from baobab.identity import IDENTITY_SCOPES, DuplicateFinder
from tests.integration.identity.people import Enroller, agency
from tests.integration.identity.stack import IdentityStack, identity_stack


@pytest.fixture
def wired(platform: Platform) -> Platform:
    """The platform, whose directory knows the identity scopes."""
    assert set(IDENTITY_SCOPES) <= platform.directory.scopes
    return platform


@pytest.fixture
def finder() -> DuplicateFinder | None:
    """The matcher: None is Baobab's engine; a module may override this with a fake."""
    return None


@pytest.fixture
def stack(
    wired: Platform, tmp_path: Path, finder: DuplicateFinder | None
) -> Iterator[IdentityStack]:
    with identity_stack(wired, data_dir=tmp_path / "var", finder=finder) as built:
        yield built


@pytest.fixture
def enroller(stack: IdentityStack) -> Enroller:
    return Enroller(stack, agency(stack.platform))
