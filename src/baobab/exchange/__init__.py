"""The exchange: an X-Road-style information mediator.

Providers register services; consumers call them through the gateway
(``/exchange/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}``) with a directory
token and ``X-Road-Client``; the gateway checks the directory's access right (deny by default)
and, for personal data, the Consent block; signs request and response on the members' behalf,
binds the response to the request, and records every message in a hash-chained message log
sealed by Merkle checkpoints the instance key signs (time-stamped by an RFC 3161 authority where
one is configured). Access rights may also name one endpoint of a service, and groups of
subsystems. Any message it cannot log is refused.
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
from baobab.exchange.rights import AccessGroup, AccessPolicy, EndpointRight
from baobab.exchange.services import EXCHANGE_SCOPES, Discovery, ServiceCatalog, ServiceRegistry
from baobab.exchange.workers import CheckpointSealer, Workers

__all__ = [
    "EXCHANGE_SCOPES",
    "AccessGroup",
    "AccessPolicy",
    "BadResponseSignature",
    "BodyTooLarge",
    "Checkpoint",
    "CheckpointSealer",
    "ClientMismatch",
    "ConsentAnswer",
    "ConsentCheck",
    "ConsentQuery",
    "ConsentRefused",
    "ConsentRequired",
    "ConsumerCall",
    "Discovery",
    "DuplicateService",
    "EndpointRight",
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
    "Workers",
    "verify_bundle",
]
