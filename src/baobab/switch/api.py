"""The switch's HTTP router, prefix ``/switch``: the FSPIOP API for FSPs and the hub admin API
under ``/switch/hub``."""

from __future__ import annotations

from fastapi import APIRouter

from baobab.infra.http.lean_route import LeanRoute
from baobab.switch.admin_api import build_admin_routes
from baobab.switch.bulk_api import build_bulk_routes
from baobab.switch.domain import SWITCH_SCOPES
from baobab.switch.fspiop_api import PREFIX, build_transfer_routes
from baobab.switch.lookup_api import build_party_routes, build_quote_routes
from baobab.switch.outbox import CallbackWorker
from baobab.switch.service import Switch
from baobab.switch.settlement_api import build_settlement_routes

__all__ = ["SWITCH_SCOPES", "build_router"]


def build_router(*, switch: Switch, worker: CallbackWorker | None = None) -> APIRouter:
    """Every route of the switch over the assembled :class:`Switch`; ``worker`` (the callback
    outbox) runs while the app serves."""
    router = APIRouter(
        prefix=PREFIX,
        tags=["switch"],
        lifespan=worker.lifespan if worker is not None else None,
        route_class=LeanRoute,
    )
    # A block's routes are matched in order (infra/http/dispatch.py): the six
    # requests of a payment come first, the operator's routes last.
    build_transfer_routes(router, gate=switch.gate, transfers=switch.transfers)
    build_party_routes(router, gate=switch.gate, parties=switch.parties)
    build_quote_routes(router, gate=switch.gate, quotes=switch.quotes)
    build_quote_routes(router, gate=switch.gate, quotes=switch.bulk_quotes, resource="bulkQuotes")
    build_bulk_routes(router, gate=switch.gate, bulk=switch.bulk)
    build_admin_routes(router, participants=switch.participants, store=switch.store)
    build_settlement_routes(router, settlement=switch.settlement)
    return router
