"""Checking an enrolment packet's signature against the enrolling client's registered keys."""

from __future__ import annotations

from baobab.directory import ClientId
from baobab.identity.errors import BadPacketSignature, MalformedPacket
from baobab.identity.packets import Packet, parse_packet
from baobab.identity.ports import CachedKeys, KeyDirectory
from baobab.kernel.clock import Clock
from baobab.kernel.errors import BaobabError
from baobab.kernel.signing import VerificationKey, import_public_jwk, parse_compact


class PacketVerifier:
    """Turns a signed packet (compact JWS) into a :class:`Packet`, or refuses it."""

    def __init__(self, *, keys: KeyDirectory, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock
        self._verification_keys: dict[str, VerificationKey] = {}

    def verified(self, caller: str, signed_packet: str) -> Packet:
        """The packet, if signed with a key of ``caller`` usable now."""
        try:
            jws = parse_compact(signed_packet)
            claims = jws.claims()
        except BaobabError as exc:
            raise MalformedPacket(f"the packet is not a compact JWS: {exc.detail}") from exc
        kid = jws.header.get("kid")
        now = self._clock.now()
        client = ClientId.parse(caller)
        keys = self._keys.keys_of(client)
        if isinstance(self._keys, CachedKeys) and not any(k.kid == kid for k in keys):
            keys = self._keys.refresh(client)  # a key registered since the cache was filled
        usable = [k for k in keys if k.kid == kid and k.usable_at(now)]
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
