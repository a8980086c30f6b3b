"""Enrolment: packets in, UINs out, duplicates caught, doubtful cases to an officer; updates
with history. (Locks, VIDs and partner policies are in :mod:`baobab.identity.lifecycle`.)

The deduplicating stage runs under one lock per process: a packet is matched against a gallery
that already holds every identity issued before it, so two duplicates arriving together cannot
both be issued. Enrolment therefore has one writer process per deployment (authentication, the
load that scales, runs anywhere). Every change is audited in the unit of work that makes it;
audit entries name packets and cases, never a person's attributes or UIN.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from baobab.directory import ClientId
from baobab.identity.domain import (
    BadPacketSignature,
    DuplicateCandidate,
    Enrolment,
    Identity,
    IdentityStatus,
    InvalidDecision,
    MalformedPacket,
    MatchOutcome,
    Packet,
    PacketConflict,
    PacketKind,
    PacketState,
    ReviewAlreadyDecided,
    ReviewCase,
    ReviewDecision,
    UnknownIdentity,
    UnknownPacket,
    UnknownReviewCase,
    parse_packet,
)
from baobab.identity.ports import (
    DuplicateFinder,
    IdentityUnitOfWork,
    KeyDirectory,
    UnitOfWorkFactory,
)
from baobab.identity.schema import ProfileCatalogue
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError, InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.signing import VerificationKey, import_public_jwk, parse_compact

IDENTITY_SCOPES: dict[str, str] = {
    "identity:enrol": "Submit signed enrolment packets and read what became of them",
    "identity:review": "Work the manual review queue of possible duplicates",
    "identity:admin": "Lock and unlock identities, manage VIDs and partner policies",
    "identity:auth": "Authenticate people (yes/no) and request OTPs, as a relying party",
    "identity:ekyc": "Receive signed eKYC attributes, as a relying party, with consent",
}
MAX_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class CaseView:
    """A review case with both sides: the packet's demographics and each candidate's."""

    case: ReviewCase
    enrolment: Enrolment
    packet: dict[str, Any]
    candidates: tuple[tuple[DuplicateCandidate, dict[str, Any]], ...]


class EnrolmentService:
    """Enrolment packets through ``received -> checked -> deduplicating -> outcome``, and the
    review queue."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        profiles: ProfileCatalogue,
        keys: KeyDirectory,
        finder: DuplicateFinder,
        new_uin: Callable[[], str] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._profiles = profiles
        self._keys = keys
        self._finder = finder
        self._new_uin = new_uin or profiles.active.uin_policy.generate
        self._dedup = threading.Lock()
        self._gallery_ready = False
        self._verification_keys: dict[str, VerificationKey] = {}

    def load_gallery(self) -> int:
        """Put every registered identity into the matcher; returns how many. Runs by itself
        before the first packet is deduplicated; call it at start to pay the cost up front."""
        count = 0
        with self._uow() as uow:
            for identity in uow.store.identities():
                view = self._profiles.get(identity.profile).matching_view(identity.attributes)
                self._finder.add(identity.uin, view)
                count += 1
        self._gallery_ready = True
        return count

    def _ensure_gallery(self) -> None:
        # under the dedup lock, before a transaction opens (SQLite allows one writer)
        if not self._gallery_ready:
            self.load_gallery()

    # --- enrolment --------------------------------------------------------------------------

    def submit(self, *, caller: str, signed_packet: str) -> Enrolment:
        """Check, deduplicate and settle one signed packet. Idempotent on its packet id."""
        packet = self._verified(caller, signed_packet)
        try:
            return self._settle_packet(caller, packet)
        except _Retry as retry:  # the packet id is taken: a replay, a conflict or a lost race
            return _same_or_conflict(retry.existing, packet)

    def _settle_packet(self, caller: str, packet: Packet) -> Enrolment:
        """One write transaction per packet: the checks and the search run before it opens, so
        the database's write lock is held only for the writes (on SQLite, one writer at a
        time). A taken packet id shows at the insert, which is conflict-safe."""
        now = self._clock.now()
        profile = self._profiles.active
        with self._dedup:
            self._ensure_gallery()
            try:
                current = self._current_of(packet)
                attributes = _merged(current, packet.demographics)
                profile.check(attributes, today=now.date())
            except BaobabError:
                # a packet accepted before gets the same answer even if today's checks differ
                existing = self._existing(packet.packet_id)
                if existing is not None:
                    raise _Retry(existing) from None
                raise
            enrolment = Enrolment.received(packet, at=now)
            enrolment = enrolment.move(PacketState.CHECKED, at=now)
            enrolment = enrolment.move(PacketState.DEDUPLICATING, at=now)
            view = profile.matching_view(attributes)
            candidates = self._candidates(view, exclude=packet.uin)
            enrolment, case, identity = self._settle(
                enrolment, packet, attributes, candidates, now=now, profile_ref=profile.ref
            )
            with self._uow() as uow:
                if not uow.store.add_enrolment(enrolment, packet.demographics):
                    existing = uow.store.get_enrolment(packet.packet_id)
                    assert existing is not None
                    raise _Retry(existing)
                if case is not None:
                    uow.store.add_case(case)
                if identity is not None:
                    self._store_identity(uow, identity)
                self._audit(
                    uow,
                    "identity.packet_settled",
                    caller,
                    packet.packet_id,
                    kind=packet.kind.value,
                    state=enrolment.state.value,
                    biometric_exception="yes" if packet.biometric_exception else "no",
                )
            if identity is not None:
                self._finder.remove(identity.uin)
                self._finder.add(identity.uin, view)
        return enrolment

    def _verified(self, caller: str, signed_packet: str) -> Packet:
        try:
            jws = parse_compact(signed_packet)
            claims = jws.claims()
        except BaobabError as exc:
            raise MalformedPacket(f"the packet is not a compact JWS: {exc.detail}") from exc
        kid = jws.header.get("kid")
        now = self._clock.now()
        usable = [
            k
            for k in self._keys.keys_of(ClientId.parse(caller))
            if k.kid == kid and k.usable_at(now)
        ]
        if not usable:
            raise BadPacketSignature("the packet is not signed with a usable key of the caller")
        key = self._verification_keys.get(usable[0].kid)
        if key is None:
            key = self._verification_keys.setdefault(
                usable[0].kid, import_public_jwk(usable[0].jwk)
            )
        if not jws.verified_by(key):
            raise BadPacketSignature("the packet's signature does not verify")
        return parse_packet(claims, enrolled_by=caller)

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
        identity = self._identity_for(packet, attributes, now=now, profile_ref=profile_ref)
        return enrolment.move(PacketState.ISSUED, at=now, uin=identity.uin), None, identity

    def _identity_for(
        self, packet: Packet, attributes: dict[str, Any], *, now: datetime, profile_ref: str
    ) -> Identity:
        if packet.kind is PacketKind.UPDATE:
            assert packet.uin is not None
            return Identity(
                packet.uin,
                attributes,
                profile_ref,
                IdentityStatus.ACTIVE,
                0,
                now,
                now,
                packet.packet_id,
            )
        return Identity(
            self._new_uin(),
            attributes,
            profile_ref,
            IdentityStatus.ACTIVE,
            1,
            now,
            now,
            packet.packet_id,
        )

    def _store_identity(self, uow: IdentityUnitOfWork, identity: Identity) -> Identity:
        """Issue a new identity (drawing again if the UIN is taken) or add a version."""
        if identity.version == 0:  # an update: the next version of the existing identity
            current = uow.store.get_identity(identity.uin, for_update=True)
            assert current is not None
            updated = replace(
                current,
                attributes=identity.attributes,
                profile=identity.profile,
                version=current.version + 1,
                updated_at=identity.updated_at,
                packet_id=identity.packet_id,
            )
            uow.store.save_identity(updated)
            return updated
        for _ in range(100):
            if uow.store.add_identity(identity):
                return identity
            identity = replace(identity, uin=self._new_uin())
        raise InvalidInput("no free UIN found; the number space is nearly full")

    def enrolment(self, packet_id: str) -> Enrolment:
        with self._uow() as uow:
            enrolment = uow.store.get_enrolment(packet_id)
        if enrolment is None:
            raise UnknownPacket(f"no packet {packet_id!r}")
        return enrolment

    # --- review queue -----------------------------------------------------------------------

    def review_queue(self, *, open_only: bool = True, limit: int = 100) -> Sequence[ReviewCase]:
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit is 1 to 1000")
        with self._uow() as uow:
            return uow.store.list_cases(open_only=open_only, limit=limit)

    def show_case(self, *, actor: str, case_id: str) -> CaseView:
        """The case with the packet and each candidate side by side; the viewing is audited."""
        with self._uow() as uow:
            case = uow.store.get_case(case_id)
            if case is None:
                raise UnknownReviewCase(f"no review case {case_id!r}")
            enrolment = uow.store.get_enrolment(case.packet_id)
            packet = uow.store.packet_demographics(case.packet_id)
            assert enrolment is not None
            assert packet is not None
            sides = []
            for candidate in case.candidates:
                identity = uow.store.get_identity(candidate.uin)
                sides.append((candidate, identity.attributes if identity else {}))
            self._audit(uow, "identity.review_case_viewed", actor, case_id)
        return CaseView(case, enrolment, packet, tuple(sides))

    def decide(
        self,
        *,
        actor: str,
        case_id: str,
        decision: ReviewDecision,
        duplicate_of: str | None = None,
        reason: str,
    ) -> Enrolment:
        """Settle a case: a distinct person (issue or apply), a duplicate of a candidate, or
        rejected. Audited with the deciding officer."""
        reason = reason.strip() if isinstance(reason, str) else ""
        if not 3 <= len(reason) <= 500:
            raise InvalidDecision("a decision gives a reason of 3 to 500 characters")
        now = self._clock.now()
        profile = self._profiles.active
        with self._dedup:
            self._ensure_gallery()
            with self._uow() as uow:
                case = uow.store.get_case(case_id, for_update=True)
                if case is None:
                    raise UnknownReviewCase(f"no review case {case_id!r}")
                if not case.open:
                    raise ReviewAlreadyDecided(f"case {case_id} was decided: {case.decision}")
                if (decision is ReviewDecision.DUPLICATE) != (duplicate_of is not None):
                    raise InvalidDecision("duplicate_of goes with, and only with, 'duplicate'")
                if duplicate_of is not None and duplicate_of not in {
                    c.uin for c in case.candidates
                }:
                    raise InvalidDecision("duplicate_of must be one of the case's candidates")
                enrolment = uow.store.get_enrolment(case.packet_id)
                packet_data = uow.store.packet_demographics(case.packet_id)
                assert enrolment is not None
                assert packet_data is not None
                identity: Identity | None = None
                if decision is ReviewDecision.DISTINCT:
                    current = (
                        uow.store.get_identity(enrolment.uin, for_update=True)
                        if enrolment.kind is PacketKind.UPDATE and enrolment.uin
                        else None
                    )
                    attributes = _merged(current, packet_data)
                    packet = _packet_from(enrolment, packet_data)
                    identity = self._store_identity(
                        uow,
                        self._identity_for(packet, attributes, now=now, profile_ref=profile.ref),
                    )
                    enrolment = enrolment.move(PacketState.ISSUED, at=now, uin=identity.uin)
                elif decision is ReviewDecision.DUPLICATE:
                    enrolment = enrolment.move(
                        PacketState.DUPLICATE, at=now, duplicate_of=duplicate_of
                    )
                else:
                    enrolment = enrolment.move(PacketState.REJECTED, at=now, reason=reason)
                uow.store.save_enrolment(enrolment)
                uow.store.save_case(
                    replace(
                        case,
                        decision=decision,
                        duplicate_of=duplicate_of,
                        reason=reason,
                        decided_by=actor,
                        decided_at=now,
                    )
                )
                self._audit(uow, "identity.review_decided", actor, case_id, decision=decision.value)
            if identity is not None:
                self._finder.remove(identity.uin)
                self._finder.add(identity.uin, profile.matching_view(identity.attributes))
        return enrolment

    def _audit(
        self, uow: IdentityUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())


class _Retry(Exception):
    def __init__(self, existing: Enrolment) -> None:
        self.existing = existing


def _same_or_conflict(existing: Enrolment, packet: Packet) -> Enrolment:
    if existing.digest != packet.digest or existing.enrolled_by != packet.enrolled_by:
        raise PacketConflict(
            f"packet id {packet.packet_id} was already used with different content"
        )
    return existing


def _merged(current: Identity | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """An update names only what changes; ``null`` removes an optional field."""
    merged = dict(current.attributes) if current else {}
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _packet_from(enrolment: Enrolment, demographics: dict[str, Any]) -> Packet:
    return Packet(
        enrolment.packet_id,
        enrolment.kind,
        enrolment.uin,
        demographics,
        (),
        None,
        (),
        "",
        "",
        enrolment.enrolled_by,
        enrolment.digest,
    )
