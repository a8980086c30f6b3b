"""The consent service of the shared test platform."""

from __future__ import annotations

import pytest

from baobab.bootstrap import Platform
from baobab.consent import ConsentService


@pytest.fixture
def consent(platform: Platform) -> ConsentService:
    return platform.consent
