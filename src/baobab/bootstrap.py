"""The one composition root: Settings -> adapters -> services. Shared by the web app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from baobab.consent import CONSENT_SCOPES, ConsentService
from baobab.consent.adapters.sql import SqlConsentReader, SqlConsentUnitOfWork
from baobab.directory import (
    DIRECTORY_SCOPES,
    AccessTokenVerifier,
    DirectoryService,
    TokenPolicy,
    TokenService,
)
from baobab.directory.adapters.sql import SqlDirectoryUnitOfWork
from baobab.exchange import (
    EXCHANGE_SCOPES,
    Discovery,
    Gateway,
    MessageLog,
    OperationalMonitor,
    ServiceCatalog,
    ServiceRegistry,
)
from baobab.exchange.adapters import wiring as exchange_wiring
from baobab.exchange.adapters.consent import InProcessConsent as ConsentForExchange
from baobab.exchange.adapters.http1_client import Http1ProviderClient
from baobab.exchange.adapters.sql import SqlExchangeUnitOfWork
from baobab.exchange.pubsub import PubSub
from baobab.exchange.rights import AccessPolicy
from baobab.exchange.workers import Workers
from baobab.identity import IDENTITY_SCOPES
from baobab.identity.adapters.abis import HttpAbis
from baobab.identity.adapters.consent import InProcessConsent as ConsentForIdentity
from baobab.identity.adapters.messaging import ChannelRouter, SmsGateway, SmtpMailer
from baobab.identity.adapters.wiring import IdentityBlock, assemble
from baobab.infra import migrate
from baobab.infra.database import Database
from baobab.infra.keys import load_instance_signer
from baobab.infra.settings import BLOCKS, Settings
from baobab.kernel.clock import Clock, SystemClock
from baobab.kernel.errors import Unavailable
from baobab.kernel.signing import Signer
from baobab.ledger import LEDGER_SCOPES, LedgerService, TransferBatcher
from baobab.ledger.adapters.sql import SqlLedgerStore
from baobab.registries import REGISTRIES_SCOPES, RegistryService
from baobab.registries.adapters.sql import SqlRegistriesUnitOfWork
from baobab.switch import SWITCH_SCOPES, Switch, assemble_switch
from baobab.switch.adapters.bulk_sql import SqlBulkStore
from baobab.switch.adapters.directory import DirectoryForSwitch
from baobab.switch.adapters.http import HttpCallbackSender
from baobab.switch.adapters.oracle import SqlOracle
from baobab.switch.adapters.settlement_sql import SqlSettlementStore
from baobab.switch.adapters.sql import SqlSwitchStore


class SchemaNotCurrent(Unavailable):
    code = "infra.schema_not_current"
    title = "Database schema not current"


@dataclass(frozen=True, slots=True)
class Exchange:
    """The information mediator's services."""

    registry: ServiceRegistry
    log: MessageLog
    gateway: Gateway
    discovery: Discovery
    monitor: OperationalMonitor
    pubsub: PubSub
    policy: AccessPolicy
    workers: Workers


@dataclass(frozen=True, slots=True)
class Platform:
    """Every service of one Baobab process, wired to its adapters."""

    settings: Settings
    db: Database
    clock: Clock
    signer: Signer
    token_policy: TokenPolicy
    directory: DirectoryService
    tokens: TokenService
    verifier: AccessTokenVerifier
    consent: ConsentService
    consent_reader: SqlConsentReader
    exchange: Exchange
    registries: RegistryService
    identity: IdentityBlock
    ledger: LedgerService
    ledger_batcher: TransferBatcher
    switch: Switch

    def check_ready(self) -> None:
        """Raise unless the database answers and its schema is current."""
        self.db.ping()
        if migrate.pending(self.db, BLOCKS):
            raise SchemaNotCurrent("run `baobab db upgrade`")

    def close(self) -> None:
        self.switch.worker.stop()
        self.ledger_batcher.close()
        self.identity.close()
        self.consent_reader.close()
        self.db.dispose()


