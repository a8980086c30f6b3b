"""Authentication for relying parties: yes/no by demographics and/or OTP, and signed eKYC.

Kept apart from enrolment because it is a different kind of code: a read-mostly hot path that
must answer in milliseconds at thousands per second, that never takes the enrolment lock, and
whose audit entries go through a group-committing journal instead of one transaction each.

Partners (members with the relying-party role) never see a UIN: they name the person by UIN or
VID and get back their own partner token. Every attempt is audited (partner, factors, outcome,
error code), never with attribute values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from baobab.identity.domain import (
    FactorLocked,
    Identity,
    IdentityLocked,
    InvalidIndividualId,
    UnknownIdentity,
    UnknownVid,
    VidKind,
)
from baobab.identity.numbers import VID_POLICY, partner_token
from baobab.identity.otp import (
    NoOtpChannel,
    OtpChallenge,
    OtpLockedOut,
    OtpPolicy,
    RateLimited,
    SlidingWindow,
    UnknownOtp,
    hash_code,
    mask,
    new_code,
)
from baobab.identity.ports import (
    AuthenticationJournal,
    ConsentCheck,
    IdentityReader,
    Messenger,
    UnitOfWorkFactory,
)
from baobab.identity.schema import ProfileCatalogue, parse_partial_date
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError, Forbidden, InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer

_TRANSACTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class NoFactor(InvalidInput):
    code = "identity.no_factor"
    title = "No authentication factor given"


class AttributeNotAllowed(Forbidden):
    code = "identity.attribute_not_allowed"
    title = "Attribute outside the partner's eKYC policy"


class ConsentMissing(Forbidden):
    code = "identity.consent_missing"
    title = "No consent for this eKYC"


@dataclass(frozen=True, slots=True)
class Partner:
    """The relying party calling: its subsystem and the member organisation it belongs to."""

    client_id: str

    @property
    def organisation(self) -> str:
        return self.client_id.rsplit("/", 1)[0]


@dataclass(frozen=True, slots=True)
class OtpFactor:
    otp_id: str
    code: str


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The answer: yes or no, and on yes the person's token at this partner."""

    transaction_id: str
    authenticated: bool
    factors: tuple[str, ...]
    token: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class OtpSent:
    otp_id: str
    channel: str
    masked_address: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Ekyc:
    """A signed eKYC answer: ``jws`` carries the claims, ``token`` is the partner token."""

    transaction_id: str
    token: str
    attributes: dict[str, Any]
    jws: str


