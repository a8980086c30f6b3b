"""Enrolment packets: the envelope an enrolling subsystem signs, its check, and the state machine
a packet moves through (``received -> checked -> deduplicating -> issued | duplicate | in_review |
rejected``)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from baobab.identity.errors import BiometricsMissing, IllegalTransition, MalformedPacket

_PACKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}")
_LABEL = re.compile(r"[^\x00-\x1f]{1,100}")
BIOMETRIC_MODALITIES = ("finger", "iris", "face")
PACKET_MEMBERS = frozenset(
    {
        "packet_id",
        "kind",
        "uin",
        "demographics",
        "biometrics",
        "biometric_exception",
        "documents",
        "officer",
        "centre",
    }
)


class PacketKind(StrEnum):
    NEW = "new"  # a first enrolment: the person gets a UIN unless already registered
    UPDATE = "update"  # a change to an existing identity (new address, corrected name)


class PacketState(StrEnum):
    """``received -> checked -> deduplicating -> issued | duplicate | in_review | rejected``;
    a case in review ends ``issued``, ``duplicate`` or ``rejected`` when an officer decides."""

    RECEIVED = "received"
    CHECKED = "checked"
    DEDUPLICATING = "deduplicating"
    ISSUED = "issued"
    DUPLICATE = "duplicate"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({PacketState.ISSUED, PacketState.DUPLICATE, PacketState.REJECTED})
_NEXT: dict[PacketState, frozenset[PacketState]] = {
    PacketState.RECEIVED: frozenset({PacketState.CHECKED}),
    PacketState.CHECKED: frozenset({PacketState.DEDUPLICATING}),
    PacketState.DEDUPLICATING: frozenset(
        {PacketState.ISSUED, PacketState.DUPLICATE, PacketState.IN_REVIEW, PacketState.REJECTED}
    ),
    PacketState.IN_REVIEW: frozenset(
        {PacketState.ISSUED, PacketState.DUPLICATE, PacketState.REJECTED}
    ),
}


@dataclass(frozen=True, slots=True)
class BiometricRef:
    """A reference to a biometric template held by the ABIS; never the template itself."""

    modality: str
    reference: str


@dataclass(frozen=True, slots=True)
class DocumentRef:
    kind: str
    reference: str


@dataclass(frozen=True, slots=True)
class Packet:
    """A checked enrolment packet, as signed by the enrolling subsystem ``enrolled_by``.

    ``digest`` is the SHA-256 of the packet's canonical JSON: the same packet id with the same
    digest is the same request; with another digest it is a conflict.
    """

    packet_id: str
    kind: PacketKind
    uin: str | None
    demographics: dict[str, Any]
    biometrics: tuple[BiometricRef, ...]
    biometric_exception: str | None
    documents: tuple[DocumentRef, ...]
    officer: str
    centre: str
    enrolled_by: str
    digest: str


def canonical_digest(value: Any) -> str:
    """SHA-256 over canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_packet(body: Any, *, enrolled_by: str) -> Packet:
    """Check the envelope of a packet (not yet its demographics, which the profile checks)."""
    if not isinstance(body, dict):
        raise MalformedPacket("a packet is a JSON object")
    unknown = sorted(set(body) - PACKET_MEMBERS)
    if unknown:
        raise MalformedPacket(f"unknown packet members: {', '.join(unknown)}")
    packet_id = body.get("packet_id")
    if not isinstance(packet_id, str) or not _PACKET_ID.fullmatch(packet_id):
        raise MalformedPacket("packet_id must be 8-100 letters, digits, '.', '_', ':' or '-'")
    try:
        kind = PacketKind(body.get("kind", "new"))
    except ValueError as exc:
        raise MalformedPacket("kind must be 'new' or 'update'") from exc
    uin = body.get("uin")
    if kind is PacketKind.UPDATE and not isinstance(uin, str):
        raise MalformedPacket("an update packet names the identity's uin")
    if kind is PacketKind.NEW and uin is not None:
        raise MalformedPacket("a new enrolment packet carries no uin")
    demographics = body.get("demographics")
    if not isinstance(demographics, dict) or not demographics:
        raise MalformedPacket("demographics must be a non-empty JSON object")
    biometrics = tuple(_biometric(b) for b in _list(body, "biometrics"))
    exception = body.get("biometric_exception")
    if exception is not None and (
        not isinstance(exception, dict)
        or set(exception) != {"reason"}
        or not isinstance(exception["reason"], str)
        or not 3 <= len(exception["reason"].strip()) <= 500
    ):
        raise MalformedPacket('biometric_exception is {"reason": "<3 to 500 characters>"}')
    reason = exception["reason"].strip() if exception else None
    if kind is PacketKind.NEW and not biometrics and reason is None:
        raise BiometricsMissing(
            "a new enrolment needs biometric references or a biometric exception with a reason"
        )
    if biometrics and reason is not None:
        raise MalformedPacket("a packet has biometric references or an exception, not both")
    documents = tuple(_document(d) for d in _list(body, "documents"))
    officer, centre = body.get("officer"), body.get("centre")
    for name, value in (("officer", officer), ("centre", centre)):
        if not isinstance(value, str) or not _LABEL.fullmatch(value):
            raise MalformedPacket(f"{name} must be 1-100 printable characters")
    assert isinstance(officer, str)
    assert isinstance(centre, str)
    return Packet(
        packet_id=packet_id,
        kind=kind,
        uin=uin if kind is PacketKind.UPDATE else None,
        demographics=demographics,
        biometrics=biometrics,
        biometric_exception=reason,
        documents=documents,
        officer=officer,
        centre=centre,
        enrolled_by=enrolled_by,
        digest=canonical_digest(body),
    )


