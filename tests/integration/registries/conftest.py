"""Registries fixtures: the test platform's registry service, with the social registry defined."""

from __future__ import annotations

import pytest

from baobab.bootstrap import Platform
from baobab.registries import REGISTRIES_SCOPES, Caller, RegistryService, example_schema

OPERATOR = Caller("cli:operator", unrestricted=True)


@pytest.fixture
def wired(platform: Platform) -> Platform:
    """The platform, whose directory knows the registries' scopes."""
    assert set(REGISTRIES_SCOPES) <= platform.directory.scopes
    return platform


@pytest.fixture
def registries(platform: Platform) -> RegistryService:
    return platform.registries


@pytest.fixture
def social(registries: RegistryService) -> RegistryService:
    """The service with the social registry defined (version 1.0)."""
    registries.define(
        OPERATOR, code="social-registry", version="1.0", schema=example_schema("social-registry")
    )
    return registries
