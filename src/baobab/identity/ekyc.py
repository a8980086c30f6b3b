"""eKYC: after authentication, the attributes a partner's policy allows, released signed and only
when the person consented (:class:`ConsentCheck`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from baobab.identity.attempts import AttemptLog
from baobab.identity.errors import AttributeNotAllowed, AuthenticationFailed, ConsentMissing
from baobab.identity.factors import Ekyc, OtpFactor, Partner, check_transaction, factors_given
from baobab.identity.gate import AuthenticationGate
from baobab.identity.ports import ConsentCheck, IdentityReader
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError, InvalidInput
from baobab.kernel.signing import Signer

_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class EkycIssuer:
    """Releases signed eKYC to partners; every attempt is audited."""

    def __init__(
        self,
        *,
        gate: AuthenticationGate,
        reader: IdentityReader,
        clock: Clock,
        consent: ConsentCheck,
        signer: Signer,
        attempts: AttemptLog,
        issuer: str,
    ) -> None:
        self._gate = gate
        self._reader = reader
        self._clock = clock
        self._consent = consent
        self._signer = signer
        self._attempts = attempts
        self._issuer = issuer

    def ekyc(
        self,
        *,
        partner: Partner,
        individual_id: str,
        transaction_id: str,
        attributes: Sequence[str],
        agreement_id: str,
        purpose: str,
        demographics: Mapping[str, Any] | None = None,
        otp: OtpFactor | None = None,
    ) -> Ekyc:
        """Authenticate, then release the allowed attributes, signed, if the person consented.

        Policy and consent are checked before any factor is tried, so a refused eKYC spends no
        OTP and changes nothing."""
        factors = factors_given(demographics, otp)
        check_transaction(transaction_id)
        now = self._clock.now()
        try:
            if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
                raise InvalidInput("purpose is 1-64 lower-case letters, digits, '.', '_' or '-'")
            identity = self._gate.admit(partner, individual_id, now)
            wanted = self._allowed(partner, attributes)
            token = self._gate.token_for(partner, identity.uin)
            if not self._consent.permits(
                individual=token,
                recipient=partner.client_id,
                agreement_id=agreement_id,
                purpose=purpose,
            ):
                raise ConsentMissing("the person has not consented to this eKYC")
            ok = self._gate.verify(identity, demographics, otp, partner=partner, now=now)
        except BaobabError as exc:
            self._attempts.record(
                partner, transaction_id, factors, "refused", now, error=exc.code, ekyc=True
            )
            raise
        if not ok:
            self._attempts.record(partner, transaction_id, factors, "no", now, ekyc=True)
            raise AuthenticationFailed("authentication failed; no eKYC")
        released = {n: identity.attributes[n] for n in sorted(wanted) if n in identity.attributes}
        claims = {
            "iss": self._issuer,
            "aud": partner.client_id,
            "sub": token,
            "iat": int(now.timestamp()),
            "txn": transaction_id,
            "auth": {"factors": list(factors), "at": now.isoformat()},
            "profile": identity.profile,
            "kyc": released,
        }
        jws = self._signer.encode(claims, typ="ekyc+jwt")
        self._attempts.record(
            partner, transaction_id, factors, "yes", now, ekyc=True, released=len(released)
        )
        return Ekyc(transaction_id, token, released, jws)

    def _allowed(self, partner: Partner, requested: Sequence[str]) -> frozenset[str]:
        policy = self._reader.policy(partner.organisation) or frozenset()
        wanted = frozenset(requested) if requested else policy
        outside = sorted(wanted - policy)
        if outside:
            raise AttributeNotAllowed(
                f"the partner's eKYC policy does not allow: {', '.join(outside)}",
                extra={"attributes": outside},
            )
        return wanted