def normalise(text: str) -> str:
    """NFKC, case folded, diacritics removed, spaces collapsed: "José  Núñez" ~ "jose nunez"."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


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
        self._reader = reader
        self._uow = uow
        self._clock = clock
        self._profiles = profiles
        self._journal = journal
        self._messenger = messenger
        self._consent = consent
        self._signer = signer
        self._secret = secret
        self._issuer = issuer
        self._otp = otp or OtpPolicy()
        # yes/no requests: per partner each minute, per identity each minute
        self._per_partner = SlidingWindow(limit=partner_limit, period=timedelta(minutes=1))
        self._per_identity = SlidingWindow(limit=identity_limit, period=timedelta(minutes=1))

    # --- yes/no -----------------------------------------------------------------------------

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
        answer, audited = self.authenticate_pending(
            partner=partner,
            individual_id=individual_id,
            transaction_id=transaction_id,
            demographics=demographics,
            otp=otp,
        )
        audited.result()
        if isinstance(answer, BaobabError):
            raise answer
        return answer

    def authenticate_pending(
        self,
        *,
        partner: Partner,
        individual_id: str,
        transaction_id: str,
        demographics: Mapping[str, Any] | None = None,
        otp: OtpFactor | None = None,
    ) -> tuple[AuthResult | BaobabError, Future[None]]:
        """:meth:`authenticate` without waiting for the audit entry: the answer (or the error
        to raise) and a future that completes when the entry is durable. The caller must wait
        for it before answering; an HTTP route awaits it without holding a thread."""
        factors = _factors(demographics, otp)
        _check_transaction(transaction_id)
        now = self._clock.now()
        try:
            identity = self._admit(partner, individual_id, now)
            ok = self._verify(identity, demographics, otp, partner=partner, now=now)
        except BaobabError as exc:
            return exc, self._pending(
                partner, transaction_id, factors, "refused", now, error=exc.code
            )
        audited = self._pending(partner, transaction_id, factors, "yes" if ok else "no", now)
        token = self.token_for(partner, identity.uin) if ok else None
        return AuthResult(transaction_id, ok, factors, token, now), audited

    def token_for(self, partner: Partner, uin: str) -> str:
        return partner_token(self._secret, partner=partner.organisation, uin=uin)

    def _admit(self, partner: Partner, individual_id: str, now: datetime) -> Identity:
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

    def _verify(
        self,
        identity: Identity,
        demographics: Mapping[str, Any] | None,
        otp: OtpFactor | None,
        *,
        partner: Partner,
        now: datetime,
    ) -> bool:
        given = _factors(demographics, otp)
        locked = sorted(set(given) & identity.locked_factors)
        if locked:
            raise FactorLocked(f"the person has locked authentication by {', '.join(locked)}")
        ok = True
        if demographics is not None:
            ok = self._demographics_match(identity, demographics)
        if otp is not None:
            # the OTP is spent even when the demographics failed: a try is a try
            ok = self._otp_matches(identity, otp, partner=partner, now=now) and ok
        return ok

    def _demographics_match(self, identity: Identity, given: Mapping[str, Any]) -> bool:
        profile = self._profiles.active
        unknown = sorted(set(given) - set(profile.fields))
        if unknown:
            raise InvalidInput(f"not fields of profile {profile.ref}: {', '.join(unknown)}")
        return all(
            _same(identity.attributes.get(name), value, partial=profile.fields[name].partial_date)
            for name, value in given.items()
        )

    def _otp_matches(
        self, identity: Identity, otp: OtpFactor, *, partner: Partner, now: datetime
    ) -> bool:
        with self._uow() as uow:
            challenge = uow.store.get_challenge(otp.otp_id)
            if challenge is None or challenge.uin != identity.uin:
                raise UnknownOtp("no such OTP for this person")
            if challenge.partner != partner.client_id:
                raise UnknownOtp("no such OTP for this partner")
            tried = challenge.verify(otp.code, secret=self._secret, now=now, policy=self._otp)
            uow.store.save_challenge(tried)
        return tried.succeeded

    def verify_person(self, *, partner: Partner, individual_id: str, otp: OtpFactor) -> Identity:
        """The person, proven by an OTP sent ``for_person`` (the OTP is spent); audited."""
        now = self._clock.now()
        try:
            identity = self._admit(partner, individual_id, now)
            if not self._otp_matches(identity, otp, partner=partner, now=now):
                raise AuthenticationFailed("the one-time password is wrong")
        except BaobabError as exc:
            self._record(partner, otp.otp_id, ("otp",), "refused", now, error=exc.code)
            raise
        self._record(partner, otp.otp_id, ("otp",), "yes", now)
        return identity

    # --- OTP --------------------------------------------------------------------------------

    def request_otp(
        self, *, partner: Partner, individual_id: str, channel: str, for_person: bool = False
    ) -> OtpSent:
        """Send an OTP to the person's address on ``channel``; rate-limited and audited.

        ``for_person``: the person asks for it to prove themselves to a resident portal, which
        a lock of the OTP factor (a lock against partners) does not stop."""
        now = self._clock.now()
        try:
            sent = self._send_otp(partner, individual_id, channel, now, for_person=for_person)
        except BaobabError as exc:
            self._record(partner, "otp-request", ("otp",), "refused", now, error=exc.code)
            raise
        self._record(partner, sent.otp_id, ("otp",), "sent", now)
        return sent

    def _send_otp(
        self, partner: Partner, individual_id: str, channel: str, now: datetime, *, for_person: bool
    ) -> OtpSent:
        identity = self._admit(partner, individual_id, now)
        if "otp" in identity.locked_factors and not for_person:
            raise FactorLocked("the person has locked authentication by otp")
        field = self._profiles.active.otp_fields().get(channel)
        address = identity.attributes.get(field) if field else None
        if not isinstance(address, str):
            raise NoOtpChannel(f"the person has no {channel} address; use another factor")
        policy = self._otp
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

    # --- eKYC -------------------------------------------------------------------------------

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
        factors = _factors(demographics, otp)
        _check_transaction(transaction_id)
        now = self._clock.now()
        try:
            if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
                raise InvalidInput("purpose is 1-64 lower-case letters, digits, '.', '_' or '-'")
            identity = self._admit(partner, individual_id, now)
            wanted = self._allowed(partner, attributes)
            token = self.token_for(partner, identity.uin)
            if not self._consent.permits(
                individual=token,
                recipient=partner.client_id,
                agreement_id=agreement_id,
                purpose=purpose,
            ):
                raise ConsentMissing("the person has not consented to this eKYC")
            ok = self._verify(identity, demographics, otp, partner=partner, now=now)
        except BaobabError as exc:
            self._record(
                partner, transaction_id, factors, "refused", now, error=exc.code, ekyc=True
            )
            raise
        if not ok:
            self._record(partner, transaction_id, factors, "no", now, ekyc=True)
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
        self._record(
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

    # --- audit ------------------------------------------------------------------------------

    def _pending(
        self,
        partner: Partner,
        transaction_id: str,
        factors: Sequence[str],
        outcome: str,
        now: datetime,
        *,
        error: str | None = None,
        ekyc: bool = False,
        released: int | None = None,
    ) -> Future[None]:
        details = {"factors": ",".join(factors), "result": outcome}
        if error:
            details["error"] = error
        if released is not None:
            details["attributes_released"] = str(released)
        action = "identity.ekyc" if ekyc else "identity.authentication"
        event = AuditEvent(
            action,
            partner.client_id,
            transaction_id if _TRANSACTION.fullmatch(transaction_id or "") else "invalid",
            "success" if outcome in ("yes", "sent") else "refused",
            details,
        )
        return self._journal.record(event, at=now)

    def _record(
        self,
        partner: Partner,
        transaction_id: str,
        factors: Sequence[str],
        outcome: str,
        now: datetime,
        **more: Any,
    ) -> None:
        self._pending(partner, transaction_id, factors, outcome, now, **more).result()


class AuthenticationFailed(Forbidden):
    code = "identity.authentication_failed"
    title = "Authentication failed"


def _factors(demographics: Mapping[str, Any] | None, otp: OtpFactor | None) -> tuple[str, ...]:
    if demographics is not None and (not isinstance(demographics, Mapping) or not demographics):
        raise InvalidInput("demographics, when given, name at least one field")
    factors = (("demo",) if demographics else ()) + (("otp",) if otp else ())
    if not factors:
        raise NoFactor("give demographics, an OTP or both")
    return factors


def _check_transaction(transaction_id: str) -> None:
    if not isinstance(transaction_id, str) or not _TRANSACTION.fullmatch(transaction_id):
        raise InvalidInput("transaction_id is 1-64 letters, digits, '.', '_' or '-'")


def _same(stored: Any, given: Any, *, partial: bool) -> bool:
    if isinstance(given, Mapping):
        return isinstance(stored, Mapping) and all(
            _same(stored.get(k), v, partial=False) for k, v in given.items()
        )
    if not isinstance(given, str) or not isinstance(stored, str):
        return False
    if partial:
        mine, theirs = parse_partial_date(stored), parse_partial_date(given)
        if mine is None or theirs is None:
            return False
        # a claim is confirmed only as precisely as the register knows it
        return all(
            t is None or (m is not None and m == t) for m, t in zip(mine, theirs, strict=True)
        )
    return normalise(stored) == normalise(given)
