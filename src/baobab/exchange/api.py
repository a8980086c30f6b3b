"""HTTP routes of the exchange, mounted under ``/exchange``: the gateway (X-Road REST message
protocol), the service registry, the message log and its evidence.

The gateway route answers refusals as problem+json with ``X-Road-Error`` (the stable code) and
``X-Road-Request-Id``; every other route needs a bearer token with an ``exchange:*`` scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from baobab.directory import ClientId, MemberId
from baobab.exchange.domain import (
    NoStoredBody,
    Service,
)
from baobab.exchange.gateway import Gateway
from baobab.exchange.gateway_api import add_gateway_route
from baobab.exchange.messagelog import MessageLog
from baobab.exchange.monitoring import OperationalMonitor, ServiceStats
from baobab.exchange.ports import KeyDirectory
from baobab.exchange.pubsub import PubSub
from baobab.exchange.pubsub_api import add_pubsub_routes
from baobab.exchange.rights import AccessPolicy
from baobab.exchange.rights_api import add_rights_routes
from baobab.exchange.services import Discovery, ServiceRegistry
from baobab.exchange.workers import Workers
from baobab.infra.http.auth import Credentials, MissingScope, principal_of, require_scope
from baobab.kernel.principal import Principal

Reader = Annotated[Principal, Depends(require_scope("exchange:read"))]
Admin = Annotated[Principal, Depends(require_scope("exchange:admin"))]


async def caller_or_party(request: Request, credentials: Credentials) -> Principal:
    """A caller with ``exchange:read``, or with ``exchange:call`` (then only its own messages)."""
    principal = principal_of(request, credentials)
    if not (principal.has_scope("exchange:read") or principal.has_scope("exchange:call")):
        raise MissingScope("this operation needs the scope 'exchange:read' or 'exchange:call'")
    return principal


Party = Annotated[Principal, Depends(caller_or_party)]


@dataclass(frozen=True, slots=True)
class _PathService:
    """The service named in a path, not yet validated (the gateway refuses bad names itself)."""

    instance: str
    member_class: str
    member_code: str
    subsystem_code: str

    @property
    def provider(self) -> ClientId:
        return ClientId(
            MemberId(self.instance, self.member_class, self.member_code), self.subsystem_code
        )


async def _path_service(
    instance: str, member_class: str, member_code: str, subsystem_code: str
) -> _PathService:
    return _PathService(instance, member_class, member_code, subsystem_code)


PathService = Annotated[_PathService, Depends(_path_service)]


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(examples=["DEV/GOV/CRVS/registry"])
    service_code: str = Field(examples=["births"])
    version: str = Field(default="1", examples=["1"])
    base_url: str = Field(examples=["https://crvs.example/api"])
    description: str = ""
    openapi: dict[str, Any] | None = Field(default=None, description="The OpenAPI document")
    personal_data: bool = False
    agreement_id: str | None = Field(default=None, description="Consent data agreement")
    purposes: list[str] = Field(default_factory=list)


class ServiceOut(BaseModel):
    provider: str
    service_code: str
    service: str
    version: str
    base_url: str
    description: str
    personal_data: bool
    agreement_id: str | None
    purposes: list[str]
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, s: Service) -> ServiceOut:
        return cls(
            provider=str(s.provider),
            service_code=s.code,
            service=s.name,
            version=s.version,
            base_url=s.base_url,
            description=s.description,
            personal_data=s.personal_data,
            agreement_id=s.agreement_id,
            purposes=list(s.purposes),
            enabled=s.enabled,
            created_at=s.created_at,
        )


class ClientOut(BaseModel):
    client_id: str
    member_name: str
    enabled: bool


class StatsOut(BaseModel):
    client: str
    service: str
    messages: int
    outcomes: dict[str, int]
    errors: dict[str, int]
    mean_ms: float
    p50_ms_at_most: float | None
    p99_ms_at_most: float | None

    @classmethod
    def of(cls, s: ServiceStats) -> StatsOut:
        def ms(seconds: float | None) -> float | None:
            return None if seconds is None or seconds == float("inf") else seconds * 1000

        return cls(
            client=s.client,
            service=s.service,
            messages=s.count,
            outcomes=dict(s.outcomes),
            errors=dict(s.errors),
            mean_ms=round(s.duration_sum / s.count * 1000, 3) if s.count else 0.0,
            p50_ms_at_most=ms(s.quantile(0.5)),
            p99_ms_at_most=ms(s.quantile(0.99)),
        )


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class EntryOut(BaseModel):
    sequence: int
    message_id: str
    previous_hash: str
    hash: str
    payload: dict[str, Any]


class VerificationOut(BaseModel):
    intact: bool
    entries: int
    checkpoints: int
    problems: list[str]


class CheckpointOut(BaseModel):
    first: int
    last: int
    root: str
    last_hash: str
    at: datetime
    jws: str


def build_router(
    *,
    registry: ServiceRegistry,
    gateway: Gateway,
    log: MessageLog,
    keys: KeyDirectory,
    discovery: Discovery,
    monitor: OperationalMonitor,
    pubsub: PubSub,
    policy: AccessPolicy | None = None,
    workers: Workers | None = None,
) -> APIRouter:
    """The exchange's routes over its services; ``workers`` run while the app serves."""
    router = APIRouter(
        prefix="/exchange",
        tags=["exchange"],
        lifespan=workers.lifespan if workers is not None else None,
    )
    add_gateway_route(router, gateway)
    _registry_routes(router, registry)
    _discovery_routes(router, discovery, monitor)
    _log_routes(router, log, keys)
    add_pubsub_routes(router, pubsub)
    if policy is not None:
        add_rights_routes(router, policy)
    return router


