"""The exchange: an X-Road-style information mediator.

Providers register services; consumers call them through the gateway
(``/exchange/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}``) with a directory
token and ``X-Road-Client``; the gateway checks the directory's access right (deny by default)
and, for personal data, the Consent block; signs request and response on the members' behalf,
binds the response to the request, and records every message in a hash-chained message log
sealed by Merkle checkpoints the instance key signs. Any message it cannot log is refused.
"""

from baobab.exchange.domain import (
    BadResponseSignature,
    BodyTooLarge,
    Checkpoint,
    ClientMismatch,
    ConsentRefused,
    ConsentRequired,
    DuplicateService,
    InvalidEvidence,
    LogEntry,
    LogVerification,
    MessageLogUnavailable,
    MessageRecord,
    MissingClientHeader,
    ProviderTimeout,
    ProviderUnreachable,
    RequestHashMismatch,
    ResponseTooLarge,
    Service,
    ServiceDisabled,
    UnknownMessage,
    UnknownService,
)
from baobab.exchange.evidence import EvidenceReport, verify_bundle
from baobab.exchange.gateway import ConsumerCall, Gateway, GatewayAnswer, GatewayLimits
from baobab.exchange.messagelog import MessageLog
from baobab.exchange.monitoring import OperationalMonitor
from baobab.exchange.ports import ConsentAnswer, ConsentCheck, ConsentQuery
from baobab.exchange.services import EXCHANGE_SCOPES, Discovery, ServiceCatalog, ServiceRegistry

__all__ = [
    "EXCHANGE_SCOPES",
    "BadResponseSignature",
    "BodyTooLarge",
    "Checkpoint",
    "ClientMismatch",
    "ConsentAnswer",
    "ConsentCheck",
    "ConsentQuery",
    "ConsentRefused",
    "ConsentRequired",
    "ConsumerCall",
    "Discovery",
    "DuplicateService",
    "EvidenceReport",
    "Gateway",
    "GatewayAnswer",
    "GatewayLimits",
    "InvalidEvidence",
    "LogEntry",
    "LogVerification",
    "MessageLog",
    "MessageLogUnavailable",
    "MessageRecord",
    "MissingClientHeader",
    "OperationalMonitor",
    "ProviderTimeout",
    "ProviderUnreachable",
    "RequestHashMismatch",
    "ResponseTooLarge",
    "Service",
    "ServiceCatalog",
    "ServiceDisabled",
    "ServiceRegistry",
    "UnknownMessage",
    "UnknownService",
    "verify_bundle",
]