def bootstrap(
    settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None
) -> Platform:
    """Build the platform. ``upgrade`` migrates the schema; by default only the embedded SQLite
    database is migrated on start (production runs ``baobab db upgrade`` as a deliberate step)."""
    clock = clock or SystemClock()
    db = Database(settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if upgrade if upgrade is not None else db.dialect == "sqlite":
        migrate.upgrade(db, BLOCKS)
    signer = load_instance_signer(settings)
    policy = TokenPolicy(
        issuer=settings.issuer,
        token_endpoint=settings.token_endpoint,
        audience=settings.public_url.rstrip("/"),
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        max_assertion_lifetime=timedelta(seconds=settings.client_assertion_max_lifetime_seconds),
        clock_skew=timedelta(seconds=settings.clock_skew_seconds),
    )

    def directory_uow() -> SqlDirectoryUnitOfWork:
        return SqlDirectoryUnitOfWork(db)

    def consent_uow() -> SqlConsentUnitOfWork:
        return SqlConsentUnitOfWork(db)

    def exchange_uow() -> SqlExchangeUnitOfWork:
        return SqlExchangeUnitOfWork(db)

    def registries_uow() -> SqlRegistriesUnitOfWork:
        return SqlRegistriesUnitOfWork(db)

    scopes = {
        *DIRECTORY_SCOPES,
        *CONSENT_SCOPES,
        *EXCHANGE_SCOPES,
        *REGISTRIES_SCOPES,
        *IDENTITY_SCOPES,
        *LEDGER_SCOPES,
        *SWITCH_SCOPES,
    }
    directory = DirectoryService(uow=directory_uow, clock=clock, scopes=scopes)
    consent_reader = SqlConsentReader(db)
    consent = ConsentService(uow=consent_uow, reader=consent_reader, clock=clock, signer=signer)
    registry = ServiceRegistry(uow=exchange_uow, clock=clock)
    log = MessageLog(
        uow=exchange_uow,
        signer=signer,
        clock=clock,
        checkpoint_every=settings.exchange_checkpoint_every,
        cipher=exchange_wiring.body_cipher(settings),
        stamper=exchange_wiring.time_stamper(settings),
    )
    access_policy = AccessPolicy(uow=exchange_uow, directory=directory, clock=clock)
    monitor = OperationalMonitor()
    gateway = Gateway(
        catalog=ServiceCatalog(registry),
        access=directory,
        keys=directory,
        provider=Http1ProviderClient(),
        log=log,
        consent=ConsentForExchange(consent),
        signer=signer,
        clock=clock,
        observers=[monitor],
        policy=access_policy,
        keep_bodies=settings.exchange_store_bodies,
    )
    pubsub = PubSub(uow=exchange_uow, access=directory, clock=clock)
    ledger = LedgerService(SqlLedgerStore(db), clock)
    ledger_batcher = TransferBatcher(ledger)
    switch_directory = DirectoryForSwitch(directory, clock)
    switch_store = SqlSwitchStore(db)
    exchange = Exchange(
        registry=registry,
        log=log,
        gateway=gateway,
        discovery=Discovery(registry=registry, directory=directory, policy=access_policy),
        monitor=monitor,
        pubsub=pubsub,
        policy=access_policy,
        workers=exchange_wiring.workers(
            settings, log=log, pubsub=pubsub, uow=exchange_uow, signer=signer, clock=clock
        ),
    )
    return Platform(
        settings=settings,
        db=db,
        clock=clock,
        signer=signer,
        token_policy=policy,
        directory=directory,
        tokens=TokenService(uow=directory_uow, clock=clock, signer=signer, policy=policy),
        verifier=AccessTokenVerifier(keys=[signer.verification_key], policy=policy, clock=clock),
        consent=consent,
        consent_reader=consent_reader,
        exchange=exchange,
        registries=RegistryService(uow=registries_uow, clock=clock),
        ledger=ledger,
        ledger_batcher=ledger_batcher,
        switch=assemble_switch(
            store=switch_store,
            ledger=ledger,
            batcher=ledger_batcher,
            clock=clock,
            signer=signer,
            sender=HttpCallbackSender(),
            member_roles=switch_directory.member_roles,
            keys_of=switch_directory.keys_of,
            require_signature=settings.switch_signatures_required,
            oracle=SqlOracle(db, clock),
            settlement_store=SqlSettlementStore(db),
            bulk_store=SqlBulkStore(switch_store),
            settlement_grace=timedelta(seconds=settings.switch_settlement_grace_seconds),
        ),
        identity=assemble(
            db=db,
            clock=clock,
            signer=signer,
            keys=directory,
            consent=ConsentForIdentity(consent),
            profile=settings.identity_profile,
            keystore_file=settings.identity_keystore_file,
            data_dir=settings.data_dir,
            production=settings.environment == "production",
            issuer=settings.public_url.rstrip("/") + "/identity",
            messenger=_messenger(settings),
            abis=(
                HttpAbis(
                    settings.identity_abis_url,
                    api_key=(
                        settings.identity_abis_api_key.get_secret_value()
                        if settings.identity_abis_api_key
                        else None
                    ),
                )
                if settings.identity_abis_url
                else None
            ),
            retention=timedelta(days=settings.identity_packet_retention_days),
        ),
    )


def _messenger(settings: Settings) -> ChannelRouter | None:
    """The configured SMS and e-mail channels for one-time passwords; None in development (the
    identity block then keeps messages in its readable outbox)."""
    channels: dict[str, SmsGateway | SmtpMailer] = {}
    if settings.identity_sms_gateway_url and settings.identity_sms_api_key:
        channels["sms"] = SmsGateway(
            settings.identity_sms_gateway_url,
            api_key=settings.identity_sms_api_key.get_secret_value(),
        )
    if settings.identity_smtp_host and settings.identity_smtp_sender:
        channels["email"] = SmtpMailer(
            host=settings.identity_smtp_host,
            port=settings.identity_smtp_port,
            sender=settings.identity_smtp_sender,
            user=settings.identity_smtp_user or "",
            password=(
                settings.identity_smtp_password.get_secret_value()
                if settings.identity_smtp_password
                else ""
            ),
        )
    return ChannelRouter(dict(channels)) if channels else None
