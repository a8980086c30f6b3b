"""Authentication for relying parties: yes/no by demographics and/or OTP, and signed eKYC.

Kept apart from enrolment because it is a different kind of code: a read-mostly hot path that
must answer in milliseconds at thousands per second, that never takes the enrolment lock, and
whose audit entries go through a group-committing journal instead of one transaction each.

Partners (members with the relying-party role) never see a UIN: they name the person by UIN or
VID and get back their own partner token. Every attempt is audited (partner, factors, outcome,
error code), never with attribute values. The checks live in :mod:`baobab.identity.gate`, OTP
sending in :mod:`baobab.identity.otp_sending` and eKYC in :mod:`baobab.identity.ekyc`; this
service is the one face the API, the resident portal and the CLI use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from baobab.identity.attempts import AttemptLog
from baobab.identity.domain import Identity
from baobab.identity.ekyc import EkycIssuer
from baobab.identity.errors import AuthenticationFailed
from baobab.identity.factors import (
    AuthResult,
    Ekyc,
    OtpFactor,
    OtpSent,
    Partner,
    check_transaction,
    factors_given,
)
from baobab.identity.gate import AuthenticationGate
from baobab.identity.otp import OtpPolicy
from baobab.identity.otp_sending import OtpSender
from baobab.identity.ports import (
    AuthenticationJournal,
    ConsentCheck,
    IdentityReader,
    Messenger,
    UnitOfWorkFactory,
)
from baobab.identity.schema import ProfileCatalogue
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError
from baobab.kernel.signing import Signer


@dataclass(frozen=True, slots=True)
class Attempt:
    """A yes/no authentication checked but not yet audited: the answer or the refusal, and the
    audit entry that must be durable before either is given."""

    answer: AuthResult | BaobabError
    entry: AuditEvent
    at: datetime

    def outcome(self) -> AuthResult:
        """The answer, or raise the refusal."""
        if isinstance(self.answer, BaobabError):
            raise self.answer
        return self.answer


class AuthenticationService:
    """Yes/no authentication, OTPs and eKYC for relying parties."""

    def __init__(
        self,
        *,
        reader: IdentityReader,
        uow: UnitOfWorkFactory,
        clock: Clock,
        profiles: ProfileCatalogue,
        journal: AuthenticationJournal,
        messenger: Messenger,
        consent: ConsentCheck,
        signer: Signer,
        secret: bytes,
        issuer: str,
        otp: OtpPolicy | None = None,
        partner_limit: int = 100_000,
        identity_limit: int = 30,
    ) -> None:
        policy = otp or OtpPolicy()
        self._clock = clock
        self._attempts = AttemptLog(journal)
        self._gate = AuthenticationGate(
            reader=reader,
            uow=uow,
            profiles=profiles,
            secret=secret,
            otp=policy,
            partner_limit=partner_limit,
            identity_limit=identity_limit,
        )
        self._otp_sender = OtpSender(
            gate=self._gate,
            uow=uow,
            clock=clock,
            profiles=profiles,
            messenger=messenger,
            attempts=self._attempts,
            secret=secret,
            policy=policy,
        )
        self._ekyc = EkycIssuer(
            gate=self._gate,
            reader=reader,
            clock=clock,
            consent=consent,
            signer=signer,
            attempts=self._attempts,
            issuer=issuer,
        )

    def authenticate(
        self,
        *,
        partner: Partner,
        individual_id: str,
        transaction_id: str,
        demographics: Mapping[str, Any] | None = None,
        otp: OtpFactor | None = None,
    ) -> AuthResult:
        """Yes if every factor given matches; returns once the attempt is audited."""
        attempt = self.attempt(
            partner=partner,
            individual_id=individual_id,
            transaction_id=transaction_id,
            demographics=demographics,
            otp=otp,
        )
        self._attempts.wait(attempt.entry, attempt.at)
        return attempt.outcome()

    async def conclude(self, attempt: Attempt) -> AuthResult:
        """Audit ``attempt`` and answer it once the entry is durable, holding no thread while
        waiting (an HTTP route's way to finish :meth:`attempt`). The entry is queued before
        the first suspension, so call it straight after :meth:`attempt`, with no ``await``
        between the two: the entry is then queued even if the caller is cancelled."""
        await self._attempts.written(attempt.entry, attempt.at)
        return attempt.outcome()

    def attempt(
        self,
        *,
        partner: Partner,
        individual_id: str,
        transaction_id: str,
        demographics: Mapping[str, Any] | None = None,
        otp: OtpFactor | None = None,
    ) -> Attempt:
        """The checks of :meth:`authenticate`, without the audit: the answer (or the error to
        raise) and its audit entry. Pass it to :meth:`conclude`, which audits it before
        answering; nothing may be answered from an attempt that was not."""
        factors = factors_given(demographics, otp)
        check_transaction(transaction_id)
        now = self._clock.now()
        try:
            identity = self._gate.admit(partner, individual_id, now)
            ok = self._gate.verify(identity, demographics, otp, partner=partner, now=now)
        except BaobabError as exc:
            refused = self._attempts.entry(
                partner, transaction_id, factors, "refused", error=exc.code
            )
            return Attempt(exc, refused, now)
        entry = self._attempts.entry(partner, transaction_id, factors, "yes" if ok else "no")
        token = self.token_for(partner, identity.uin) if ok else None
        return Attempt(AuthResult(transaction_id, ok, factors, token, now), entry, now)

    def token_for(self, partner: Partner, uin: str) -> str:
        """The person's token at ``partner``'s organisation."""
        return self._gate.token_for(partner, uin)

    def verify_person(self, *, partner: Partner, individual_id: str, otp: OtpFactor) -> Identity:
        """The person, proven by an OTP sent ``for_person`` (the OTP is spent); audited."""
        now = self._clock.now()
        try:
            identity = self._gate.admit(partner, individual_id, now)
            if not self._gate.otp_matches(identity, otp, partner=partner, now=now):
                raise AuthenticationFailed("the one-time password is wrong")
        except BaobabError as exc:
            self._attempts.record(partner, otp.otp_id, ("otp",), "refused", now, error=exc.code)
            raise
        self._attempts.record(partner, otp.otp_id, ("otp",), "yes", now)
        return identity

    def request_otp(
        self, *, partner: Partner, individual_id: str, channel: str, for_person: bool = False
    ) -> OtpSent:
        """Send an OTP to the person's address on ``channel`` (see :meth:`OtpSender.request`)."""
        return self._otp_sender.request(
            partner=partner, individual_id=individual_id, channel=channel, for_person=for_person
        )

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
        """Signed eKYC if the factors match and the person consented (see
        :meth:`EkycIssuer.ekyc`)."""
        return self._ekyc.ekyc(
            partner=partner,
            individual_id=individual_id,
            transaction_id=transaction_id,
            attributes=attributes,
            agreement_id=agreement_id,
            purpose=purpose,
            demographics=demographics,
            otp=otp,
        )
