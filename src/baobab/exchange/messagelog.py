"""The message log: every exchange as one link of a SHA-256 hash chain, sealed by periodic
Merkle checkpoints the instance key signs; verification; evidence bundles.

Writes are group-committed: messages that arrive while a batch is being written wait for the
next batch, which is one transaction however many messages it holds. A message learns that its
entry is durable before its answer leaves the gateway; if the batch fails, every message in it
is refused (fail closed).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from baobab.directory import ClientId
from baobab.exchange.domain import (
    CHECKPOINT_JWS_TYPE,
    BodyUnreadable,
    Checkpoint,
    InvalidEvidence,
    LogEntry,
    LogVerification,
    MessageLogUnavailable,
    MessageRecord,
    NoStoredBody,
    SealedBody,
    UnknownMessage,
    body_context,
    checkpoint_claims,
    checkpoint_digest,
    detached_header,
    digest,
    strict_compact,
)
from baobab.exchange.evidence import TimeStampEvidence, build_bundle
from baobab.exchange.merkle import inclusion_proof, merkle_root
from baobab.exchange.ports import (
    BodyCipher,
    KeyDirectory,
    MessageLogStore,
    TimeStamper,
    UnitOfWorkFactory,
)
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.hashchain import Link, canonical_json, link_hash, verify_chain
from baobab.kernel.signing import (
    Signer,
    VerificationKey,
    b64url,
    b64url_decode,
    import_public_jwk,
)


@dataclass
class _Batcher:
    """Per event loop: the messages waiting for the next group commit."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: list[tuple[MessageRecord, asyncio.Future[LogEntry]]] = field(default_factory=list)


