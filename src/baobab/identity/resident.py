"""What a person does for themselves, through a resident portal: lock and unlock the ways
relying parties may authenticate them.

The portal is a directory subsystem with the scope ``identity:resident``; it cannot act on its
own: every change needs a one-time password the person received on their registered phone or
e-mail (sent with ``for_person``, so it works even while the OTP factor is locked against
partners). A locked factor makes every partner's authentication or eKYC by it
``403 identity.factor_locked``; the other factors keep working. Each change is audited with the
portal as actor, the identity's packet as subject, and what was locked and unlocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from baobab.identity.authentication import AuthenticationService
from baobab.identity.errors import UnknownIdentity
from baobab.identity.factors import OtpFactor, OtpSent, Partner
from baobab.identity.ports import UnitOfWorkFactory
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput

FACTORS = frozenset({"demo", "otp"})  # what relying parties authenticate with


class ResidentService:
    """The person's own requests, each proven with a one-time password."""

    def __init__(
        self, *, authentication: AuthenticationService, uow: UnitOfWorkFactory, clock: Clock
    ) -> None:
        self._authentication = authentication
        self._uow = uow
        self._clock = clock

    def request_otp(self, *, portal: Partner, individual_id: str, channel: str) -> OtpSent:
        """Send the person an OTP to prove themselves to ``portal``."""
        return self._authentication.request_otp(
            partner=portal, individual_id=individual_id, channel=channel, for_person=True
        )

    def set_factor_locks(
        self,
        *,
        portal: Partner,
        individual_id: str,
        otp: OtpFactor,
        lock: Sequence[str] = (),
        unlock: Sequence[str] = (),
    ) -> frozenset[str]:
        """Lock and unlock authentication factors; returns the factors locked now."""
        to_lock, to_unlock = _factor_set(lock), _factor_set(unlock)
        if not to_lock and not to_unlock:
            raise InvalidInput("name at least one factor to lock or unlock")
        if to_lock & to_unlock:
            raise InvalidInput("a factor is either locked or unlocked, not both")
        person = self._authentication.verify_person(
            partner=portal, individual_id=individual_id, otp=otp
        )
        now = self._clock.now()
        with self._uow() as uow:
            identity = uow.store.get_identity(person.uin, for_update=True)
            if identity is None:
                raise UnknownIdentity("no identity with that UIN")
            locked = (identity.locked_factors | to_lock) - to_unlock
            uow.store.save_identity(replace(identity, locked_factors=locked, updated_at=now))
            uow.audit.append(
                AuditEvent(
                    "identity.factors_locked",
                    portal.client_id,
                    identity.packet_id,
                    details={
                        "by": "person",
                        "locked": ",".join(sorted(to_lock)),
                        "unlocked": ",".join(sorted(to_unlock)),
                    },
                ),
                at=now,
            )
        return locked


def _factor_set(names: Sequence[str]) -> frozenset[str]:
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("factors are a list of names")
    unknown = sorted(set(names) - FACTORS)
    if unknown:
        raise InvalidInput(
            f"unknown factors: {', '.join(unknown)}; use {', '.join(sorted(FACTORS))}"
        )
    return frozenset(names)