def _registry_routes(router: APIRouter, registry: ServiceRegistry) -> None:
    @router.post("/services", response_model=ServiceOut, status_code=201)
    def register_service(principal: Admin, body: ServiceIn) -> ServiceOut:
        """Register a provider's service. Calling it still needs a right in the directory."""
        service = registry.register(
            actor=principal.client_id,
            provider=ClientId.parse(body.provider),
            code=body.service_code,
            version=body.version,
            base_url=body.base_url,
            description=body.description,
            openapi=body.openapi,
            personal_data=body.personal_data,
            agreement_id=body.agreement_id,
            purposes=body.purposes,
        )
        return ServiceOut.of(service)

    service_path = "/services/{instance}/{member_class}/{member_code}/{subsystem_code}/{code}"

    @router.get(service_path, response_model=ServiceOut)
    def get_service(
        _: Party,
        named: PathService,
        code: str,
    ) -> ServiceOut:
        provider = named.provider
        return ServiceOut.of(registry.get(provider, code))

    @router.patch(service_path, response_model=ServiceOut)
    def set_service_enabled(
        principal: Admin,
        body: EnabledIn,
        named: PathService,
        code: str,
    ) -> ServiceOut:
        """Switch a service on or off."""
        provider = named.provider
        return ServiceOut.of(
            registry.set_enabled(
                actor=principal.client_id, provider=provider, code=code, enabled=body.enabled
            )
        )

    @router.delete(service_path, status_code=204)
    def remove_service(
        principal: Admin,
        named: PathService,
        code: str,
    ) -> Response:
        provider = named.provider
        registry.remove(actor=principal.client_id, provider=provider, code=code)
        return Response(status_code=204)


