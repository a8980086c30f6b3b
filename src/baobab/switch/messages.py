"""The HTTP requests the hub sends: forwarded FSPIOP messages and its own callbacks.

A forwarded message keeps the sender's body byte for byte and its FSPIOP headers (so the
sender's ``FSPIOP-Signature`` still verifies at the receiver). A message the hub originates
(an error, an abort, a ``PATCH``, a ``GET`` answer) has ``FSPIOP-Source: hub`` and is signed with
the hub's key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from baobab.kernel.signing import Signer
from baobab.switch.domain import (
    HUB_ID,
    Callback,
    EndpointType,
    HubTransfer,
    Participant,
    TransferState,
    render_endpoint,
)
from baobab.switch.fspiop import (
    ErrorCode,
    datetime_text,
    error_body,
    outgoing_headers,
    sign_request,
)
from baobab.switch.fspiop.headers import (
    ACCEPT,
    CONTENT_TYPE,
    DATE,
    DESTINATION,
    ENCRYPTION,
    HTTP_METHOD,
    SIGNATURE,
    SOURCE,
    URI,
)

_FORWARDED = (
    ACCEPT,
    CONTENT_TYPE,
    DATE,
    SOURCE,
    DESTINATION,
    SIGNATURE,
    URI,
    HTTP_METHOD,
    ENCRYPTION,
)


class Messages:
    """Builds callbacks; ``signer`` signs what the hub originates (None: unsigned)."""

    def __init__(self, signer: Signer | None) -> None:
        self._signer = signer

    def forward(
        self,
        to: Participant,
        kind: EndpointType,
        *,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        suffix: str = "",
        **values: str,
    ) -> Callback | None:
        """The sender's message passed on to ``to`` as it came; None if ``to`` has no endpoint.
        ``suffix`` is appended to the endpoint (for base-URL endpoints such as quotes')."""
        template = to.endpoint(kind)
        if template is None:
            return None
        kept = {name: headers[name] for name in _FORWARDED if headers.get(name)}
        url = (
            render_endpoint(template, **values).rstrip("/") + suffix
            if suffix
            else render_endpoint(template, **values)
        )
        return Callback(to.fsp_id, method, url, kept, body)

    def originate(
        self,
        to: Participant,
        kind: EndpointType,
        *,
        method: str,
        resource: str,
        path: str,
        payload: Mapping[str, Any],
        at: datetime,
        suffix: str = "",
        **values: str,
    ) -> Callback | None:
        """A message from the hub to ``to``, signed; None if ``to`` has no endpoint."""
        template = to.endpoint(kind)
        if template is None:
            return None
        url = render_endpoint(template, **values)
        if suffix:
            url = url.rstrip("/") + suffix
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = outgoing_headers(resource, source=HUB_ID, destination=to.fsp_id, at=at)
        if self._signer is not None:
            headers[SIGNATURE] = sign_request(
                self._signer, method=method, uri=path, headers=headers, body=body
            )
        return Callback(to.fsp_id, method, url, headers, body)

    def transfer_error(
        self,
        to: Participant,
        transfer_id: str,
        error: ErrorCode,
        description: str | None,
        at: datetime,
    ) -> Callback | None:
        """``PUT /transfers/{ID}/error`` from the hub."""
        return self.originate(
            to,
            EndpointType.TRANSFER_ERROR,
            method="PUT",
            resource="transfers",
            path=f"/transfers/{transfer_id}/error",
            payload=error_body(error, description),
            at=at,
            transferId=transfer_id,
        )

    def transfer_state(
        self, to: Participant, transfer: HubTransfer, at: datetime, *, method: str = "PUT"
    ) -> Callback | None:
        """``PUT`` (or ``PATCH``, the commit notification: no fulfilment in its data model)
        ``/transfers/{ID}`` from the hub with the transfer's state."""
        payload: dict[str, Any] = {"transferState": transfer.state.value}
        committed = transfer.state is TransferState.COMMITTED
        if committed and transfer.fulfilment and method != "PATCH":
            payload["fulfilment"] = transfer.fulfilment
        if transfer.completed_at is not None:
            payload["completedTimestamp"] = datetime_text(transfer.completed_at)
        return self.originate(
            to,
            EndpointType.TRANSFER_PUT,
            method=method,
            resource="transfers",
            path=f"/transfers/{transfer.transfer_id}",
            payload=payload,
            at=at,
            transferId=transfer.transfer_id,
        )

    def transfer_final(
        self, to: Participant, transfer: HubTransfer, at: datetime
    ) -> Callback | None:
        """A finished transfer's outcome again: its error, or its state with the fulfilment."""
        if transfer.state is TransferState.ABORTED:
            error = ErrorCode.of(transfer.error_code or ErrorCode.PAYEE_REJECTION.code)
            return self.transfer_error(to, transfer.transfer_id, error, None, at)
        return self.transfer_state(to, transfer, at)
