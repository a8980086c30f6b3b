"""The checks every authentication passes: rate limits, resolving a UIN or VID to the person
(spending a one-time VID), locks, and whether the demographics and OTP given match."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from baobab.identity.domain import Identity, VidKind
from baobab.identity.errors import (
    FactorLocked,
    IdentityLocked,
    InvalidIndividualId,
    RateLimited,
    UnknownIdentity,
    UnknownOtp,
    UnknownVid,
)
from baobab.identity.factors import OtpFactor, Partner, claim_matches, factors_given
from baobab.identity.numbers import VID_POLICY, partner_token
from baobab.identity.otp import OtpPolicy, SlidingWindow
from baobab.identity.ports import IdentityReader, UnitOfWorkFactory
from baobab.identity.schema import ProfileCatalogue
from baobab.kernel.errors import InvalidInput


class AuthenticationGate:
    """Admits a partner's request for a person and verifies the factors given."""

    def __init__(
        self,
        *,
        reader: IdentityReader,
        uow: UnitOfWorkFactory,
        profiles: ProfileCatalogue,
        secret: bytes,
        otp: OtpPolicy,
        partner_limit: int,
        identity_limit: int,
    ) -> None:
        self._reader = reader
        self._uow = uow
        self._profiles = profiles
        self._secret = secret
        self._otp = otp
        # yes/no requests: per partner each minute, per identity each minute
        self._per_partner = SlidingWindow(limit=partner_limit, period=timedelta(minutes=1))
        self._per_identity = SlidingWindow(limit=identity_limit, period=timedelta(minutes=1))

    def token_for(self, partner: Partner, uin: str) -> str:
        """The person's token at ``partner``'s organisation."""
        return partner_token(self._secret, partner=partner.organisation, uin=uin)

    def admit(self, partner: Partner, individual_id: str, now: datetime) -> Identity:
        """The person ``individual_id`` names, if the rate limits and their lock allow."""
        if not self._per_partner.admit(partner.client_id, now):
            raise RateLimited("this partner sends too many authentications; slow down")
        identity = self._resolve(individual_id, now)
        if not self._per_identity.admit(identity.uin, now):
            raise RateLimited("too many authentications for this person; try again later")
        if identity.locked:
            raise IdentityLocked("the person has locked their identity")
        return identity

    def _resolve(self, individual_id: str, now: datetime) -> Identity:
        if not isinstance(individual_id, str) or not individual_id.isdigit():
            raise InvalidIndividualId("an individual id is a UIN or a VID (digits)")
        uin = individual_id
        if len(individual_id) == VID_POLICY.length:
            if not VID_POLICY.is_valid(individual_id):
                raise InvalidIndividualId("not a valid VID")
            vid = self._reader.vid(individual_id)
            if vid is None:
                raise UnknownVid("no such VID")
            vid.check_usable(now)
            if vid.kind is VidKind.ONE_TIME:
                self._spend_vid(individual_id, now)
            uin = vid.uin
        elif len(individual_id) != self._profiles.active.uin_policy.length:
            raise InvalidIndividualId("not a valid UIN or VID")
        identity = self._reader.identity(uin)
        if identity is None:
            # every stored UIN passed the rules when issued, so they are checked only on a miss
            if uin == individual_id and not self._profiles.active.uin_policy.is_valid(uin):
                raise InvalidIndividualId("not a valid UIN or VID")
            raise UnknownIdentity("no identity with that UIN")
        return identity

    def _spend_vid(self, vid: str, now: datetime) -> None:
        with self._uow() as uow:
            found = uow.store.get_vid(vid, for_update=True)
            assert found is not None
            found.check_usable(now)
            uow.store.save_vid(replace(found, used_at=now))

    def verify(
        self,
        identity: Identity,
        demographics: Mapping[str, Any] | None,
        otp: OtpFactor | None,
        *,
        partner: Partner,
        now: datetime,
    ) -> bool:
        """Whether every factor given matches; refuses a factor the person has locked."""
        given = factors_given(demographics, otp)
        locked = sorted(set(given) & identity.locked_factors)
        if locked:
            raise FactorLocked(f"the person has locked authentication by {', '.join(locked)}")
        ok = True
        if demographics is not None:
            ok = self._demographics_match(identity, demographics)
        if otp is not None:
            # the OTP is spent even when the demographics failed: a try is a try
            ok = self.otp_matches(identity, otp, partner=partner, now=now) and ok
        return ok

    def _demographics_match(self, identity: Identity, given: Mapping[str, Any]) -> bool:
        profile = self._profiles.active
        unknown = sorted(set(given) - set(profile.fields))
        if unknown:
            raise InvalidInput(f"not fields of profile {profile.ref}: {', '.join(unknown)}")
        return all(
            claim_matches(
                identity.attributes.get(name), value, partial=profile.fields[name].partial_date
            )
            for name, value in given.items()
        )

    def otp_matches(
        self, identity: Identity, otp: OtpFactor, *, partner: Partner, now: datetime
    ) -> bool:
        """Try the OTP (spending one try) sent to this person at this partner's request."""
        with self._uow() as uow:
            challenge = uow.store.get_challenge(otp.otp_id)
            if challenge is None or challenge.uin != identity.uin:
                raise UnknownOtp("no such OTP for this person")
            if challenge.partner != partner.client_id:
                raise UnknownOtp("no such OTP for this partner")
            tried = challenge.verify(otp.code, secret=self._secret, now=now, policy=self._otp)
            uow.store.save_challenge(tried)
        return tried.succeeded
