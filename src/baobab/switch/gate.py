"""Who may send an FSPIOP request: the authenticated caller must be the FSP it names as
``FSPIOP-Source`` (its directory member is that participant's member), and, when the scheme
requires it, the request must carry an ``FSPIOP-Signature`` that verifies with one of the
caller's keys in the directory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from baobab.kernel.principal import Principal
from baobab.kernel.signing import VerificationKey
from baobab.switch.domain import Participant, member_of
from baobab.switch.fspiop import ErrorCode, FspiopError, check_request, verify_request
from baobab.switch.participants import ParticipantService


class Gate:
    """Admits FSPIOP requests. ``keys_of`` gives a subsystem's usable public keys."""

    def __init__(
        self,
        *,
        participants: ParticipantService,
        keys_of: Callable[[str], Sequence[VerificationKey]],
        require_signature: bool,
    ) -> None:
        self._participants = participants
        self._keys_of = keys_of
        self._require_signature = require_signature

    def admit(
        self,
        principal: Principal,
        headers: Mapping[str, str],
        *,
        resource: str,
        method: str,
        uri: str,
        body: bytes,
        destination_required: bool = False,
    ) -> Participant:
        """The participant sending this request; raises :class:`FspiopError` otherwise."""
        has_body = method in ("POST", "PUT")
        parsed = check_request(
            headers,
            resource=resource,
            has_body=has_body,
            expects_callback=method in ("POST", "GET"),
            destination_required=destination_required,
        )
        if "fsp" not in principal.roles:
            raise FspiopError(
                ErrorCode.GENERIC_CLIENT_ERROR, "the caller is not an FSP", status=403
            )
        source = self._participants.find(parsed.source)
        if source is None or source.member != member_of(principal.client_id):
            raise FspiopError(
                ErrorCode.GENERIC_CLIENT_ERROR,
                "FSPIOP-Source does not name the authenticated caller",
                status=403,
            )
        if parsed.signature is not None or self._require_signature:
            if parsed.signature is None:
                raise FspiopError(ErrorCode.INVALID_SIGNATURE, "FSPIOP-Signature is required")
            verify_request(
                parsed.signature,
                method=method,
                uri=uri,
                headers=headers,
                body=body,
                keys=self._keys_of(principal.client_id),
            )
        return source
