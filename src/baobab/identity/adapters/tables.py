"""The identity block's tables (SQLAlchemy Core, SQLite and PostgreSQL).

Personal attributes (an identity's, each past version's, each packet's demographics) are stored
only sealed with AES-256-GCM (:mod:`baobab.identity.adapters.crypto`), bound to their row.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Integer, LargeBinary, MetaData, String, Table, Text

from baobab.infra.database import UtcDateTime

metadata = MetaData()

packets = Table(
    "identity_packets",
    metadata,
    Column("packet_id", String(100), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("enrolled_by", String(265), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("transitions", Text, nullable=False),
    Column("uin", String(32)),
    Column("duplicate_of", String(32)),
    Column("case_id", String(36)),
    Column("reason", String(500)),
    Column("demographics", LargeBinary, nullable=False),  # empty once purged
    Column("received_at", UtcDateTime, nullable=False),
    Column("purged_at", UtcDateTime),
    # references to templates the ABIS holds, never templates; emptied with the demographics
    Column("biometrics", Text, nullable=False, server_default="[]"),
)

identities = Table(
    "identity_identities",
    metadata,
    Column("uin", String(32), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile", String(100), nullable=False),
    Column("packet_id", String(100), nullable=False),
    Column("attributes", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("locked_factors", String(100), nullable=False, server_default=""),
)

history = Table(
    "identity_history",
    metadata,
    Column("uin", String(32), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("packet_id", String(100), nullable=False),
    Column("attributes", LargeBinary, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

cases = Table(
    "identity_review_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("packet_id", String(100), nullable=False, unique=True),
    Column("candidates", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("is_open", Boolean, nullable=False, index=True),
    Column("decision", String(20)),
    Column("duplicate_of", String(32)),
    Column("reason", String(500)),
    Column("decided_by", String(300)),
    Column("decided_at", UtcDateTime),
)

vids = Table(
    "identity_vids",
    metadata,
    Column("vid", String(32), primary_key=True),
    Column("uin", String(32), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("used_at", UtcDateTime),
)

challenges = Table(
    "identity_otp_challenges",
    metadata,
    Column("otp_id", String(36), primary_key=True),
    Column("uin", String(32), nullable=False, index=True),
    Column("partner", String(265), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("used_at", UtcDateTime),
)

policies = Table(
    "identity_partner_policies",
    metadata,
    Column("partner", String(200), primary_key=True),
    Column("attributes", Text, nullable=False),
)

outbox = Table(
    "identity_dev_outbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("channel", String(10), nullable=False),
    Column("address", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)
