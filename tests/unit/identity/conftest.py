from __future__ import annotations

import pytest

from baobab.kernel.clock import ManualClock
from tests.support import START
from tests.unit.identity.world import World


@pytest.fixture
def world() -> World:
    return World(ManualClock(START))
