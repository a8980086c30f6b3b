"""The audit trail port: security-relevant events, appended to a tamper-evident hash chain.

An event says who did what to which object and with what outcome. It never carries personal
data: subjects are referred to by opaque identifiers, never by names or ID numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One security-relevant fact: ``actor`` did ``action`` on ``subject`` with ``outcome``."""

    action: str  # e.g. "directory.member_added", "directory.token_refused"
    actor: str  # client id of the caller, or "cli:<user>" for an operator at the console
    subject: str  # opaque identifier of the object acted on
    outcome: str = "success"  # "success" or "refused"
    details: Mapping[str, str] = field(default_factory=dict)  # never personal data


class AuditTrail(Protocol):
    """Appends events to the audit chain, inside the caller's unit of work."""

    def append(self, event: AuditEvent, *, at: datetime) -> None: ...
