"""Review cases in SQL: possible duplicates waiting for an officer, and the decisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, update

from baobab.identity.adapters.rows import StorePart
from baobab.identity.adapters.tables import cases
from baobab.identity.domain import DuplicateCandidate, MatchOutcome, ReviewCase, ReviewDecision


def _case(row: Row[Any]) -> ReviewCase:
    candidates = tuple(
        DuplicateCandidate(c["uin"], c["score"], MatchOutcome(c["outcome"]), c["field_levels"])
        for c in json.loads(row.candidates)
    )
    return ReviewCase(
        case_id=row.case_id,
        packet_id=row.packet_id,
        candidates=candidates,
        opened_at=row.opened_at,
        decision=ReviewDecision(row.decision) if row.decision else None,
        duplicate_of=row.duplicate_of,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


class ReviewStore(StorePart):
    """The manual review queue."""

    def add_case(self, case: ReviewCase) -> None:
        self._c.execute(
            cases.insert().values(
                case_id=case.case_id,
                packet_id=case.packet_id,
                candidates=json.dumps(
                    [
                        {
                            "uin": c.uin,
                            "score": c.score,
                            "outcome": c.outcome.value,
                            "field_levels": c.field_levels,
                        }
                        for c in case.candidates
                    ]
                ),
                opened_at=case.opened_at,
                is_open=case.open,
            )
        )

    def get_case(self, case_id: str, *, for_update: bool = False) -> ReviewCase | None:
        query = select(cases).where(cases.c.case_id == case_id)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return _case(row) if row else None

    def save_case(self, case: ReviewCase) -> None:
        self._c.execute(
            update(cases)
            .where(cases.c.case_id == case.case_id)
            .values(
                is_open=case.open,
                decision=case.decision.value if case.decision else None,
                duplicate_of=case.duplicate_of,
                reason=case.reason,
                decided_by=case.decided_by,
                decided_at=case.decided_at,
            )
        )

    def list_cases(self, *, open_only: bool, limit: int) -> Sequence[ReviewCase]:
        query = select(cases).order_by(cases.c.opened_at, cases.c.case_id).limit(limit)
        if open_only:
            query = query.where(cases.c.is_open.is_(True))
        return [_case(r) for r in self._c.execute(query)]
