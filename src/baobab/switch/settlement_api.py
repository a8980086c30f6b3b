"""Settlement routes under ``/switch/hub/settlement``: list windows, close the open one, read a
window's report (JSON or CSV), start its settlement, settle it. Writes need ``switch:admin`` and
the operator role, reads ``switch:read``."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from baobab.switch.admin_api import Admin, Reader
from baobab.switch.settlement import SettlementReport, SettlementService


def _window_json(report: SettlementReport) -> dict[str, Any]:
    return report.as_json()


def build_settlement_routes(router: APIRouter, *, settlement: SettlementService) -> None:
    """Mount the settlement routes on ``router`` (prefix ``/switch``)."""

    @router.get("/hub/settlement/windows", summary="Settlement windows, newest first")
    def windows(
        principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[dict[str, Any]]:
        return [
            {
                "windowId": w.window_id,
                "state": w.state.value,
                "openedAt": w.opened_at.isoformat(),
                "closedAt": w.closed_at.isoformat() if w.closed_at else None,
                "settledAt": w.settled_at.isoformat() if w.settled_at else None,
            }
            for w in settlement.windows(limit)
        ]

    @router.post("/hub/settlement/windows/close", summary="Close the open window, open the next")
    def close(principal: Admin) -> dict[str, Any]:
        closed = settlement.close(actor=principal.client_id)
        return _window_json(settlement.report(closed.window_id))

    @router.get("/hub/settlement/windows/{window_id}/report", summary="Net positions (JSON or CSV)")
    def report(
        window_id: int,
        principal: Reader,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        found = settlement.report(window_id)
        if format == "csv":
            return Response(found.as_csv(), media_type="text/csv")
        return Response(content=json.dumps(found.as_json()), media_type="application/json")

    @router.post(
        "/hub/settlement/windows/{window_id}/start", summary="Freeze net positions for settlement"
    )
    def start(window_id: int, principal: Admin) -> dict[str, Any]:
        return _window_json(settlement.start(actor=principal.client_id, window_id=window_id))

    @router.post(
        "/hub/settlement/windows/{window_id}/settle", summary="Move the funds, reset positions"
    )
    def settle(window_id: int, principal: Admin) -> dict[str, Any]:
        return _window_json(settlement.settle(actor=principal.client_id, window_id=window_id))
