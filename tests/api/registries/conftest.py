"""The registries' fixtures over the whole app of the test platform."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.registries.conftest import registries, social, wired

__all__ = ["registries", "social", "wired"]


@pytest.fixture
def rapi(api: TestClient) -> TestClient:
    return api
