"""The one typed configuration object, read from ``BAOBAB_*`` environment variables.

Built once at an entry point (the CLI, the ASGI factory, a test) and passed down; nothing reads
the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from baobab.kernel.errors import InvalidInput

BLOCKS: tuple[str, ...] = (
    "directory",
    "consent",
    "exchange",
    "registries",
    "identity",
    "ledger",
    "switch",
)


class UnsafeConfiguration(InvalidInput):
    code = "infra.unsafe_configuration"
    title = "Unsafe configuration"


class Settings(BaseSettings):
    """Every knob Baobab has. Defaults give the embedded development stack under ``./var/``."""

    model_config = SettingsConfigDict(env_prefix="BAOBAB_", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file <data_dir>/baobab.db"
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    instance: str = Field(default="DEV", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    public_url: str = "http://127.0.0.1:8000"
    signing_key_file: Path | None = Field(
        default=None,
        description="Private JWK of this instance; generated on first start in development",
    )
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    client_assertion_max_lifetime_seconds: int = Field(default=300, ge=30, le=3600)
    clock_skew_seconds: int = Field(default=30, ge=0, le=300)
    identity_profile: str = Field(
        default="example-a",
        pattern=r"^[a-z0-9][a-z0-9-]{0,63}(@[1-9][0-9]*)?$",
        description="The country's ID schema profile, optionally pinned to a version (name@2)",
    )
    identity_keystore_file: Path | None = Field(
        default=None,
        description="AES-256 keys and token secret of the identity block; generated in development",
    )
    identity_sms_gateway_url: str | None = None
    identity_sms_api_key: SecretStr | None = None
    identity_smtp_host: str | None = None
    identity_smtp_port: int = Field(default=587, ge=1, le=65535)
    identity_smtp_sender: str | None = None
    identity_smtp_user: str | None = None
    identity_smtp_password: SecretStr | None = None
    identity_abis_url: str | None = Field(
        default=None, description="The ABIS (biometric matcher) base URL; none: demographic only"
    )
    identity_abis_api_key: SecretStr | None = None
    identity_packet_retention_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="Days a duplicate or rejected packet keeps its personal data (appeal period)",
    )
    switch_require_signatures: bool | None = Field(
        default=None,
        description="FSPIOP-Signature required on every FSPIOP request; default: in production",
    )
    switch_settlement_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="Seconds after closing a settlement window before its settlement may start",
    )
    exchange_store_bodies: bool = Field(
        default=False, description="Keep message bodies in the exchange log, AES-GCM encrypted"
    )
    exchange_body_keystore_file: Path | None = Field(
        default=None, description="AES-256 keys of stored message bodies; generated in development"
    )
    exchange_tsa_url: str | None = Field(
        default=None, description="RFC 3161 time-stamping authority for message log checkpoints"
    )
    exchange_tsa_certificate_file: Path | None = Field(
        default=None, description="PEM certificate of that authority (pinned)"
    )
    exchange_checkpoint_seconds: float = Field(
        default=60.0, ge=0, description="Seal the log once its oldest unsealed entry is this old"
    )
    exchange_checkpoint_every: int = Field(default=1000, ge=1, le=1_000_000)
    exchange_push_interval_seconds: float = Field(
        default=1.0, ge=0, description="Pub/sub push delivery pass in `baobab serve` (0: off)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.environment != "production":
            return self
        if self.signing_key_file is None:
            raise UnsafeConfiguration("production needs BAOBAB_SIGNING_KEY_FILE (a key you manage)")
        if self.database_url is None or self.database_url.startswith("sqlite"):
            raise UnsafeConfiguration("production needs BAOBAB_DATABASE_URL pointing at PostgreSQL")
        if not self.public_url.startswith("https://"):
            raise UnsafeConfiguration("production needs an https:// BAOBAB_PUBLIC_URL")
        if self.identity_keystore_file is None:
            raise UnsafeConfiguration("production needs BAOBAB_IDENTITY_KEYSTORE_FILE")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        return self.database_url or f"sqlite:///{self.data_dir / 'baobab.db'}"

    @property
    def switch_signatures_required(self) -> bool:
        """Whether the switch refuses FSPIOP requests without a valid FSPIOP-Signature."""
        if self.switch_require_signatures is None:
            return self.environment == "production"
        return self.switch_require_signatures

    @property
    def issuer(self) -> str:
        """The OAuth 2.0 issuer identifier of this instance (RFC 8414)."""
        return self.public_url.rstrip("/") + "/directory"

    @property
    def token_endpoint(self) -> str:
        """The URL client assertions name as their audience (RFC 7523, section 3)."""
        return self.issuer + "/oauth2/token"
