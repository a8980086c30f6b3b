"""The identity lifecycle outside enrolment: reading an identity with its history, locking and
unlocking it, virtual IDs, and what each relying party may receive in eKYC. Every change is
audited in the unit of work that makes it, naming the identity by its packet, never by UIN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from baobab.identity.domain import Identity, IdentityStatus, IdentityVersion, Vid, VidKind
from baobab.identity.errors import UnknownIdentity, UnknownVid
from baobab.identity.numbers import VID_POLICY
from baobab.identity.ports import IdentityUnitOfWork, UnitOfWorkFactory
from baobab.identity.schema import ProfileCatalogue
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput

MAX_TEMPORARY_VID = timedelta(days=365)


class IdentityService:
    """The identity lifecycle outside enrolment: look-up with history, lock and unlock, virtual
    IDs, and what each relying party may receive in eKYC."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, profiles: ProfileCatalogue) -> None:
        self._uow = uow
        self._clock = clock
        self._profiles = profiles

    def identity(self, *, actor: str, uin: str) -> tuple[Identity, Sequence[IdentityVersion]]:
        """An identity and its history; reading personal data is audited."""
        with self._uow() as uow:
            identity = _identity(uow, uin)
            history = uow.store.history(uin)
            self._audit(uow, "identity.identity_read", actor, identity.packet_id)
        return identity, history

    def set_locked(self, *, actor: str, uin: str, locked: bool, reason: str) -> Identity:
        """Lock (no authentication succeeds) or unlock an identity."""
        reason = reason.strip() if isinstance(reason, str) else ""
        if not 3 <= len(reason) <= 500:
            raise InvalidInput("give a reason of 3 to 500 characters")
        status = IdentityStatus.LOCKED if locked else IdentityStatus.ACTIVE
        with self._uow() as uow:
            identity = _identity(uow, uin, for_update=True)
            changed = replace(identity, status=status, updated_at=self._clock.now())
            uow.store.save_identity(changed)
            action = "identity.locked" if locked else "identity.unlocked"
            self._audit(uow, action, actor, identity.packet_id)
        return changed

    def issue_vid(
        self, *, actor: str, uin: str, kind: VidKind, ttl: timedelta | None = None
    ) -> Vid:
        """A new virtual ID for the person; temporary ones need a ``ttl`` (up to a year)."""
        now = self._clock.now()
        if (kind is VidKind.TEMPORARY) != (ttl is not None):
            raise InvalidInput("a temporary VID, and only a temporary one, has a ttl")
        if ttl is not None and not timedelta(minutes=1) <= ttl <= MAX_TEMPORARY_VID:
            raise InvalidInput("a temporary VID lives 1 minute to 365 days")
        with self._uow() as uow:
            identity = _identity(uow, uin)
            if kind is VidKind.PERPETUAL and any(
                v.kind is VidKind.PERPETUAL and v.revoked_at is None for v in uow.store.vids_of(uin)
            ):
                raise InvalidInput("the person has a perpetual VID; revoke it first")
            while True:
                vid = Vid(VID_POLICY.generate(), uin, kind, now, now + ttl if ttl else None)
                if uow.store.add_vid(vid):
                    break
            self._audit(uow, "identity.vid_issued", actor, identity.packet_id, kind=kind.value)
        return vid

    def revoke_vid(self, *, actor: str, vid: str) -> Vid:
        with self._uow() as uow:
            found = uow.store.get_vid(vid, for_update=True)
            if found is None:
                raise UnknownVid("no such VID")
            if found.revoked_at is not None:
                return found
            revoked = replace(found, revoked_at=self._clock.now())
            uow.store.save_vid(revoked)
            self._audit(uow, "identity.vid_revoked", actor, found.kind.value)
        return revoked

    def set_policy(self, *, actor: str, partner: str, attributes: Sequence[str]) -> frozenset[str]:
        """The attributes ``partner`` (a member id) may receive in eKYC: kyc-shareable ones."""
        allowed = self._profiles.active.kyc_shareable
        chosen = frozenset(attributes)
        outside = sorted(chosen - allowed)
        if outside:
            raise InvalidInput(
                f"not kyc-shareable in profile {self._profiles.active.ref}: {', '.join(outside)}"
            )
        with self._uow() as uow:
            uow.store.set_policy(partner, chosen)
            self._audit(
                uow,
                "identity.partner_policy_set",
                actor,
                partner,
                attributes=",".join(sorted(chosen)),
            )
        return chosen

    def policy(self, partner: str) -> frozenset[str]:
        with self._uow() as uow:
            return uow.store.get_policy(partner) or frozenset()

    def _audit(
        self, uow: IdentityUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())


def _identity(uow: IdentityUnitOfWork, uin: str, *, for_update: bool = False) -> Identity:
    identity = uow.store.get_identity(uin, for_update=for_update)
    if identity is None:
        raise UnknownIdentity("no identity with that UIN")
    return identity