def _discovery_routes(router: APIRouter, discovery: Discovery, monitor: OperationalMonitor) -> None:
    @router.get("/clients", response_model=list[ClientOut])
    def list_clients(_: Party) -> list[ClientOut]:
        """Every subsystem of the instance (GovStack IM / X-Road: listClients)."""
        return [
            ClientOut(client_id=str(s.id), member_name=name, enabled=s.enabled)
            for s, name in discovery.clients()
        ]

    @router.get("/services", response_model=list[ServiceOut])
    def list_services(_: Party, provider: str | None = None) -> list[ServiceOut]:
        """Every registered service, or one provider's (GovStack IM / X-Road: listMethods)."""
        chosen = ClientId.parse(provider) if provider else None
        return [ServiceOut.of(s) for s in discovery.services(chosen)]

    @router.get("/allowed", response_model=list[ServiceOut])
    def allowed_services(principal: Party) -> list[ServiceOut]:
        """The services the caller may call (GovStack IM / X-Road: allowedMethods)."""
        client = ClientId.parse(principal.client_id)
        return [ServiceOut.of(s) for s in discovery.allowed(client)]

    @router.get("/services/{instance}/{member_class}/{member_code}/{subsystem_code}/{code}/openapi")
    def service_openapi(_: Party, named: PathService, code: str) -> dict[str, Any]:
        """The service's OpenAPI document (GovStack IM / X-Road: getOpenAPI)."""
        return dict(discovery.openapi(named.provider, code))

    @router.get("/monitoring", response_model=list[StatsOut])
    def monitoring(_: Reader) -> list[StatsOut]:
        """Per client and service: messages by outcome, errors by code, latencies. Never
        payloads. This process's figures since it started."""
        return [StatsOut.of(s) for s in monitor.snapshot()]


def _log_routes(router: APIRouter, log: MessageLog, keys: KeyDirectory) -> None:
    @router.get("/log/verify", response_model=VerificationOut)
    def verify_log(_: Reader) -> VerificationOut:
        """Re-compute the message log chain and every checkpoint."""
        verdict = log.verify()
        return VerificationOut(
            intact=verdict.intact,
            entries=verdict.entries,
            checkpoints=verdict.checkpoints,
            problems=verdict.problems,
        )

    @router.post("/log/checkpoints", response_model=CheckpointOut | None)
    def seal_checkpoint(_: Admin) -> CheckpointOut | None:
        """Seal the entries not yet under a checkpoint; null if there are none."""
        sealed = log.checkpoint()
        if sealed is None:
            return None
        return CheckpointOut(
            first=sealed.first,
            last=sealed.last,
            root=sealed.root,
            last_hash=sealed.last_hash,
            at=sealed.at,
            jws=sealed.jws,
        )

    @router.get("/messages/{message_id}", response_model=EntryOut)
    def get_message(principal: Party, message_id: str) -> EntryOut:
        """A message's log entry (digests and signatures, never a body)."""
        entry = log.entry(message_id)
        _check_party(principal, entry.payload)
        return EntryOut(
            sequence=entry.sequence,
            message_id=entry.message_id,
            previous_hash=entry.previous_hash,
            hash=entry.hash,
            payload=dict(entry.payload),
        )

    @router.get("/messages/{message_id}/evidence")
    def get_evidence(principal: Party, message_id: str) -> Response:
        """The message's signed evidence bundle, verifiable offline; with the RFC 3161
        time-stamp of its checkpoint when there is one (400 `exchange.invalid_evidence` if a
        kept time-stamp no longer verifies)."""
        _check_party(principal, log.entry(message_id).payload)
        bundle = log.evidence(message_id, keys=keys)
        return Response(
            bundle,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="evidence-{message_id}.json"'},
        )

    @router.get(
        "/messages/{message_id}/bodies/{part}",
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def get_body(_: Admin, message_id: str, part: Literal["request", "response"]) -> Response:
        """A message's stored body (kept encrypted only where configured), decrypted and checked
        against the digest its log entry signs. Needs ``exchange:admin``."""
        body = log.bodies(message_id).get(part)
        if body is None:
            raise NoStoredBody(f"no stored {part} body of {message_id}")
        return Response(body, media_type="application/octet-stream")


def _check_party(principal: Principal, payload: Any) -> None:
    """Without ``exchange:read`` a caller sees only messages it sent or answered."""
    if principal.has_scope("exchange:read"):
        return
    provider = str(payload.get("service", "")).rsplit("/", 1)[0]
    if principal.client_id not in (payload.get("client"), provider):
        raise MissingScope("only the message's client and provider, or exchange:read, see it")
