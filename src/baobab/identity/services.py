"""Enrolment: packets in, UINs out, duplicates caught, doubtful cases to an officer; updates
with history. (The review queue is in :mod:`baobab.identity.review`; locks, VIDs and partner
policies in :mod:`baobab.identity.lifecycle`.)

The deduplicating stage runs under one lock per process: a packet is matched against a gallery
that already holds every identity issued before it, so two duplicates arriving together cannot
both be issued. Enrolment therefore has one writer process per deployment (authentication, the
load that scales, runs anywhere). Every change is audited in the unit of work that makes it;
audit entries name packets and cases, never a person's attributes or UIN.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from baobab.identity.biometrics import combine
from baobab.identity.domain import (
    DuplicateCandidate,
    Identity,
    MatchOutcome,
    ReviewCase,
    ReviewDecision,
)
from baobab.identity.errors import UnknownIdentity, UnknownPacket
from baobab.identity.gallery import Gallery
from baobab.identity.issuing import identity_for, store_identity
from baobab.identity.packets import Enrolment, Packet, PacketKind, PacketState
from baobab.identity.ports import (
    BiometricMatcher,
    DuplicateFinder,
    IdentityUnitOfWork,
    KeyDirectory,
    UnitOfWorkFactory,
)
from baobab.identity.review import CaseView, ReviewQueue
from baobab.identity.schema import ProfileCatalogue
from baobab.identity.settling import (
    Plan,
    Replan,
    Retry,
    Ticket,
    merged,
    same_or_conflict,
)
from baobab.identity.verification import PacketVerifier
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError
from baobab.kernel.ids import new_id

IDENTITY_SCOPES: dict[str, str] = {
    "identity:enrol": "Submit signed enrolment packets and read what became of them",
    "identity:review": "Work the manual review queue of possible duplicates",
    "identity:admin": "Lock and unlock identities, manage VIDs and partner policies",
    "identity:auth": "Authenticate people (yes/no) and request OTPs, as a relying party",
    "identity:ekyc": "Receive signed eKYC attributes, as a relying party, with consent",
    "identity:resident": "Relay a person's own requests, proven by their one-time password",
}
MAX_CANDIDATES = 10


class EnrolmentService:
    """Enrolment packets through ``received -> checked -> deduplicating -> outcome``, and the
    review queue (:class:`~baobab.identity.review.ReviewQueue`), which shares its gallery."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        profiles: ProfileCatalogue,
        keys: KeyDirectory,
        finder: DuplicateFinder,
        new_uin: Callable[[], str] | None = None,
        abis: BiometricMatcher | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._profiles = profiles
        self._finder = finder
        self._abis = abis
        self._new_uin = new_uin or profiles.active.uin_policy.generate
        self._gallery = Gallery(uow=uow, profiles=profiles, finder=finder)
        self._dedup = self._gallery.lock
        self._waiting_lock = threading.Lock()
        self._waiting: list[Ticket] = []
        self._verifier = PacketVerifier(keys=keys, clock=clock)
        self._review = ReviewQueue(
            uow=uow,
            clock=clock,
            profiles=profiles,
            gallery=self._gallery,
            new_uin=self._new_uin,
            abis=abis,
        )

    def load_gallery(self) -> int:
        """Put every registered identity into the matcher; returns how many. Runs by itself
        before the first packet is deduplicated; call it at start to pay the cost up front."""
        return self._gallery.load()

    def _ensure_gallery(self) -> None:
        # under the dedup lock, before a transaction opens (SQLite allows one writer)
        self._gallery.ensure()

    # --- enrolment --------------------------------------------------------------------------

    def submit(self, *, caller: str, signed_packet: str) -> Enrolment:
        """Check, deduplicate and settle one signed packet. Idempotent on its packet id."""
        packet = self._verifier.verified(caller, signed_packet)
        try:
            return self._settle_packet(caller, packet)
        except Retry as retry:  # the packet id is taken: a replay, a conflict or a lost race
            return same_or_conflict(retry.existing, packet)

    def _settle_packet(self, caller: str, packet: Packet) -> Enrolment:
        """Settle the packet, and every packet other callers are waiting with, in one write
        transaction (group commit): a commit costs about the same for one packet or many.

        Whoever holds the deduplication lock takes all waiting packets, decides them in
        arrival order against a gallery that already holds the ones decided before them, then
        writes them together; the callers whose packets went in return its answers. Any
        surprise while writing a batch (a packet id taken meanwhile, an ABIS refusing) undoes
        it and settles its packets one by one, so each caller gets its own answer. Packets the
        ABIS must take are settled one at a time (their insert cannot be rolled back)."""
        ticket = Ticket(caller, packet)
        with self._waiting_lock:
            self._waiting.append(ticket)
        with self._dedup:
            self._ensure_gallery()
            while not ticket.settled:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._settle_batch(batch)
        return ticket.answer()

    def _settle_batch(self, batch: list[Ticket]) -> None:
        if self._abis is not None and len(batch) > 1:
            # a packet the ABIS takes goes alone: its insert must not outlive a rollback
            alone = [t for t in batch if t.packet.biometrics]
            batch = [t for t in batch if not t.packet.biometrics]
            for ticket in alone:
                self._settle_batch([ticket])
        plans = self._plans(batch)
        if not plans:
            return
        try:
            with self._uow() as uow:
                for plan in plans:
                    self._write(uow, plan, alone=len(plans) == 1)
        except Exception as exc:
            self._forget(plans)
            if len(plans) == 1:
                plans[0].ticket.fail(exc)
                return
            for plan in plans:  # one by one: each caller gets its own answer
                self._settle_batch([plan.ticket])
            return
        except BaseException:
            self._forget(plans)
            raise
        for plan in plans:
            plan.ticket.succeed(plan.enrolment)

    def _plans(self, batch: list[Ticket]) -> list[Plan]:
        """Decide each packet in turn; each decided identity joins the gallery at once, so
        the next packet is matched against it."""
        now = self._clock.now()
        plans: list[Plan] = []
        touched: set[str] = set()
        for ticket in batch:
            if ticket.packet.uin in touched:  # a second update of one person: next round
                with self._waiting_lock:
                    self._waiting.insert(0, ticket)
                continue
            try:
                plan = self._plan(ticket, now)
            except BaobabError as exc:
                ticket.fail(exc)
                continue
            plans.append(plan)
            if plan.identity is not None:
                touched.add(plan.identity.uin)
                self._finder.remove(plan.identity.uin)
                self._finder.add(plan.identity.uin, plan.view)
        return plans

    def _forget(self, plans: list[Plan]) -> None:
        """Put the gallery back as it was before ``plans`` (after a rolled-back batch)."""
        for plan in reversed(plans):
            if plan.identity is None:
                continue
            uin = plan.identity.uin
            self._finder.remove(uin)
            if plan.previous is not None:
                self._finder.add(uin, plan.previous)
                continue
            with self._uow() as uow:  # a new number that was someone's already: rare
                existing = uow.store.get_identity(uin)
            if existing is not None:
                self._finder.add(uin, self._view_of(existing))

    def _view_of(self, identity: Identity) -> Mapping[str, str]:
        return self._profiles.get(identity.profile).matching_view(identity.attributes)

    def _plan(self, ticket: Ticket, now: datetime) -> Plan:
        """Check and deduplicate one packet against the gallery; no writes."""
        packet = ticket.packet
        profile = self._profiles.active
        try:
            current = self._current_of(packet)
            attributes = merged(current, packet.demographics)
            profile.check(attributes, today=now.date())
        except BaobabError:
            # a packet accepted before gets the same answer even if today's checks differ
            existing = self._existing(packet.packet_id)
            if existing is not None:
                raise Retry(existing) from None
            raise
        enrolment = Enrolment.received(packet, at=now)
        enrolment = enrolment.move(PacketState.CHECKED, at=now)
        enrolment = enrolment.move(PacketState.DEDUPLICATING, at=now)
        view = profile.matching_view(attributes)
        candidates = self._candidates(view, exclude=packet.uin)
        if packet.biometrics and self._abis is not None:
            found = self._abis.identify(request_id=packet.packet_id, references=packet.biometrics)
            candidates = combine(candidates, [c for c in found if c.uin != packet.uin])
        enrolment, case, identity = self._settle(
            enrolment, packet, attributes, candidates, now=now, profile_ref=profile.ref
        )
        previous = self._view_of(current) if current is not None else None
        return Plan(ticket, enrolment, case, identity, view, previous)

    def _write(self, uow: IdentityUnitOfWork, plan: Plan, *, alone: bool) -> None:
        packet = plan.ticket.packet
        if not uow.store.add_enrolment(
            plan.enrolment, packet.demographics, biometrics=packet.biometrics
        ):
            existing = uow.store.get_enrolment(packet.packet_id)
            assert existing is not None
            if alone:
                raise Retry(existing)
            raise Replan  # decided as new, but the id was taken meanwhile
        if plan.case is not None:
            uow.store.add_case(plan.case)
        if plan.identity is not None:
            identity = store_identity(uow, plan.identity, new_uin=self._new_uin)
            if identity.uin != plan.identity.uin:  # the UIN was taken meanwhile: drawn again
                if not alone:
                    raise Replan  # later packets were matched against the first number
                taken = uow.store.get_identity(plan.identity.uin)
                self._finder.remove(plan.identity.uin)
                if taken is not None:  # its owner's gallery entry, which the plan replaced
                    self._finder.add(taken.uin, self._view_of(taken))
                self._finder.add(identity.uin, plan.view)
                plan.identity = identity
                plan.enrolment = replace(plan.enrolment, uin=identity.uin)
                uow.store.save_enrolment(plan.enrolment)
            if packet.biometrics and self._abis is not None:
                # before the commit: if the ABIS does not take them, nothing changes
                self._abis.insert(
                    request_id=packet.packet_id, uin=identity.uin, references=packet.biometrics
                )
        self._audit(
            uow,
            "identity.packet_settled",
            plan.ticket.caller,
            packet.packet_id,
            kind=packet.kind.value,
            state=plan.enrolment.state.value,
            biometric_exception="yes" if packet.biometric_exception else "no",
        )

    def _current_of(self, packet: Packet) -> Identity | None:
        if packet.kind is PacketKind.NEW:
            return None
        assert packet.uin is not None
        with self._uow() as uow:
            current = uow.store.get_identity(packet.uin)
        if current is None:
            raise UnknownIdentity("no identity with that UIN")
        return current

    def _existing(self, packet_id: str) -> Enrolment | None:
        with self._uow() as uow:
            return uow.store.get_enrolment(packet_id)

    def _candidates(
        self, view: Mapping[str, str], *, exclude: str | None
    ) -> list[DuplicateCandidate]:
        found = self._finder.find(view, limit=MAX_CANDIDATES + 1)
        return [c for c in found if c.uin != exclude and c.outcome is not MatchOutcome.DISTINCT]

    def _settle(
        self,
        enrolment: Enrolment,
        packet: Packet,
        attributes: dict[str, Any],
        candidates: Sequence[DuplicateCandidate],
        *,
        now: datetime,
        profile_ref: str,
    ) -> tuple[Enrolment, ReviewCase | None, Identity | None]:
        matches = [c for c in candidates if c.outcome is MatchOutcome.MATCH]
        if matches and packet.kind is PacketKind.NEW:
            best = max(matches, key=lambda c: c.score)
            return enrolment.move(PacketState.DUPLICATE, at=now, duplicate_of=best.uin), None, None
        if candidates:
            # an update that now resembles someone else is never settled by the machine
            case = ReviewCase(new_id(), packet.packet_id, tuple(candidates[:MAX_CANDIDATES]), now)
            return enrolment.move(PacketState.IN_REVIEW, at=now, case_id=case.case_id), case, None
        identity = identity_for(
            packet, attributes, now=now, profile_ref=profile_ref, new_uin=self._new_uin
        )
        return enrolment.move(PacketState.ISSUED, at=now, uin=identity.uin), None, identity

    def enrolment(self, packet_id: str) -> Enrolment:
        with self._uow() as uow:
            enrolment = uow.store.get_enrolment(packet_id)
        if enrolment is None:
            raise UnknownPacket(f"no packet {packet_id!r}")
        return enrolment

    # --- review queue -----------------------------------------------------------------------

    def review_queue(self, *, open_only: bool = True, limit: int = 100) -> Sequence[ReviewCase]:
        """See :meth:`ReviewQueue.cases`."""
        return self._review.cases(open_only=open_only, limit=limit)

    def show_case(self, *, actor: str, case_id: str) -> CaseView:
        """See :meth:`ReviewQueue.show`."""
        return self._review.show(actor=actor, case_id=case_id)

    def decide(
        self,
        *,
        actor: str,
        case_id: str,
        decision: ReviewDecision,
        duplicate_of: str | None = None,
        reason: str,
    ) -> Enrolment:
        """See :meth:`ReviewQueue.decide`."""
        return self._review.decide(
            actor=actor,
            case_id=case_id,
            decision=decision,
            duplicate_of=duplicate_of,
            reason=reason,
        )

    def _audit(
        self, uow: IdentityUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())
