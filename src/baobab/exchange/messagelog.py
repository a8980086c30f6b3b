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
from typing import Any

from baobab.directory import ClientId
from baobab.exchange.domain import (
    CHECKPOINT_JWS_TYPE,
    Checkpoint,
    LogEntry,
    LogVerification,
    MessageLogUnavailable,
    MessageRecord,
    UnknownMessage,
    checkpoint_claims,
    detached_header,
    strict_compact,
)
from baobab.exchange.evidence import build_bundle
from baobab.exchange.merkle import inclusion_proof, merkle_root
from baobab.exchange.ports import KeyDirectory, MessageLogStore, UnitOfWorkFactory
from baobab.kernel.clock import Clock
from baobab.kernel.errors import InvalidInput
from baobab.kernel.hashchain import Link, link_hash, verify_chain
from baobab.kernel.signing import Signer, VerificationKey, import_public_jwk


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
    ) -> None:
        if checkpoint_every < 1 or max_batch < 1:
            raise InvalidInput("checkpoint_every and max_batch must be positive")
        self._uow = uow
        self._signer = signer
        self._clock = clock
        self._every = checkpoint_every
        self._max_batch = max_batch
        self._trusted = {k.kid: k for k in (signer.verification_key, *trusted_keys)}
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
                digest = link_hash(previous, payload)
                entries.append(
                    LogEntry(before + offset, record.message_id, payload, previous, digest)
                )
                previous = digest
            store.insert_entries(entries)
            store.set_head_hash(entries[-1].sequence, previous)
            sealed = store.last_checkpoint()
            if entries[-1].sequence - (sealed.last if sealed else 0) >= self._every:
                self._seal(store, sealed)
        return entries

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
            return self._seal(uow.log, uow.log.last_checkpoint())

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
            expected_first = 1
            for checkpoint in checkpoints:
                problems.extend(self._check_checkpoint(checkpoint, by_sequence, expected_first))
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
        index = entry.sequence - checkpoint.first
        provider_keys = _provider_keys(entry.payload, keys)
        return build_bundle(
            signer=self._signer,
            entry=entry,
            checkpoint=checkpoint,
            proof=inclusion_proof(index, hashes),
            provider_keys=provider_keys,
            exported_at=self._clock.now(),
        )


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
