"""The exchange's configurable adapters, built from settings by the composition root: the body
cipher (when bodies are kept), the time-stamping authority (when one is configured) and the
background workers of ``baobab serve``. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from baobab.exchange.adapters.body_cipher import AesGcmBodyCipher, load_body_cipher
from baobab.exchange.adapters.http import HttpxWebhookSender
from baobab.exchange.adapters.tsa import Rfc3161TimeStamper
from baobab.exchange.delivery import PushDelivery
from baobab.exchange.messagelog import MessageLog
from baobab.exchange.pubsub import PubSub, PubSubUnitOfWork
from baobab.exchange.workers import CheckpointSealer, Workers, exchange_jobs
from baobab.infra.settings import Settings, UnsafeConfiguration
from baobab.kernel.clock import Clock
from baobab.kernel.signing import Signer

EVENT_JWS_TYPE = "xroad-event+jws"


def body_cipher(settings: Settings) -> AesGcmBodyCipher | None:
    """The cipher of stored bodies, or None when bodies are not kept."""
    if not settings.exchange_store_bodies:
        return None
    production = settings.environment == "production"
    path = settings.exchange_body_keystore_file
    if path is None:
        if production:
            raise UnsafeConfiguration(
                "keeping message bodies in production needs BAOBAB_EXCHANGE_BODY_KEYSTORE_FILE"
            )
        path = settings.data_dir / "keys" / "exchange-bodies.development.json"
    return load_body_cipher(path, production=production)


def time_stamper(settings: Settings) -> Rfc3161TimeStamper | None:
    """The RFC 3161 authority of checkpoints, or None when no URL is configured."""
    if not settings.exchange_tsa_url:
        return None
    if settings.exchange_tsa_certificate_file is None:
        raise UnsafeConfiguration(
            "BAOBAB_EXCHANGE_TSA_URL needs BAOBAB_EXCHANGE_TSA_CERTIFICATE_FILE (its PEM)"
        )
    pem = settings.exchange_tsa_certificate_file.read_bytes()
    return Rfc3161TimeStamper.from_pem(settings.exchange_tsa_url, pem)


def workers(
    settings: Settings,
    *,
    log: MessageLog,
    pubsub: PubSub,
    uow: Callable[[], PubSubUnitOfWork],
    signer: Signer,
    clock: Clock,
) -> Workers:
    """Timed checkpoints (polled every second) and pub/sub push delivery."""
    sender = HttpxWebhookSender()
    seconds = settings.exchange_checkpoint_seconds
    return Workers(
        exchange_jobs(
            sealer=CheckpointSealer(
                log,
                max_age=timedelta(seconds=seconds),
                max_entries=settings.exchange_checkpoint_every,
            ),
            checkpoint_interval=min(1.0, seconds),
            delivery=PushDelivery(
                uow=uow,
                sender=sender,
                clock=clock,
                sign=lambda claims: signer.encode(dict(claims), typ=EVENT_JWS_TYPE),
            ),
            pubsub=pubsub,
            push_interval=settings.exchange_push_interval_seconds,
        ),
        closers=[sender.aclose],
    )
