"""The authenticated caller and the audit event: plain immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from baobab.kernel.audit import AuditEvent
from baobab.kernel.principal import Principal


def test_principal_has_only_its_granted_scopes() -> None:
    principal = Principal(
        client_id="KE/GOV/12345/payments",
        scopes=frozenset({"ledger.transfer", "directory.read"}),
        roles=frozenset({"fsp"}),
        token_id="t-1",
    )
    assert principal.has_scope("ledger.transfer") is True
    assert principal.has_scope("directory.read") is True
    assert principal.has_scope("directory.write") is False
    assert principal.has_scope("") is False
    assert principal.has_scope("fsp") is False  # a role is not a scope


def test_principal_is_immutable() -> None:
    principal = Principal("KE/GOV/1/app", frozenset(), frozenset(), "t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.client_id = "KE/GOV/2/app"  # type: ignore[misc]


def test_audit_event_defaults_to_success_without_details() -> None:
    event = AuditEvent(action="directory.member_added", actor="cli:root", subject="m-1")
    assert event.outcome == "success"
    assert event.details == {}
    assert AuditEvent("a", "b", "c").details is not event.details


def test_audit_event_is_immutable() -> None:
    event = AuditEvent("directory.token_refused", "KE/GOV/1/app", "c-1", "refused", {"why": "x"})
    assert event.outcome == "refused"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.outcome = "success"  # type: ignore[misc]
