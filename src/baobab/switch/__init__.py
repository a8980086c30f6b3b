"""The payment switch: an interoperable hub speaking Mojaloop FSPIOP v1.1, on the ledger.

Its public face: :func:`assemble_switch` (for the composition root) and the :class:`Switch` it
returns, whose ``participants`` (:class:`ParticipantService`) registers FSPs, currencies,
endpoints, liquidity and Net Debit Caps and whose ``transfers`` (:class:`TransferService`)
runs the FSPIOP transfer flow; the FSPIOP protocol helpers are in :mod:`baobab.switch.fspiop`.
"""

from baobab.switch.domain import (
    HUB_ID,
    SWITCH_SCOPES,
    EndpointType,
    HubTransfer,
    Participant,
    TransferState,
    account_ids,
)
from baobab.switch.participants import ParticipantService, Position
from baobab.switch.service import Switch
from baobab.switch.service import assemble as assemble_switch
from baobab.switch.transfers import TransferService

__all__ = [
    "HUB_ID",
    "SWITCH_SCOPES",
    "EndpointType",
    "HubTransfer",
    "Participant",
    "ParticipantService",
    "Position",
    "Switch",
    "TransferService",
    "TransferState",
    "account_ids",
    "assemble_switch",
]
