"""The manual review queue: packets that may be a duplicate wait here for an officer, who sees
both sides and decides (distinct, duplicate or rejected). Every viewing and decision is audited
with the officer; audit entries name cases, never a person's attributes or UIN."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from baobab.identity.domain import DuplicateCandidate, Identity, ReviewCase, ReviewDecision
from baobab.identity.errors import InvalidDecision, ReviewAlreadyDecided, UnknownReviewCase
from baobab.identity.gallery import Gallery
from baobab.identity.issuing import identity_for, store_identity
from baobab.identity.packets import Enrolment, PacketKind, PacketState
from baobab.identity.ports import BiometricMatcher, IdentityUnitOfWork, UnitOfWorkFactory
from baobab.identity.schema import ProfileCatalogue
from baobab.identity.settling import merged, packet_from
from baobab.kernel.audit import AuditEvent
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CaseView:
    """A review case with both sides: the packet's demographics and each candidate's."""

    case: ReviewCase
    enrolment: Enrolment
    packet: dict[str, Any]
    candidates: tuple[tuple[DuplicateCandidate, dict[str, Any]], ...]


class ReviewQueue:
    """Lists, shows and decides review cases; a decision that issues an identity changes the
    gallery under its lock, as automatic enrolment does."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        profiles: ProfileCatalogue,
        gallery: Gallery,
        new_uin: Callable[[], str],
        abis: BiometricMatcher | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._profiles = profiles
        self._gallery = gallery
        self._new_uin = new_uin
        self._abis = abis

    def cases(self, *, open_only: bool = True, limit: int = 100) -> Sequence[ReviewCase]:
        """The cases, open ones only unless ``open_only`` is false; at most ``limit``."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit is 1 to 1000")
        with self._uow() as uow:
            return uow.store.list_cases(open_only=open_only, limit=limit)

    def show(self, *, actor: str, case_id: str) -> CaseView:
        """The case with the packet and each candidate side by side; the viewing is audited."""
        with self._uow() as uow:
            case = uow.store.get_case(case_id)
            if case is None:
                raise UnknownReviewCase(f"no review case {case_id!r}")
            enrolment = uow.store.get_enrolment(case.packet_id)
            # a decided case's packet may have been purged (retention): nothing to show then
            packet = uow.store.packet_demographics(case.packet_id) or {}
            assert enrolment is not None
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
        with self._gallery.lock:
            self._gallery.ensure()
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
                    attributes = merged(current, packet_data)
                    packet = packet_from(enrolment, packet_data)
                    identity = store_identity(
                        uow,
                        identity_for(
                            packet,
                            attributes,
                            now=now,
                            profile_ref=profile.ref,
                            new_uin=self._new_uin,
                        ),
                        new_uin=self._new_uin,
                    )
                    references = uow.store.packet_biometrics(case.packet_id)
                    if references and self._abis is not None:
                        # issued by the officer: the ABIS learns the person now, before commit
                        self._abis.insert(
                            request_id=case.packet_id, uin=identity.uin, references=references
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
                self._gallery.finder.remove(identity.uin)
                self._gallery.finder.add(identity.uin, profile.matching_view(identity.attributes))
        return enrolment

    def _audit(
        self, uow: IdentityUnitOfWork, action: str, actor: str, subject: str, **details: str
    ) -> None:
        uow.audit.append(AuditEvent(action, actor, subject, details=details), at=self._clock.now())