class MessageLog:
    """Appends, seals, verifies and exports the message log.

    ``checkpoint_every``: a checkpoint is sealed in the same transaction as the batch that brings
    this many unsealed entries. ``trusted_keys``: the instance keys whose checkpoint signatures
    ``verify`` accepts (the signer's own key is always one).
    """

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        signer: Signer,
        clock: Clock,
        checkpoint_every: int = 1000,
        max_batch: int = 512,
        trusted_keys: Sequence[VerificationKey] = (),
        cipher: BodyCipher | None = None,
        stamper: TimeStamper | None = None,
    ) -> None:
        if checkpoint_every < 1 or max_batch < 1:
            raise InvalidInput("checkpoint_every and max_batch must be positive")
        self._uow = uow
        self._signer = signer
        self._clock = clock
        self._every = checkpoint_every
        self._max_batch = max_batch
        self._trusted = {k.kid: k for k in (signer.verification_key, *trusted_keys)}
        self._cipher = cipher
        self.stamper = stamper
        self._sealed_up_to = -self._every  # unknown until the first write reads it
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = (
            weakref.WeakKeyDictionary()
        )

    # --- writing ------------------------------------------------------------------------------

    def append_batch(self, records: Sequence[MessageRecord]) -> list[LogEntry]:
        """Append ``records`` in one transaction; seal a checkpoint when one is due."""
        if not records:
            return []
        with self._uow() as uow:
            store = uow.log
            before, previous = store.advance_head(len(records))
            entries: list[LogEntry] = []
            for offset, record in enumerate(records, start=1):
                payload = {"sequence": before + offset, **record.payload()}
                encoded = canonical_json(payload)
                hashed = link_hash(previous, payload, encoded=encoded)
                entries.append(
                    LogEntry(before + offset, record.message_id, payload, previous, hashed, encoded)
                )
                previous = hashed
            store.insert_entries(entries)
            if self._cipher is not None:
                store.insert_bodies(self._seal_bodies(records, self._cipher))
            store.set_head_hash(entries[-1].sequence, previous)
            # the last sealed entry only grows, so a cached value that is too low costs one
            # read, never a wrong checkpoint (_seal starts from the stored last checkpoint)
            if entries[-1].sequence - self._sealed_up_to >= self._every:
                sealed = store.last_checkpoint()
                self._sealed_up_to = sealed.last if sealed else 0
                if entries[-1].sequence - self._sealed_up_to >= self._every:
                    self._seal(store, sealed)
        return entries

    @property
    def stores_bodies(self) -> bool:
        """True if bodies are kept (encrypted) beside the entries."""
        return self._cipher is not None

    @staticmethod
    def _seal_bodies(records: Sequence[MessageRecord], cipher: BodyCipher) -> list[SealedBody]:
        sealed: list[SealedBody] = []
        for record in records:
            for part, body, content in (
                ("request", record.request_body, record.request),
                ("response", record.response_body, record.response),
            ):
                if body is None or content is None:
                    continue
                context = body_context(record.message_id, part, str(content["body"]))
                key_id, nonce, ciphertext = cipher.seal(body, context=context)
                sealed.append(SealedBody(record.message_id, part, key_id, nonce, ciphertext))
        return sealed

    def bodies(self, message_id: str) -> dict[str, bytes]:
        """The stored bodies of a message by part (``request``, ``response``), decrypted and
        checked against the digests its log entry signs; empty if none were kept."""
        entry = self.entry(message_id)
        if self._cipher is None:
            raise NoStoredBody("this gateway keeps no message bodies (not configured)")
        with self._uow() as uow:
            sealed = uow.log.bodies_of(message_id)
        found: dict[str, bytes] = {}
        for body in sealed:
            content = entry.payload.get(body.part)
            if not isinstance(content, dict):
                raise BodyUnreadable(f"the entry of {message_id} signs no {body.part}")
            context = body_context(message_id, body.part, str(content.get("body")))
            plain = self._cipher.open(body.key_id, body.nonce, body.ciphertext, context=context)
            if digest(plain) != content.get("body"):  # pragma: no cover - GCM checked the context
                raise BodyUnreadable(f"the {body.part} body does not match its signed digest")
            found[body.part] = plain
        return found

    async def append(self, record: MessageRecord) -> LogEntry:
        """Append one record, group-committed with whatever else is waiting; raises
        :class:`MessageLogUnavailable` if its batch could not be written."""
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = _Batcher()
        future: asyncio.Future[LogEntry] = loop.create_future()
        batcher.pending.append((record, future))
        async with batcher.lock:
            if not future.done():
                batch = batcher.pending[: self._max_batch]
                del batcher.pending[: self._max_batch]
                try:
                    written = await asyncio.to_thread(self.append_batch, [r for r, _ in batch])
                except Exception as exc:  # any failure to write refuses the whole batch
                    failure = MessageLogUnavailable("the message log could not be written")
                    failure.__cause__ = exc
                    for _, waiting in batch:
                        waiting.set_exception(failure)
                else:
                    for (_, waiting), entry in zip(batch, written, strict=True):
                        waiting.set_result(entry)
        return await future

    def checkpoint(self) -> Checkpoint | None:
        """Seal every entry not yet under a checkpoint; ``None`` if there are none."""
        with self._uow() as uow:
            uow.log.advance_head(0)  # the head's lock: one sealer at a time, after appenders
            return self._seal(uow.log, uow.log.last_checkpoint())

    def checkpoint_if_due(self, *, max_age: timedelta, max_entries: int) -> Checkpoint | None:
        """Seal the unsealed entries if there are ``max_entries`` of them or the oldest was
        received ``max_age`` ago; ``None`` if nothing was due."""
        with self._uow() as uow:
            if not self._due(uow.log, max_age, max_entries):
                return None
            uow.log.advance_head(0)  # the head's lock, as in checkpoint(); then look again
            if not self._due(uow.log, max_age, max_entries):  # pragma: no cover - a race
                return None
            return self._seal(uow.log, uow.log.last_checkpoint())

    def _due(self, store: MessageLogStore, max_age: timedelta, max_entries: int) -> bool:
        sealed = store.last_checkpoint()
        first = (sealed.last if sealed else 0) + 1
        last, _ = store.head()
        if last < first:
            return False
        if last - first + 1 >= max_entries:
            return True
        oldest = store.entries(first, first)
        received = datetime.fromisoformat(str(oldest[0].payload["received_at"]))
        return self._clock.now() - received >= max_age

    def unstamped(self, limit: int = 10) -> Sequence[Checkpoint]:
        """Checkpoints still waiting for an RFC 3161 time-stamp, oldest first."""
        with self._uow() as uow:
            return uow.log.unstamped_checkpoints(limit)

    def add_stamp(self, checkpoint: Checkpoint, token: bytes) -> None:
        """Keep a time-stamp token of ``checkpoint`` (checked against it first)."""
        if self.stamper is None:
            raise InvalidInput("no time-stamping authority is configured")
        self.stamper.check(token, checkpoint_digest(checkpoint))
        with self._uow() as uow:
            uow.log.add_stamp(checkpoint.last, b64url(token), self._clock.now())

    def _seal(self, store: MessageLogStore, sealed: Checkpoint | None) -> Checkpoint | None:
        first = (sealed.last if sealed else 0) + 1
        last, last_hash = store.head()
        if last < first:
            return None
        hashes = store.entry_hashes(first, last)
        now = self._clock.now()
        claims = checkpoint_claims(
            first=first, last=last, root=merkle_root(hashes), last_hash=last_hash, at=now
        )
        jws = self._signer.encode(claims, typ=CHECKPOINT_JWS_TYPE)
        checkpoint = Checkpoint(first, last, claims["root"], last_hash, now, jws)
        store.add_checkpoint(checkpoint)
        return checkpoint

    # --- reading and verifying ----------------------------------------------------------------

    def entry(self, message_id: str) -> LogEntry:
        with self._uow() as uow:
            entry = uow.log.find_entry(message_id)
        if entry is None:
            raise UnknownMessage(f"no message {message_id} in the log")
        return entry

    def verify(self, *, page: int = 2000) -> LogVerification:
        """Re-compute every link and every checkpoint; list each problem found."""
        problems: list[str] = []
        count = 0
        with self._uow() as uow:
            store = uow.log
            head_sequence, head_hash = store.head()
            links: list[Link] = []
            last_hash = None
            first = 1
            while True:
                chunk = store.entries(first, first + page - 1)
                links.extend(Link(e.sequence, e.previous_hash, e.payload, e.hash) for e in chunk)
                if len(chunk) < page:
                    break
                first += page
            breaks = verify_chain(links)
            if breaks is not None:
                problems.append(f"entry {breaks.sequence}: {breaks.reason}")
            count = len(links)
            last_hash = links[-1].hash if links else None
            if count != head_sequence or (links and last_hash != head_hash):
                problems.append(
                    f"the log head says {head_sequence} entries but {count} are stored "
                    "or the last hash differs: entries were removed from the end"
                )
            by_sequence = {link.sequence: link.hash for link in links}
            checkpoints = store.checkpoints()
            stamps = store.stamps()
            expected_first = 1
            for checkpoint in checkpoints:
                problems.extend(self._check_checkpoint(checkpoint, by_sequence, expected_first))
                problems.extend(self._check_stamp(checkpoint, stamps.get(checkpoint.last)))
                expected_first = checkpoint.last + 1
        return LogVerification(count, len(checkpoints), problems)

    def _check_checkpoint(
        self, checkpoint: Checkpoint, hashes: dict[int, str], expected_first: int
    ) -> list[str]:
        name = f"checkpoint {checkpoint.first}..{checkpoint.last}"
        problems = []
        if checkpoint.first != expected_first:
            problems.append(f"{name}: does not start where the one before ended")
        try:
            header, claims, signing_input, signature = strict_compact(checkpoint.jws)
        except InvalidInput:
            return [*problems, f"{name}: its signature is not a JWS"]
        key = self._trusted.get(str(header.get("kid")))
        if (
            key is None
            or header.get("typ") != CHECKPOINT_JWS_TYPE
            or header.get("alg") not in key.algorithms
            or not key.verify(signing_input, signature)
        ):
            problems.append(f"{name}: the signature does not verify with a trusted instance key")
        if claims != checkpoint.claims():
            problems.append(f"{name}: the stored fields differ from the signed ones")
        covered = [hashes.get(s) for s in range(checkpoint.first, checkpoint.last + 1)]
        if any(h is None for h in covered):
            problems.append(f"{name}: entries it covers are missing")
        elif merkle_root([h for h in covered if h is not None]) != claims.get("root"):
            problems.append(f"{name}: the entries no longer give the signed Merkle root")
        elif hashes.get(checkpoint.last) != claims.get("last_hash"):
            problems.append(f"{name}: the last entry's hash differs from the signed one")
        return problems

    def _check_stamp(self, checkpoint: Checkpoint, token: str | None) -> list[str]:
        if token is None:
            return []
        name = f"checkpoint {checkpoint.first}..{checkpoint.last}"
        if self.stamper is None:
            return [f"{name}: has a time-stamp but no time-stamping authority is configured"]
        try:
            self.stamper.check(b64url_decode(token), checkpoint_digest(checkpoint))
        except InvalidInput as exc:
            return [f"{name}: its time-stamp does not verify ({exc.detail})"]
        return []

    # --- evidence -----------------------------------------------------------------------------

    def evidence(self, message_id: str, *, keys: KeyDirectory) -> bytes:
        """A self-contained, signed evidence bundle for one message (see ``docs/exchange.md``);
        seals a checkpoint first if the message is not yet under one."""
        entry = self.entry(message_id)
        with self._uow() as uow:
            checkpoint = uow.log.checkpoint_covering(entry.sequence)
        if checkpoint is None:
            self.checkpoint()
        with self._uow() as uow:
            checkpoint = uow.log.checkpoint_covering(entry.sequence)
            if checkpoint is None:  # pragma: no cover - sealing always covers the head
                raise UnknownMessage(f"message {message_id} is under no checkpoint")
            hashes = uow.log.entry_hashes(checkpoint.first, checkpoint.last)
            token = uow.log.stamp_of(checkpoint.last)
        index = entry.sequence - checkpoint.first
        provider_keys = _provider_keys(entry.payload, keys)
        return build_bundle(
            signer=self._signer,
            entry=entry,
            checkpoint=checkpoint,
            proof=inclusion_proof(index, hashes),
            provider_keys=provider_keys,
            exported_at=self._clock.now(),
            time_stamp=self._time_stamp(checkpoint, token),
        )

    def _time_stamp(self, checkpoint: Checkpoint, token: str | None) -> TimeStampEvidence | None:
        """The checkpoint's kept token with the authority's certificate, checked first: a bundle
        is never exported with a token that would not verify (fail closed)."""
        if token is None:
            return None
        name = f"checkpoint {checkpoint.first}..{checkpoint.last}"
        if self.stamper is None:
            raise InvalidEvidence(
                f"{name} has a time-stamp but no time-stamping authority is configured"
            )
        raw = b64url_decode(token)
        try:
            self.stamper.check(raw, checkpoint_digest(checkpoint))
        except InvalidInput as exc:
            raise InvalidEvidence(f"the time-stamp of {name} does not verify") from exc
        return TimeStampEvidence(token=raw, certificate=self.stamper.certificate())


def _provider_keys(payload: Any, keys: KeyDirectory) -> list[dict[str, Any]]:
    """The provider's public key that signed the response, if it signed one."""
    signature = payload.get("provider_signature")
    if not signature:
        return []
    kid = detached_header(signature).get("kid")
    provider = ClientId.parse(str(payload["service"]).rsplit("/", 1)[0])
    found = [k.published() for k in keys.keys_of(provider) if k.kid == kid]
    for jwk in found:
        import_public_jwk(jwk)
    return found
