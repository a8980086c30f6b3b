"""The consent service and the whole app of the shared test platform."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from baobab.bootstrap import Platform
from baobab.consent import ConsentService


@pytest.fixture
def consent(platform: Platform) -> ConsentService:
    return platform.consent


@pytest.fixture
def consent_api(api: TestClient) -> TestClient:
    return api
