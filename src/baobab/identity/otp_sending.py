"""Sending an OTP to a person for a relying party: checks, rate limits and lock-out, the stored
challenge (only a keyed hash of the code), then the message."""

from __future__ import annotations

from datetime import datetime, timedelta

from baobab.identity.attempts import AttemptLog
from baobab.identity.errors import FactorLocked, NoOtpChannel, OtpLockedOut, RateLimited
from baobab.identity.factors import OtpSent, Partner
from baobab.identity.gate import AuthenticationGate
from baobab.identity.otp import OtpChallenge, OtpPolicy, hash_code, mask, new_code
from baobab.identity.ports import Messenger, UnitOfWorkFactory
from baobab.identity.schema import ProfileCatalogue
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError
from baobab.kernel.ids import new_id


class OtpSender:
    """Sends OTPs on a partner's or the person's request; every request is audited."""

    def __init__(
        self,
        *,
        gate: AuthenticationGate,
        uow: UnitOfWorkFactory,
        clock: Clock,
        profiles: ProfileCatalogue,
        messenger: Messenger,
        attempts: AttemptLog,
        secret: bytes,
        policy: OtpPolicy,
    ) -> None:
        self._gate = gate
        self._uow = uow
        self._clock = clock
        self._profiles = profiles
        self._messenger = messenger
        self._attempts = attempts
        self._secret = secret
        self._policy = policy

    def request(
        self, *, partner: Partner, individual_id: str, channel: str, for_person: bool = False
    ) -> OtpSent:
        """Send an OTP to the person's address on ``channel``; rate-limited and audited.

        ``for_person``: the person asks for it to prove themselves to a resident portal, which
        a lock of the OTP factor (a lock against partners) does not stop."""
        now = self._clock.now()
        try:
            sent = self._send(partner, individual_id, channel, now, for_person=for_person)
        except BaobabError as exc:
            self._attempts.record(partner, "otp-request", ("otp",), "refused", now, error=exc.code)
            raise
        self._attempts.record(partner, sent.otp_id, ("otp",), "sent", now)
        return sent

    def _send(
        self, partner: Partner, individual_id: str, channel: str, now: datetime, *, for_person: bool
    ) -> OtpSent:
        identity = self._gate.admit(partner, individual_id, now)
        if "otp" in identity.locked_factors and not for_person:
            raise FactorLocked("the person has locked authentication by otp")
        field = self._profiles.active.otp_fields().get(channel)
        address = identity.attributes.get(field) if field else None
        if not isinstance(address, str):
            raise NoOtpChannel(f"the person has no {channel} address; use another factor")
        policy = self._policy
        with self._uow() as uow:
            store = uow.store
            if store.failures_since(identity.uin, now - policy.window) >= policy.lockout_failures:
                raise OtpLockedOut("too many wrong OTPs recently; try again later")
            if (
                store.count_challenges(since=now - policy.window, uin=identity.uin)
                >= policy.per_identity
            ):
                raise RateLimited("too many OTPs sent to this person recently")
            recent = store.count_challenges(
                since=now - timedelta(minutes=1), partner=partner.client_id
            )
            if recent >= policy.per_partner_per_minute:
                raise RateLimited("this partner requests too many OTPs; slow down")
            otp_id, code = new_id(), new_code(policy.digits)
            store.add_challenge(
                OtpChallenge(
                    otp_id,
                    identity.uin,
                    partner.client_id,
                    channel,
                    hash_code(self._secret, otp_id, code),
                    now,
                    now + policy.ttl,
                )
            )
        # sent after the commit: the messenger may write to the same database
        minutes = int(policy.ttl.total_seconds() // 60)
        self._messenger.send(
            channel=channel,
            address=address,
            subject="Your one-time password",
            text=f"Your one-time password is {code}. It expires in {minutes} minutes. "
            "Never share it.",
        )
        return OtpSent(otp_id, channel, mask(address), now + policy.ttl)