def _list(body: Mapping[str, Any], name: str) -> list[Any]:
    value = body.get(name, [])
    if not isinstance(value, list) or len(value) > 20:
        raise MalformedPacket(f"{name} must be a list of at most 20 entries")
    return value


def _biometric(value: Any) -> BiometricRef:
    if (
        not isinstance(value, dict)
        or set(value) != {"modality", "reference"}
        or value["modality"] not in BIOMETRIC_MODALITIES
        or not isinstance(value["reference"], str)
        or not _REF.fullmatch(value["reference"])
    ):
        raise MalformedPacket(
            'a biometric entry is {"modality": "finger"|"iris"|"face", "reference": "<ref>"}'
        )
    return BiometricRef(value["modality"], value["reference"])


def _document(value: Any) -> DocumentRef:
    if (
        not isinstance(value, dict)
        or set(value) != {"kind", "reference"}
        or not isinstance(value["kind"], str)
        or not _LABEL.fullmatch(value["kind"])
        or not isinstance(value["reference"], str)
        or not _REF.fullmatch(value["reference"])
    ):
        raise MalformedPacket('a document entry is {"kind": "<kind>", "reference": "<ref>"}')
    return DocumentRef(value["kind"], value["reference"])


@dataclass(frozen=True, slots=True)
class Transition:
    state: PacketState
    at: datetime


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What became of a packet: its state, its path through the states and the result.

    ``uin`` is the identity issued or updated; ``duplicate_of`` the identity the person was
    already registered as; ``case_id`` the review case while one is open or was decided.
    """

    packet_id: str
    kind: PacketKind
    digest: str
    enrolled_by: str
    state: PacketState
    transitions: tuple[Transition, ...]
    uin: str | None = None
    duplicate_of: str | None = None
    case_id: str | None = None
    reason: str | None = None

    @classmethod
    def received(cls, packet: Packet, *, at: datetime) -> Enrolment:
        return cls(
            packet.packet_id,
            packet.kind,
            packet.digest,
            packet.enrolled_by,
            PacketState.RECEIVED,
            (Transition(PacketState.RECEIVED, at),),
            uin=packet.uin,
        )

    def move(self, state: PacketState, *, at: datetime, **changes: Any) -> Enrolment:
        """The enrolment in ``state``; refuses a move the state machine does not allow."""
        if state not in _NEXT.get(self.state, frozenset()):
            raise IllegalTransition(f"packet {self.packet_id} cannot go {self.state} -> {state}")
        return replace(
            self, state=state, transitions=(*self.transitions, Transition(state, at)), **changes
        )
