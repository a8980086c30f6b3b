"""HTTP routes over the audit log, mounted under ``/audit``; they need the ``audit:read`` scope."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from baobab.infra.audit import read_audit, verify_audit
from baobab.infra.database import Database
from baobab.infra.http.auth import require_scope
from baobab.kernel.principal import Principal

Auditor = Annotated[Principal, Depends(require_scope("audit:read"))]


class AuditEntryOut(BaseModel):
    sequence: int
    at: str
    action: str
    actor: str
    subject: str
    outcome: str
    details: dict[str, str]
    hash: str


class VerificationOut(BaseModel):
    entries: int
    intact: bool
    first_broken_entry: int | None = None
    reason: str | None = None


def build_router(db: Database) -> APIRouter:
    router = APIRouter(prefix="/audit", tags=["audit"])

    @router.get(
        "/entries", response_model=list[AuditEntryOut], summary="Audit entries, oldest first"
    )
    def entries(
        _: Auditor,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditEntryOut]:
        return [AuditEntryOut(**asdict(e)) for e in read_audit(db, after=after, limit=limit)]

    @router.get("/verify", response_model=VerificationOut, summary="Re-compute the hash chain")
    def verify(_: Auditor) -> VerificationOut:
        count, broken = verify_audit(db)
        if broken is None:
            return VerificationOut(entries=count, intact=True)
        return VerificationOut(
            entries=count, intact=False, first_broken_entry=broken.sequence, reason=broken.reason
        )

    return router
